"""Replay evaluation and promotion gates (design §3.5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runners.reference import checks
from runners.reference.stats import stats_of
from runners.types import GateThresholds, ReplayEvaluation, ReplaySample


def validate_thresholds(thresholds: object) -> GateThresholds:
    checks.instance(thresholds, GateThresholds, "thresholds")
    assert isinstance(thresholds, GateThresholds)
    return GateThresholds(
        max_error=checks.finite_real(thresholds.max_error, "thresholds.max_error", 0.0),
        max_cv=checks.finite_real(thresholds.max_cv, "thresholds.max_cv", 0.0),
        min_delta_percent=checks.finite_real(
            thresholds.min_delta_percent, "thresholds.min_delta_percent"
        ),
    )


def evaluate_replay(
    samples: Sequence[ReplaySample],
    baseline_gflops: float | None,
    thresholds: GateThresholds = GateThresholds(),  # noqa: B008 - frozen, shared safely
) -> ReplayEvaluation:
    gflops: list[float] = []
    times: list[float] = []
    errors_: list[float] = []
    for s in checks.non_empty_sequence(samples, "samples"):
        checks.instance(s, ReplaySample, "samples")
        gflops.append(checks.finite_real(s.gflops, "samples.gflops", 0.0))
        times.append(checks.finite_real(s.avg_time_ms, "samples.avg_time_ms", 0.0))
        errors_.append(checks.finite_real(s.max_error, "samples.max_error", 0.0))
    base = None
    if baseline_gflops is not None:
        base = checks.finite_real(baseline_gflops, "baseline_gflops")
        if base <= 0.0:
            checks.fail("out_of_range", "baseline_gflops", f"{base} must be > 0")
    limits = validate_thresholds(thresholds)

    g = stats_of(np.array(gflops, dtype=np.float64), "samples.gflops")
    t = stats_of(np.array(times, dtype=np.float64), "samples.avg_time_ms")
    e = stats_of(np.array(errors_, dtype=np.float64), "samples.max_error")
    cv_peak = g.cv
    delta = (g.mean - base) / base * 100.0 if base is not None else None
    correct = e.max <= limits.max_error
    stable = cv_peak is not None and cv_peak <= limits.max_cv
    promoted = delta is not None and delta >= limits.min_delta_percent and correct and stable
    return ReplayEvaluation(
        gflops=g,
        avg_time_ms=t,
        max_error=e,
        cv_peak=cv_peak,
        mean_delta_vs_baseline_percent=delta,
        correctness_passed=correct,
        stability_passed=stable,
        promotion_gate_passed=promoted,
    )
