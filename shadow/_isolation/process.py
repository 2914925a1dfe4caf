"""Process isolation: the shadow runs in a long-lived worker process that can die, hang or
blow up without touching the host.

Why a lean supervisor on standard-library primitives rather than a pool library: a call's
round trip here is one ``send_bytes`` and one ``recv_bytes`` on a socket pair, a small
multiple of the bare pipe, where the pool libraries measured 5 to 10 times the bare pipe;
and a batch of queued calls costs one message out and a stream of replies back.

How workers start (``start_method``):

* ``"forkserver"`` (default on POSIX): a fork server of our own, started once per isolation
  as a clean interpreter (multiprocessing ``spawn``: the host's ``sys.path`` and main module,
  none of its threads), loads the factory and imports its module, then forks each worker.
  Replacing a dead worker costs a fork, not an interpreter start and imports: fuzzing a
  crashing shadow restarts it hundreds of times. (The standard library's fork server is not
  used: it is one per host, keeps the preload list of whoever started it first, and in
  Python 3.11 imports that list without the host's ``sys.path``, so a factory outside the
  default path was silently not preloaded and every restart re-imported it.)
* ``"spawn"``: every worker is a fresh interpreter; slower restarts, no fork at all.

Forking the host itself is never done: the host may have threads.

Containment, per call:

* an exception of any kind (``SystemExit``, ``KeyboardInterrupt``, a Rust panic...) comes
  back as ``Outcome.error``: the live exception when it survives pickling, else a
  :class:`~shadow._outcome.RemoteError` with the same :class:`~shadow._outcome.ErrorInfo`;
* no answer within the timeout: the worker is SIGKILLed, ``shadow_timeout``;
* the worker died (signal, ``os._exit``, out of memory): ``shadow_crash`` with the signal or
  exit status;
* a result that cannot be pickled or is over ``max_result_bytes``: ``shadow_unsendable``,
  decided while pickling (an oversized result is abandoned at the cap, never built whole);
* the worker's memory is capped (``memory_limit_mb`` beyond what it holds at start,
  ``RLIMIT_DATA``), so a blow-up is a ``MemoryError`` or a crash in the worker, not in the
  host.

The next call after a crash or a timeout gets a fresh worker. Workers ignore SIGINT (Ctrl-C
belongs to the host) and exit when the host dies, even in the middle of a call.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import select
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Literal

from shadow._isolation import (
    DEFAULT_MEMORY_LIMIT_MB,
    InputNotTransferable,
    IsolationName,
    Prepared,
)
from shadow._isolation import _worker as wire
from shadow._outcome import ErrorInfo, Fault, Outcome, RemoteError

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_SPIN_S = 200e-6
"""How long a waiting caller polls for the reply before it sleeps in ``poll``. A small call's
reply comes within tens of microseconds; a thread that went to sleep for it is woken by the
kernel, and when its CPU went idle meanwhile that wake-up alone can double the round trip
(measured here: 33 us awake, 90 us asleep, the same call). A caller that waits anyway loses
nothing by polling that long; the async dispatcher turns it off, since its waiting thread
shares the interpreter with the primary's."""
DEFAULT_MAX_RESULT_BYTES = 64 * 2**20
DEFAULT_START_TIMEOUT_S = 60.0
START_METHODS: tuple[str, ...] = ("forkserver", "spawn")

_REAP_WAIT_S = 2.0
"""How long a dead (or just killed) worker may take to be reaped."""

_Wait = Literal["message", "dead", "timeout"]


class WorkerStartError(RuntimeError):
    """The shadow's worker could not be started (its factory raised, it died, or it did not
    come up in time). Raised by :meth:`ProcessIsolation.start` only; ``run`` reports the same
    as a ``shadow_crash``/``shadow_timeout`` outcome."""


