"""The worker side of process isolation: the fork server and the worker it forks.

* :func:`fork_server_main` runs in a clean interpreter started by the host (multiprocessing's
  ``spawn``, so it gets the host's ``sys.path`` and main module). It loads the factory and
  imports the factory's module once, then forks a worker whenever the host asks, and reaps
  one only when the host asks (so a worker's pid cannot be reused while the host may still
  kill it). Restarting a crashed worker thus costs a fork, not an interpreter start.
* :func:`main` is the worker: builds the shadow implementation once, then serves calls read
  from its pipe until the pipe closes or the host dies.

Wire format (both directions are ``Connection.send_bytes`` messages):

* request: ``COUNT`` then, per call, ``CALL`` (op length, payload length), the op (UTF-8)
  and the payload (the host's pickle of ``(args, kwargs)``).
* reply, one message per call, sent as soon as the call is done: ``REPLY`` (status,
  input-after flag, duration, body length), the body, then the post-call input when the
  flag says it is there.
* start: the worker sends ``READY`` once the implementation is built, or ``START_FAILED``
  followed by a one-line description of what the factory raised.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from shadow.outcome import ErrorInfo

COUNT = struct.Struct("<I")
CALL = struct.Struct("<HQ")
REPLY = struct.Struct("<BBdQ")

# reply status
OK = 0
RAISED = 1
UNSENDABLE = 2
"""The call's result (or error) could not be sent back: body is a UTF-8 detail."""
UNREADABLE = 3
"""The input could not be rebuilt in the worker (the call did not run): body is a detail."""

# input-after flag
INPUT_SAME = 0
INPUT_CHANGED = 1
"""The body is followed by the pickled post-call ``(args, kwargs)``."""
INPUT_CHANGED_UNSENDABLE = 2
"""The input changed but cannot be sent back: a UTF-8 detail follows the body."""

READY = b"R"
START_FAILED = b"E"

# fork server protocol: a request is SERVER_REQUEST; FORK is answered by PID with the host's
# end of the new worker's socket attached (a negative pid is -errno, no socket); REAP by
# EXIT_CODE (UNKNOWN_EXIT when there is no such child).
SERVER_REQUEST = struct.Struct("<cqd")
FORK = b"F"
REAP = b"W"
PID = struct.Struct("<q")
EXIT_CODE = struct.Struct("<q")
UNKNOWN_EXIT = -(2**40)
SERVER_READY = b"Z"

PROTOCOL = pickle.HIGHEST_PROTOCOL
"""The host pickles inputs with the same protocol, so unchanged input re-pickles to the same
bytes."""

EXIT_INTERNAL = 70
"""Exit status of a worker whose own machinery failed (not the shadow's doing)."""


class TooLarge(Exception):
    """Raised by :class:`CappedSink` as soon as a pickle outgrows its cap."""


class CappedSink:
    """A write-only file for :class:`pickle.Pickler` that gives up past ``cap`` bytes.

    The pickler flushes in frames of about 64 KiB, so an oversized result costs at most the
    cap plus one frame of memory, and stops as soon as it is known to be too large.
    """

    __slots__ = ("cap", "chunks", "size")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.chunks: list[bytes] = []

    def write(self, data: Any) -> int:
        chunk = data if type(data) is bytes else bytes(data)
        self.size += len(chunk)
        if self.size > self.cap:
            raise TooLarge
        self.chunks.append(chunk)
        return len(chunk)


def capped_dumps(obj: Any, cap: int) -> bytes:
    """Pickle ``obj``; raises :class:`TooLarge` past ``cap`` bytes."""
    sink = CappedSink(cap)
    pickle.Pickler(sink, protocol=PROTOCOL).dump(obj)
    return b"".join(sink.chunks)


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line, safe against a hostile ``__str__``."""
    info = ErrorInfo.of(exc)
    text = f"{info.short_type}: {info.message}" if info.message else info.short_type
    return " ".join(text.split())


def type_name(obj: Any) -> str:
    cls = type(obj)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


def _encode_error(exc: BaseException, cap: int) -> bytes:
    """``(ErrorInfo, pickled exception or None)``; the exception is sent only if it survives a
    round trip with the same description, so the host's live copy judges like the original."""
    info = ErrorInfo.of(exc)
    exc_bytes: bytes | None
    try:
        exc_bytes = capped_dumps(exc, cap)
        if ErrorInfo.of(pickle.loads(exc_bytes)) != info:
            exc_bytes = None
    except BaseException:
        exc_bytes = None
    return pickle.dumps((info, exc_bytes), protocol=PROTOCOL)


