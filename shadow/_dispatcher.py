"""The shadow dispatcher: call the primary, run the shadow beside it, log what differs.

The caller only ever sees the primary: its return value (the same object) or its exception
(the same instance). Everything the shadow side does is contained: whatever it raises
(``SystemExit``, ``KeyboardInterrupt`` and PyO3's ``PanicException`` included), hangs (a
hard timeout), huge or hostile results (a comparison under the same guard, a bounded diff),
mutating its input (it works on a snapshot taken before the primary ran). With
``isolation="process"`` it lives in a worker process, so a segfault, ``abort()`` or
``os._exit`` costs a ``shadow_crash`` event and a fresh worker, not the caller's process.
Only ``KeyboardInterrupt``/``SystemExit`` from the *primary* (the user or the program
stopping) propagate, and strict mode raises :class:`ShadowDivergenceError` on purpose.

Modes: ``off`` (the wrapped object's methods are the primary's bound methods: zero cost),
``sync`` (shadow right after the primary, in the caller's call), ``async`` (a queue bounded
by count and by bytes, drained by one worker thread; a full queue skips the call before
copying anything, never blocks; process isolation sends queued calls in batches) and
``strict`` (sync, and a divergence raises). What the dispatcher decides about a call goes
through :class:`shadow._judge.Judge`, the rule shared with fuzz, gate, replay and verify.
"""

from __future__ import annotations

import collections
import os
import pickle
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from shadow._codec import digest_hex, protect
from shadow._compare import strict_equal
from shadow._counters import OpCounters, RunCounters, format_counters
from shadow._events import Implementation, Reporter, implementation_of
from shadow._isolation import DEFAULT_MEMORY_LIMIT_MB, ISOLATIONS, Prepared, ShadowRunner
from shadow._isolation.thread import (
    INTERRUPTS,
    ShadowUnavailable,
    ThreadIsolation,
    forget_frames,
)
from shadow._judge import Judge, Judgement, is_atomic_input, run_primary
from shadow._log import EventLog
from shadow._outcome import Outcome
from shadow._recording import Recorder
from shadow._registry import OpSpec, Target
from shadow._warn_once import WarnOnce

MODES: tuple[str, ...] = ("off", "sync", "async", "strict")
P = TypeVar("P")
_perf = time.perf_counter


class ShadowDivergenceError(AssertionError):
    """Strict mode: the shadow disagreed with the primary on a call (see ``event``)."""

    def __init__(self, op: str, kind: str, severity: str, event: Mapping[str, Any]) -> None:
        paths = ", ".join(str(d.get("path")) for d in event.get("diff", [])[:5])
        super().__init__(f"{op}: {kind} ({severity}) at {paths or '-'}; {event.get('replay', '')}")
        self.op = op
        self.kind = kind
        self.severity = severity
        self.event = dict(event)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class _Given:
    """A picklable factory returning an implementation object given by value."""

    impl: Any

    def __call__(self) -> Any:
        return self.impl


class _OpState:
    """Everything the hot path needs about one op, resolved once."""

    __slots__ = ("counters", "judge", "name", "primary", "spec", "sync_call")

    def __init__(self, spec: OpSpec, primary: Any) -> None:
        self.spec = spec
        self.name = spec.name
        self.judge = Judge(spec)
        self.counters = OpCounters()
        self.primary: Callable[..., Any] = getattr(primary, spec.name)
        self.sync_call: Callable[..., Any] = self.primary


@dataclass(slots=True)
class _Job:
    """A sampled async call waiting for its shadow."""

    state: _OpState
    primary: Outcome
    prepared: Prepared
    primary_after: bytes | None  # pickled input after the primary (mutation check)
    atomic: bool
    abandoned: bool = False  # counted as skipped at close while still running
    done: bool = False  # judged and counted


