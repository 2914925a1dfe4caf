"""Grouping divergence events into problems: the entry point and the pure-Python reference.

Why group by ``signature``: one bug fires on thousands of calls; the signature (op, kind and
normalized diff paths, computed by the writer) names the bug, not the call.

:func:`review_logs` runs the DuckDB engine (:mod:`shadow._review.duck`).  The
:class:`ReviewBuilder` here is the reference implementation of the same counting rules,
streaming events one at a time in constant memory per group; the tests require both to
agree.  It fills the core of a review (groups, counts, first/last seen, smallest
reproducer, per-op rates, timeline); messages, sides, durations, runs and bad fields are
the DuckDB engine's.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from shadow._review.blobs import blob_size
from shadow._review.model import (
    NO_INPUT,
    SEVERITY_RANK,
    UNKNOWN_SEVERITY,
    Group,
    Message,
    OpStats,
    ReadSummary,
    Reproducer,
    Review,
    RunInfo,
    Sides,
    severity_rank,
    sort_groups,
)
from shadow._review.reader import LogEvent, ReadStats, iter_events
from shadow._review.reproducer import (
    SAMPLE_DIFF_ENTRIES,
    build_reproducer,
    replay_command,
)
from shadow._review.timeline import TimelineBuilder, format_us, in_timeline, parse_ts_us

__all__ = [
    "SEVERITY_RANK",
    "Group",
    "Message",
    "OpStats",
    "ReadSummary",
    "Reproducer",
    "Review",
    "ReviewBuilder",
    "RunInfo",
    "Sides",
    "canonical_size",
    "replay_command",
    "review_logs",
    "review_logs_python",
    "severity_rank",
]

_CANONICAL: Final = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_size(value: Any) -> int:
    """Length of the compact JSON of a value — the measure of 'smallest'."""
    try:
        return len(orjson.dumps(value, option=_CANONICAL))
    except (orjson.JSONEncodeError, TypeError):
        try:  # deeper than orjson renders, or an integer beyond 64 bits
            return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
        except (ValueError, TypeError, RecursionError):
            return NO_INPUT


class _GroupAcc:
    """Mutable per-signature state, O(1) in the number of events."""

    __slots__ = ("best", "best_size", "combos", "count", "first_us", "last_us", "signature")

    def __init__(self, signature: str) -> None:
        self.signature = signature
        self.count = 0
        self.first_us: int | None = None
        self.last_us: int | None = None
        self.combos: dict[tuple[str, str, str, str], int] = {}
        self.best: Reproducer | None = None
        self.best_size = NO_INPUT + 1

    def tally(self, index: int) -> Counter[str]:
        out: Counter[str] = Counter()
        for combo, n in self.combos.items():
            out[combo[index]] += n
        return out

    def build(self) -> Group:
        severities = self.tally(0)
        severity = max(severities, key=severity_rank) if severities else "?"
        return Group(
            signature=self.signature,
            count=self.count,
            first_seen=None if self.first_us is None else format_us(self.first_us),
            last_seen=None if self.last_us is None else format_us(self.last_us),
            severity=severity,
            severities=tuple(severities.most_common()),
            ops=tuple(self.tally(1).most_common()),
            kinds=tuple(self.tally(2).most_common()),
            sources=tuple(self.tally(3).most_common()),
            reproducer=self.best,
        )


@dataclass(slots=True)
class _OpAcc:
    divergences: int = 0
    critical: int = 0
    runs: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    diverged_by_kind: Counter[str] = field(default_factory=Counter)


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ReviewBuilder:
    """Feed it events (``add``) in read order, from any number of files; ``build`` at end."""

    def __init__(self, *, max_buckets: int = 240, sample_diff: int = SAMPLE_DIFF_ENTRIES) -> None:
        self._groups: dict[str, _GroupAcc] = {}
        self._ops: dict[str, _OpAcc] = {}
        self._timeline = TimelineBuilder(max_buckets)
        self._summary_runs: set[str] = set()
        self._duplicate_summaries = 0
        self._sample_diff = sample_diff
        self.divergences = 0

    def add(self, event: LogEvent) -> None:
        kind = event.data["event"]
        if kind == "divergence":
            self._add_divergence(event)
        elif kind == "run_summary":
            self._add_summary(event.data)

    def _op(self, op: str) -> _OpAcc:
        acc = self._ops.get(op)
        if acc is None:
            acc = self._ops[op] = _OpAcc()
        return acc

    def _add_divergence(self, event: LogEvent) -> None:
        d = event.data
        signature: str = d["signature"]
        op: str = d["op"]
        g = self._groups.get(signature)
        if g is None:
            g = self._groups[signature] = _GroupAcc(signature)
        g.count += 1
        self.divergences += 1

        severity = d.get("severity")
        if type(severity) is not str:
            severity = UNKNOWN_SEVERITY
        source = d.get("source")
        combo = (severity, op, d["kind"], source if type(source) is str else "runtime")
        g.combos[combo] = g.combos.get(combo, 0) + 1

        ts = d.get("ts")
        us = parse_ts_us(ts) if isinstance(ts, str) else None
        if us is None:
            self._timeline.unparsed += 1
        else:
            if g.first_us is None or us < g.first_us:
                g.first_us = us
            if g.last_us is None or us > g.last_us:
                g.last_us = us
            if in_timeline(us):
                self._timeline.add_epoch(us // 1_000_000, op)
            else:
                self._timeline.unparsed += 1

        size = self._input_size(event)
        if size < g.best_size:
            g.best_size = size
            g.best = build_reproducer(
                d,
                call_id=d["call_id"],
                log_path=event.path,
                line_no=event.line_no,
                size=size,
                sample_diff=self._sample_diff,
            )

    @staticmethod
    def _input_size(event: LogEvent) -> int:
        d = event.data
        value = d.get("input")
        if value is not None:
            return canonical_size(value)
        ref = d.get("input_ref")
        if isinstance(ref, str):
            # A blob is written only when the input's JSON exceeds the inline limit, and it
            # holds that canonical JSON, so its file size is the same measure.
            size, _problem = blob_size(str(event.path.parent), ref)
            return NO_INPUT if size is None else size
        return NO_INPUT

    def _add_summary(self, d: Mapping[str, Any]) -> None:
        run_id = d.get("run_id")
        if isinstance(run_id, str):
            # The same run summarized twice (a log concatenated with its copy) counts once.
            if run_id in self._summary_runs:
                self._duplicate_summaries += 1
                return
            self._summary_runs.add(run_id)
        counters = d.get("counters")
        if not isinstance(counters, dict):
            return
        for op, c in counters.items():
            if not isinstance(op, str) or not isinstance(c, dict):
                continue
            acc = self._op(op)
            acc.runs += 1
            for key in ("calls", "sampled", "matched", "tolerated", "skipped"):
                acc.counters[key] += _as_int(c.get(key))
            diverged = c.get("diverged")
            if isinstance(diverged, dict):
                for kind, n in diverged.items():
                    acc.diverged_by_kind[str(kind)] += _as_int(n)
            elif isinstance(diverged, int) and not isinstance(diverged, bool):
                acc.diverged_by_kind["total"] += diverged

    def build(self, read: ReadSummary) -> Review:
        """Summarize what was added; call once (it folds group tallies into per-op totals)."""
        severity_totals: Counter[str] = Counter()
        for group_acc in self._groups.values():
            for (severity, op, _kind, _source), n in group_acc.combos.items():
                severity_totals[severity] += n
                op_acc = self._op(op)
                op_acc.divergences += n
                if severity == "critical":
                    op_acc.critical += n
        ops = []
        for name, acc in sorted(self._ops.items()):
            known = acc.runs > 0

            def counter(key: str, acc: _OpAcc = acc, known: bool = known) -> int | None:
                return acc.counters[key] if known else None

            ops.append(
                OpStats(
                    op=name,
                    divergences=acc.divergences,
                    critical=acc.critical,
                    runs=acc.runs,
                    calls=counter("calls"),
                    sampled=counter("sampled"),
                    matched=counter("matched"),
                    tolerated=counter("tolerated"),
                    skipped=counter("skipped"),
                    diverged=sum(acc.diverged_by_kind.values()) if known else None,
                    diverged_by_kind=tuple(sorted(acc.diverged_by_kind.items())),
                )
            )
        return Review(
            generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            read=read,
            groups=sort_groups([g.build() for g in self._groups.values()]),
            ops=tuple(ops),
            timeline=self._timeline.build(),
            divergences=self.divergences,
            by_severity=tuple(
                sorted(severity_totals.items(), key=lambda kv: -severity_rank(kv[0]))
            ),
            duplicate_summaries=self._duplicate_summaries,
            engine="python",
        )


def review_logs_python(
    paths: Iterable[str | os.PathLike[str]], *, max_buckets: int = 240
) -> Review:
    """The reference review: stream every log once in Python (raises OSError if unreadable)."""
    stats = ReadStats()
    builder = ReviewBuilder(max_buckets=max_buckets)
    for event in iter_events(paths, stats):
        builder.add(event)
    return builder.build(stats.snapshot())


def review_logs(paths: Iterable[str | os.PathLike[str]], *, max_buckets: int = 240) -> Review:
    """Review logs with the DuckDB engine (raises ``ReviewInputError`` on unreadable input)."""
    from shadow._review.duck import review_with_duckdb

    return review_with_duckdb(list(paths), max_buckets=max_buckets)