def _input_after(args: Any, kwargs: Any, payload: memoryview, cap: int) -> tuple[int, bytes]:
    """Did the call leave its input different from what it received?

    A byte-for-byte match with the host's pickle settles most calls at the cost of one
    pickle. Otherwise the payload is rebuilt here and pickled again before deciding: the host
    and the worker iterate sets in different orders (string hashing is salted per process),
    so the host's bytes alone would make every set look changed.
    """
    limit = cap + len(payload)
    try:
        after = capped_dumps((args, kwargs), limit)
    except TooLarge:
        return INPUT_CHANGED_UNSENDABLE, f"larger than {_mib(limit)}".encode()
    except BaseException as exc:
        return INPUT_CHANGED_UNSENDABLE, f"cannot be pickled: {describe(exc)}".encode()
    if after == payload:
        return INPUT_SAME, b""
    try:
        before = capped_dumps(pickle.loads(payload), limit)
    except BaseException:
        before = b""
    if after == before:
        return INPUT_SAME, b""
    if len(after) > cap:
        return INPUT_CHANGED_UNSENDABLE, f"larger than {_mib(cap)}".encode()
    return INPUT_CHANGED, after


def _reply(
    status: int, duration: float, body: bytes, flag: int = INPUT_SAME, after: bytes = b""
) -> bytes:
    return b"".join((REPLY.pack(status, flag, duration, len(body)), body, after))


def serve_call(impl: Any, op: str, payload: memoryview, cap: int) -> bytes:
    """Run one call and encode its reply. Never raises for anything the shadow does."""
    try:
        args, kwargs = pickle.loads(payload)
    except BaseException as exc:
        return _reply(
            UNREADABLE, 0.0, f"input cannot be rebuilt in the worker: {describe(exc)}".encode()
        )
    value: Any = None
    error: BaseException | None = None
    start = time.perf_counter()
    try:
        value = getattr(impl, op)(*args, **kwargs)
    except BaseException as exc:
        error = exc
    duration = time.perf_counter() - start

    if error is None:
        try:
            status, body = OK, capped_dumps(value, cap)
        except TooLarge:
            detail = f"result of type {type_name(value)} is larger than {_mib(cap)}"
            status, body = UNSENDABLE, detail.encode()
        except BaseException as exc:
            detail = f"result of type {type_name(value)} cannot be pickled: {describe(exc)}"
            status, body = UNSENDABLE, detail.encode()
    else:
        try:
            status, body = RAISED, _encode_error(error, cap)
        except BaseException as exc:
            detail = f"error of type {type_name(error)} cannot be sent back: {describe(exc)}"
            status, body = UNSENDABLE, detail.encode()
        error = None  # drop the traceback (and the frames it keeps alive) before the next call
    value = None
    flag, after = _input_after(args, kwargs, payload, cap)
    return _reply(status, duration, body, flag, after)


def _no_core_dumps() -> None:
    """A crashing shadow is restarted, possibly hundreds of times while a fuzzer shrinks its
    input: writing a core file each time would cost seconds and disk, so workers write none."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _cap_memory(limit_bytes: int | None) -> None:
    """Cap the worker's private writable memory (``RLIMIT_DATA``: heap, anonymous mappings,
    thread stacks). Unlike ``RLIMIT_AS`` it ignores reserved-but-unused address space, which
    threaded native libraries have gigabytes of; ``RLIMIT_AS`` is the fallback elsewhere."""
    if limit_bytes is None:
        return
    import resource

    which = getattr(resource, "RLIMIT_DATA", None)
    if which is None or not sys.platform.startswith("linux"):
        which = resource.RLIMIT_AS
    _soft, hard = resource.getrlimit(which)
    limit = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(which, (limit, limit))


def _exit_with_parent() -> None:
    """Exit as soon as the host dies, even in the middle of a long call: a daemon thread
    waits on the sentinel multiprocessing keeps open while the host lives."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="shadow-parent-watch", daemon=True).start()


