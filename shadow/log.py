"""The append-only JSON Lines event log: whole lines, from any thread or process, crash-safe.

Each event goes through a structlog logger bound once (one processor: orjson rendering to
bytes) to :class:`_AppendWriter`, which writes the complete line with a single ``write(2)``
on an ``O_APPEND`` descriptor. POSIX makes ``write`` on a regular file atomic with respect
to other writes (XSI 2.9.7), and ``O_APPEND`` makes the seek to the end part of it; Linux
keeps both on local filesystems (the inode lock is held for the whole write), whatever the
line's length. So lines from any number of threads and processes never interleave, with no
lock of ours on the hot path. A write only comes back short on an error (a full disk, the
file size limit), when the line is finished as well as it can be. On a network filesystem,
where ``O_APPEND`` is not atomic, pass ``lock=True`` (or set ``SHADOW_LOG_FLOCK=1``): every
line is then written under an exclusive ``flock``, at about a third more cost per event.

There is no user-space buffer, so a crash (even SIGKILL) loses at most the line being
written, and readers skip any line that does not parse.

Inputs larger than :data:`BLOB_THRESHOLD` bytes of JSON are stored once as
``blobs/<sha256>.json`` next to the log (content-addressed, written atomically).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog

SCHEMA = "shadow.event/1"
BLOB_THRESHOLD = 64 * 1024
_FAST_OPTIONS = orjson.OPT_APPEND_NEWLINE
_DUMPS_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _render(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> bytes:
    """structlog's final processor: the event dict as one JSON line of bytes.

    Events are plain JSON almost always, and orjson's plain path is twice as fast as the
    one that also accepts NumPy values, non-string keys and arbitrary objects (as repr), so
    the general options are only a fallback.
    """
    try:
        return orjson.dumps(event_dict, option=_FAST_OPTIONS)
    except orjson.JSONEncodeError:
        return orjson.dumps(event_dict, default=repr, option=_DUMPS_OPTIONS)


class _AppendWriter:
    """The structlog "logger": receives rendered bytes and appends each as one ``write``."""

    def __init__(self, fd: int, fsync: bool, lock: bool) -> None:
        self._fd = fd
        self._fsync = fsync
        self._flock = lock
        self._lock = threading.Lock()

    def msg(self, line: bytes) -> None:
        if self._flock:
            self._locked(line)
            return
        written = os.write(self._fd, line)
        if written < len(line):  # only on an error condition: finish the line if we can
            self._locked(memoryview(line)[written:])
        elif self._fsync:
            os.fsync(self._fd)

    def _locked(self, data: bytes | memoryview) -> None:
        """Write under the thread lock and an exclusive ``flock`` (the fallback path)."""
        fd = self._fd
        with self._lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self._fsync:
                    os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    info = msg


class _EventLogger(structlog.BoundLoggerBase):
    """A bound logger with one method and no per-call attribute magic (it is on the hot path).

    ``write_event`` runs the bound context and the processor chain like structlog's own
    ``_process_event``, minus its two extra copies of the event dict: at a few microseconds
    per event, those copies were a third of the cost of logging.
    """

    def write_event(self, event: str, fields: dict[str, Any]) -> None:
        event_dict: Any = {**self._context, "event": event, **fields}
        for processor in self._processors:
            event_dict = processor(self._logger, "msg", event_dict)
        self._logger.msg(event_dict)


class EventLog:
    """A shadow event log at ``path`` (created with its folder; appended to if it exists).

    ``fsync=True`` also survives power loss, at a large cost per event. ``lock=True`` writes
    every line under ``flock`` (for network filesystems); None reads ``SHADOW_LOG_FLOCK``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fsync: bool = False, lock: bool | None = None
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if lock is None:
            lock = os.environ.get("SHADOW_LOG_FLOCK", "").strip().lower() in {"1", "true", "yes"}
        self.locked = lock
        self._writer = _AppendWriter(self._fd, fsync, lock)
        self._logger = _EventLogger(self._writer, processors=[_render], context={"schema": SCHEMA})
        self.events_written = 0
        self._closed = False

    @property
    def blob_dir(self) -> Path:
        return self.path.parent / "blobs"

    def emit(self, event: str, fields: dict[str, Any]) -> None:
        """Write one event line: ``{"schema", "event": event, **fields}``."""
        if self._closed:
            raise ValueError(f"event log {self.path} is closed")
        self._logger.write_event(event, fields)
        self.events_written += 1

    def store_blob(self, hex_digest: str, payload: bytes) -> str:
        """Store ``payload`` as ``blobs/<hex>.json`` (once) and return that relative path."""
        relative = f"blobs/{hex_digest}.json"
        final = self.path.parent / relative
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, final)
        return relative

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReadStats:
    """What :func:`read_events` skipped, so a reader can report it."""

    lines: int = 0
    events: int = 0
    unparsable: int = 0
    foreign: int = 0


def read_events(
    path: str | os.PathLike[str], stats: ReadStats | None = None
) -> Iterator[dict[str, Any]]:
    """Events of a log, in order; skips (and counts) bad lines and other schemas."""
    stats = stats if stats is not None else ReadStats()
    with open(path, "rb") as fh:
        for raw in fh:
            stats.lines += 1
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                stats.unparsable += 1
                continue
            if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
                stats.foreign += 1
                continue
            stats.events += 1
            yield obj


def load_input(event: dict[str, Any], log_path: str | os.PathLike[str]) -> Any:
    """The encoded input of an event, read from its blob when it was stored separately."""
    if event.get("input") is not None or not event.get("input_ref"):
        return event.get("input")
    return orjson.loads((Path(log_path).parent / event["input_ref"]).read_bytes())
