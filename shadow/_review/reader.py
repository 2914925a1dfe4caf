"""The pure-Python streaming reader of shadow logs: the reference for the DuckDB engine.

Why keep it: ``shadow review`` counts with DuckDB (:mod:`shadow._review.duck`), and this
line-by-line reader states the same rules in plain code.  The tests run both on logs full
of junk and require the same groups and counts; ``shadow replay`` uses its helpers to find
one event.  Lines are read one at a time with a length cap (a newline-less blob of binary
junk cannot exhaust memory), parsed with :func:`shadow._review.resync.parse_line` (which
applies the torn-line resync rule), and anything that is not a shadow event we understand is
skipped and *counted by reason*.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

from shadow._review.model import ReadSummary
from shadow._review.prescan import MAX_LINE_BYTES
from shadow._review.resync import (
    BLANK,
    NOT_JSON,
    NOT_UTF8,
    OVERSIZED,
    TORN,
    TRUNCATED,
    parse_line,
)

__all__ = [
    "BLANK",
    "FOREIGN",
    "KNOWN_EVENTS",
    "KNOWN_SCHEMAS",
    "MAX_LINE_BYTES",
    "MISSING_FIELDS",
    "NOT_JSON",
    "NOT_OBJECT",
    "NOT_UTF8",
    "OVERSIZED",
    "TORN",
    "TRUNCATED",
    "UNKNOWN_EVENT",
    "UNKNOWN_SCHEMA",
    "LogEvent",
    "ReadStats",
    "ReadSummary",
    "classify",
    "iter_events",
    "open_log",
    "unique_paths",
]

SCHEMA_PREFIX: Final = "shadow.event/"
KNOWN_SCHEMAS: Final[frozenset[str]] = frozenset({"shadow.event/1"})
#: ``call`` events are recordings of calls (not divergences): counted, never grouped.
KNOWN_EVENTS: Final[frozenset[str]] = frozenset(
    {"divergence", "run_summary", "call", "record_summary"}
)

NOT_OBJECT: Final = "not_object"  # valid JSON but not an object (array, number, ...)
FOREIGN: Final = "foreign"  # an object without a shadow schema: another program's log line
UNKNOWN_SCHEMA: Final = "unknown_schema"  # a shadow.event/N we do not know
UNKNOWN_EVENT: Final = "unknown_event"  # known schema, unknown "event" type
MISSING_FIELDS: Final = "missing_fields"  # a divergence without call_id/op/kind/signature

DIVERGENCE_REQUIRED: Final[tuple[str, ...]] = ("call_id", "op", "kind", "signature")


class LogEvent(NamedTuple):
    """One accepted event and where it came from (the replay command needs the log path)."""

    path: Path
    line_no: int
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("event"))


@dataclass(slots=True)
class ReadStats:
    """Mutable tally kept while reading; ``snapshot()`` gives the frozen value for reports."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    file_problems: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def snapshot(self) -> ReadSummary:
        return ReadSummary(
            files=tuple(self.files),
            lines=self.lines,
            events=tuple(sorted(self.events.items())),
            skipped=tuple(sorted(self.skipped.items())),
            file_problems=tuple(self.file_problems),
        )


def open_log(path: Path) -> IO[bytes]:
    """Open a log in binary mode; gzip logs (rotated, archived) are read transparently."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb", buffering=1024 * 1024)


def classify(obj: Any) -> str | None:
    """Return the skip reason for a parsed line, or None when it is an event we understand."""
    if not isinstance(obj, dict):
        return NOT_OBJECT
    schema = obj.get("schema")
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        return FOREIGN
    if schema not in KNOWN_SCHEMAS:
        return UNKNOWN_SCHEMA
    event = obj.get("event")
    if event not in KNOWN_EVENTS:
        return UNKNOWN_EVENT
    if event == "divergence":
        for key in DIVERGENCE_REQUIRED:
            if not isinstance(obj.get(key), str):
                return MISSING_FIELDS
    return None


def _physical_lines(stream: IO[bytes]) -> Iterator[tuple[bytes | None, bool]]:
    """Lines without their newline, and whether each ended with one; None = oversized."""
    readline = stream.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if raw.endswith(b"\n"):
            yield raw[:-1], True
        elif len(raw) > MAX_LINE_BYTES:
            while True:  # drain the rest of an over-long physical line in bounded chunks
                rest = readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None, True
        else:
            yield raw, False


def iter_file(path: Path, stats: ReadStats) -> Iterator[LogEvent]:
    """Stream the accepted events of one file, counting every skipped line in ``stats``."""
    line_no = 0
    with open_log(path) as stream:
        try:
            for raw, complete in _physical_lines(stream):
                line_no += 1
                stats.lines += 1
                if raw is None:
                    stats.skip(OVERSIZED)
                    continue
                parsed = parse_line(raw, complete)
                for skipped in parsed.skipped:
                    stats.skip(skipped)
                if parsed.text is None:
                    continue
                obj = parsed.value
                reason = classify(obj)
                if reason is not None:
                    stats.skip(reason)
                    continue
                stats.events[obj["event"]] += 1
                yield LogEvent(path, line_no, obj)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            stats.file_problems.append((str(path), f"gzip stream unreadable: {exc}"))


def unique_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Deduplicate paths by their resolved location, keeping order.

    Why: passing the same log twice (``logs/*.jsonl logs/run1.jsonl``) must not double every
    count, and deduplicating by call id instead would cost memory proportional to the log.
    """
    seen: set[Path] = set()
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def iter_events(
    paths: Iterable[str | os.PathLike[str]], stats: ReadStats | None = None
) -> Iterator[LogEvent]:
    """Stream the accepted events of many files, one line in memory at a time.

    Raises ``OSError`` for a file that cannot be opened: an unreadable input is an error of
    the invocation, unlike a bad line inside a readable file.
    """
    stats = stats if stats is not None else ReadStats()
    for path in unique_paths(paths):
        stats.files.append(str(path))
        yield from iter_file(path, stats)
