"""Invariants of each core op (on both backends) and cross-backend agreement."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runners.backend import Backend
from runners.reference.decision import number, number_pair
from runners.types import (
    BaselineRule,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplaySample,
    SearchSpace,
    Stats,
)
from tests.core_strategies import measurement_sets, replay_samples, samples, spaces


@given(space=spaces)
def test_enumerate_order_and_top_k(backend: Backend, space: SearchSpace) -> None:
    table = backend.enumerate_candidates(space)
    total = (
        len(space.kernels)
        * len(space.vector_widths)
        * len(space.unroll_k_values)
        * len(space.local_sizes)
    )
    assert table.total == total
    assert len(table) == (total if space.top_k is None else min(space.top_k, total))
    keys = [(-s, c) for s, c in zip(table.scores, table.candidate_ids, strict=True)]
    assert keys == sorted(keys)
    assert len(set(table.candidate_ids)) == len(table)
    for c in table:
        assert (
            c.candidate_id
            == f"{c.kernel}_vw{c.vector_width}_u{c.unroll_k}_l{c.local_x}x{c.local_y}"
        )
        assert c.local_x * c.local_y <= 1024


def test_enumerate_known_scores(backend: Backend) -> None:
    table = backend.enumerate_candidates(
        SearchSpace(
            ["t20_v3", "tile24", "tile20", "x"], [1, 2, 4, 8, 16], [0, 10], [(10, 10), (32, 32)]
        )
    )
    by_id = {c.candidate_id: c.score for c in table}
    assert by_id["t20_v3_vw8_u10_l10x10"] == 10.0 + 2.1 + 0.12 * 10 - 0.015 * 0
    assert (
        by_id["tile24_vw16_u0_l32x32"] == 8.0 + (1.0 + 0.25 * 4.0) + 0.0 - 0.015 * 924 - 0.01 * 768
    )
    assert by_id["x_vw1_u0_l10x10"] == 5.0
    assert table.candidate_ids[0] == "t20_v3_vw8_u10_l10x10"


@given(
    ids=st.lists(st.text("abc_1", min_size=1, max_size=6), min_size=1, max_size=6, unique=True),
    sessions=st.integers(1, 99),
    runs=st.integers(1, 20),
    data=st.data(),
)
def test_replay_plan_seeds(
    backend: Backend, ids: list[str], sessions: int, runs: int, data: st.DataObject
) -> None:
    offset = (len(ids) - 1) * 100_000 + (sessions - 1) * 1_000 + runs - 1
    top = 2**63 - 1 - offset  # the largest base seed whose plan does not overflow
    base = data.draw(st.integers(0, 1000) | st.integers(0, top) | st.just(top), label="base")
    last = base + offset
    plan = backend.build_replay_plan(ids, sessions, runs, base)
    assert len(plan) == len(ids) * sessions * runs
    assert len(set(plan.seeds)) == len(plan)
    assert list(plan.seeds) == sorted(plan.seeds)
    assert plan.seeds[-1] == last
    i = len(plan) - 1
    assert plan.execution_tags[i] == f"{ids[-1]}_s{sessions - 1}_r{runs - 1}"
    assert plan.candidate_ids[0] == ids[0] and plan.sessions[0] == 0 and plan.runs[0] == 0


@given(values=samples)
def test_summarize_invariants(backend: Backend, values: list[float]) -> None:
    s = backend.summarize(values)
    assert s.count == len(values)
    assert s.min <= s.p50 <= s.p95 <= s.max
    assert s.min == min(values) and s.max == max(values)
    assert s.std >= 0.0
    arr = np.array(values)
    assert math.isclose(s.p95, float(np.percentile(arr, 95)), rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(s.mean, math.fsum(values) / len(values), rel_tol=1e-12, abs_tol=1e-9)
    assert (s.cv is None) == (s.mean == 0.0)


def test_summarize_accepts_numpy_arrays(backend: Backend) -> None:
    s = backend.summarize(np.array([1.0, 2.0, 3.0, 4.0]))
    assert (s.mean, s.p50, s.max) == (2.5, 2.5, 4.0)


@given(
    ms=measurement_sets(),
    threshold=st.sampled_from([0.0, 1e-4, 1e-3]),
    objective=st.sampled_from(["delta", "gflops"]),
)
def test_ranking_invariants(
    backend: Backend, ms: list[Measurement], threshold: float, objective: str
) -> None:
    r = backend.rank_candidates(
        ms,
        threshold,
        BaselineRule(((0, "t20_prod_v4_u10_l10"), (1800, "t24_prod_v4_u0_l12"))),
        objective,
    )  # type: ignore[arg-type]
    completed = [m for m in ms if m.status == "completed"]
    assert r.completed_count == len(completed)
    assert r.failed_count == len(ms) - len(completed)
    assert r.valid_count == sum(
        1 for m in completed if m.max_error is not None and m.max_error <= threshold
    )
    assert len(r.ranked) == (r.valid_count or r.completed_count)
    if objective == "delta":
        keys = [
            (
                x.delta_vs_baseline_percent if x.delta_vs_baseline_percent is not None else -1e9,
                x.gflops,
            )
            for x in r.ranked
        ]
    else:
        keys = [(x.gflops, 0.0) for x in r.ranked]
    assert keys == sorted(keys, reverse=True)


@given(
    s=replay_samples,
    base=st.none() | st.floats(1.0, 2000.0),
    thresholds=st.builds(
        GateThresholds,
        st.sampled_from([1e-3, 1e-4]),
        st.sampled_from([0.0, 0.03]),
        st.sampled_from([0.0, 10.0]),
    ),
)
def test_gates_are_consistent(
    backend: Backend, s: list[ReplaySample], base: float | None, thresholds: GateThresholds
) -> None:
    e = backend.evaluate_replay(s, base, thresholds)
    assert e.correctness_passed == (max(x.max_error for x in s) <= thresholds.max_error)
    assert e.promotion_gate_passed == (
        e.correctness_passed
        and e.stability_passed
        and e.mean_delta_vs_baseline_percent is not None
        and e.mean_delta_vs_baseline_percent >= thresholds.min_delta_percent
    )
    decision = backend.decide(1, [e])
    assert decision.hint == (
        "promote"
        if e.promotion_gate_passed
        else "iterate"
        if e.correctness_passed and e.stability_passed
        else "refine"
    )


# ----------------------------------------------------------------- cross-backend agreement


@given(space=spaces)
def test_backends_agree_on_enumerate(
    python_backend: Backend, rust_backend: Backend, space: SearchSpace
) -> None:
    assert python_backend.enumerate_candidates(space) == rust_backend.enumerate_candidates(space)


@given(ms=measurement_sets(), objective=st.sampled_from(["delta", "gflops"]))
def test_backends_agree_on_ranking(
    python_backend: Backend, rust_backend: Backend, ms: list[Measurement], objective: str
) -> None:
    rule = BaselineRule.original()
    assert python_backend.rank_candidates(
        ms, 1e-3, rule, objective
    ) == rust_backend.rank_candidates(ms, 1e-3, rule, objective)  # type: ignore[arg-type]


@given(values=samples)
def test_backends_agree_on_summarize(
    python_backend: Backend, rust_backend: Backend, values: list[float]
) -> None:
    a, b = python_backend.summarize(values), rust_backend.summarize(values)
    assert a == b  # exactly rounded sums and NumPy's interpolation make them bit-identical


@given(s=replay_samples, base=st.none() | st.floats(1.0, 2000.0))
def test_backends_agree_on_replay_gates(
    python_backend: Backend, rust_backend: Backend, s: list[ReplaySample], base: float | None
) -> None:
    a = python_backend.evaluate_replay(s, base)
    assert a == rust_backend.evaluate_replay(s, base)
    assert python_backend.decide(1, [a]) == rust_backend.decide(1, [a])


# ----------------------------------------------------------------- decision rationales

_STATS = Stats(1, 1.0, 0.0, 1.0, 1.0, 1.0, 1e-4, 0.0)


def _evaluation(
    correct: bool, stable: bool, max_error: float = 1e-4, cv: float | None = 0.01
) -> ReplayEvaluation:
    errors = replace(_STATS, max=max_error)
    return ReplayEvaluation(_STATS, _STATS, errors, cv, 5.0, correct, stable, False)


@pytest.mark.parametrize(
    ("results", "labels", "thresholds", "rationale"),
    [
        (
            [_evaluation(True, False, cv=0.0412)],
            ["t20_v4_u10@1024"],
            GateThresholds(),
            "No replayed candidate is both correct and stable: "
            "t20_v4_u10@1024 failed stability (cv_peak 0.0412 > 0.03).",
        ),
        (
            [_evaluation(False, True, max_error=0.0021), _evaluation(False, False, 2e-3, 0.5)],
            None,
            GateThresholds(),
            "No replayed candidate is both correct and stable: "
            "#0 failed correctness (max_error 0.0021 > 0.001); "
            "#1 failed correctness (max_error 0.002 > 0.001) and stability (cv_peak 0.5 > 0.03).",
        ),
        (
            [_evaluation(True, False, cv=None)],
            ["a"],
            GateThresholds(max_cv=0.05),
            "No replayed candidate is both correct and stable: "
            "a failed stability (cv_peak undefined, limit 0.05).",
        ),
        (  # just above the limit: more digits until the two numbers read differently
            [_evaluation(True, False, cv=0.0300004)],
            ["a"],
            GateThresholds(),
            "No replayed candidate is both correct and stable: "
            "a failed stability (cv_peak 0.0300004 > 0.03).",
        ),
        (  # a flag inconsistent with its value is reported, not called a breach
            [_evaluation(True, False, cv=0.01)],
            ["a"],
            GateThresholds(),
            "No replayed candidate is both correct and stable: "
            "a failed stability (cv_peak 0.01, limit 0.03).",
        ),
        (
            [_evaluation(False, True, max_error=123456.0)],
            ["big"],
            GateThresholds(max_error=1e-7),
            "No replayed candidate is both correct and stable: "
            "big failed correctness (max_error 123500 > 1e-7).",
        ),
        (
            [],
            None,
            GateThresholds(),
            "No candidate was replayed, although some passed the correctness filter in the "
            "search phase.",
        ),
    ],
)
def test_refine_rationale_names_the_failed_gate(
    backend: Backend,
    results: list[ReplayEvaluation],
    labels: list[str] | None,
    thresholds: GateThresholds,
    rationale: str,
) -> None:
    d = backend.decide(3, results, thresholds, labels)
    assert (d.hint, d.rationale, d.promoted) == ("refine", rationale, ())


def test_golden_branches_keep_the_recorded_texts(backend: Backend) -> None:
    ok = _evaluation(True, True)
    promoted = replace(ok, promotion_gate_passed=True)
    assert backend.decide(0, [ok, promoted], GateThresholds(), ["a", "b"]).rationale == (
        "At least one replayed candidate passed performance, correctness and stability gates."
    )
    assert backend.decide(0, [ok]).rationale == (
        "No candidate passed strict correctness filter in search phase."
    )
    assert backend.decide(2, [ok, _evaluation(False, False)]).rationale == (
        "Correct/stable candidates exist but promotion uplift threshold is not met."
    )


finite = st.floats(allow_nan=False, allow_infinity=False)


_FLAGS = st.tuples(st.booleans(), st.booleans(), st.booleans())
_REFINE_FLAGS = st.sampled_from([(False, False, False), (True, False, False), (False, True, False)])


@st.composite
def decide_inputs(
    draw: st.DrawFn, flags: st.SearchStrategy[tuple[bool, bool, bool]] = _FLAGS
) -> tuple[int, list[ReplayEvaluation], GateThresholds, list[str] | None]:
    n = draw(st.integers(0, 4))
    results = [
        ReplayEvaluation(
            _STATS,
            _STATS,
            replace(_STATS, max=draw(finite | st.sampled_from([1e-3, 1.0000000000000002e-3]))),
            draw(st.none() | finite | st.sampled_from([0.03, 0.030000000000000002])),
            draw(st.none() | finite),
            *draw(flags),
        )
        for _ in range(n)
    ]
    thresholds = GateThresholds(
        draw(st.floats(0.0, 1e300) | st.just(1e-3)),
        draw(st.floats(0.0, 1e300) | st.just(0.03)),
        draw(finite),
    )
    labels = draw(st.none() | st.lists(st.text(min_size=1, max_size=8), min_size=n, max_size=n))
    return draw(st.integers(0, 3)), results, thresholds, labels


@given(inputs=decide_inputs() | decide_inputs(_REFINE_FLAGS))
def test_backends_agree_on_decisions_and_rationales(
    python_backend: Backend,
    rust_backend: Backend,
    inputs: tuple[int, list[ReplayEvaluation], GateThresholds, list[str] | None],
) -> None:
    """Same hint, same promoted indexes, the very same rationale text (numbers included)."""
    valid, results, thresholds, labels = inputs
    assert python_backend.decide(valid, results, thresholds, labels) == rust_backend.decide(
        valid, results, thresholds, labels
    )


@given(value=finite, limit=finite)
def test_rationale_numbers_are_ordered_like_the_values(value: float, limit: float) -> None:
    """The two numbers of a rationale never contradict the comparison they illustrate."""
    shown, limit_shown = number_pair(value, limit)
    if value != limit:
        assert shown != limit_shown
    assert (float(shown) > float(limit_shown)) == (value > limit) or value == limit
    assert float(number(value, 17)) == value
