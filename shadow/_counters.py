"""Per-op counters of a shadow run, and their printed form.

Hot-path increments happen under one small lock per op (threads may call the dispatcher
concurrently, and the async worker updates the same counters).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class OpCounters:
    """Mutable counters of one op; :meth:`snapshot` freezes them."""

    __slots__ = (
        "diverged",
        "diverged_calls",
        "errors",
        "fast_matched",
        "lock",
        "matched",
        "skipped",
        "tolerated",
        "unsampled",
    )

    def __init__(self) -> None:
        # Each call increments exactly one of these five (so the hot path touches one int);
        # ``calls`` and ``sampled`` are derived. ``diverged`` counts events by kind (a call
        # can diverge in two ways: value and mutated input).
        self.unsampled = 0
        self.matched = 0
        # The sync hot path counts matches with next() on this: atomic without a lock.
        self.fast_matched = itertools.count()
        self.tolerated = 0
        self.skipped = 0
        self.errors = 0
        self.diverged_calls = 0
        self.diverged: dict[str, int] = {}
        self.lock = threading.Lock()

    def snapshot(self) -> OpCounts:
        with self.lock:
            matched = self.matched + _count_value(self.fast_matched)
            sampled = matched + self.tolerated + self.diverged_calls + self.skipped + self.errors
            return OpCounts(
                self.unsampled + sampled,
                sampled,
                matched,
                self.tolerated,
                dict(self.diverged),
                self.skipped,
                self.errors,
            )


def _count_value(counter: itertools.count[int]) -> int:
    """The next value of an ``itertools.count`` without advancing it (from its repr)."""
    return int(repr(counter)[6:-1])


@dataclass(frozen=True)
class OpCounts:
    """Counts of one op. ``errors`` are failures of the shadow machinery itself (a codec
    that cannot encode an input, a comparison that raised), never the implementations'.
    ``skipped`` are sampled calls whose shadow did not run (async queue full, too many hung
    shadow calls, still queued at close)."""

    calls: int = 0
    sampled: int = 0
    matched: int = 0
    tolerated: int = 0
    diverged: Mapping[str, int] = field(default_factory=dict)
    skipped: int = 0
    errors: int = 0

    @property
    def divergences(self) -> int:
        return sum(self.diverged.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "sampled": self.sampled,
            "matched": self.matched,
            "tolerated": self.tolerated,
            "diverged": dict(self.diverged),
            "skipped": self.skipped,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class RunCounters:
    """Counters of a whole run, by op."""

    run_id: str
    by_op: Mapping[str, OpCounts]

    @property
    def divergences(self) -> int:
        return sum(c.divergences for c in self.by_op.values())

    @property
    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for counts in self.by_op.values():
            for kind, n in counts.diverged.items():
                out[kind] = out.get(kind, 0) + n
        return out

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {op: c.to_dict() for op, c in self.by_op.items()}


_COLUMNS = ("op", "calls", "sampled", "matched", "tolerated", "diverged", "skipped", "errors")


def format_counters(counters: RunCounters, *, rich_markup: bool = False) -> str:
    """A table of the counters as plain text (rendered by rich when it is installed)."""
    rows = []
    for op, c in counters.by_op.items():
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(c.diverged.items()))
        diverged = f"{c.divergences} ({kinds})" if kinds else "0"
        rows.append((op, c.calls, c.sampled, c.matched, c.tolerated, diverged, c.skipped, c.errors))
    title = f"shadow run {counters.run_id}: {counters.divergences} divergence(s)"
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich is optional for the framework
        return _plain_table(title, rows)
    table = Table(title=title)
    for name in _COLUMNS:
        table.add_column(name, justify="left" if name == "op" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console = Console(width=120, color_system=None, force_terminal=rich_markup, record=True)
    with console.capture() as capture:
        console.print(table)
    return capture.get().rstrip("\n")


def _plain_table(title: str, rows: list[tuple[Any, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(_COLUMNS, widths, strict=True))]
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
