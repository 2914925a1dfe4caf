"""Ranking against a per-size baseline (design §3.4, fixture README)."""

from __future__ import annotations

from collections.abc import Sequence

from runners.reference import checks
from runners.types import (
    BaselineRule,
    Measurement,
    RankedCandidate,
    Ranking,
    RankingObjective,
)
from t2_sidecar import errors

COMPLETED = "completed"
FAILED = "failed"
NO_DELTA_KEY = -1e9
OBJECTIVES = ("delta", "gflops")


def validate_measurement(m: object) -> tuple[str, int, str, float, float, float]:
    checks.instance(m, Measurement, "measurements")
    assert isinstance(m, Measurement)
    cid = checks.non_empty_str(m.candidate_id, "measurements.candidate_id")
    size = checks.int_in(m.size, "measurements.size", 1)
    if not isinstance(m.status, str):
        checks.fail(errors.WRONG_TYPE, "measurements.status", "expected a str")
    if m.status not in (COMPLETED, FAILED):
        checks.fail(
            errors.INVALID_VALUE, "measurements.status", f"{m.status!r} is not completed/failed"
        )
    if m.status == FAILED:
        return cid, size, FAILED, 0.0, 0.0, 0.0
    gflops = checks.finite_real(m.gflops, "measurements.gflops", 0.0)
    time_ms = checks.finite_real(m.avg_time_ms, "measurements.avg_time_ms", 0.0)
    error = checks.finite_real(m.max_error, "measurements.max_error", 0.0)
    return cid, size, COMPLETED, gflops, time_ms, error


def validate_rule(rule: object) -> list[tuple[int, str]]:
    checks.instance(rule, BaselineRule, "baseline_rule")
    assert isinstance(rule, BaselineRule)
    pairs: list[tuple[int, str]] = []
    for pair in checks.sequence(rule.thresholds, "baseline_rule.thresholds"):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            checks.fail(
                errors.WRONG_TYPE, "baseline_rule.thresholds", f"expected (min_size, id): {pair!r}"
            )
        min_size = checks.int_in(pair[0], "baseline_rule.thresholds", 0)
        cid = checks.non_empty_str(pair[1], "baseline_rule.thresholds")
        if pairs and min_size <= pairs[-1][0]:
            checks.fail(
                errors.INVALID_VALUE,
                "baseline_rule.thresholds",
                "min_size values must be strictly increasing",
            )
        pairs.append((min_size, cid))
    return pairs


def baseline_id(pairs: Sequence[tuple[int, str]], size: int) -> str | None:
    chosen = None
    for min_size, cid in pairs:
        if size >= min_size:
            chosen = cid
    return chosen


def rank_candidates(
    measurements: Sequence[Measurement],
    correctness_threshold: float,
    baseline_rule: BaselineRule,
    objective: RankingObjective = "delta",
) -> Ranking:
    rows = [validate_measurement(m) for m in checks.sequence(measurements, "measurements")]
    checks.no_duplicates([(r[0], r[1]) for r in rows], "measurements")
    threshold = checks.finite_real(correctness_threshold, "correctness_threshold", 0.0)
    pairs = validate_rule(baseline_rule)
    if not isinstance(objective, str):
        checks.fail(errors.WRONG_TYPE, "objective", "expected a str")
    if objective not in OBJECTIVES:
        checks.fail(errors.INVALID_VALUE, "objective", f"{objective!r} is not delta/gflops")

    completed = [r for r in rows if r[2] == COMPLETED]
    gflops_of = {(r[0], r[1]): r[3] for r in completed}
    baseline: dict[int, float] = {}
    for size in sorted({r[1] for r in completed}):
        cid = baseline_id(pairs, size)
        base = gflops_of.get((cid, size)) if cid is not None else None
        if base is not None and base > 0.0:
            baseline[size] = base

    entries: list[RankedCandidate] = []
    for cid, size, _, gflops, time_ms, error in completed:
        base = baseline.get(size)
        delta = (gflops - base) / base * 100.0 if base is not None else None
        entries.append(
            RankedCandidate(cid, size, gflops, time_ms, error, error <= threshold, delta)
        )
    valid = [e for e in entries if e.correctness_passed]
    pool = valid if valid else entries

    if objective == "delta":

        def key(e: RankedCandidate) -> tuple[float, float]:
            d = e.delta_vs_baseline_percent
            return (d if d is not None else NO_DELTA_KEY, e.gflops)

        ranked = sorted(pool, key=key, reverse=True)
    else:
        ranked = sorted(pool, key=lambda e: e.gflops, reverse=True)

    return Ranking(
        ranked=tuple(ranked),
        baseline_by_size=tuple(sorted(baseline.items())),
        valid_count=len(valid),
        completed_count=len(completed),
        failed_count=len(rows) - len(completed),
        used_fallback_pool=not valid and bool(entries),
    )
