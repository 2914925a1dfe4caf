"""Divergences over time in bounded memory.

Why adaptive buckets: review streams a log once and cannot know its time span in advance.
Buckets start one second wide, aligned to the epoch; whenever more than ``max_buckets``
non-empty buckets exist the width steps up a ladder whose every rung divides the next, so
existing buckets merge exactly.  Memory is O(max_buckets x ops) whatever the log's size.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: Timestamps the timeline can place: 1970 to 2199.  Others (year 1, year 9999: a broken
#: clock or a hostile line) still count everywhere else and are reported as a bad field.
TIMELINE_MIN_US: Final = 0
TIMELINE_END_US: Final = 7_258_118_400 * 1_000_000  # 2200-01-01T00:00:00Z

#: Every width divides the next one, so coarsening merges buckets without loss.
_LADDER: Final[tuple[int, ...]] = (
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400,
)  # fmt: skip


def _next_width(width: int) -> int:
    for rung in _LADDER:
        if rung > width:
            return rung
    return width * 2


def parse_ts(ts: str) -> int | None:
    """Whole seconds since the epoch of an ISO 8601 timestamp (naive means UTC)."""
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        return int(dt.timestamp())
    return calendar.timegm(dt.timetuple())


def parse_ts_us(ts: str) -> int | None:
    """Microseconds since the epoch of an ISO 8601 timestamp (naive means UTC), or None."""
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        delta = dt - _EPOCH
    except OverflowError:
        return None
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_us(us: int) -> str:
    """ISO 8601 UTC with microseconds and a ``Z``: the event schema's own format."""
    try:
        dt = _EPOCH + timedelta(microseconds=us)
    except OverflowError:
        return f"{us} us since 1970"
    # Built by hand: strftime("%Y") drops the leading zeros of years before 1000.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond:06d}Z"
    )


def in_timeline(us: int) -> bool:
    return TIMELINE_MIN_US <= us < TIMELINE_END_US


def format_epoch(epoch: int) -> str:
    """ISO 8601 UTC with a ``Z``, as the event schema writes timestamps."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Timeline:
    """Counts of divergences per time bucket and op; ``buckets`` sorted by start."""

    bucket_seconds: int
    buckets: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]
    unparsed: int

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(sorted({op for _, counts in self.buckets for op, _ in counts}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket_seconds": self.bucket_seconds,
            "unparsed_timestamps": self.unparsed,
            "buckets": [
                {
                    "start": format_epoch(start),
                    "counts": dict(counts),
                }
                for start, counts in self.buckets
            ],
        }


class TimelineBuilder:
    """Accumulates (timestamp, op) pairs; cheap per call thanks to a per-second parse cache."""

    __slots__ = (
        "_buckets",
        "_day",
        "_day_epoch",
        "_last_epoch",
        "_last_prefix",
        "max_buckets",
        "unparsed",
        "width",
    )

    def __init__(self, max_buckets: int = 240) -> None:
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self.max_buckets = max_buckets
        self.width = 1
        self.unparsed = 0
        self._buckets: dict[int, Counter[str]] = {}
        self._last_prefix = ""
        self._last_epoch = 0
        self._day = ""
        self._day_epoch = 0

    def add(self, ts: str, op: str) -> None:
        # Logs are written in time order, so consecutive events usually share their second:
        # parse a "YYYY-MM-DDTHH:MM:SS...Z" timestamp only when that second changes, and then
        # only its time of day when the date is the same as before.
        prefix = ts[:19]
        if prefix == self._last_prefix:
            epoch: int | None = self._last_epoch
        elif ts.endswith("Z") and len(ts) >= 20:
            epoch = self._fast_epoch(prefix)
            if epoch is not None:
                self._last_prefix, self._last_epoch = prefix, epoch
        else:
            epoch = parse_ts(ts)
        if epoch is None:
            self.unparsed += 1
            return
        key = epoch - epoch % self.width
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Counter()
            if len(self._buckets) > self.max_buckets:
                self._coarsen()
                bucket = self._buckets[epoch - epoch % self.width]
        bucket[op] += 1

    def add_epoch(self, epoch: int, op: str, n: int = 1) -> None:
        """Count ``n`` events of ``op`` in the second ``epoch`` (already parsed)."""
        key = epoch - epoch % self.width
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Counter()
            if len(self._buckets) > self.max_buckets:
                self._coarsen()
                bucket = self._buckets[epoch - epoch % self.width]
        bucket[op] += n

    def _fast_epoch(self, prefix: str) -> int | None:
        day = prefix[:10]
        if day != self._day:
            midnight = parse_ts(day)
            if midnight is None or prefix[10:11] != "T":
                return parse_ts(prefix)
            self._day, self._day_epoch = day, midnight
        try:
            hh, mm, ss = int(prefix[11:13]), int(prefix[14:16]), int(prefix[17:19])
        except ValueError:
            return parse_ts(prefix)
        if hh > 23 or mm > 59 or ss > 60 or prefix[13] != ":" or prefix[16] != ":":
            return parse_ts(prefix)
        return self._day_epoch + hh * 3600 + mm * 60 + ss

    def _coarsen(self) -> None:
        while len(self._buckets) > self.max_buckets:
            self.width = _next_width(self.width)
            merged: dict[int, Counter[str]] = {}
            for key, counts in self._buckets.items():
                new_key = key - key % self.width
                target = merged.get(new_key)
                if target is None:
                    merged[new_key] = counts
                else:
                    target.update(counts)
            self._buckets = merged

    def build(self) -> Timeline:
        return Timeline(
            bucket_seconds=self.width,
            buckets=tuple(
                (start, tuple(sorted(counts.items())))
                for start, counts in sorted(self._buckets.items())
            ),
            unparsed=self.unparsed,
        )
