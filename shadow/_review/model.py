"""The review's data model: what every report (Markdown, JSON, HTML, console) shows.

Frozen values built once per review, by either engine (DuckDB, or the pure-Python
reference reader kept for cross-checking), so the renderers never depend on how the
counting was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from shadow._review.timeline import Timeline

#: Severity order; anything unknown ranks below ``info`` so it never hides a critical.
SEVERITY_RANK: Final[Mapping[str, int]] = {"info": 0, "minor": 1, "critical": 2}
UNKNOWN_SEVERITY: Final = "unknown"
#: Size of an event whose input is neither inline nor in a readable blob.
NO_INPUT: Final = 1 << 62


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


@dataclass(frozen=True, slots=True)
class ReadSummary:
    """What was read: files, lines, accepted events by type, skipped lines by reason.

    ``field_problems`` counts accepted events with a bad field, as ``(field, problem, n)``
    (an unparsable timestamp, a blob path outside the log's folder, ...): the event still
    counts, the field is left out where it cannot be used.  ``file_problems`` names files
    that were only partly readable (a truncated gzip stream).
    """

    files: tuple[str, ...]
    lines: int
    events: tuple[tuple[str, int], ...]
    skipped: tuple[tuple[str, int], ...]
    field_problems: tuple[tuple[str, str, int], ...] = ()
    file_problems: tuple[tuple[str, str], ...] = ()

    @property
    def skipped_total(self) -> int:
        return sum(n for _, n in self.skipped)

    @property
    def events_total(self) -> int:
        return sum(n for _, n in self.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "lines": self.lines,
            "events": dict(self.events),
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
            "field_problems": [
                {"field": f, "problem": p, "events": n} for f, p, n in self.field_problems
            ],
            "file_problems": [{"file": f, "problem": p} for f, p in self.file_problems],
        }


@dataclass(frozen=True, slots=True)
class Reproducer:
    """The smallest logged input of a group and everything needed to replay it."""

    call_id: str
    log_path: str
    line_no: int
    size: int  # bytes of compact JSON (inline) or of the blob file
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
    note: str | None = None  # why part of the event is not shown (too deep to render, ...)

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
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One distinct pair of output summaries (or error identities) in a group.

    Messages are told apart with every run of digits masked, so ``got -3`` and ``got -17``
    are one message; ``primary``/``shadow`` are the first logged example, ``count`` covers all.
    """

    primary: str | None
    shadow: str | None
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"primary": self.primary, "shadow": self.shadow, "count": self.count}


@dataclass(frozen=True, slots=True)
class Sides:
    """The implementations (names and versions) on both sides of a group's events."""

    primary_name: str | None
    primary_version: str | None
    shadow_name: str | None
    shadow_version: str | None
    count: int

    @property
    def primary(self) -> str:
        return _impl(self.primary_name, self.primary_version)

    @property
    def shadow(self) -> str:
        return _impl(self.shadow_name, self.shadow_version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary": {"name": self.primary_name, "version": self.primary_version},
            "shadow": {"name": self.shadow_name, "version": self.shadow_version},
            "count": self.count,
        }


def _impl(name: str | None, version: str | None) -> str:
    return f"{name or '?'} {version}" if version else (name or "?")


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
    messages: tuple[Message, ...] = ()
    distinct_messages: int = 0
    sides: tuple[Sides, ...] = ()

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
            "sides": [s.to_dict() for s in self.sides],
            "messages": [m.to_dict() for m in self.messages],
            "distinct_messages": self.distinct_messages,
            "smallest": self.reproducer.to_dict() if self.reproducer else None,
        }


@dataclass(frozen=True, slots=True)
class DurationSummary:
    """Primary vs shadow durations over an op's divergence events (the calls that diverged).

    Quantiles come from log-scale histograms: each value is exact to within
    ``resolution`` (relative).  ``ratio_*`` are quantiles of the per-call ratio
    shadow / primary, so a ratio of 0.2 means the shadow took a fifth of the primary's time.
    """

    timed: int
    primary_median: float | None
    primary_p95: float | None
    shadow_median: float | None
    shadow_p95: float | None
    ratio_median: float | None
    ratio_p95: float | None
    resolution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "timed_events": self.timed,
            "primary": {"median_s": self.primary_median, "p95_s": self.primary_p95},
            "shadow": {"median_s": self.shadow_median, "p95_s": self.shadow_p95},
            "ratio_shadow_to_primary": {"median": self.ratio_median, "p95": self.ratio_p95},
            "relative_resolution": self.resolution,
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
    durations: DurationSummary | None = None

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
            "durations": self.durations.to_dict() if self.durations else None,
        }


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run, from its ``run_summary`` event: what was compared, how, and where."""

    run_id: str | None
    ts: str | None
    mode: str | None
    source: str | None
    target: str | None
    primary_name: str | None
    primary_version: str | None
    shadow_name: str | None
    shadow_version: str | None
    log: str
    line: int

    @property
    def primary(self) -> str:
        return _impl(self.primary_name, self.primary_version)

    @property
    def shadow(self) -> str:
        return _impl(self.shadow_name, self.shadow_version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ts": self.ts,
            "mode": self.mode,
            "source": self.source,
            "target": self.target,
            "primary": {"name": self.primary_name, "version": self.primary_version},
            "shadow": {"name": self.shadow_name, "version": self.shadow_version},
            "log": self.log,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """Everything a report shows."""

    generated_at: str
    read: ReadSummary
    groups: tuple[Group, ...]  # most severe first, then most frequent
    ops: tuple[OpStats, ...]
    timeline: Timeline
    divergences: int
    by_severity: tuple[tuple[str, int], ...]
    duplicate_summaries: int = 0
    runs: tuple[RunInfo, ...] = ()
    engine: str = "duckdb"

    @property
    def critical(self) -> int:
        return dict(self.by_severity).get("critical", 0)

    @property
    def critical_groups(self) -> int:
        return sum(1 for g in self.groups if g.severity == "critical")

    @property
    def worst_severity(self) -> str | None:
        return self.groups[0].severity if self.groups else None


def sort_groups(groups: list[Group]) -> tuple[Group, ...]:
    """Most severe first, then most frequent, then oldest, then by signature (stable)."""
    return tuple(
        sorted(
            groups,
            key=lambda g: (-severity_rank(g.severity), -g.count, g.first_seen or "", g.signature),
        )
    )