@dataclass(frozen=True)
class TargetImplementation:
    """A picklable factory for one implementation of a registered target.

    The worker calls it to build its own instance: ``load_target(import_spec).make(name)``.
    Its module is imported once in the fork server.
    """

    import_spec: str
    name: str

    def __call__(self) -> Any:
        from shadow._registry import load_target

        return load_target(self.import_spec).make(self.name)

    @property
    def module(self) -> str:
        return self.import_spec.partition(":")[0]


@dataclass(frozen=True)
class InputNotReturned:
    """Stands in for the shadow's post-call input when it changed but could not be sent back
    (too large or unpicklable): ``Outcome.input_after`` is then ``((InputNotReturned(...),),
    {})``, so the change is still reported, with the reason."""

    detail: str


def _death_fault(exit_code: int | None, when: str = "") -> Fault:
    suffix = f" {when}" if when else ""
    if exit_code is None:
        return Fault("shadow_crash", f"worker died{suffix} (exit status unknown)")
    if exit_code < 0:
        number = -exit_code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return Fault("shadow_crash", f"killed by {name}{suffix}", signal=number)
    return Fault("shadow_crash", f"exited with status {exit_code}{suffix}", exit_code=exit_code)


def _seconds(value: float) -> str:
    return f"{float(value)} s"


def _preload_modules(factory: Callable[[], Any]) -> tuple[str, ...]:
    """Modules the fork server imports up front so each worker finds them loaded."""
    module = (
        factory.module
        if isinstance(factory, TargetImplementation)
        else getattr(factory, "__module__", None)
    )
    if isinstance(module, str) and module not in ("__main__", "builtins"):
        return (module,)
    return ()


class _ServerLost(Exception):
    """The fork server is gone or not answering; a new one may do better."""


class _Worker:
    """One worker process and the host's end of its channel.

    ``sentinel`` is a file descriptor that becomes readable when the worker dies; without
    one, death shows as end-of-file on the channel.
    """

    def __init__(self, pid: int, channel: wire.Channel, sentinel: int | None) -> None:
        self.pid = pid
        self.channel = channel
        self._fd = channel.fileno()
        self._waitables: list[Any] = [self._fd] if sentinel is None else [self._fd, sentinel]
        self._poller: Any = None
        if hasattr(select, "poll"):
            self._poller = select.poll()
            self._poller.register(self._fd, select.POLLIN)
            if sentinel is not None:
                self._poller.register(sentinel, select.POLLIN)
        self._disposed = False
        self._dispose_lock = threading.Lock()

    def wait(self, timeout_s: float | None, spin_s: float = 0.0) -> _Wait:
        """Wait for the next message, polling for up to ``spin_s`` before sleeping; a dead
        worker is noticed at once."""
        if self.channel.has_message():
            return "message"
        if self._poller is not None:
            events = self._poller.poll(0)
            if not events and spin_s > 0:
                deadline = time.perf_counter() + min(spin_s, timeout_s or spin_s)
                while not events and time.perf_counter() < deadline:
                    events = self._poller.poll(0)
            if not events:
                ms = None if timeout_s is None else max(0, math.ceil(timeout_s * 1000))
                events = self._poller.poll(ms)
            if not events:
                return "timeout"
            if any(fd == self._fd for fd, _ in events):
                return "message"
            return "dead"
        ready = multiprocessing.connection.wait(self._waitables, timeout_s)
        if not ready:
            return "timeout"
        return "message" if self._fd in ready else "dead"

    def kill(self) -> None:
        raise NotImplementedError

    def exit_code(self) -> int | None:
        """Wait (briefly) for the worker to end; its exit code, negative for a signal, None
        when unknown."""
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def dispose(self) -> None:
        """Kill, reap and release the worker; idempotent, never raises, bounded in time."""
        with self._dispose_lock:
            if self._disposed:
                return
            self._disposed = True
        self.kill()
        with contextlib.suppress(Exception):
            self.channel.close()
        with contextlib.suppress(Exception):
            self._release()


