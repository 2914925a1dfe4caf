"""Streaming reader of shadow JSON Lines logs.

Why a dedicated reader: a shadow log is written by long-running processes that can crash
mid-line, may be shared with other programs' structured logs, and can hold millions of
events.  Review must never crash on such a file nor load it whole, so lines are read one at a
time (with a length cap, so a newline-less blob of binary junk cannot exhaust memory), parsed
with orjson, and anything that is not a ``shadow.event/1`` object is skipped and *counted by
reason* so the report can say how much of the file it ignored and why.
"""

from __future__ import annotations

import gzip
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import orjson

SCHEMA_PREFIX: Final = "shadow.event/"
KNOWN_SCHEMAS: Final[frozenset[str]] = frozenset({"shadow.event/1"})
KNOWN_EVENTS: Final[frozenset[str]] = frozenset({"divergence", "run_summary"})

#: Longest line accepted.  An event's inline input is capped at 64 KiB and its diff at 50
#: entries, so real lines are far below this; anything longer is junk or another program's.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024

# Skip reasons: stable strings, they appear in review.json.
BLANK: Final = "blank"
TRUNCATED: Final = "truncated"  # last line of a file without its newline (a crash mid-write)
NOT_UTF8: Final = "binary"  # bytes that are not UTF-8 text
NOT_JSON: Final = "not_json"  # text that does not parse as JSON
OVERSIZED: Final = "oversized"  # longer than MAX_LINE_BYTES
NOT_OBJECT: Final = "not_object"  # valid JSON but not an object (array, number, ...)
FOREIGN: Final = "foreign"  # an object without a shadow schema: another program's log line
UNKNOWN_SCHEMA: Final = "unknown_schema"  # a shadow.event/N we do not know
UNKNOWN_EVENT: Final = "unknown_event"  # known schema, unknown "event" type
MISSING_FIELDS: Final = "missing_fields"  # a divergence without call_id/op/kind/signature

DIVERGENCE_REQUIRED: Final[tuple[str, ...]] = ("call_id", "op", "kind", "signature")


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One accepted event and where it came from (the replay command needs the log path)."""

    path: Path
    line_no: int
    data: Mapping[str, Any]

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

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def snapshot(self) -> ReadSummary:
        return ReadSummary(
            files=tuple(self.files),
            lines=self.lines,
            events=tuple(sorted(self.events.items())),
            skipped=tuple(sorted(self.skipped.items())),
        )


@dataclass(frozen=True, slots=True)
class ReadSummary:
    """What was read: files, line count, accepted events by type, skipped lines by reason."""

    files: tuple[str, ...]
    lines: int
    events: tuple[tuple[str, int], ...]
    skipped: tuple[tuple[str, int], ...]

    @property
    def skipped_total(self) -> int:
        return sum(n for _, n in self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "lines": self.lines,
            "events": dict(self.events),
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
        }


def _open(path: Path) -> IO[bytes]:
    """Open a log in binary mode; ``.gz`` logs (rotated, archived) are read transparently."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb", buffering=1024 * 1024)


def _lines(stream: IO[bytes], stats: ReadStats) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_no, line, complete)``; over-long lines are drained and counted."""
    line_no = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            # Drain the rest of this physical line in bounded chunks.
            while True:
                rest = stream.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            stats.lines += 1
            stats.skip(OVERSIZED)
            continue
        yield line_no, line, line.endswith(b"\n")


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


def iter_file(path: Path, stats: ReadStats) -> Iterator[LogEvent]:
    """Stream the accepted events of one file, counting every skipped line in ``stats``."""
    loads = orjson.loads
    with _open(path) as stream:
        for line_no, raw, complete in _lines(stream, stats):
            stats.lines += 1
            line = raw.strip()
            if not line:
                stats.skip(BLANK)
                continue
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                if not complete:
                    reason = TRUNCATED
                else:
                    try:
                        line.decode("utf-8")
                        reason = NOT_JSON
                    except UnicodeDecodeError:
                        reason = NOT_UTF8
                stats.skip(reason)
                continue
            reason = classify(obj)
            if reason is not None:
                stats.skip(reason)
                continue
            stats.events[obj["event"]] += 1
            yield LogEvent(path, line_no, obj)


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

    Raises ``OSError`` for a file that cannot be opened (the CLI turns that into exit 3):
    an unreadable input is a usage problem, unlike a bad line inside a readable file.
    """
    stats = stats if stats is not None else ReadStats()
    for path in unique_paths(paths):
        stats.files.append(str(path))
        yield from iter_file(path, stats)
