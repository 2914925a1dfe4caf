"""Thread isolation: the shadow in this process, on its own copy of the input.

Contains every Python-level fault of the shadow: any ``BaseException`` it raises
(``SystemExit``, ``KeyboardInterrupt`` and PyO3's ``PanicException`` included) becomes the
outcome's error, and with a ``timeout_s`` the call runs on a runner thread that is abandoned
when it overruns, so a hang costs the caller ``timeout_s`` once (while ``max_hung``
abandoned calls are still running, the runner refuses new work: :class:`ShadowUnavailable`). What it cannot
contain is a native crash (SIGSEGV, ``abort()``, a native stack overflow) or ``os._exit``:
those end the process; use process isolation for a port that may do that.

Without a timeout the shadow runs inline in the caller's thread (cheapest, but a hang is the
caller's). A Ctrl-C that arrives while an inline shadow runs is the user's, not the
shadow's: it is re-raised after the call (the signal is watched only in the main thread).
"""

from __future__ import annotations

import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from shadow._codec import protect
from shadow._isolation import IsolationName, Prepared
from shadow._outcome import Fault, Outcome

_ATOMIC: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes, complex})
_perf = time.perf_counter


class ShadowUnavailable(RuntimeError):
    """The runner will not take this call (too many shadow calls are hung): count it skipped."""