class Dispatcher(Generic[P]):
    """Shadow ``primary`` with ``shadow`` for the ops registered on ``target``.

    ``primary``/``shadow`` are implementation objects or names for ``target.make`` (the
    target's default pair when omitted). ``isolation`` is ``"thread"`` (in-process) or
    ``"process"`` (a worker process built from the shadow's name, or from the object when it
    pickles). ``timeout_s`` bounds each shadow call (None: no limit, and in thread isolation
    the shadow then runs inline in the caller's thread, the cheapest path). ``log`` is an
    :class:`EventLog`, a path (opened and closed here) or None (count only).
    ``deterministic_sampling`` samples by input digest, so an input is always (or never)
    shadowed. Async queues hold at most ``queue_size`` calls and ``queue_bytes`` bytes of
    snapshots.

    ``record`` (an :class:`EventLog` or a path, opened here and closed by :meth:`close`)
    keeps a recording of a sample of all calls, ``record_rate`` of them, drawn
    independently of shadow sampling and in every mode, ``off`` included (record in
    production, ``shadow verify`` offline): see :mod:`shadow._recording`. Recording happens
    in the caller's call, after the primary returned or raised, never changes what it
    returns or raises and never raises; its counts join the run summary.
    """

    def __init__(
        self,
        target: Target,
        *,
        primary: P | str | None = None,
        shadow: Any = None,
        mode: str = "sync",
        isolation: str = "thread",
        sample_rate: float = 1.0,
        deterministic_sampling: bool = False,
        timeout_s: float | None = 5.0,
        log: EventLog | str | os.PathLike[str] | None = None,
        strict: bool = False,
        run_id: str | None = None,
        queue_size: int = 1024,
        queue_bytes: int = 64 * 2**20,
        batch_size: int = 256,
        max_hung: int = 4,
        memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
        max_result_bytes: int = 64 * 2**20,
        source: str = "runtime",
        record: EventLog | str | os.PathLike[str] | None = None,
        record_rate: float = 1.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be within 0..1, got {sample_rate}")
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 (or None for no limit), got {timeout_s}")
        if strict and mode == "async":
            raise ValueError("strict needs a synchronous mode (sync or strict)")
        if not 0.0 <= record_rate <= 1.0:
            raise ValueError(f"record_rate must be within 0..1, got {record_rate}")
        self.target = target
        p_name, s_name = target.default_pair
        self.primary: P = cast(
            P,
            target.make(primary or p_name)
            if primary is None or isinstance(primary, str)
            else primary,
        )
        shadow_name = shadow if isinstance(shadow, str) else (s_name if shadow is None else None)
        self.mode = mode
        self.isolation = isolation
        self.strict = strict or mode == "strict"
        self.sample_rate = sample_rate
        self.deterministic_sampling = deterministic_sampling
        self.timeout_s = timeout_s
        self.run_id = run_id or new_run_id()
        self.source = source
        self._owns_log = log is not None and not isinstance(log, EventLog)
        self.log: EventLog | None = EventLog(log) if not isinstance(log, EventLog | None) else log
        self._closed = False
        self._summary: RunCounters | None = None
        self._warn_once = WarnOnce("the shadow machinery")
        self._states = {name: _OpState(spec, self.primary) for name, spec in target.ops.items()}
        self.recorder: Recorder | None = None
        if record is not None:
            self.recorder = Recorder(
                target,
                record,
                implementation=implementation_of(
                    self.primary, primary if isinstance(primary, str) else p_name
                ),
                run_id=self.run_id,
                rate=record_rate,
                source=source,
            )
            for state in self._states.values():  # before any fast path captures it
                state.primary = self.recorder.wrap(state.name, state.primary)
        self._always = sample_rate >= 1.0 and not deterministic_sampling
        self.runner: ShadowRunner | None = None
        shadow_impl: Any = None
        if mode != "off":
            if isolation == "process":
                from shadow._isolation.process import (
                    DEFAULT_SPIN_S,
                    ProcessIsolation,
                    TargetImplementation,
                )

                factory: Callable[[], Any]
                if shadow_name is None:
                    factory = _Given(shadow)
                elif target.importable:
                    factory = TargetImplementation(target.import_spec, shadow_name)
                else:  # a target built in this process: send the implementation itself
                    factory = _Given(target.make(shadow_name))
                self.runner = ProcessIsolation(
                    factory,
                    timeout_s=timeout_s,
                    memory_limit_mb=memory_limit_mb,
                    max_result_bytes=max_result_bytes,
                    # The async worker thread waits beside the primary's: it sleeps at once.
                    spin_s=0.0 if mode == "async" else DEFAULT_SPIN_S,
                )
                shadow_id = (
                    implementation_of(target.make(shadow_name), shadow_name)
                    if shadow_name is not None
                    else implementation_of(shadow)
                )
            else:
                shadow_impl = target.make(shadow_name) if shadow_name is not None else shadow
                self.runner = ThreadIsolation(
                    shadow_impl,
                    timeout_s=timeout_s,
                    max_hung=max_hung,
                )
                shadow_id = implementation_of(shadow_impl, shadow_name)
        else:
            shadow_id = Implementation(shadow_name or "off")
        self.reporter = Reporter(
            target,
            run_id=self.run_id,
            source=source,
            primary=implementation_of(
                self.primary, primary if isinstance(primary, str) else p_name
            ),
            shadow=shadow_id,
            log=self.log,
        )
        self._inline = isolation == "thread" and timeout_s is None and mode != "async"
        if self.runner is not None:  # off mode calls the primary (or its recorder) directly
            for state in self._states.values():
                state.sync_call = self._make_sync_call(state)
        # The async queue: a deque bounded by count and bytes (checked under _bytes_lock), a
        # wake-up event for its one worker thread, and the batch the worker holds.
        self._queue: collections.deque[_Job] | None = None
        self._queue_size = max(1, queue_size)
        self._queue_bytes = queue_bytes
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._batch_size = max(1, batch_size) if isolation == "process" else 1
        self._inflight: list[_Job] = []
        self._job_lock = threading.Lock()
        if mode == "async":
            self._queue = collections.deque()
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

    def wrap(self) -> P:
        """A drop-in for the primary: registered ops shadowed, everything else forwarded."""
        return cast(P, ShadowProxy(self))

    def counters(self) -> RunCounters:
        return RunCounters(self.run_id, {n: s.counters.snapshot() for n, s in self._states.items()})

    def format_counters(self) -> str:
        return format_counters(self.counters())

    def close(self, timeout_s: float | None = None) -> RunCounters:
        """Finish queued shadow work (bounded wait), write ``run_summary``, return counters.

        Never raises: a failing log or worker is counted, not propagated, so ``with
        Dispatcher(...)`` cannot lose the primary's result on the way out.
        """
        if self._summary is not None:
            return self._summary
        self._closed = True
        try:
            if self._queue is not None:
                wait = (
                    timeout_s if timeout_s is not None else max(2.0 * (self.timeout_s or 1.0), 1.0)
                )
                self._drain(wait)
        except BaseException as exc:  # never let shutdown fail the caller
            self._framework_error("close", exc)
        summary = self.counters()
        try:
            self.reporter.summary(self._summary_counters(summary), mode=self.mode)
        except BaseException as exc:
            self._framework_error("summary", exc)
        if self.recorder is not None:
            try:
                self.recorder.close()
            except BaseException as exc:
                self._framework_error("close", exc)
        if self.runner is not None:
            try:
                self.runner.close()
            except BaseException as exc:
                self._framework_error("close", exc)
        if self._owns_log and self.log is not None:
            try:
                self.log.close()
            except BaseException as exc:
                self._framework_error("close", exc)
        self._summary = summary
        return summary

    def _summary_counters(self, summary: RunCounters) -> dict[str, dict[str, Any]]:
        """Each op's counters, with ``recorded`` (calls written to the recording) and
        ``record_errors`` (calls the recorder could not write whole) when recording."""
        counters = summary.to_dict()
        if self.recorder is not None:
            for op, rc in self.recorder.counts().items():
                entry = counters.setdefault(op, {})
                entry["recorded"] = rc.recorded
                entry["record_errors"] = rc.errors + rc.incomplete
        return counters

    def __enter__(self) -> Dispatcher[P]:
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
            codec = self.target.codec_for(state.name)
            digest = digest_hex([state.name, codec.encode(args, kwargs)])
        except Exception:
            return random.random() < self.sample_rate
        return int(digest[:16], 16) / 2.0**64 < self.sample_rate

    # ------------------------------------------------------------------ sync

    def _make_sync_call(self, state: _OpState) -> Callable[..., Any]:
        general = self._call_sync
        if not (self._inline and self._always):

            def shadowed(*args: Any, **kwargs: Any) -> Any:
                return general(state, args, kwargs)

        else:
            # The cheapest path: positional atoms, always sampled, the shadow inline, and
            # the common case (both returned strictly equal values) decided right here.
            primary = state.primary
            runner = cast(ThreadIsolation, self.runner)
            shadow_fn = getattr(runner.impl, state.name, None)
            bump = state.counters.fast_matched.__next__
            interrupts = INTERRUPTS

            def shadowed(*args: Any, **kwargs: Any) -> Any:
                if kwargs or shadow_fn is None or threading.current_thread() is not _MAIN:
                    return general(state, args, kwargs)
                for a in args:
                    if type(a) not in _ATOMIC_TYPES:
                        return general(state, args, kwargs)
                # run_primary and call_captured, written out: no Outcome is built unless
                # the call leaves this path (a quarter of its cost when both sides agree).
                t0 = _perf()
                try:
                    pv = primary(*args)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:
                    return general(state, args, kwargs, Outcome(None, exc, _perf() - t0))
                t1 = _perf()
                mark = interrupts.mark()
                try:
                    sv = shadow_fn(*args)
                except BaseException as exc:
                    forget_frames(exc)
                    s = Outcome(None, exc, _perf() - t1)
                    if interrupts.interrupted_since(mark):
                        raise KeyboardInterrupt from None
                    return general(state, args, kwargs, Outcome(pv, None, t1 - t0), s)
                t2 = _perf()
                try:
                    same = strict_equal(pv, sv)
                except BaseException:
                    same = False
                if interrupts.interrupted_since(mark):
                    raise KeyboardInterrupt
                if same:
                    bump()
                    return pv
                p, s = Outcome(pv, None, t1 - t0), Outcome(sv, None, t2 - t1)
                return general(state, args, kwargs, p, s)

        shadowed.__name__ = state.name
        shadowed.__doc__ = getattr(state.primary, "__doc__", None)
        return shadowed

    def _call_sync(
        self,
        state: _OpState,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        primary: Outcome | None = None,
        shadow: Outcome | None = None,
    ) -> Any:
        """The general sync path. ``primary``/``shadow`` are outcomes the fast path already
        has (atomic inputs only, so no snapshot is needed for them)."""
        counters = state.counters
        if primary is None and not self._always and not self._sampled(state, args, kwargs):
            with counters.lock:
                counters.unsampled += 1
            return state.primary(*args, **kwargs)
        assert self.runner is not None
        try:
            prepared = self.runner.prepare(state.name, args, kwargs)
        except Exception as exc:
            self._framework_error("prepare", exc, counters)
            if primary is None:
                return state.primary(*args, **kwargs)
            prepared = None
        p = primary if primary is not None else run_primary(state.primary, args, kwargs)
        events: list[dict[str, Any]] = []
        judgement = None
        if prepared is not None:
            judgement, events = self._shadow_guarded(state, p, prepared, args, kwargs, shadow)
        if self.strict and judgement is not None and judgement.diverged:
            d = judgement.divergences[0]
            raise ShadowDivergenceError(state.name, d.kind, d.severity, events[0] if events else {})
        if p.error is not None:
            raise p.error
        return p.value

    def _shadow_guarded(
        self,
        state: _OpState,
        p: Outcome,
        prepared: Prepared,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        shadow: Outcome | None,
    ) -> tuple[Judgement | None, list[dict[str, Any]]]:
        """Run the shadow and judge, under one guard: nothing of the shadow's escapes, and a
        Ctrl-C that arrives meanwhile is the user's (re-raised after)."""
        mark = INTERRUPTS.mark()
        try:
            return self._shadow_and_judge(state, p, prepared, args, kwargs, shadow)
        except BaseException as exc:
            if not INTERRUPTS.interrupted_since(mark):  # the user's Ctrl-C is no failure of ours
                self._framework_error("judge", exc, state.counters)
            return None, []
        finally:
            if INTERRUPTS.interrupted_since(mark):
                raise KeyboardInterrupt

    def _shadow_and_judge(
        self, state: _OpState, p: Outcome, prepared: Prepared, *call: Any
    ) -> tuple[Judgement | None, list[dict[str, Any]]]:
        """Run the shadow (unless the fast path already did) and judge the call; ``call``
        is ``(args, kwargs, shadow outcome or None)``."""
        args, kwargs, shadow = call
        assert self.runner is not None
        if shadow is not None:
            s = shadow
        else:
            try:
                s = self.runner.run(prepared, self.timeout_s)
            except ShadowUnavailable:
                with state.counters.lock:
                    state.counters.skipped += 1
                return None, []
        if is_atomic_input(args, kwargs):
            judgement = state.judge.judge(p, s)
        else:
            shadow_input = s.input_after or self.runner.snapshot(prepared)
            judgement = state.judge.judge(
                p, s, primary_input=(args, kwargs), shadow_input=shadow_input
            )
        return judgement, self._conclude(state, judgement, prepared)

    def _conclude(
        self, state: _OpState, judgement: Judgement, prepared: Prepared
    ) -> list[dict[str, Any]]:
        """Count one judged call and write its events (one per divergence)."""
        counters = state.counters
        with counters.lock:
            if judgement.diverged:
                counters.diverged_calls += 1
                for d in judgement.divergences:
                    counters.diverged[d.kind] = counters.diverged.get(d.kind, 0) + 1
            elif judgement.status == "tolerated":
                counters.tolerated += 1
            else:
                counters.matched += 1
        if not judgement.diverged:
            return []
        call_input = self._logged_input(prepared)
        call_id = self.reporter.next_call_id()
        events = []
        for d in judgement.divergences:  # one call, one id: its events share it
            try:
                events.append(self.reporter.divergence(judgement, d, call_input, call_id=call_id))
            except BaseException as exc:
                self._framework_error("event", exc)
        return events

    def _logged_input(self, prepared: Prepared) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        """The input as the caller passed it (the snapshot taken before the primary ran)."""
        assert self.runner is not None
        try:
            return self.runner.snapshot(prepared)
        except BaseException:
            return None

    # ------------------------------------------------------------------ async

    def _call_async(self, state: _OpState, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        counters = state.counters
        q = self._queue
        assert q is not None and self.runner is not None
        if self._closed or not (self._always or self._sampled(state, args, kwargs)):
            with counters.lock:
                counters.unsampled += 1
            return state.primary(*args, **kwargs)
        # Skip before copying anything: a full queue must cost the caller nothing.
        if len(q) >= self._queue_size or self._queued_bytes >= self._queue_bytes:
            with counters.lock:
                counters.skipped += 1
            return state.primary(*args, **kwargs)
        try:
            prepared = self.runner.prepare(state.name, args, kwargs)
        except Exception as exc:
            self._framework_error("prepare", exc, counters)
            return state.primary(*args, **kwargs)
        atomic = is_atomic_input(args, kwargs)
        p = run_primary(state.primary, args, kwargs)
        try:
            snapshot = Outcome(protect(p.value), p.error, p.duration_s)
            after = None
            if not atomic and prepared.payload is not None:
                after = pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            self._enqueue(_Job(state, snapshot, prepared, after, atomic))
        except BaseException as exc:
            self._framework_error("enqueue", exc, counters)
        if p.error is not None:
            raise p.error
        return p.value

    def _enqueue(self, job: _Job) -> None:
        q = self._queue
        assert q is not None
        size = job.prepared.nbytes
        with self._bytes_lock:
            full = (
                self._stopping  # close() already counted what was queued: too late
                or len(q) >= self._queue_size
                or (self._queued_bytes + size > self._queue_bytes and self._queued_bytes > 0)
            )
            if not full:
                self._queued_bytes += size
                q.append(job)
        if full:
            with job.state.counters.lock:
                job.state.counters.skipped += 1
        elif not self._wake.is_set():
            self._wake.set()

    def _work(self) -> None:
        """The worker thread: takes what is queued (a batch of up to ``batch_size`` calls in
        process isolation, one otherwise), runs and judges it, until close() stops it."""
        q = self._queue
        assert q is not None and self.runner is not None
        wake = self._wake
        while True:
            if not q:
                if self._stopping:
                    return
                wake.clear()
                if not q and not self._stopping:  # (re-checked: a put may precede the clear)
                    wake.wait()
                continue
            with self._job_lock:  # taken off the queue and in flight at once, for _drain
                batch = [q.popleft() for _ in range(min(len(q), self._batch_size))]
                self._inflight = batch
            try:
                self._run_batch(batch)
            except BaseException as exc:
                self._framework_error("worker", exc)
            finally:
                with self._bytes_lock:
                    self._queued_bytes -= sum(j.prepared.nbytes for j in batch)
                with self._job_lock:
                    self._inflight = []

    def _run_batch(self, batch: list[_Job]) -> None:
        assert self.runner is not None
        try:
            outcomes = self.runner.run_batch([j.prepared for j in batch], self.timeout_s)
        except ShadowUnavailable:
            for job in batch:
                with job.state.counters.lock:
                    job.state.counters.skipped += 1
            return
        for job, s in zip(batch, outcomes, strict=True):
            p = job.primary
            same = False
            if job.atomic and s.fault is None and s.error is None and p.error is None:
                # The common case, decided here as the sync fast path does: both returned
                # strictly equal values (nothing to build, log or check for mutation).
                try:
                    same = strict_equal(p.value, s.value)
                except BaseException:
                    same = False
            with self._job_lock:  # judged and counted whole, or counted skipped by close()
                if job.abandoned:
                    continue
                job.done = True
                if same:
                    next(job.state.counters.fast_matched)
                    continue
                try:
                    self._judge_job(job, s)
                except BaseException as exc:
                    self._framework_error("judge", exc, job.state.counters)

    def _judge_job(self, job: _Job, s: Outcome) -> None:
        assert self.runner is not None
        unchanged = (  # the primary's input pickles as before, and so does the shadow's
            job.primary_after is not None
            and job.primary_after == job.prepared.payload
            and (s.input_after is None or _pickles_to(s.input_after, job.prepared.payload))
        )
        if job.atomic or unchanged:  # nothing to rebuild or compare for the mutation check
            judgement = job.state.judge.judge(job.primary, s)
        else:
            pristine = self.runner.snapshot(job.prepared)
            primary_input = pristine
            if job.primary_after is not None and job.primary_after != job.prepared.payload:
                primary_input = pickle.loads(job.primary_after)
            judgement = job.state.judge.judge(
                job.primary,
                s,
                primary_input=primary_input,
                shadow_input=s.input_after or pristine,
            )
        self._conclude(job.state, judgement, job.prepared)

    def _drain(self, timeout_s: float) -> None:
        """Wait for queued work; whatever is unfinished at the deadline is counted skipped."""
        q = self._queue
        assert q is not None
        deadline = time.monotonic() + timeout_s
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.002)
        with self._job_lock:
            with self._bytes_lock:
                self._stopping = True
                leftovers = list(q)
                q.clear()
                self._queued_bytes -= sum(j.prepared.nbytes for j in leftovers)
            for job in leftovers:
                with job.state.counters.lock:
                    job.state.counters.skipped += 1
            for job in self._inflight:
                if job.done:
                    continue
                # Still running at the deadline (a hung shadow): count it now, ignore it later.
                job.abandoned = True
                with job.state.counters.lock:
                    job.state.counters.skipped += 1
        self._wake.set()

    def _busy(self) -> bool:
        assert self._queue is not None
        with self._job_lock:
            return bool(self._queue) or any(not j.done for j in self._inflight)

    # ------------------------------------------------------------------ failures of our own

    def _framework_error(
        self, where: str, exc: BaseException, counters: OpCounters | None = None
    ) -> None:
        """A failure of the shadow machinery itself: counted, warned once, never raised."""
        if counters is not None:
            with counters.lock:
                counters.errors += 1
        self._warn_once(where, exc)


def _pickles_to(value: Any, payload: bytes | None) -> bool:
    """Does ``value`` pickle to exactly ``payload``? (An input left as it was does: one
    pickle and a byte compare, cheaper than rebuilding the snapshot to compare with.)"""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) == payload
    except BaseException:
        return False


