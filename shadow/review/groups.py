"""Grouping of divergence events into distinct problems.

Why group by ``signature``: one bug fires on thousands of calls; the signature (op, kind and
normalized diff paths, computed by the writer) names the bug, not the call.  For each group
review keeps only constant-size state — counters, first/last timestamps, and the *current*
smallest reproducing input — so memory grows with the number of distinct problems, never
with the number of events.  Per-op sampling rates come from ``run_summary`` counters, the
only place that knows how many calls matched.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import orjson

from shadow.review.reader import LogEvent, ReadStats, ReadSummary, iter_events
from shadow.review.timeline import Timeline, TimelineBuilder

#: Severity order; anything unknown ranks below ``info`` so it never hides a critical.
SEVERITY_RANK: Final[Mapping[str, int]] = {"info": 0, "minor": 1, "critical": 2}
UNKNOWN_SEVERITY: Final = "unknown"
SAMPLE_DIFF_ENTRIES: Final = 10
_NO_INPUT: Final = 1 << 62  # size of an event whose input is neither inline nor a blob
_CANONICAL: Final = orjson.OPT_SORT_KEYS


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


def canonical_size(value: Any) -> int:
    """Length of the canonical JSON (sorted keys, compact) — the measure of 'smallest'."""
    return len(orjson.dumps(value, option=_CANONICAL))


@lru_cache(maxsize=4096)
def _blob_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return _NO_INPUT


def replay_command(log_path: Path | str, call_id: str, target: Any = None, kind: Any = None) -> str:
    """The one-line command that replays a call from the log file that was reviewed; it names
    ``--target`` when the event's target is not the project's configured one, and process
    isolation when the shadow crashed on it."""
    from shadow.config import configured_target
    from shadow.events import replay_isolation

    extra = ""
    if isinstance(target, str) and target != configured_target():
        extra = f" --target {shlex.quote(target)}"
    extra += replay_isolation(kind)
    return f"shadow replay {shlex.quote(str(log_path))} --call {shlex.quote(call_id)}{extra}"


@dataclass(frozen=True, slots=True)
class Reproducer:
    """The smallest logged input of a group and everything needed to replay it."""

    call_id: str
    log_path: str
    line_no: int
    size: int  # bytes of canonical JSON (inline) or of the blob file
    input: Any  # the encoded input when inline, else None
    input_ref: str | None  # the blob's path relative to the log, when not inline
    input_digest: str | None
    target: str | None
    run_id: str | None
    replay: str  # built from the reviewed log path, so it works where the log is now
    logged_replay: str | None  # the command the writer recorded
    diff: tuple[Mapping[str, Any], ...]  # sample of this call's diff
    diff_count: int
    primary: Mapping[str, Any] | None
    shadow: Mapping[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "log": self.log_path,
            "line": self.line_no,
            "size": self.size,
            "input": self.input,
            "input_ref": self.input_ref,
            "input_digest": self.input_digest,
            "target": self.target,
            "run_id": self.run_id,
            "replay": self.replay,
            "logged_replay": self.logged_replay,
            "diff": list(self.diff),
            "diff_count": self.diff_count,
            "primary": self.primary,
            "shadow": self.shadow,
        }


@dataclass(frozen=True, slots=True)
class Group:
    """One distinct problem: all divergence events sharing a signature."""

    signature: str
    count: int
    first_seen: str | None
    last_seen: str | None
    severity: str  # the highest seen
    severities: tuple[tuple[str, int], ...]
    ops: tuple[tuple[str, int], ...]
    kinds: tuple[tuple[str, int], ...]
    sources: tuple[tuple[str, int], ...]
    reproducer: Reproducer | None

    @property
    def op(self) -> str:
        """The op most of the group's events came from (a signature includes the op)."""
        return max(self.ops, key=lambda kv: kv[1])[0] if self.ops else "?"

    @property
    def kind(self) -> str:
        return max(self.kinds, key=lambda kv: kv[1])[0] if self.kinds else "?"

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "severity": self.severity,
            "severities": dict(self.severities),
            "ops": dict(self.ops),
            "kinds": dict(self.kinds),
            "sources": dict(self.sources),
            "smallest": self.reproducer.to_dict() if self.reproducer else None,
        }


