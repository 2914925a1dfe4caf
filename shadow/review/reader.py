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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import orjson

SCHEMA_PREFIX: Final = "shadow.event/"
KNOWN_SCHEMAS: Final[frozenset[str]] = frozenset({"shadow.event/1"})
KNOWN_EVENTS: Final[frozenset[str]] = frozenset({"divergence", "run_summary"})

#: Longest line accepted.  An event's inline input is capped at 64 KiB and its diff at 50
#: entries, so real lines are far below this; anything longer is junk or another program's.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024

# Skip reasons: stable strings, they appear in review.json.
BLANK: Final = "blank"
TRUNCATED: Final = "truncated"  # JSON that ends early: a line cut by a crash mid-write
NOT_UTF8: Final = "binary"  # bytes that are not UTF-8 text
NOT_JSON: Final = "not_json"  # text that is not JSON (or JSON with a fragment glued on)
OVERSIZED: Final = "oversized"  # longer than MAX_LINE_BYTES
NOT_OBJECT: Final = "not_object"  # valid JSON but not an object (array, number, ...)
FOREIGN: Final = "foreign"  # an object without a shadow schema: another program's log line
UNKNOWN_SCHEMA: Final = "unknown_schema"  # a shadow.event/N we do not know
UNKNOWN_EVENT: Final = "unknown_event"  # known schema, unknown "event" type
MISSING_FIELDS: Final = "missing_fields"  # a divergence without call_id/op/kind/signature

DIVERGENCE_REQUIRED: Final[tuple[str, ...]] = ("call_id", "op", "kind", "signature")


class LogEvent(NamedTuple):
    """One accepted event and where it came from (the replay command needs the log path).

    A NamedTuple rather than a frozen dataclass: it is just as immutable, and a million of
    them are built per review, where a frozen dataclass's ``object.__setattr__`` per field
    costs measurable seconds.
    """

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


def open_log(path: Path) -> IO[bytes]:
    """Open a log in binary mode; ``.gz`` logs (rotated, archived) are read transparently."""
    if path.suffix == ".gz":
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


def _parse_failure(line: bytes, exc: orjson.JSONDecodeError, complete: bool) -> str:
    """Why a line did not parse: binary junk, cut short (a crash mid-write), or bad JSON."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if not complete or exc.pos >= len(line):
        return TRUNCATED
    return NOT_JSON


def iter_file(path: Path, stats: ReadStats) -> Iterator[LogEvent]:
    """Stream the accepted events of one file, counting every skipped line in ``stats``.

    One flat loop on purpose: this is the hot path of a million-event review.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    known_schema = "shadow.event/1"
    events = stats.events
    line_no = 0
    with open_log(path) as stream:
        readline = stream.readline
        while True:
            raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            line_no += 1
            stats.lines += 1
            complete = raw.endswith(b"\n")
            if not complete and len(raw) > MAX_LINE_BYTES:
                while True:  # drain the rest of an over-long physical line in bounded chunks
                    rest = readline(MAX_LINE_BYTES)
                    if not rest or rest.endswith(b"\n"):
                        break
                stats.skip(OVERSIZED)
                continue
            try:
                obj = loads(raw)
            except decode_error as exc:
                line = raw.strip()
                stats.skip(_parse_failure(line, exc, complete) if line else BLANK)
                continue
            # Fast path for the common case; everything else goes through classify().
            if type(obj) is dict and obj.get("schema") == known_schema:
                kind = obj.get("event")
                if kind == "divergence":
                    if (
                        type(obj.get("signature")) is str
                        and type(obj.get("call_id")) is str
                        and type(obj.get("op")) is str
                        and type(obj.get("kind")) is str
                    ):
                        events[kind] += 1
                        yield LogEvent(path, line_no, obj)
                        continue
                elif kind == "run_summary":
                    events[kind] += 1
                    yield LogEvent(path, line_no, obj)
                    continue
            reason = classify(obj)
            if reason is None:  # pragma: no cover - the fast path accepts all valid events
                events[obj["event"]] += 1
                yield LogEvent(path, line_no, obj)
            else:
                stats.skip(reason)


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
