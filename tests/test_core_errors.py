"""Error parity: every kind of bad input is rejected by both backends the same way.

Each case names the exception code and field the contract requires; running the same table
on both backends (the ``backend`` fixture) is what makes this a parity test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from runners.backend import Backend
from runners.types import (
    BaselineRule,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplaySample,
    SearchSpace,
    Stats,
)
from t2_sidecar.errors import InvalidInputError

SPACE = SearchSpace(["tile20", "tile24"], [1, 4], [0, 8], [(10, 10), (16, 16)])
GOOD = Measurement("t20_prod_v4_u10_l10", 1024, "completed", 100.0, 1.0, 1e-4)
SAMPLE = ReplaySample(100.0, 1.0, 1e-4)
STATS = Stats(1, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0)
EVAL = ReplayEvaluation(STATS, STATS, STATS, 0.0, 12.0, True, True, True)
DEFAULT_THRESHOLDS = GateThresholds()


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Backend], Any]
    code: str
    field: str


def space(**changes: Any) -> Callable[[Backend], Any]:
    return lambda b: b.enumerate_candidates(replace(SPACE, **changes))


def plan(
    ids: Any = ("a", "b"), sessions: Any = 2, runs: Any = 3, seed: Any = 0
) -> Callable[[Backend], Any]:
    return lambda b: b.build_replay_plan(ids, sessions, runs, seed)


def summarize(samples: Any) -> Callable[[Backend], Any]:
    return lambda b: b.summarize(samples)


def rank(
    ms: Any = (GOOD,), threshold: Any = 1e-3, rule: Any = None, objective: Any = "delta"
) -> Callable[[Backend], Any]:
    return lambda b: b.rank_candidates(
        ms, threshold, BaselineRule.original() if rule is None else rule, objective
    )


def evaluate(
    samples: Any = (SAMPLE,), base: Any = 90.0, thresholds: Any = DEFAULT_THRESHOLDS
) -> Callable[[Backend], Any]:
    return lambda b: b.evaluate_replay(samples, base, thresholds)


def decide(
    valid: Any = 1,
    results: Any = (EVAL,),
    thresholds: Any = DEFAULT_THRESHOLDS,
    labels: Any = None,
) -> Callable[[Backend], Any]:
    return lambda b: b.decide(valid, results, thresholds, labels)


M = GOOD
CASES = [
    # enumerate_candidates: lists
    Case("space-not-a-space", lambda b: b.enumerate_candidates(("tile20",)), "wrong_type", "space"),
    Case("kernels-empty", space(kernels=[]), "empty", "kernels"),
    Case("kernels-not-list", space(kernels="tile20"), "wrong_type", "kernels"),
    Case("kernels-duplicate", space(kernels=["a", "b", "a"]), "duplicate", "kernels"),
    Case("kernels-bad-char", space(kernels=["tile-20"]), "invalid_name", "kernels"),
    Case("kernels-too-long", space(kernels=["k" * 65]), "invalid_name", "kernels"),
    Case("kernels-empty-name", space(kernels=[""]), "invalid_name", "kernels"),
    Case("kernels-non-ascii", space(kernels=["tile\u00e920"]), "invalid_name", "kernels"),
    Case("kernels-not-str", space(kernels=[20]), "wrong_type", "kernels"),
    Case("widths-empty", space(vector_widths=()), "empty", "vector_widths"),
    Case("widths-duplicate", space(vector_widths=[4, 4]), "duplicate", "vector_widths"),
    Case("widths-zero", space(vector_widths=[0]), "out_of_range", "vector_widths"),
    Case("widths-17", space(vector_widths=[17]), "out_of_range", "vector_widths"),
    Case("widths-huge", space(vector_widths=[2**70]), "out_of_range", "vector_widths"),
    Case("widths-bool", space(vector_widths=[True]), "wrong_type", "vector_widths"),
    Case("widths-float", space(vector_widths=[4.0]), "wrong_type", "vector_widths"),
    Case("unroll-negative", space(unroll_k_values=[-1]), "out_of_range", "unroll_k_values"),
    Case("unroll-65", space(unroll_k_values=[65]), "out_of_range", "unroll_k_values"),
    Case("unroll-duplicate", space(unroll_k_values=[0, 0]), "duplicate", "unroll_k_values"),
    Case("unroll-bool", space(unroll_k_values=[False]), "wrong_type", "unroll_k_values"),
    Case("local-empty", space(local_sizes=[]), "empty", "local_sizes"),
    Case("local-zero", space(local_sizes=[(0, 4)]), "out_of_range", "local_sizes"),
    Case("local-1025", space(local_sizes=[(1, 1025)]), "out_of_range", "local_sizes"),
    Case("local-area", space(local_sizes=[(64, 32)]), "out_of_range", "local_sizes"),
    Case("local-not-pair", space(local_sizes=[(8, 8, 1)]), "wrong_type", "local_sizes"),
    Case("local-scalar", space(local_sizes=[8]), "wrong_type", "local_sizes"),
    Case("local-duplicate", space(local_sizes=[(8, 8), [8, 8]]), "duplicate", "local_sizes"),
    Case("local-bool", space(local_sizes=[(True, 8)]), "wrong_type", "local_sizes"),
    Case("top-k-zero", space(top_k=0), "out_of_range", "top_k"),
    Case("top-k-negative", space(top_k=-3), "out_of_range", "top_k"),
    Case("top-k-bool", space(top_k=True), "wrong_type", "top_k"),
    Case("top-k-float", space(top_k=2.0), "wrong_type", "top_k"),
    Case("cap-zero", space(max_candidates=0), "out_of_range", "max_candidates"),
    Case("cap-exceeded", space(max_candidates=7), "too_large", "space"),
    Case(
        "cap-huge-space",
        space(
            kernels=[f"k{i}" for i in range(1000)],
            vector_widths=list(range(1, 17)),
            unroll_k_values=list(range(65)),
            local_sizes=[(x, y) for x in range(1, 33) for y in range(1, 33)],
        ),
        "too_large",
        "space",
    ),
    Case("first-bad-field-wins", space(kernels=[], vector_widths=[0]), "empty", "kernels"),
    # build_replay_plan
    Case("plan-ids-empty", plan(ids=[]), "empty", "candidate_ids"),
    Case("plan-ids-not-list", plan(ids="ab"), "wrong_type", "candidate_ids"),
    Case("plan-ids-duplicate", plan(ids=["a", "a"]), "duplicate", "candidate_ids"),
    Case("plan-id-empty-str", plan(ids=["a", ""]), "empty", "candidate_ids"),
    Case("plan-id-not-str", plan(ids=["a", 3]), "wrong_type", "candidate_ids"),
    Case("plan-sessions-zero", plan(sessions=0), "out_of_range", "sessions"),
    Case("plan-sessions-100", plan(sessions=100), "out_of_range", "sessions"),
    Case("plan-sessions-bool", plan(sessions=True), "wrong_type", "sessions"),
    Case("plan-runs-zero", plan(runs=0), "out_of_range", "runs"),
    Case("plan-runs-1000", plan(runs=1000), "out_of_range", "runs"),
    Case("plan-runs-float", plan(runs=3.0), "wrong_type", "runs"),
    Case("plan-seed-negative", plan(seed=-1), "out_of_range", "base_seed"),
    Case("plan-seed-bool", plan(seed=False), "wrong_type", "base_seed"),
    Case("plan-seed-overflow", plan(seed=2**63 - 100_000), "overflow", "base_seed"),
    Case(
        "plan-seed-2-63", plan(ids=["a"], sessions=1, runs=1, seed=2**63), "overflow", "base_seed"
    ),
    Case("plan-seed-huge", plan(seed=2**200), "overflow", "base_seed"),
    # summarize
    Case("samples-empty", summarize([]), "empty", "samples"),
    Case("samples-not-list", summarize("1.0"), "wrong_type", "samples"),
    Case("samples-nan", summarize([1.0, math.nan]), "not_finite", "samples"),
    Case("samples-inf", summarize([math.inf]), "not_finite", "samples"),
    Case("samples-neg-inf", summarize((1.0, -math.inf)), "not_finite", "samples"),
    Case("samples-bool", summarize([1.0, True]), "wrong_type", "samples"),
    Case("samples-str", summarize([1.0, "2"]), "wrong_type", "samples"),
    Case("samples-none", summarize([None]), "wrong_type", "samples"),
    Case("samples-first-offender", summarize([1.0, math.nan, "x"]), "not_finite", "samples"),
    Case("samples-huge-int", summarize([10**400]), "not_finite", "samples"),
    Case("samples-sum-overflows", summarize([1.7e308, 1.7e308]), "overflow", "samples"),
    Case("samples-spread-overflows", summarize([1e200, -1e200]), "overflow", "samples"),
    # rank_candidates
    Case("rank-not-list", rank(ms=GOOD), "wrong_type", "measurements"),
    Case("rank-not-measurement", rank(ms=[{"size": 3}]), "wrong_type", "measurements"),
    Case(
        "rank-id-empty",
        rank(ms=[replace(M, candidate_id="")]),
        "empty",
        "measurements.candidate_id",
    ),
    Case("rank-size-zero", rank(ms=[replace(M, size=0)]), "out_of_range", "measurements.size"),
    Case("rank-size-bool", rank(ms=[replace(M, size=True)]), "wrong_type", "measurements.size"),
    Case(
        "rank-status", rank(ms=[replace(M, status="done")]), "invalid_value", "measurements.status"
    ),
    Case(
        "rank-gflops-nan",
        rank(ms=[replace(M, gflops=math.nan)]),
        "not_finite",
        "measurements.gflops",
    ),
    Case(
        "rank-gflops-none", rank(ms=[replace(M, gflops=None)]), "wrong_type", "measurements.gflops"
    ),
    Case(
        "rank-gflops-negative",
        rank(ms=[replace(M, gflops=-1.0)]),
        "out_of_range",
        "measurements.gflops",
    ),
    Case(
        "rank-time-inf",
        rank(ms=[replace(M, avg_time_ms=math.inf)]),
        "not_finite",
        "measurements.avg_time_ms",
    ),
    Case(
        "rank-error-bool",
        rank(ms=[replace(M, max_error=False)]),
        "wrong_type",
        "measurements.max_error",
    ),
    Case("rank-duplicate", rank(ms=[M, M]), "duplicate", "measurements"),
    Case("rank-threshold-nan", rank(threshold=math.nan), "not_finite", "correctness_threshold"),
    Case("rank-threshold-negative", rank(threshold=-1e-3), "out_of_range", "correctness_threshold"),
    Case("rank-rule-type", rank(rule=((0, "a"),)), "wrong_type", "baseline_rule"),
    Case(
        "rank-rule-order",
        rank(rule=BaselineRule(((100, "a"), (50, "b")))),
        "invalid_value",
        "baseline_rule.thresholds",
    ),
    Case(
        "rank-rule-pair",
        rank(rule=BaselineRule(((100,),))),
        "wrong_type",
        "baseline_rule.thresholds",
    ),
    Case("rank-objective", rank(objective="speed"), "invalid_value", "objective"),
    # evaluate_replay
    Case("eval-empty", evaluate(samples=[]), "empty", "samples"),
    Case("eval-not-sample", evaluate(samples=[(1.0, 1.0, 0.0)]), "wrong_type", "samples"),
    Case(
        "eval-gflops-nan",
        evaluate(samples=[ReplaySample(math.nan, 1.0, 0.0)]),
        "not_finite",
        "samples.gflops",
    ),
    Case(
        "eval-time-negative",
        evaluate(samples=[ReplaySample(1.0, -1.0, 0.0)]),
        "out_of_range",
        "samples.avg_time_ms",
    ),
    Case(
        "eval-error-inf",
        evaluate(samples=[ReplaySample(1.0, 1.0, math.inf)]),
        "not_finite",
        "samples.max_error",
    ),
    Case(
        "eval-gflops-overflow",
        evaluate(samples=[ReplaySample(1.7e308, 1.0, 0.0)] * 2),
        "overflow",
        "samples.gflops",
    ),
    Case("eval-base-zero", evaluate(base=0.0), "out_of_range", "baseline_gflops"),
    Case("eval-base-nan", evaluate(base=math.nan), "not_finite", "baseline_gflops"),
    Case("eval-base-str", evaluate(base="90"), "wrong_type", "baseline_gflops"),
    Case(
        "eval-thresholds-type", evaluate(thresholds=(1e-3, 0.03, 10.0)), "wrong_type", "thresholds"
    ),
    Case(
        "eval-threshold-nan",
        evaluate(thresholds=GateThresholds(max_cv=math.nan)),
        "not_finite",
        "thresholds.max_cv",
    ),
    # decide
    Case("decide-negative", decide(valid=-1), "out_of_range", "valid_count"),
    Case("decide-bool", decide(valid=True), "wrong_type", "valid_count"),
    Case("decide-results-type", decide(results=EVAL), "wrong_type", "replay_results"),
    Case("decide-results-item", decide(results=[object()]), "wrong_type", "replay_results"),
    Case(
        "decide-flag-not-bool",
        decide(results=[replace(EVAL, stability_passed=1)]),
        "wrong_type",
        "replay_results",
    ),
    Case(
        "decide-max-error-not-stats",
        decide(results=[replace(EVAL, max_error=(1.0,))]),
        "wrong_type",
        "replay_results.max_error",
    ),
    Case(
        "decide-max-error-nan",
        decide(results=[replace(EVAL, max_error=replace(STATS, max=math.nan))]),
        "not_finite",
        "replay_results.max_error.max",
    ),
    Case(
        "decide-cv-str",
        decide(results=[replace(EVAL, cv_peak="0.1")]),
        "wrong_type",
        "replay_results.cv_peak",
    ),
    Case(
        "decide-cv-inf",
        decide(results=[replace(EVAL, cv_peak=math.inf)]),
        "not_finite",
        "replay_results.cv_peak",
    ),
    Case(
        "decide-delta-bool",
        decide(results=[replace(EVAL, mean_delta_vs_baseline_percent=True)]),
        "wrong_type",
        "replay_results.mean_delta_vs_baseline_percent",
    ),
    Case(
        "decide-flags-before-numbers",
        decide(results=[replace(EVAL, stability_passed=None, cv_peak="x")]),
        "wrong_type",
        "replay_results",
    ),
    Case("decide-thresholds-type", decide(thresholds=(1e-3,)), "wrong_type", "thresholds"),
    Case(
        "decide-threshold-negative",
        decide(thresholds=GateThresholds(max_cv=-0.1)),
        "out_of_range",
        "thresholds.max_cv",
    ),
    Case("decide-labels-type", decide(labels="a"), "wrong_type", "labels"),
    Case("decide-label-not-str", decide(labels=[1]), "wrong_type", "labels"),
    Case("decide-label-empty", decide(labels=[""]), "empty", "labels"),
    Case("decide-label-surrogate", decide(labels=["\ud800"]), "invalid_value", "labels"),
    Case("decide-labels-count", decide(labels=["a", "b"]), "invalid_value", "labels"),
    Case(
        "decide-results-before-labels",
        decide(results=[object()], labels=[]),
        "wrong_type",
        "replay_results",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_with_code_and_field(backend: Backend, case: Case) -> None:
    with pytest.raises(InvalidInputError) as info:
        case.call(backend)
    assert (info.value.code, info.value.field) == (case.code, case.field), str(info.value)
    assert isinstance(info.value, ValueError)
    assert case.field in str(info.value)


def test_cases_have_unique_ids() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
