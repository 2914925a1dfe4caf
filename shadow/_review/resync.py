"""Parsing one physical log line for review, with the torn-line resync rule of the writer.

Why a module of its own: the rule (TEAM convention, ``docs/events.md``) must be the same in
the pure-Python reference reader, in the pre-scan, and in the DuckDB engine's lane for lines
its SQL could not read.  A writer killed mid-line leaves a partial event with no newline; the
next writer's complete line is appended to it, so the physical line does not parse.  The
rule is the writer's :func:`shadow._log.parse_line` (later occurrences of
``{"schema":"shadow.``, the first suffix that parses is kept, with a bounded amount of work
for a line stuffed with marks), restated in :func:`resync`; this module adds what a review
needs on top: the skip reason of a line that holds no event (blank, binary, cut short, not
JSON) and numbers beyond a double's range, which the reference reads as events.
"""

from __future__ import annotations

import json
from typing import Any, Final, NamedTuple

import orjson

#: Every event line starts with these bytes (the writer renders ``schema`` first); the same
#: as ``shadow._log.RESYNC_MARK`` (a test checks).
RESYNC_MARKER: Final = b'{"schema":"shadow.'

# Skip reasons decided while parsing a line (stable strings: they appear in review.json).
BLANK: Final = "blank"
TRUNCATED: Final = "truncated"  # JSON that ends early: a line cut by a crash mid-write
NOT_UTF8: Final = "binary"  # bytes that are not UTF-8 text
NOT_JSON: Final = "not_json"  # text that is not JSON (or JSON with a fragment glued on)
OVERSIZED: Final = "oversized"  # longer than the reader's line limit
TORN: Final = "torn"  # the partial prefix of a line another writer completed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes) -> Any:
    """Parse one JSON document; raise ``ValueError`` when it is not JSON.

    orjson first (fast); the standard library only for what orjson refuses although it is
    valid JSON: numbers beyond a double's range (``1e400``).  ``NaN``/``Infinity`` stay
    refused, and so does nesting deeper than the interpreter's recursion limit.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        if b"e" not in raw and b"E" not in raw:  # an exponent is what overflows a double
            raise
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            pass
        raise


def resync(line: bytes) -> tuple[int, Any] | None:
    """The suffix of an unparsable line that the writer's rule keeps: ``(offset, value)``.

    The rule of :func:`shadow._log.parse_line`, step for step (a test holds them equal; the
    writer's module is not imported here because it brings its logging library, a tenth of
    a second, into every review of a log with one bad line): a whole line ends with ``}``;
    each later occurrence of the mark is tried from the left, the first suffix that parses
    is kept; trying stops after a few passes' worth of bytes (a line stuffed with marks).
    """
    end = len(line)
    while end and line[end - 1] in b" \t\r\n":
        end -= 1
    if not end or line[end - 1] != 0x7D:  # "}"
        return None
    view = memoryview(line)
    budget = max(8 * len(line), 1 << 20)
    start = line.find(RESYNC_MARKER, 1)
    while start != -1 and budget > 0:
        budget -= len(line) - start
        try:
            return start, orjson.loads(view[start:])
        except orjson.JSONDecodeError:
            start = line.find(RESYNC_MARKER, start + 1)
    return None


def failure_reason(line: bytes, complete: bool) -> str:
    """Why a non-blank line did not parse: binary junk, cut short (a crash), or bad JSON."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if not complete:
        return TRUNCATED
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return TRUNCATED if exc.pos >= len(line) else NOT_JSON
    return NOT_JSON  # parsed by orjson but refused by the fallback rules: not JSON for us


class ParsedLine(NamedTuple):
    """The outcome of parsing one physical line.

    ``value`` is the parsed document (None when nothing parsed), ``text`` the bytes it was
    parsed from (the whole line, or the suffix kept by the resync), and ``skipped`` the skip
    reasons this line adds: one reason when nothing parsed, ``torn`` for a resynced prefix.
    """

    value: Any
    text: bytes | None
    skipped: tuple[str, ...]


def parse_line(raw: bytes, complete: bool = True) -> ParsedLine:
    """Parse a line (without its newline), applying the resync rule when it does not parse.

    ``complete`` is False for the last line of a file that does not end with a newline.
    """
    try:
        return ParsedLine(loads(raw), raw, ())
    except ValueError:
        pass
    line = raw.strip()
    if not line:
        return ParsedLine(None, None, (BLANK,))
    found = resync(raw)
    if found is not None:
        offset, value = found
        return ParsedLine(value, raw[offset:], (TORN,))
    return ParsedLine(None, None, (failure_reason(line, complete),))
