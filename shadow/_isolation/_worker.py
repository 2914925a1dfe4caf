"""The worker side of process isolation: the fork server, the worker it forks, and the
message channel between host and worker.

* :func:`fork_server_main` runs in a clean interpreter started by the host (multiprocessing's
  ``spawn``, so it gets the host's ``sys.path`` and main module). It loads the factory and
  imports the factory's module once, then forks a worker whenever the host asks, and reaps
  one only when the host asks (so a worker's pid cannot be reused while the host may still
  kill it). Restarting a crashed worker thus costs a fork, not an interpreter start.
* :func:`main` is the worker: builds the shadow implementation once, then serves calls read
  from its socket until the socket closes or the host dies.

Wire format (messages on a :class:`Channel`):

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
from typing import Any

from shadow._outcome import ErrorInfo

COUNT = struct.Struct("<I")
CALL = struct.Struct("<IQ")
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

NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)
"""Sending to a dead peer must raise, not SIGPIPE the sender (a host may have restored the
default SIGPIPE action, which kills)."""

_LENGTH = struct.Struct("<Q")
_INLINE = 1 << 16
_BUFFER = 1 << 16


class Channel:
    """Length-prefixed messages over a stream socket.

    Reads go through a buffer, so a small message costs one ``recv`` and a burst of replies
    (a batch) often none; sends never raise SIGPIPE. Not thread-safe: one owner at a time.
    """

    __slots__ = ("_buf", "_end", "_start", "_view", "sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self.sock = sock
        self._buf = bytearray(_BUFFER)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Raises ``OSError`` (``BrokenPipeError``...) when the peer is gone."""
        header = _LENGTH.pack(len(data))
        if len(data) <= _INLINE:
            self.sock.sendall(header + data, NOSIGNAL)
        else:
            self.sock.sendall(header, NOSIGNAL)
            self.sock.sendall(data, NOSIGNAL)

    def has_message(self) -> bool:
        """A whole message is already buffered (reading it will not block)."""
        available = self._end - self._start
        if available < _LENGTH.size:
            return False
        (length,) = _LENGTH.unpack_from(self._buf, self._start)
        return bool(available - _LENGTH.size >= length)

    def recv(self) -> bytes | bytearray:
        """The next message; raises ``EOFError`` when the peer closed (or died)."""
        while self._end - self._start < _LENGTH.size:
            self._fill()
        (length,) = _LENGTH.unpack_from(self._buf, self._start)
        self._start += _LENGTH.size
        available = self._end - self._start
        if length <= available:
            data = bytes(self._view[self._start : self._start + length])
            self._start += length
            return data
        message = bytearray(length)
        message[:available] = self._view[self._start : self._end]
        self._start = self._end = 0
        target = memoryview(message)
        got = available
        while got < length:
            n = self.sock.recv_into(target[got:], length - got)
            if n == 0:
                raise EOFError("peer closed in the middle of a message")
            got += n
        return message

    def _fill(self) -> None:
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buf):
            pending = self._end - self._start
            self._buf[:pending] = self._view[self._start : self._end]
            self._start, self._end = 0, pending
        n = self.sock.recv_into(self._view[self._end :])
        if n == 0:
            raise EOFError("peer closed")
        self._end += n


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