class _SpawnedWorker(_Worker):
    """A worker that is a fresh interpreter of its own (``start_method="spawn"``)."""

    def __init__(self, process: BaseProcess, channel: wire.Channel) -> None:
        super().__init__(process.pid or 0, channel, process.sentinel)
        self.process = process

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()

    def exit_code(self) -> int | None:
        try:
            self.process.join(_REAP_WAIT_S)
            return self.process.exitcode
        except Exception:
            return None

    def _release(self) -> None:
        self.process.join(_REAP_WAIT_S)
        if self.process.exitcode is not None:
            self.process.close()


class _ForkServer:
    """The host's handle on the fork server process (see :mod:`shadow._isolation._worker`)."""

    def __init__(
        self, factory_bytes: bytes, preload: tuple[str, ...], memory_limit: int | None, cap: int
    ) -> None:
        host_end, server_end = socket.socketpair()
        ctx = multiprocessing.get_context("spawn")
        self.process = ctx.Process(
            target=wire.fork_server_main,
            args=(server_end, factory_bytes, preload, memory_limit, cap),
            name="shadow-fork-server",
            daemon=True,
        )
        self.sock = host_end
        try:
            self.process.start()
        except BaseException:
            host_end.close()
            raise
        finally:
            server_end.close()

    def wait_ready(self, timeout_s: float) -> str | None:
        """None once the server is ready, else why the factory cannot be loaded; raises
        :class:`_ServerLost` if the server died or did not answer in time."""
        self.sock.settimeout(timeout_s)
        try:
            hello = self.sock.recv(4096)
        except OSError as exc:
            detail = f"the fork server did not start within {_seconds(timeout_s)}"
            raise _ServerLost(detail) from exc
        if hello == wire.SERVER_READY:
            return None
        if hello.startswith(wire.START_FAILED):
            return str(hello[len(wire.START_FAILED) :], "utf-8", "replace")
        self.process.join(_REAP_WAIT_S)
        raise _ServerLost(_death_fault(self.process.exitcode, "while starting").detail)

    def fork(self, timeout_s: float) -> tuple[int, wire.Channel]:
        """A new worker's pid and the host's end of its socket; raises :class:`_ServerLost`,
        or ``OSError`` when the fork itself failed."""
        self.sock.settimeout(timeout_s)
        try:
            self.sock.sendall(wire.SERVER_REQUEST.pack(wire.FORK, 0, 0.0), wire.NOSIGNAL)
            data, fds, _flags, _addr = socket.recv_fds(self.sock, wire.PID.size, 1)
        except OSError as exc:
            raise _ServerLost(f"the fork server is not answering: {wire.describe(exc)}") from exc
        if len(data) != wire.PID.size:
            for fd in fds:
                os.close(fd)
            raise _ServerLost("the fork server is gone")
        (pid,) = wire.PID.unpack(data)
        if pid < 0 or not fds:
            for fd in fds:
                os.close(fd)
            raise OSError(-pid, f"fork failed: {os.strerror(-pid)}")
        return pid, wire.Channel(socket.socket(fileno=fds[0]))

    def reap(self, pid: int, grace_s: float) -> int | None:
        self.sock.settimeout(grace_s + 5.0)
        try:
            self.sock.sendall(wire.SERVER_REQUEST.pack(wire.REAP, pid, grace_s), wire.NOSIGNAL)
            data = self.sock.recv(wire.EXIT_CODE.size, socket.MSG_WAITALL)
        except OSError:
            return None
        if len(data) != wire.EXIT_CODE.size:
            return None
        (code,) = wire.EXIT_CODE.unpack(data)
        return None if code == wire.UNKNOWN_EXIT else int(code)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()

    def close(self) -> None:
        """Closing its socket ends the server; its workers die with it (PDEATHSIG)."""
        with contextlib.suppress(Exception):
            self.sock.close()
        try:
            self.process.join(_REAP_WAIT_S)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join(_REAP_WAIT_S)
            if self.process.exitcode is not None:
                self.process.close()
        except Exception:
            pass