def _die_with_fork_server(server_pid: int) -> None:
    """Linux: have the kernel SIGKILL this worker when the fork server exits (it exits when
    the host dies), even if the shadow holds the GIL in native code forever."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        return
    if os.getppid() != server_pid:  # the server died before the line above
        os._exit(0)


def main(conn: Connection, factory: Callable[[], Any], memory_limit: int | None, cap: int) -> None:
    """Worker entry point (the target of a spawned worker, or called in a forked one)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the host
    _exit_with_parent()
    try:
        _no_core_dumps()
        _cap_memory(memory_limit)
        impl = factory()
    except BaseException as exc:
        try:
            conn.send_bytes(START_FAILED + describe(exc).encode())
        finally:
            os._exit(0)
    conn.send_bytes(READY)
    try:
        _serve(conn, impl, cap)
    except BaseException:
        os._exit(EXIT_INTERNAL)
    os._exit(0)


def _serve(conn: Connection, impl: Any, cap: int) -> None:
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        view = memoryview(message)
        (count,) = COUNT.unpack_from(view, 0)
        offset = COUNT.size
        for _ in range(count):
            op_len, payload_len = CALL.unpack_from(view, offset)
            offset += CALL.size
            op = str(view[offset : offset + op_len], "utf-8")
            offset += op_len
            payload = view[offset : offset + payload_len]
            offset += payload_len
            try:
                reply = serve_call(impl, op, payload, cap)
            except BaseException as exc:  # the worker's own failure, e.g. out of memory
                detail = f"the worker failed while handling the call: {describe(exc)}"
                reply = _reply(UNSENDABLE, 0.0, detail.encode())
            conn.send_bytes(reply)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _reap(pid: int, grace_s: float) -> int:
    """Exit code of a worker (negative: killed by that signal); SIGKILLs it after
    ``grace_s`` if it has not exited by then."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return UNKNOWN_EXIT
        if got:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            try:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            except (ChildProcessError, ProcessLookupError):
                return UNKNOWN_EXIT
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.001)


def fork_server_main(
    chan: socket.socket,
    factory_bytes: bytes,
    preload: Sequence[str],
    memory_limit: int | None,
    cap: int,
) -> None:
    """Fork server entry point; exits when the host closes its end of ``chan``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        factory = pickle.loads(factory_bytes)
    except BaseException as exc:
        chan.sendall(START_FAILED + f"cannot load the factory: {describe(exc)}".encode())
        return
    for name in preload:
        # A failed import is left to the worker's factory call to report.
        with contextlib.suppress(BaseException):
            importlib.import_module(name)
    server_pid = os.getpid()
    chan.sendall(SERVER_READY)
    while True:
        try:
            request = _recv_exact(chan, SERVER_REQUEST.size)
        except OSError:
            return
        if not request:
            return
        command, pid, grace_s = SERVER_REQUEST.unpack(request)
        if command == REAP:
            chan.sendall(EXIT_CODE.pack(_reap(pid, grace_s)))
            continue
        host_end, worker_end = socket.socketpair()
        try:
            child = os.fork()
        except OSError as exc:
            host_end.close()
            worker_end.close()
            chan.sendall(PID.pack(-(exc.errno or 1)))
            continue
        if child == 0:
            try:
                chan.close()
                host_end.close()
                _die_with_fork_server(server_pid)
                main(Connection(worker_end.detach()), factory, memory_limit, cap)
            finally:
                os._exit(EXIT_INTERNAL)
        worker_end.close()
        socket.send_fds(chan, [PID.pack(child)], [host_end.fileno()])
        host_end.close()
