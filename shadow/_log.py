"""The append-only JSON Lines event log: whole lines, bounded, and never a failure for the caller.

Writing goes through structlog's public pieces: :func:`structlog.wrap_logger` wraps
:class:`_AppendLogger`, our logger, whose ``msg`` writes each line with a single ``write(2)``
on an ``O_APPEND`` descriptor, in a :class:`structlog.BoundLogger` running our processor
chain (lay the line out with ``schema`` first; render it with orjson to bytes, capped at
:data:`LINE_CAP`).
POSIX makes ``write`` on a regular file atomic with respect to other writes (XSI 2.9.7) and
``O_APPEND`` makes the seek to the end part of it; Linux keeps both on local filesystems (the
inode lock is held for the whole write), whatever the line's length. So lines from any number
of threads and processes never interleave, with no lock of ours on the hot path. On a network
filesystem, where ``O_APPEND`` is not atomic, pass ``lock=True`` (or set
``SHADOW_LOG_FLOCK=1``): every line is then written under an exclusive ``flock``.

A write only comes back short on an error (a full disk, the file size limit) or when SIGKILL
lands in the middle of a multi-page line. Such a torn line is never finished later: it is
ended with a newline when possible, and readers drop it with :func:`parse_line`, which also
recovers a whole line that another writer appended right after the torn bytes.

Logging must never break the call it records: :meth:`EventLog.emit` and
:meth:`EventLog.close` never raise. A failed write (ENOSPC, EIO, a descriptor closed under
us) is counted (``write_errors``, ``events_lost``), warned about once, and never counted as
written. A line over the cap is shrunk (:mod:`shadow._linecap`), never dropped.

Inputs larger than :data:`BLOB_THRESHOLD` bytes of JSON are stored once as
``blobs/<sha256>.json`` next to the log (content-addressed, written atomically).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import structlog

from shadow._linecap import IDENTITY_FIELDS, MIN_LINE_CAP, fit_line, render_lenient

__all__ = [
    "BLOB_THRESHOLD",
    "IDENTITY_FIELDS",
    "LINE_CAP",
    "MIN_LINE_CAP",
    "READ_LINE_LIMIT",
    "RESYNC_MARK",
    "SCHEMA",
    "EventLog",
    "LogWriteWarning",
    "ReadStats",
    "load_input",
    "parse_line",
    "read_events",
]

SCHEMA: Final = "shadow.event/1"
#: Longest line the writer emits, newline included. A rendered event over it is shrunk.
LINE_CAP: Final = 1024 * 1024
#: Encoded inputs whose JSON is longer than this go to a blob instead of the line.
BLOB_THRESHOLD: Final = 64 * 1024
#: Longest physical line :func:`read_events` reads. At least twice the cap: a torn prefix
#: (shorter than one line) plus the whole line glued after it must still be read.
READ_LINE_LIMIT: Final = 8 * LINE_CAP
#: Every line starts with these bytes, and they cannot occur inside a JSON string (the quote
#: would be escaped), so they mark where a whole line may start after a torn one.
RESYNC_MARK: Final = b'{"schema":"shadow.'

_FAST_OPTIONS: Final = orjson.OPT_APPEND_NEWLINE


class LogWriteWarning(RuntimeWarning):
    """Issued once per log when events start being lost (write errors, use after close)."""


# --------------------------------------------------------------------------------------------
# The structlog chain: processors, and the logger that writes


class _Tally:
    """Counters of one log, shared by its writer threads, and the once-only warning."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.lock = threading.Lock()
        self.written = 0
        self.lost = 0
        self.errors = 0
        self.truncated = 0
        self._warned = False

    def shrank(self) -> None:
        with self.lock:
            self.truncated += 1

    def failed(self, reason: str, *, lost: bool, io_error: bool) -> None:
        with self.lock:
            self.lost += lost
            self.errors += io_error
            first = not self._warned
            self._warned = True
        if first:
            self._warn(
                f"shadow event log {self._path}: {reason}; events that cannot be written are "
                "counted as lost (events_lost), the calls themselves are not affected"
            )

    @staticmethod
    def _warn(text: str) -> None:
        """One warning, which must not raise either (``-W error`` turns it into an error)."""
        try:
            warnings.warn(text, LogWriteWarning, stacklevel=2)
        except Exception:
            with contextlib.suppress(Exception):
                sys.stderr.write(f"warning: {text}\n")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _lay_out(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """First processor: ``schema``, ``event``, then the event's fields, then any bound context.

    The fields travel through structlog as one value (``fields=``): structlog then copies one
    reference instead of every field twice, and a field may be named anything (``event``,
    ``self``) without clashing with a keyword argument.
    """
    event = event_dict["event"]
    fields = event_dict["fields"]
    line = {"schema": SCHEMA, "event": event, **fields}
    if len(event_dict) > 2:  # context bound with ``bind()`` (we bind none ourselves)
        line.update((k, v) for k, v in event_dict.items() if k not in ("event", "fields"))
    if "schema" in fields or "event" in fields:  # fields never rename the line
        line["schema"] = SCHEMA
        line["event"] = event
    return line


class _LineRenderer:
    """Last processor: the event as one JSON line of bytes, at most ``cap`` long.

    Events are plain JSON almost always, and orjson's plain path is twice as fast as the one
    that also accepts NumPy values, non-string keys and arbitrary objects (as repr), so the
    general options are only a fallback, and shrinking only happens past the cap.
    """

    def __init__(self, cap: int, tally: _Tally) -> None:
        self._cap = cap
        self._tally = tally

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> bytes:
        try:
            line: bytes | None = orjson.dumps(event_dict, option=_FAST_OPTIONS)
        except orjson.JSONEncodeError:
            line = render_lenient(event_dict)
        if line is not None and len(line) <= self._cap:
            return line
        self._tally.shrank()
        return fit_line(event_dict, self._cap)


class _AppendLogger:
    """The logger structlog wraps: appends each rendered line with one ``write(2)``.

    Never raises: a failed write is counted and warned about by the tally.
    """

    def __init__(self, fd: int, tally: _Tally, *, fsync: bool, lock: bool) -> None:
        self._fd = fd
        self._tally = tally
        self._fsync = fsync
        self._flock = lock
        self._lock = threading.Lock()

    def msg(self, line: bytes) -> None:
        try:
            if self._flock:
                self._write_locked(line)
            else:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise self._torn(written, len(line))
                if self._fsync:
                    os.fsync(self._fd)
        except OSError as exc:
            self._tally.failed(_reason(exc), lost=True, io_error=True)
            return
        tally = self._tally  # counted inline: this is the hot path
        tally.lock.acquire()
        tally.written += 1
        tally.lock.release()

    def _torn(self, written: int, total: int) -> OSError:
        """End a line cut short so the next one starts on its own, and say why it was cut.

        The rest is never written: with ``O_APPEND`` other writers may already have appended
        after the torn bytes. The newline usually fails with the cause (ENOSPC, EFBIG).
        """
        try:
            os.write(self._fd, b"\n")
        except OSError as exc:
            return exc
        return OSError(0, f"short write ({written} of {total} bytes)")

    def _write_locked(self, line: bytes) -> None:
        """Write under the thread lock and an exclusive ``flock`` (network filesystems)."""
        fd = self._fd
        with self._lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                view = memoryview(line)
                try:
                    while view:
                        view = view[os.write(fd, view) :]
                except OSError:
                    if len(view) != len(line):
                        with contextlib.suppress(OSError):
                            os.write(fd, b"\n")
                    raise
                if self._fsync:
                    os.fsync(fd)
            finally:
                with contextlib.suppress(OSError):  # closing the descriptor unlocks anyway
                    fcntl.flock(fd, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# The log


_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_BLOB_REF = re.compile(r"blobs/([0-9a-f]{64})\.json")


class EventLog:
    """A shadow event log at ``path`` (created with its folder; appended to if it exists).

    ``fsync=True`` also survives power loss, at a large cost per event. ``lock=True`` writes
    every line under ``flock`` (for network filesystems); None reads ``SHADOW_LOG_FLOCK``.
    ``line_cap`` is :data:`LINE_CAP` unless a test needs a smaller one. Opening the log can
    raise (a path that cannot be created is a usage error); nothing after that does.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        lock: bool | None = None,
        line_cap: int = LINE_CAP,
    ) -> None:
        if line_cap < MIN_LINE_CAP:
            raise ValueError(f"line_cap must be at least {MIN_LINE_CAP} bytes, not {line_cap}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if lock is None:
            lock = os.environ.get("SHADOW_LOG_FLOCK", "").strip().lower() in {"1", "true", "yes"}
        self.locked = lock
        self.line_cap = line_cap
        self._fsync = fsync
        self._tally = _Tally(self.path)
        writer = _AppendLogger(self._fd, self._tally, fsync=fsync, lock=lock)
        self._logger = structlog.wrap_logger(
            writer,
            processors=[_lay_out, _LineRenderer(line_cap, self._tally)],
            wrapper_class=structlog.BoundLogger,
            context_class=dict,
        ).bind()
        self._closed = False

    @property
    def events_written(self) -> int:
        """Lines written whole (a failed or short write is not one)."""
        return self._tally.written

    @property
    def events_lost(self) -> int:
        """Events that could not be written: a failed write, or emitted after :meth:`close`."""
        return self._tally.lost

    @property
    def write_errors(self) -> int:
        """Failed system calls: writes, fsyncs, blob stores, the final close."""
        return self._tally.errors

    @property
    def events_truncated(self) -> int:
        """Events shrunk (or made renderable) to fit :attr:`line_cap`; not lost for that."""
        return self._tally.truncated

    @property
    def blob_dir(self) -> Path:
        return self.path.parent / "blobs"

    def emit(self, event: str, fields: Mapping[str, Any]) -> None:
        """Write one event line: ``{"schema", "event": event, **fields}``. Never raises."""
        if self._closed:
            self._tally.failed("emit after close()", lost=True, io_error=False)
            return
        try:
            self._logger.msg(event, fields=fields)
        except Exception as exc:  # a bug of ours or a hostile value: still not the caller's
            self._tally.failed(f"event not rendered ({_reason(exc)})", lost=True, io_error=False)

    def store_blob(self, hex_digest: str, payload: bytes) -> str | None:
        """Store ``payload`` as ``blobs/<hex>.json`` (once) and return that relative path.

        Returns None when the blob cannot be written (counted in ``write_errors`` and warned
        about like a failed line): the event is still worth logging without its input.
        """
        if not _HEX_DIGEST.fullmatch(hex_digest):
            raise ValueError(f"blob name {hex_digest[:80]!r} is not a sha256 hex digest")
        relative = f"blobs/{hex_digest}.json"
        final = self.path.parent / relative
        try:
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                self._write_atomically(final, payload)
        except OSError as exc:
            self._tally.failed(f"blob not stored ({_reason(exc)})", lost=False, io_error=True)
            return None
        return relative

    def _write_atomically(self, final: Path, payload: bytes) -> None:
        """Readers see the whole blob or none: a private temporary name, then a rename."""
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(payload)
                if self._fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
        if self._fsync:
            dir_fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def close(self) -> None:
        """Close the descriptor. Never raises; later emits are counted as lost.

        Call it once the threads that emit are done: an emit racing it finds the descriptor
        closed (counted as lost), or, if the number was reused meanwhile, another file.
        """
        if self._closed:
            return
        self._closed = True
        try:
            os.close(self._fd)
        except OSError as exc:
            self._tally.failed(f"close failed ({_reason(exc)})", lost=False, io_error=True)

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reading


def _loads_resynced(line: bytes) -> tuple[Any, int] | None:
    """The whole line that follows a torn prefix, or None when there is none.

    Tries each later :data:`RESYNC_MARK` from the left. At most one suffix can parse: the
    mark can only start an object, and an object nested in a line that parses closes before
    the line ends. The work is bounded (orjson validates the whole suffix each time), so a
    line stuffed with marks costs a few passes over it, not one per mark.
    """
    end = len(line)
    while end and line[end - 1] in b" \t\r\n":
        end -= 1
    if not end or line[end - 1] != 0x7D:  # a whole line ends with "}"
        return None
    view = memoryview(line)
    budget = max(8 * len(line), 1 << 20)
    start = line.find(RESYNC_MARK, 1)
    while start != -1 and budget > 0:
        budget -= len(line) - start
        try:
            return orjson.loads(view[start:]), start
        except orjson.JSONDecodeError:
            start = line.find(RESYNC_MARK, start + 1)
    return None


def parse_line(line: bytes) -> tuple[Any, int]:
    """A physical log line as ``(value, torn)``: ``torn`` bytes of a torn line were dropped.

    The rule every reader shares: a line that parses is the value (``torn`` is 0; one
    ``orjson.loads``, nothing more). A line that does not is scanned for later occurrences of
    :data:`RESYNC_MARK`; the first suffix that parses is the value, and the prefix before it
    (a writer killed mid-line, or a short write) is reported as ``torn`` bytes, to be counted
    with reason ``torn``. When no suffix parses, the line's own ``orjson.JSONDecodeError`` is
    raised, for the reader to classify (cut short, not JSON, binary).
    """
    try:
        return orjson.loads(line), 0
    except orjson.JSONDecodeError:
        found = _loads_resynced(line)
        if found is None:
            raise
        return found


@dataclass
class ReadStats:
    """What :func:`read_events` read and skipped, by reason, so a reader can report it."""

    lines: int = 0
    events: int = 0
    torn: int = 0  # torn prefixes dropped before a whole event (which was kept)
    unparsable: int = 0  # lines with no whole event at all (cut short at the end, or junk)
    foreign: int = 0  # JSON that is not a shadow.event/1 object
    oversized: int = 0  # physical lines over READ_LINE_LIMIT
    blank: int = 0


def read_events(
    path: str | os.PathLike[str], stats: ReadStats | None = None
) -> Iterator[dict[str, Any]]:
    """Events of a log, in order; skips (and counts) bad lines and other schemas."""
    stats = stats if stats is not None else ReadStats()
    with open(path, "rb") as fh:
        readline = fh.readline
        while raw := readline(READ_LINE_LIMIT + 1):
            stats.lines += 1
            if len(raw) > READ_LINE_LIMIT and not raw.endswith(b"\n"):
                while (rest := readline(READ_LINE_LIMIT)) and not rest.endswith(b"\n"):
                    pass
                stats.oversized += 1
                continue
            if raw.isspace():
                stats.blank += 1
                continue
            try:
                obj, torn = parse_line(raw)
            except orjson.JSONDecodeError:
                stats.unparsable += 1
                continue
            if torn:
                stats.torn += 1
            if type(obj) is not dict or obj.get("schema") != SCHEMA:
                stats.foreign += 1
                continue
            stats.events += 1
            yield obj


def load_input(event: Mapping[str, Any], log_path: str | os.PathLike[str]) -> Any:
    """The encoded input of an event, read from its blob when it was stored separately.

    A log is data: ``input_ref`` must name a blob (``blobs/<sha256>.json``) and the blob must
    hash to its name, so a log can neither read files elsewhere nor pass off altered input.
    """
    if event.get("input") is not None or not event.get("input_ref"):
        return event.get("input")
    ref = event["input_ref"]
    match = _BLOB_REF.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise ValueError(
            f"input_ref {str(ref)[:80]!r} is not a blob reference (blobs/<sha256>.json)"
        )
    payload = (Path(log_path).parent / ref).read_bytes()
    if hashlib.sha256(payload).hexdigest() != match.group(1):
        raise ValueError(f"blob {ref} does not match its sha256 name (altered or corrupt)")
    return orjson.loads(payload)