_ATOMIC_TYPES: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes, complex})
_MAIN = threading.main_thread()
_NOTHING = object()


class ShadowProxy:
    """Looks like the primary: each registered op is shadowed, other attributes forwarded.

    In ``off`` mode the op attributes *are* the primary's bound methods, so a call through
    the proxy costs what a direct call does.
    """

    def __init__(self, dispatcher: Dispatcher[Any]) -> None:
        self._dispatcher = dispatcher
        self._primary = dispatcher.primary
        for name in dispatcher.target.ops:
            setattr(self, name, self._method(dispatcher, name))

    @staticmethod
    def _method(dispatcher: Dispatcher[Any], name: str) -> Callable[..., Any]:
        state = dispatcher._states[name]
        if dispatcher.mode == "off":
            return state.primary
        if dispatcher.mode != "async":
            return state.sync_call
        call = dispatcher._call_async

        def shadowed(*args: Any, **kwargs: Any) -> Any:
            return call(state, args, kwargs)

        shadowed.__name__ = name
        shadowed.__doc__ = getattr(state.primary, "__doc__", None)
        return shadowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._primary, name)

    def __repr__(self) -> str:
        return f"<ShadowProxy of {self._primary!r} ({self._dispatcher.mode})>"


def open_log(path: str | Path | None) -> EventLog | None:
    return EventLog(path) if path is not None else None


__all__ = ["MODES", "Dispatcher", "ShadowDivergenceError", "ShadowProxy", "new_run_id"]