class Encoder:
    """Pickles into a :class:`CappedSink` with one reused pickler (building a pickler costs
    more than pickling a small result); a pickler that failed mid-way is not reused."""

    def __init__(self) -> None:
        self._sink = CappedSink(0)
        self._pickler: pickle.Pickler | None = None

    def dumps(self, obj: Any, cap: int) -> bytes:
        """Raises :class:`TooLarge` past ``cap`` bytes, or whatever pickling raises."""
        sink = self._sink
        sink.cap, sink.size, sink.chunks = cap, 0, []
        pickler = self._pickler
        if pickler is None:
            pickler = self._pickler = pickle.Pickler(sink, protocol=PROTOCOL)
        try:
            pickler.dump(obj)
        except BaseException:
            self._pickler = None
            raise
        finally:
            chunks, sink.chunks = sink.chunks, []
        pickler.clear_memo()  # the memo holds the pickled objects alive
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def capped_dumps(obj: Any, cap: int) -> bytes:
    """Pickle ``obj``; raises :class:`TooLarge` past ``cap`` bytes."""
    return Encoder().dumps(obj, cap)


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line, safe against a hostile ``__str__``."""
    info = ErrorInfo.of(exc)
    text = f"{info.short_type}: {info.message}" if info.message else info.short_type
    return " ".join(text.split())


def type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


def _reply(
    status: int, duration: float, body: bytes, flag: int = INPUT_SAME, after: bytes = b""
) -> bytes:
    return b"".join((REPLY.pack(status, flag, duration, len(body)), body, after))


class Server:
    """Runs calls on the implementation and encodes their replies."""

    def __init__(self, impl: Any, cap: int) -> None:
        self.impl = impl
        self.cap = cap
        self._encoder = Encoder()

    def call(self, op: str, payload: memoryview) -> bytes:
        """Run one call and encode its reply. Never raises for anything the shadow does."""
        try:
            args, kwargs = pickle.loads(payload)
        except BaseException as exc:
            detail = f"input cannot be rebuilt in the worker: {describe(exc)}"
            return _reply(UNREADABLE, 0.0, detail.encode())
        value: Any = None
        error: BaseException | None = None
        start = time.perf_counter()
        try:
            value = getattr(self.impl, op)(*args, **kwargs)
        except BaseException as exc:
            error = exc
        duration = time.perf_counter() - start

        if error is None:
            try:
                status, body = OK, self._encoder.dumps(value, self.cap)
            except TooLarge:
                detail = f"result of type {type_name(value)} is larger than {_mib(self.cap)}"
                status, body = UNSENDABLE, detail.encode()
            except BaseException as exc:
                detail = f"result of type {type_name(value)} cannot be pickled: {describe(exc)}"
                status, body = UNSENDABLE, detail.encode()
        else:
            try:
                status, body = RAISED, self._encode_error(error)
            except BaseException as exc:
                detail = f"error of type {type_name(error)} cannot be sent back: {describe(exc)}"
                status, body = UNSENDABLE, detail.encode()
            error = None  # drop the traceback (and the frames it keeps alive) now
        value = None
        flag, after = self._input_after(args, kwargs, payload)
        return _reply(status, duration, body, flag, after)

    def _encode_error(self, exc: BaseException) -> bytes:
        """``(ErrorInfo, pickled exception or None)``; the exception is sent only if it
        survives a round trip with the same description, so the host's live copy judges
        like the original."""
        info = ErrorInfo.of(exc)
        exc_bytes: bytes | None
        try:
            exc_bytes = self._encoder.dumps(exc, self.cap)
            if ErrorInfo.of(pickle.loads(exc_bytes)) != info:
                exc_bytes = None
        except BaseException:
            exc_bytes = None
        return pickle.dumps((info, exc_bytes), protocol=PROTOCOL)

    def _input_after(self, args: Any, kwargs: Any, payload: memoryview) -> tuple[int, bytes]:
        """Did the call leave its input different from what it received?

        A byte-for-byte match with the host's pickle settles most calls at the cost of one
        pickle. Otherwise the payload is rebuilt here and pickled again before deciding:
        the host and the worker iterate sets in different orders (string hashing is salted
        per process), so the host's bytes alone would make every set look changed.
        """
        limit = self.cap + len(payload)
        try:
            after = self._encoder.dumps((args, kwargs), limit)
        except TooLarge:
            return INPUT_CHANGED_UNSENDABLE, f"larger than {_mib(limit)}".encode()
        except BaseException as exc:
            return INPUT_CHANGED_UNSENDABLE, f"cannot be pickled: {describe(exc)}".encode()
        if after == payload:
            return INPUT_SAME, b""
        try:
            before = self._encoder.dumps(pickle.loads(payload), limit)
        except BaseException:
            before = b""
        if after == before:
            return INPUT_SAME, b""
        if len(after) > self.cap:
            return INPUT_CHANGED_UNSENDABLE, f"larger than {_mib(self.cap)}".encode()
        return INPUT_CHANGED, after

    def serve(self, channel: Channel) -> None:
        """Answer requests until the host closes the channel."""
        while True:
            try:
                message = channel.recv()
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
                    reply = self.call(op, payload)
                except BaseException as exc:  # the worker's own failure, e.g. out of memory
                    detail = f"the worker failed while handling the call: {describe(exc)}"
                    reply = _reply(UNSENDABLE, 0.0, detail.encode())
                channel.send(reply)


def _no_core_dumps() -> None:
    """A crashing shadow is restarted, possibly hundreds of times while a fuzzer shrinks its
    input: writing a core file each time would cost seconds and disk, so workers write none."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _data_size() -> int:
    """Bytes this process already has counted against ``RLIMIT_DATA`` (``VmData``), 0 when
    unknown."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cap_memory(limit_bytes: int | None) -> None:
    """Cap the worker's private writable memory (``RLIMIT_DATA``: heap, anonymous mappings,
    thread stacks). Unlike ``RLIMIT_AS`` it ignores address space reserved without write
    access; ``RLIMIT_AS`` is the fallback elsewhere.

    On Linux the cap is what the shadow may add to what the worker holds when it starts:
    modules loaded before (in the fork server) may hold private writable reservations that
    count against ``RLIMIT_DATA`` without using memory (a native dependency of this package
    maps an arena of 1 GiB at import), and an absolute cap below them would make every later
    mapping fail, loading an extension module included."""
    if limit_bytes is None:
        return
    import resource

    which = getattr(resource, "RLIMIT_DATA", None)
    if which is None or not sys.platform.startswith("linux"):
        which = resource.RLIMIT_AS
    else:
        limit_bytes += _data_size()
    _soft, hard = resource.getrlimit(which)
    limit = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(which, (limit, limit))


def _exit_with_parent() -> None:
    """Exit as soon as the host dies, even in the middle of a long call: a daemon thread
    waits on the sentinel multiprocessing keeps open while the host lives (inherited through
    the fork server too)."""
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


def main(
    sock: socket.socket, factory: Callable[[], Any], memory_limit: int | None, cap: int
) -> None:
    """Worker entry point (the target of a spawned worker, or called in a forked one)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the host
    _exit_with_parent()
    channel = Channel(sock)
    try:
        _no_core_dumps()
        _cap_memory(memory_limit)
        impl = factory()
    except BaseException as exc:
        try:
            channel.send(START_FAILED + describe(exc).encode())
        finally:
            os._exit(0)
    try:
        channel.send(READY)
        Server(impl, cap).serve(channel)
    except BaseException:
        os._exit(EXIT_INTERNAL)
    os._exit(0)


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
        chan.sendall(START_FAILED + f"cannot load the factory: {describe(exc)}".encode(), NOSIGNAL)
        return
    for name in ("ctypes", "resource", *preload):
        # A failed import is left to the worker's factory call to report.
        with contextlib.suppress(BaseException):
            importlib.import_module(name)
    server_pid = os.getpid()
    chan.sendall(SERVER_READY, NOSIGNAL)
    while True:
        try:
            request = _recv_exact(chan, SERVER_REQUEST.size)
        except OSError:
            return
        if not request:
            return
        command, pid, grace_s = SERVER_REQUEST.unpack(request)
        if command == REAP:
            chan.sendall(EXIT_CODE.pack(_reap(pid, grace_s)), NOSIGNAL)
            continue
        host_end, worker_end = socket.socketpair()
        try:
            child = os.fork()
        except OSError as exc:
            host_end.close()
            worker_end.close()
            chan.sendall(PID.pack(-(exc.errno or 1)), NOSIGNAL)
            continue
        if child == 0:
            try:
                chan.close()
                host_end.close()
                _die_with_fork_server(server_pid)
                main(worker_end, factory, memory_limit, cap)
            finally:
                os._exit(EXIT_INTERNAL)
        worker_end.close()
        socket.send_fds(chan, [PID.pack(child)], [host_end.fileno()], NOSIGNAL)
        host_end.close()