def _atomic(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    for a in args:
        if type(a) not in _ATOMIC:
            return False
    return all(type(v) in _ATOMIC for v in kwargs.values()) if kwargs else True


def call_captured(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    """Run ``fn``, turning anything it raises, ``BaseException`` included, into an outcome."""
    t0 = _perf()
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        forget_frames(exc)
        return Outcome(None, exc, _perf() - t0)
    return Outcome(value, None, _perf() - t0)


def forget_frames(exc: BaseException) -> None:
    """Drop the tracebacks of a shadow's exception and of those it chains.

    A traceback keeps the shadow's frames alive, and with them whatever their locals hold,
    often until a garbage collection (exceptions kept by a judgement or a fuzzer sit in
    reference cycles): a shadow that ran out of memory would keep its hoard. Nothing reads
    them: a shadow's error is judged and logged by its type, message and attributes."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


class InterruptWatcher:
    """Counts the user's Ctrl-C (SIGINT) so shadow code can be told apart from the user.

    Why: anything *shadow code* raises is contained, ``KeyboardInterrupt`` included, but a
    Ctrl-C that lands while a shadow runs in the main thread is the user's and must stop
    the program. Swapping the SIGINT handler around every call costs microseconds; instead
    one handler is chained in front of the program's own (installed once, from the main
    thread, the first time a shadow runs there): it counts, then does what the previous
    handler did. A call compares :meth:`mark` before and :meth:`interrupted_since` after.
    If the program later installs a handler of its own, the count stops and a Ctrl-C during
    a shadow call is contained like any shadow exception (the next one stops the program).
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None
        self._installed = False
        self._lock = threading.Lock()

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.default_int_handler(signum, frame)
        # SIG_IGN: the program ignores Ctrl-C; so do we (counted all the same)

    def mark(self) -> int:
        """The count now, installing the handler first when possible (main thread only)."""
        if not self._installed and threading.current_thread() is threading.main_thread():
            with self._lock:
                if not self._installed:
                    try:
                        self._previous = signal.getsignal(signal.SIGINT)
                        signal.signal(signal.SIGINT, self)
                        self._installed = True
                    except (ValueError, OSError, TypeError):
                        self._installed = True  # no signals here: nothing to watch
        return self.count

    def interrupted_since(self, mark: int) -> bool:
        return self.count != mark


INTERRUPTS = InterruptWatcher()


def _call_inline(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    mark = INTERRUPTS.mark()
    outcome = call_captured(fn, args, kwargs)
    if INTERRUPTS.interrupted_since(mark):
        raise KeyboardInterrupt
    return outcome


class _RunnerThread:
    """A daemon thread running shadow calls one at a time; abandoned if one hangs."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.abandoned = False
        self._thread = threading.Thread(target=self._loop, name="shadow-runner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, kwargs, done, box = job
            box.append(call_captured(fn, args, kwargs))
            done.set()
            if self.abandoned:
                return

    def run(self, fn: Callable[..., Any], args: Any, kwargs: Any, timeout: float) -> Outcome | None:
        done = threading.Event()
        box: list[Outcome] = []
        self._jobs.put((fn, args, kwargs, done, box))
        try:
            if done.wait(timeout):
                return box[0]
        except BaseException:  # the wait was interrupted (Ctrl-C): the job runs on, alone
            self._abandon()
            raise
        self._abandon()
        return None

    def _abandon(self) -> None:
        self.abandoned = True
        self._jobs.put(None)  # ends the thread even if the job finished just now

    def stop(self) -> None:
        self._jobs.put(None)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


class ThreadIsolation:
    """The shadow implementation ``impl`` run in this process (see the module docstring)."""

    name: IsolationName = "thread"

    def __init__(
        self,
        impl: Any,
        *,
        timeout_s: float | None = 5.0,
        max_hung: int = 4,
    ) -> None:
        self.impl = impl
        self.timeout_s = timeout_s
        self.max_hung = max_hung
        self._abandoned: list[_RunnerThread] = []
        self._runner: _RunnerThread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ protocol

    def prepare(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Prepared:
        """Snapshot the input before the primary runs.

        Mutable inputs are pickled (C speed; the bytes stay pristine whatever the shadow
        does to its copy, and give the exact size a queued call holds); an input that
        cannot be pickled is copied structurally, twice (one copy for the shadow, one kept
        as it was)."""
        if _atomic(args, kwargs):
            return Prepared(op, args, dict(kwargs), None, 64 + 16 * len(args))
        try:
            payload = pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            pass
        else:
            return Prepared(op, None, None, payload, len(payload))
        copied: tuple[Any, ...] = protect(args)
        copied_kwargs: dict[str, Any] = protect(kwargs) if kwargs else {}
        return Prepared(op, copied, copied_kwargs, None, 1024)

    def snapshot(self, prepared: Prepared) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if prepared.payload is not None:
            args, kwargs = pickle.loads(prepared.payload)
            return args, kwargs
        assert prepared.args is not None
        return protect(prepared.args), protect(prepared.kwargs or {})

    def run(self, prepared: Prepared, timeout_s: float | None) -> Outcome:
        if prepared.payload is not None:
            args, kwargs = pickle.loads(prepared.payload)
            mutable = True
        else:
            assert prepared.args is not None
            args, kwargs = prepared.args, prepared.kwargs or {}
            mutable = not _atomic(args, kwargs)
            if mutable:  # keep the prepared copy pristine for snapshot()
                args, kwargs = protect(args), protect(kwargs)
        try:
            fn = getattr(self.impl, prepared.op)
        except AttributeError as exc:
            return Outcome(None, exc, 0.0)
        timeout = self.timeout_s if timeout_s is None else timeout_s
        if timeout is None:
            outcome = _call_inline(fn, args, kwargs)
        else:
            outcome = self._on_runner(fn, args, kwargs, timeout)
        if mutable and outcome.fault is None:
            outcome.input_after = (args, kwargs)
        return outcome

    def run_batch(self, batch: Sequence[Prepared], timeout_s: float | None) -> list[Outcome]:
        return [self.run(p, timeout_s) for p in batch]

    def close(self) -> None:
        with self._lock:
            if self._runner is not None and not self._runner.abandoned:
                self._runner.stop()
            self._runner = None

    @property
    def hung(self) -> int:
        """Abandoned calls still running. A call that overran its timeout but then finished
        (slow, not stuck) frees its place: its runner thread ends with it."""
        with self._lock:
            return self._still_hung()

    # ------------------------------------------------------------------ runner thread

    def _still_hung(self) -> int:
        self._abandoned = [r for r in self._abandoned if r.alive]
        return len(self._abandoned)

    def _on_runner(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
    ) -> Outcome:
        with self._lock:
            hung = self._still_hung()
            if hung >= self.max_hung:
                raise ShadowUnavailable(f"{hung} shadow calls are still hung")
            if self._runner is None or self._runner.abandoned:
                self._runner = _RunnerThread()
            runner = self._runner
        try:
            outcome = runner.run(fn, args, kwargs, timeout)
        except BaseException:  # interrupted: the call still runs, and no later one may queue
            with self._lock:  # behind it (it would be blamed for this one's time)
                self._abandoned.append(runner)
            raise
        if outcome is None:
            with self._lock:
                self._abandoned.append(runner)
            return Outcome(
                fault=Fault("shadow_timeout", f"no answer within {timeout:g} s"),
                duration_s=timeout,
            )
        return outcome


__all__ = [
    "INTERRUPTS",
    "InterruptWatcher",
    "ShadowUnavailable",
    "ThreadIsolation",
    "call_captured",
]