@dataclass(frozen=True, slots=True)
class OpStats:
    """Per-op totals: divergence events seen, and sampling counters from run summaries.

    ``sampled``/``rate`` are None when no ``run_summary`` covered the op (a crashed run, or
    a log cut before its end): the rate is then unknown, not zero.
    """

    op: str
    divergences: int
    critical: int
    runs: int
    calls: int | None
    sampled: int | None
    matched: int | None
    tolerated: int | None
    skipped: int | None
    diverged: int | None
    diverged_by_kind: tuple[tuple[str, int], ...]

    @property
    def rate(self) -> float | None:
        if self.sampled is None or self.diverged is None or self.sampled == 0:
            return None
        return self.diverged / self.sampled

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "divergence_events": self.divergences,
            "critical_events": self.critical,
            "runs": self.runs,
            "calls": self.calls,
            "sampled": self.sampled,
            "matched": self.matched,
            "tolerated": self.tolerated,
            "skipped": self.skipped,
            "diverged": self.diverged,
            "diverged_by_kind": dict(self.diverged_by_kind),
            "divergence_rate": self.rate,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """Everything a report shows; built once by ``ReviewBuilder.build``."""

    generated_at: str
    read: ReadSummary
    groups: tuple[Group, ...]  # most severe first, then most frequent
    ops: tuple[OpStats, ...]
    timeline: Timeline
    divergences: int
    by_severity: tuple[tuple[str, int], ...]
    duplicate_summaries: int = 0

    @property
    def critical(self) -> int:
        return dict(self.by_severity).get("critical", 0)

    @property
    def critical_groups(self) -> int:
        return sum(1 for g in self.groups if g.severity == "critical")

    @property
    def worst_severity(self) -> str | None:
        return self.groups[0].severity if self.groups else None


class _GroupAcc:
    """Mutable per-signature state, O(1) in the number of events.

    One counter keyed by ``(severity, op, kind, source)`` instead of four counters: one dict
    update per event on the hot path; the per-field tallies are derived once in ``build``.
    """

    __slots__ = ("best", "best_size", "combos", "count", "first_ts", "last_ts", "signature")

    def __init__(self, signature: str) -> None:
        self.signature = signature
        self.count = 0
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.combos: dict[tuple[str, str, str, str], int] = {}
        self.best: Reproducer | None = None
        self.best_size = _NO_INPUT + 1

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
            first_seen=self.first_ts,
            last_seen=self.last_ts,
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
    """Feed it events (``add``) in any order and from any number of files; ``build`` at end."""

    def __init__(self, *, max_buckets: int = 240, sample_diff: int = SAMPLE_DIFF_ENTRIES) -> None:
        self._groups: dict[str, _GroupAcc] = {}
        self._ops: dict[str, _OpAcc] = {}
        self._timeline = TimelineBuilder(max_buckets)
        self._summary_runs: set[str] = set()
        self._duplicate_summaries = 0
        self._sample_diff = sample_diff
        self.divergences = 0

    def add(self, event: LogEvent) -> None:
        if event.data["event"] == "divergence":
            self._add_divergence(event)
        else:
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
        combos = g.combos
        combos[combo] = combos.get(combo, 0) + 1

        ts = d.get("ts")
        if type(ts) is str:
            # The schema's fixed-width ISO 8601 "Z" timestamps order correctly as strings.
            first = g.first_ts
            if first is None:
                g.first_ts = g.last_ts = ts
            elif ts < first:
                g.first_ts = ts
            elif ts > g.last_ts:  # type: ignore[operator]
                g.last_ts = ts
            self._timeline.add(ts, op)
        else:
            self._timeline.unparsed += 1

        size = self._input_size(event)
        if size < g.best_size:
            g.best_size = size
            g.best = self._reproducer(event, size)

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
            return _blob_size(str(event.path.parent / ref))
        return _NO_INPUT

    def _reproducer(self, event: LogEvent, size: int) -> Reproducer:
        d = event.data
        diff = d.get("diff")
        diff_list = diff if isinstance(diff, list) else []
        ref = d.get("input_ref")
        logged = d.get("replay")
        return Reproducer(
            call_id=d["call_id"],
            log_path=str(event.path),
            line_no=event.line_no,
            size=size,
            input=d.get("input"),
            input_ref=ref if isinstance(ref, str) else None,
            input_digest=_str_or_none(d.get("input_digest")),
            target=_str_or_none(d.get("target")),
            run_id=_str_or_none(d.get("run_id")),
            replay=replay_command(event.path, d["call_id"], d.get("target"), d.get("kind")),
            logged_replay=logged if isinstance(logged, str) else None,
            diff=tuple(e for e in diff_list[: self._sample_diff] if isinstance(e, dict)),
            diff_count=_as_int(d.get("diff_count")) or len(diff_list),
            primary=_dict_or_none(d.get("primary")),
            shadow=_dict_or_none(d.get("shadow")),
        )

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
            elif isinstance(diverged, int):
                acc.diverged_by_kind["total"] += _as_int(diverged)

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
        groups = sorted(
            (g.build() for g in self._groups.values()),
            key=lambda g: (-severity_rank(g.severity), -g.count, g.first_seen or "", g.signature),
        )
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
            groups=tuple(groups),
            ops=tuple(ops),
            timeline=self._timeline.build(),
            divergences=self.divergences,
            by_severity=tuple(
                sorted(severity_totals.items(), key=lambda kv: -severity_rank(kv[0]))
            ),
            duplicate_summaries=self._duplicate_summaries,
        )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict_or_none(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def review_logs(paths: Iterable[str | os.PathLike[str]], *, max_buckets: int = 240) -> Review:
    """Stream every log once and return the grouped review (raises OSError if unreadable)."""
    stats = ReadStats()
    builder = ReviewBuilder(max_buckets=max_buckets)
    for event in iter_events(paths, stats):
        builder.add(event)
    return builder.build(stats.snapshot())