class _ForkedWorker(_Worker):
    """A worker forked by the fork server; watched through a pidfd where Linux has one."""

    def __init__(self, pid: int, channel: wire.Channel, server: _ForkServer) -> None:
        pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(pid)
        super().__init__(pid, channel, pidfd)
        self._pidfd = pidfd
        self._server = server
        self._code: int | None = None
        self._reaped = False

    def kill(self) -> None:
        if not self._reaped:  # not reaped yet, so the pid cannot belong to anyone else
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def exit_code(self) -> int | None:
        if not self._reaped:
            self._code = self._server.reap(self.pid, _REAP_WAIT_S)
            self._reaped = True
        return self._code

    def _release(self) -> None:
        self.exit_code()
        if self._pidfd is not None:
            os.close(self._pidfd)


def _emergency_stop(holder: list[Any]) -> None:
    """Finalizer of a ProcessIsolation dropped without close(): kill what is running."""
    for thing in holder:
        if thing is not None:
            thing.kill()


class ProcessIsolation:
    """Runs the shadow implementation in a worker process (see the module docstring).

    ``factory`` is a picklable zero-argument callable returning the implementation (e.g. a
    :class:`TargetImplementation`); each worker calls it once. Calls are serialised: one
    worker, one call at a time. ``timeout_s`` None means no timeout; ``memory_limit_mb``
    None means no memory cap. The worker starts at the first call (or :meth:`start`); an
    implementation that cannot be built (its factory raised) is not retried: every call then
    gets the same ``shadow_crash`` outcome.
    """

    name: IsolationName = "process"

    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        start_method: str | None = None,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        spin_s: float = DEFAULT_SPIN_S,
    ) -> None:
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive or None, got {timeout_s!r}")
        if memory_limit_mb is not None and memory_limit_mb < 1:
            raise ValueError(f"memory_limit_mb must be at least 1 or None, got {memory_limit_mb!r}")
        if max_result_bytes < 1:
            raise ValueError(f"max_result_bytes must be at least 1, got {max_result_bytes!r}")
        if not start_timeout_s > 0:
            raise ValueError(f"start_timeout_s must be positive, got {start_timeout_s!r}")
        available = [m for m in START_METHODS if m in multiprocessing.get_all_start_methods()] or [
            "spawn"
        ]
        method = available[0] if start_method is None else start_method
        if method not in available:
            raise ValueError(
                f"start_method must be one of {', '.join(available)}, got {start_method!r}"
            )
        try:
            factory_bytes = pickle.dumps(factory, protocol=wire.PROTOCOL)
        except Exception as exc:
            raise ValueError(
                f"factory cannot be sent to a worker process: {wire.describe(exc)}"
            ) from exc
        self._factory = factory
        self._factory_bytes = factory_bytes
        self._start_method = method
        self._timeout_s = timeout_s
        self._memory_limit = None if memory_limit_mb is None else memory_limit_mb * 2**20
        self._max_result_bytes = max_result_bytes
        self._start_timeout_s = start_timeout_s
        self._spin_s = max(0.0, spin_s)
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._server: _ForkServer | None = None
        self._running: list[Any] = [None, None]  # [worker, server], for the finalizer
        weakref.finalize(self, _emergency_stop, self._running)
        self._broken: Fault | None = None
        self._closed = False
        self._starts = 0
        self._crashes = 0
        self._timeouts = 0

    # ------------------------------------------------------------------ counters

    @property
    def start_method(self) -> str:
        return self._start_method

    @property
    def timeout_s(self) -> float | None:
        return self._timeout_s

    @property
    def starts(self) -> int:
        """Workers started so far."""
        return self._starts

    @property
    def restarts(self) -> int:
        """Workers started to replace an earlier one (after a crash, a timeout, a kill)."""
        return max(0, self._starts - 1)

    @property
    def crashes(self) -> int:
        return self._crashes

    @property
    def timeouts(self) -> int:
        return self._timeouts

    @property
    def pid(self) -> int | None:
        """The current worker's process id, None when no worker is running."""
        worker = self._worker
        return None if worker is None else worker.pid

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ protocol

    def prepare(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Prepared:
        """Pickle the input now, so what the primary later does to it never reaches the
        shadow; raises :class:`~shadow._isolation.InputNotTransferable` if it cannot be."""
        try:
            payload = pickle.dumps((tuple(args), dict(kwargs)), protocol=wire.PROTOCOL)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise InputNotTransferable(
                f"input of {op!r} cannot be sent to the shadow's worker process: "
                f"{wire.describe(exc)}"
            ) from exc
        return Prepared(op, None, None, payload, len(payload))

    def snapshot(self, prepared: Prepared) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = pickle.loads(self._payload(prepared))
        return args, kwargs

    def run(self, prepared: Prepared, timeout_s: float | None) -> Outcome:
        return self.run_batch((prepared,), timeout_s)[0]

    def run_batch(self, batch: Sequence[Prepared], timeout_s: float | None) -> list[Outcome]:
        """One message out, one reply per call streamed back; ``timeout_s`` is per call.

        When the worker dies or hangs on call ``i``, earlier calls keep their results, call
        ``i`` gets the fault, and the later calls (which never started) go to a fresh worker.
        """
        timeout = self._timeout_s if timeout_s is None else timeout_s
        results: list[Outcome | None] = [None] * len(batch)
        frames: list[bytes] = []
        pending: list[int] = []
        for i, prepared in enumerate(batch):
            try:
                payload = self._payload(prepared)
            except InputNotTransferable as exc:
                results[i] = Outcome(fault=Fault("shadow_unsendable", str(exc)))
                frames.append(b"")
                continue
            op = prepared.op.encode()
            frames.append(b"".join((wire.CALL.pack(len(op), len(payload)), op, payload)))
            pending.append(i)
        if pending:
            with self._lock:
                try:
                    self._run_pending(frames, pending, results, timeout)
                except BaseException:
                    # Interrupted (Ctrl-C in the host) mid-send or mid-reply: whatever the
                    # worker sends next would be out of step, so it goes.
                    self._drop_worker()
                    raise
                finally:
                    if self._closed:  # close() could not take the lock: finish its job
                        self._shut_down()
        return [r if r is not None else Outcome(fault=self._closed_fault()) for r in results]

    def close(self) -> None:
        """Kill the worker and its fork server. Never raises, never waits long; safe from any
        thread, even while another waits on a hung call (that call gets a ``shadow_crash``)."""
        self._closed = True
        worker = self._worker
        if worker is not None:
            worker.kill()
        if self._lock.acquire(timeout=1.0):
            try:
                self._shut_down()
            finally:
                self._lock.release()

    def start(self) -> None:
        """Start the worker now rather than at the first call, and find out at once whether
        the implementation can be built there; raises :class:`WorkerStartError`."""
        with self._lock:
            try:
                fault = self._ensure_worker()
            except BaseException:
                self._drop_worker()
                raise
        if fault is not None:
            raise WorkerStartError(f"shadow worker: {fault.detail}")

    def __enter__(self) -> ProcessIsolation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ProcessIsolation({self._factory!r}, start_method={self._start_method!r}, "
            f"pid={self.pid}, starts={self._starts})"
        )

    # ------------------------------------------------------------------ internals

    def _payload(self, prepared: Prepared) -> bytes:
        if prepared.payload is not None:
            return prepared.payload
        return self.prepare(prepared.op, prepared.args or (), prepared.kwargs or {}).payload or b""

    @staticmethod
    def _closed_fault() -> Fault:
        return Fault("shadow_crash", "the process isolation was closed before this call ran")

    def _run_pending(
        self,
        frames: list[bytes],
        pending: list[int],
        results: list[Outcome | None],
        timeout: float | None,
    ) -> None:
        resent = False
        while pending:
            if self._closed:
                return
            fault = self._ensure_worker()
            if fault is not None:
                for i in pending:
                    results[i] = Outcome(fault=fault)
                return
            worker = self._worker
            assert worker is not None
            message = b"".join([wire.COUNT.pack(len(pending)), *(frames[i] for i in pending)])
            if not self._send(worker, message):
                # It died while idle (nothing of ours ran): retry once on a fresh one.
                code = worker.exit_code()
                self._drop_worker()
                if resent:
                    results[pending[0]] = Outcome(fault=_death_fault(code, "before the call"))
                    pending = pending[1:]
                resent = True
                continue
            resent = False
            pending = self._collect(worker, pending, results, timeout)

    @staticmethod
    def _send(worker: _Worker, message: bytes) -> bool:
        try:
            worker.channel.send(message)
        except OSError:
            return False
        return True

    def _collect(
        self,
        worker: _Worker,
        pending: list[int],
        results: list[Outcome | None],
        timeout: float | None,
    ) -> list[int]:
        """Read one reply per pending call; returns the calls left when the worker is lost."""
        for k, i in enumerate(pending):
            started = time.perf_counter()
            state = worker.wait(timeout, self._spin_s)
            if state == "message":
                try:
                    reply = worker.channel.recv()
                except (EOFError, OSError):
                    state = "dead"
                else:
                    results[i] = self._decode(reply)
                    continue
            elapsed = time.perf_counter() - started
            if state == "timeout":
                worker.kill()
                self._timeouts += 1
                detail = f"no answer after {_seconds(timeout or 0.0)}; worker killed"
                results[i] = Outcome(fault=Fault("shadow_timeout", detail), duration_s=elapsed)
            else:
                self._crashes += 1
                code = worker.exit_code()
                fault = (
                    Fault("shadow_crash", "worker stopped by close()")
                    if self._closed
                    else _death_fault(code)
                )
                results[i] = Outcome(fault=fault, duration_s=elapsed)
            self._drop_worker()
            return pending[k + 1 :]
        return []

    def _decode(self, reply: bytes | bytearray) -> Outcome:
        view = memoryview(reply)
        status, flag, duration, body_len = wire.REPLY.unpack_from(view, 0)
        start = wire.REPLY.size
        body = view[start : start + body_len]
        rest = view[start + body_len :]
        outcome = Outcome(duration_s=duration)
        if status == wire.OK:
            try:
                outcome.value = pickle.loads(body)
            except BaseException as exc:
                detail = f"result cannot be rebuilt in the host: {wire.describe(exc)}"
                outcome.fault = Fault("shadow_unsendable", detail)
        elif status == wire.RAISED:
            outcome.error = self._error(body)
        else:  # UNSENDABLE, UNREADABLE
            outcome.fault = Fault("shadow_unsendable", str(body, "utf-8", "replace"))
        if flag == wire.INPUT_CHANGED:
            try:
                args, kwargs = pickle.loads(rest)
                outcome.input_after = (args, kwargs)
            except BaseException as exc:
                detail = f"changed input cannot be rebuilt in the host: {wire.describe(exc)}"
                outcome.input_after = ((InputNotReturned(detail),), {})
        elif flag == wire.INPUT_CHANGED_UNSENDABLE:
            detail = "changed input is " + str(rest, "utf-8", "replace")
            outcome.input_after = ((InputNotReturned(detail),), {})
        return outcome

    @staticmethod
    def _error(body: memoryview) -> BaseException:
        info: ErrorInfo
        exc_bytes: bytes | None
        info, exc_bytes = pickle.loads(body)
        if exc_bytes is not None:
            try:
                exc = pickle.loads(exc_bytes)
            except BaseException:
                exc = None
            if isinstance(exc, BaseException):
                # An exception class whose pickle does not round-trip (a custom __init__)
                # can come back with other attributes: then the description is the truth.
                back = ErrorInfo.of(exc)
                if back.type == info.type and dict(back.attrs) == dict(info.attrs):
                    return exc
        return RemoteError(info)

    def _ensure_worker(self) -> Fault | None:
        """A running worker, started if needed; the fault when it cannot be started."""
        if self._worker is not None:
            return None
        if self._broken is not None:
            return self._broken
        if self._closed:
            return self._closed_fault()
        try:
            worker = self._launch()
        except _ServerLost as exc:
            return Fault("shadow_crash", f"worker could not be started: {exc}")
        except _FactoryUnloadable as exc:
            self._broken = Fault("shadow_crash", f"the implementation could not be built: {exc}")
            return self._broken
        except Exception as exc:
            return Fault("shadow_crash", f"worker could not be started: {wire.describe(exc)}")
        self._starts += 1
        self._worker = worker
        self._running[0] = worker
        state = worker.wait(self._start_timeout_s)
        if state == "message":
            try:
                hello = worker.channel.recv()
            except (EOFError, OSError):
                state = "dead"
            else:
                if hello == wire.READY:
                    if self._closed:  # close() raced with the start
                        self._drop_worker()
                        return self._closed_fault()
                    return None
                self._drop_worker()
                detail = str(hello[len(wire.START_FAILED) :], "utf-8", "replace")
                self._broken = Fault(
                    "shadow_crash", f"the implementation could not be built: {detail}"
                )
                return self._broken
        worker.kill()
        if state == "timeout":
            fault = Fault(
                "shadow_timeout", f"worker did not start within {_seconds(self._start_timeout_s)}"
            )
        else:
            fault = _death_fault(worker.exit_code(), "while starting")
        self._drop_worker()
        return fault

    def _launch(self) -> _Worker:
        """Start one worker process (its READY is awaited by the caller)."""
        if self._start_method == "spawn":
            ctx = multiprocessing.get_context("spawn")
            host_end, worker_end = socket.socketpair()
            process = ctx.Process(
                target=wire.main,
                args=(worker_end, self._factory, self._memory_limit, self._max_result_bytes),
                name="shadow-worker",
                daemon=True,
            )
            try:
                process.start()
            except BaseException:
                host_end.close()
                raise
            finally:
                worker_end.close()
            return _SpawnedWorker(process, wire.Channel(host_end))
        for attempt in (1, 2):
            server = self._fork_server()
            try:
                pid, conn = server.fork(self._start_timeout_s)
            except _ServerLost:
                self._stop_server()
                if attempt == 2:
                    raise
                continue
            return _ForkedWorker(pid, conn, server)
        raise AssertionError("unreachable")

    def _fork_server(self) -> _ForkServer:
        if self._server is not None:
            return self._server
        server = _ForkServer(
            self._factory_bytes,
            _preload_modules(self._factory),
            self._memory_limit,
            self._max_result_bytes,
        )
        self._server = server
        self._running[1] = server
        unloadable = server.wait_ready(self._start_timeout_s)
        if unloadable is not None:
            self._stop_server()
            raise _FactoryUnloadable(unloadable)
        return server

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        self._running[1] = None
        if server is not None:
            server.close()

    def _drop_worker(self) -> None:
        worker, self._worker = self._worker, None
        self._running[0] = None
        if worker is not None:
            worker.dispose()

    def _shut_down(self) -> None:
        self._drop_worker()
        self._stop_server()


class _FactoryUnloadable(Exception):
    """The fork server could not unpickle the factory (e.g. its module is not importable)."""


__all__ = [
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_MEMORY_LIMIT_MB",
    "DEFAULT_START_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "START_METHODS",
    "InputNotReturned",
    "ProcessIsolation",
    "TargetImplementation",
    "WorkerStartError",
]
