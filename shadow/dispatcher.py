"""The shadow dispatcher: call the primary, run the shadow beside it, log what differs.

The caller only ever sees the primary: its return value (the same object) or its exception
(the same instance, re-raised). Everything the shadow does is contained here: exceptions of
any kind (PyO3's ``PanicException`` is a ``BaseException``), hangs (async mode), mutating
its input, huge or odd return values. Only ``KeyboardInterrupt``/``SystemExit`` raised in
the main thread propagate, because they are the user stopping the program, and strict mode
raises :class:`ShadowDivergenceError` on purpose.

Modes: ``off`` (the wrapped object's methods are the primary's bound methods: zero cost),
``sync`` (shadow right after the primary, in the caller's thread), ``async`` (a bounded
queue to one worker thread; a full queue skips the call, never blocks; each shadow call runs
on a runner thread that is abandoned if it exceeds ``timeout_s``) and ``strict`` (sync, and a
divergence raises). In sync mode a shadow cannot be interrupted, so one that takes longer
than ``timeout_s`` is recorded as ``shadow_timeout`` after it returns.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shadow.codec import digest_hex, protect
from shadow.compare import DiffEntry, Outcome, Verdict, compare_outcomes, compare_values
from shadow.counters import OpCounters, RunCounters, format_counters
from shadow.events import divergence_event, encode_call, side, utc_timestamp
from shadow.log import EventLog
from shadow.registry import DivergenceContext, OpSpec, Target

MODES: tuple[str, ...] = ("off", "sync", "async", "strict")
_ATOMIC: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes})
_STOP = object()
_perf = time.perf_counter


class ShadowDivergenceError(AssertionError):
    """Strict mode: the shadow disagreed with the primary on a call (see ``event``)."""

    def __init__(self, op: str, kind: str, severity: str, event: Mapping[str, Any]) -> None:
        paths = ", ".join(d["path"] for d in event.get("diff", [])[:5])
        super().__init__(f"{op}: {kind} ({severity}) at {paths or '-'}; {event.get('replay', '')}")
        self.op = op
        self.kind = kind
        self.severity = severity
        self.event = dict(event)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _must_propagate(exc: BaseException) -> bool:
    """Ctrl-C and sys.exit in the main thread are the user's, not the shadow's."""
    return isinstance(exc, KeyboardInterrupt | SystemExit) and (
        threading.current_thread() is threading.main_thread()
    )


def run_side(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    """Run one implementation, capturing whatever it returns or raises (and how long)."""
    t0 = _perf()
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        if _must_propagate(exc):
            raise
        return Outcome(None, exc, _perf() - t0)
    return Outcome(value, None, _perf() - t0)


def _protect_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    for a in args:
        if type(a) not in _ATOMIC:
            protected: tuple[Any, ...] = protect(args)
            return protected
    return args


def _same_input(a: Any, b: Any) -> bool:
    try:
        return (a == b) is True
    except Exception:
        return False


class _OpState:
    """Everything the hot path needs about one op, resolved once."""

    __slots__ = ("codec", "counters", "name", "policy", "primary", "shadow", "spec", "sync_call")

    def __init__(self, spec: OpSpec, target: Target, primary: Any, shadow: Any) -> None:
        self.spec = spec
        self.name = spec.name
        self.policy = spec.policy
        self.codec = target.codec_for(spec.name)
        self.counters = OpCounters()
        self.primary: Callable[..., Any] = getattr(primary, spec.name)
        self.shadow: Callable[..., Any] = getattr(shadow, spec.name)
        self.sync_call: Callable[..., Any] = self.primary  # replaced by the dispatcher


class _Job:
    __slots__ = ("args", "copied", "kwargs", "primary", "state")

    def __init__(
        self,
        state: _OpState,
        primary: Outcome,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        copied: bool,
    ) -> None:
        self.state = state
        self.primary = primary
        self.args = args
        self.kwargs = kwargs
        self.copied = copied


class _Runner:
    """A daemon thread running shadow calls one at a time, so a hung one can be abandoned."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.abandoned = False
        self._thread = threading.Thread(target=self._loop, name="shadow-runner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            fn, args, kwargs, done, box = job
            box.append(run_side(fn, args, kwargs))
            done.set()
            if self.abandoned:
                return

    def run(self, fn: Callable[..., Any], args: Any, kwargs: Any, timeout: float) -> Outcome | None:
        done = threading.Event()
        box: list[Outcome] = []
        self._jobs.put((fn, args, kwargs, done, box))
        if done.wait(timeout):
            return box[0]
        self.abandoned = True
        return None

    def stop(self) -> None:
        self._jobs.put(_STOP)


class Dispatcher:
    """Shadow ``primary`` with ``shadow`` for the ops registered on ``target``.

    ``primary``/``shadow`` are implementation objects or names for ``target.make``.
    ``log`` is an :class:`EventLog`, a path (opened and closed by the dispatcher) or None
    (count only). ``deterministic_sampling`` samples by input digest, so the same input is
    always (or never) shadowed. ``strict=True`` (or mode ``"strict"``) raises
    :class:`ShadowDivergenceError` on divergence (sync only).
    """

    def __init__(
        self,
        target: Target,
        primary: Any = None,
        shadow: Any = None,
        mode: str = "sync",
        sample_rate: float = 1.0,
        deterministic_sampling: bool = False,
        timeout_s: float = 5.0,
        log: EventLog | str | os.PathLike[str] | None = None,
        strict: bool = False,
        run_id: str | None = None,
        *,
        queue_size: int = 1024,
        max_hung: int = 4,
        source: str = "runtime",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be within 0..1, got {sample_rate}")
        if strict and mode == "async":
            raise ValueError("strict needs a synchronous mode (sync or strict)")
        self.target = target
        names = target.default_pair
        self.primary = (
            target.make(primary or names[0])
            if primary is None or isinstance(primary, str)
            else primary
        )
        self.shadow = (
            target.make(shadow or names[1]) if shadow is None or isinstance(shadow, str) else shadow
        )
        self.mode = mode
        self.strict = strict or mode == "strict"
        self.sample_rate = sample_rate
        self.deterministic_sampling = deterministic_sampling
        self.timeout_s = timeout_s
        self.run_id = run_id or new_run_id()
        self.source = source
        self._owns_log = log is not None and not isinstance(log, EventLog)
        self.log: EventLog | None = EventLog(log) if not isinstance(log, EventLog | None) else log
        self._seq = itertools.count(1)
        self._closed = False
        self._summary: RunCounters | None = None
        self._p_name, self._p_version = _identity(self.primary)
        self._s_name, self._s_version = _identity(self.shadow)
        self._states = {
            name: _OpState(spec, target, self.primary, self.shadow)
            for name, spec in target.ops.items()
        }
        self._always = sample_rate >= 1.0 and not deterministic_sampling
        for state in self._states.values():
            state.sync_call = self._make_sync_call(state)
        self._queue: queue.Queue[Any] | None = None
        self._max_hung = max_hung
        self._hung = 0
        if mode == "async":
            self._queue = queue.Queue(maxsize=queue_size)
            self._runner: _Runner | None = None
            self._worker = threading.Thread(target=self._work, name="shadow-worker", daemon=True)
            self._worker.start()

    # ------------------------------------------------------------------ public API

    def call(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``op`` on the primary (and shadow it); returns/raises exactly as the primary."""
        state = self._states.get(op)
        if state is None:
            return getattr(self.primary, op)(*args, **kwargs)
        if self.mode == "off":
            return state.primary(*args, **kwargs)
        if self._queue is not None:
            return self._call_async(state, args, kwargs)
        return state.sync_call(*args, **kwargs)

    def wrap(self) -> Any:
        """A drop-in for the primary: registered ops shadowed, everything else forwarded."""
        return ShadowProxy(self)

    def counters(self) -> RunCounters:
        return RunCounters(self.run_id, {n: s.counters.snapshot() for n, s in self._states.items()})

    def format_counters(self) -> str:
        return format_counters(self.counters())

    def close(self, timeout_s: float | None = None) -> RunCounters:
        """Finish queued shadow work (bounded wait), write ``run_summary``, return counters."""
        if self._summary is not None:
            return self._summary
        self._closed = True
        if self._queue is not None:
            self._drain(timeout_s if timeout_s is not None else max(2.0 * self.timeout_s, 1.0))
        summary = self.counters()
        if self.log is not None:
            self.log.emit(
                "run_summary",
                {
                    "ts": utc_timestamp(),
                    "run_id": self.run_id,
                    "target": self.target.import_spec,
                    "source": self.source,
                    "mode": self.mode,
                    "primary": {"name": self._p_name, "version": self._p_version},
                    "shadow": {"name": self._s_name, "version": self._s_version},
                    "counters": summary.to_dict(),
                },
            )
            if self._owns_log:
                self.log.close()
        self._summary = summary
        return summary

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ sampling

    def _sampled(self, state: _OpState, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if self._always:
            return True
        if self.sample_rate <= 0.0:
            return False
        if not self.deterministic_sampling:
            return random.random() < self.sample_rate
        try:
            digest = digest_hex([state.name, state.codec.encode(args, kwargs)])
        except Exception:
            return random.random() < self.sample_rate
        return int(digest[:16], 16) / 2.0**64 < self.sample_rate

    # ------------------------------------------------------------------ sync

    def _make_sync_call(self, state: _OpState) -> Callable[..., Any]:
        """The sync hot path as a closure over everything it needs (no attribute lookups).

        It handles the common case inline (positional immutable atoms, sampled, equal
        results within the timeout) and hands everything else to the general path.
        """
        primary, shadow = state.primary, state.shadow
        timeout = self.timeout_s
        always = self._always
        bump_matched = state.counters.fast_matched.__next__
        general = self._call_sync_general
        conclude = self._conclude
        strict = self.strict
        atomic = _ATOMIC
        perf = _perf

        def shadowed(*args: Any, **kwargs: Any) -> Any:
            if kwargs or not always:
                return general(state, args, kwargs)
            for a in args:
                if type(a) not in atomic:
                    return general(state, args, kwargs)
            t0 = perf()
            try:
                value = primary(*args)
            except BaseException as exc:
                p = Outcome(None, exc, perf() - t0)
                if not _must_propagate(exc):
                    self._shadow_sync(state, p, args, kwargs)
                raise
            t1 = perf()
            try:
                shadow_value = shadow(*args)
            except BaseException as exc:
                if _must_propagate(exc):
                    raise
                s: Outcome | None = Outcome(None, exc, perf() - t1)
            else:
                t2 = perf()
                try:
                    same = shadow_value is value or (shadow_value == value) is True
                except Exception:
                    same = False
                if same and t2 - t1 <= timeout:
                    bump_matched()
                    return value
                s = Outcome(shadow_value, None, t2 - t1) if t2 - t1 <= timeout else None
            conclude(
                state, Outcome(value, None, t1 - t0), s, args, kwargs, None, raise_strict=strict
            )
            return value

        shadowed.__name__ = state.name
        shadowed.__doc__ = getattr(primary, "__doc__", None)
        return shadowed

    def _call_sync_general(
        self, state: _OpState, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not self._always and not self._sampled(state, args, kwargs):
            with state.counters.lock:
                state.counters.unsampled += 1
            return state.primary(*args, **kwargs)
        try:
            s_args = _protect_args(args)
            s_kwargs = protect(kwargs) if kwargs else kwargs
        except Exception:
            with state.counters.lock:
                state.counters.errors += 1
            return state.primary(*args, **kwargs)
        t0 = _perf()
        try:
            value = state.primary(*args, **kwargs)
        except BaseException as exc:
            p = Outcome(None, exc, _perf() - t0)
            if not _must_propagate(exc):
                self._shadow_sync(state, p, s_args, s_kwargs)
            raise
        p = Outcome(value, None, _perf() - t0)
        self._shadow_sync(state, p, s_args, s_kwargs)
        return value

    def _shadow_sync(
        self, state: _OpState, p: Outcome, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        copied = False
        pristine: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        try:
            # A copy was made iff some input was mutable; keep one untouched for the log.
            for a in args:
                if type(a) not in _ATOMIC:
                    pristine = (protect(args), protect(kwargs))
                    copied = pristine[0] is not args
                    break
            else:
                if kwargs:
                    pristine = (args, protect(kwargs))
                    copied = True
        except Exception:
            copied = False
        s = run_side(state.shadow, args, kwargs)
        if s.duration_s > self.timeout_s:
            s_timed: Outcome | None = None
        else:
            s_timed = s
        self._conclude(
            state, p, s_timed, args, kwargs, pristine if copied else None, raise_strict=self.strict
        )

    # ------------------------------------------------------------------ async

    def _call_async(self, state: _OpState, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        counters = state.counters
        if self._closed or not self._sampled(state, args, kwargs):
            with counters.lock:
                counters.unsampled += 1
            return state.primary(*args, **kwargs)
        try:
            s_args = _protect_args(args)
            s_kwargs = protect(kwargs) if kwargs else kwargs
            copied = s_args is not args or bool(kwargs)
        except Exception:
            with counters.lock:
                counters.errors += 1
            return state.primary(*args, **kwargs)
        t0 = _perf()
        try:
            value = state.primary(*args, **kwargs)
        except BaseException as exc:
            if not _must_propagate(exc):
                self._enqueue(
                    _Job(state, Outcome(None, exc, _perf() - t0), s_args, s_kwargs, copied)
                )
            raise
        self._enqueue(_Job(state, Outcome(value, None, _perf() - t0), s_args, s_kwargs, copied))
        return value

    def _enqueue(self, job: _Job) -> None:
        counters = job.state.counters
        assert self._queue is not None
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            with counters.lock:
                counters.skipped += 1

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                self._shadow_async(job)
            except BaseException:  # the worker must survive anything a job does
                with job.state.counters.lock:
                    job.state.counters.errors += 1
            finally:
                self._queue.task_done()

    def _shadow_async(self, job: _Job) -> None:
        state = job.state
        counters = state.counters
        if self._hung >= self._max_hung:
            with counters.lock:
                counters.skipped += 1
            return
        pristine = (protect(job.args), protect(job.kwargs)) if job.copied else None
        if self._runner is None or self._runner.abandoned:
            self._runner = _Runner()
        s = self._runner.run(state.shadow, job.args, job.kwargs, self.timeout_s)
        if s is None:
            self._hung += 1
        self._conclude(state, job.primary, s, job.args, job.kwargs, pristine, raise_strict=False)

    def _drain(self, timeout_s: float) -> None:
        assert self._queue is not None
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        # Whatever is still queued is skipped, and the worker is told to stop.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                with job.state.counters.lock:
                    job.state.counters.skipped += 1
            self._queue.task_done()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)
        if self._runner is not None and not self._runner.abandoned:
            self._runner.stop()

    # ------------------------------------------------------------------ verdicts

    def _conclude(
        self,
        state: _OpState,
        p: Outcome,
        s: Outcome | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        pristine: tuple[tuple[Any, ...], dict[str, Any]] | None,
        *,
        raise_strict: bool,
    ) -> None:
        """Compare, count and log one shadowed call. ``s`` None means the shadow timed out."""
        counters = state.counters
        found: list[tuple[str, Verdict, Outcome]] = []
        try:
            if s is None:
                timed_out = Outcome(None, None, self.timeout_s)
                entry = DiffEntry("duration_s", p.duration_s, f"> {self.timeout_s}")
                found.append(
                    (
                        "shadow_timeout",
                        Verdict("diverged", "shadow_timeout", (entry,), 1),
                        timed_out,
                    )
                )
                verdict: Verdict | None = None
            else:
                verdict = compare_outcomes(p, s, state.policy)
                if verdict.status == "diverged":
                    kind = verdict.kind or "value_mismatch"
                    if s.error is not None and not isinstance(s.error, Exception):
                        kind = "shadow_error"  # a crash (e.g. a Rust panic), not error parity
                    found.append((kind, verdict, s))
                if (pristine is not None and not _same_input(args, pristine[0])) or (
                    pristine is not None and not _same_input(kwargs, pristine[1])
                ):
                    mutated = self._mutation_verdict(state, pristine, args, kwargs)
                    if mutated is not None:
                        found.append(("mutated_input", mutated, s))
        except Exception:
            with counters.lock:
                counters.errors += 1
            return
        with counters.lock:
            if found:
                counters.diverged_calls += 1
            else:
                if verdict is not None and verdict.status == "tolerated":
                    counters.tolerated += 1
                else:
                    counters.matched += 1
            for kind, _, _ in found:
                counters.diverged[kind] = counters.diverged.get(kind, 0) + 1
        if not found:
            return
        events = []
        for kind, v, s_out in found:
            try:
                events.append(self._record(state, kind, v, p, s_out, pristine or (args, kwargs)))
            except Exception:
                with counters.lock:
                    counters.errors += 1
        if raise_strict and events:
            kind, severity, event = events[0]
            raise ShadowDivergenceError(state.name, kind, severity, event)

    def _mutation_verdict(
        self,
        state: _OpState,
        pristine: tuple[tuple[Any, ...], dict[str, Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Verdict | None:
        try:
            before = state.codec.encode(*pristine)
            after = state.codec.encode(args, kwargs)
        except Exception:
            before, after = pristine, (args, kwargs)
        if before == after:
            return None
        v = compare_values(before, after)
        diff = tuple(
            DiffEntry(d.path.replace("root", "input", 1), d.primary, d.shadow) for d in v.diff
        )
        return Verdict("diverged", "mutated_input", diff, v.diff_count)

    def _record(
        self,
        state: _OpState,
        kind: str,
        verdict: Verdict,
        p: Outcome,
        s: Outcome,
        call_input: tuple[tuple[Any, ...], dict[str, Any]],
    ) -> tuple[str, str, dict[str, Any]]:
        severity = state.spec.severity(DivergenceContext(state.name, kind, p, s, verdict.diff))
        call_id = f"{self.run_id}-{next(self._seq):06d}"
        encoded, extra = encode_call(state.codec, *call_input)
        attrs = state.policy.compare_error_attrs
        fields = divergence_event(
            run_id=self.run_id,
            call_id=call_id,
            target=self.target.import_spec,
            op=state.name,
            kind=kind,
            severity=severity,
            source=self.source,
            primary=side(self._p_name, self._p_version, p, attrs),
            shadow=side(self._s_name, self._s_version, s, attrs),
            diff=verdict.diff,
            diff_count=verdict.diff_count,
            codec=state.codec,
            encoded_input=encoded,
            log=self.log,
            extra=extra,
        )
        if self.log is not None:
            self.log.emit("divergence", fields)
        return kind, severity, fields


def _identity(impl: Any) -> tuple[str, str]:
    name = getattr(impl, "name", None)
    version = getattr(impl, "version", None)
    return (
        name if isinstance(name, str) else type(impl).__name__,
        version if isinstance(version, str) else "unknown",
    )


class ShadowProxy:
    """Looks like the primary: each registered op is shadowed, other attributes forwarded.

    In ``off`` mode the op attributes *are* the primary's bound methods, so a call through
    the proxy costs what a direct call does.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._primary = dispatcher.primary
        for name, state in dispatcher._states.items():
            setattr(self, name, self._method(dispatcher, state))

    @staticmethod
    def _method(dispatcher: Dispatcher, state: _OpState) -> Callable[..., Any]:
        if dispatcher.mode == "off":
            return state.primary
        if dispatcher.mode != "async":
            return state.sync_call
        call = dispatcher._call_async

        def shadowed(*args: Any, **kwargs: Any) -> Any:
            return call(state, args, kwargs)

        shadowed.__name__ = state.name
        shadowed.__doc__ = getattr(state.primary, "__doc__", None)
        return shadowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._primary, name)

    def __repr__(self) -> str:
        return f"<ShadowProxy of {self._primary!r} ({self._dispatcher.mode})>"


def open_log(path: str | Path | None) -> EventLog | None:
    return EventLog(path) if path is not None else None
