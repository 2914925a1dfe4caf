"""Golden cases: ranking, gates and decision recomputed from the RX 580 reports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runners.backend import Backend
from runners.types import GateThresholds, ReplayEvaluation
from tests.golden import GoldenReport, candidate_key, load_report, recorded_sessions

REPORTS = (
    "week2_t2_bounded_search_20260207_174303.json",
    "week2_t2_bounded_search_20260207_183138.json",
    "week2_t2_expanded_search_20260207_194454.json",
)


@pytest.fixture(params=REPORTS)
def report(request: pytest.FixtureRequest, fixtures_dir: Path) -> GoldenReport:
    return load_report(fixtures_dir / request.param)


def test_every_fixture_is_covered(fixtures_dir: Path) -> None:
    assert sorted(p.name for p in fixtures_dir.glob("*.json")) == sorted(REPORTS)


def test_ranking_reproduces_recorded_order_and_deltas(
    backend: Backend, report: GoldenReport
) -> None:
    ranking = backend.rank_candidates(
        report.measurements, report.threshold, report.rule, report.objective
    )
    search = report.raw["search"]
    expected = [(candidate_key(r), r["size"]) for r in search["ranked_candidates"]]
    assert [(r.candidate_id, r.size) for r in ranking.ranked] == expected
    for got, want in zip(ranking.ranked, search["ranked_candidates"], strict=True):
        assert got.delta_vs_baseline_percent == want["delta_vs_baseline_percent"]
        assert got.correctness_passed == want["correctness_passed"]
        assert got.gflops == want["gflops"]
    assert ranking.valid_count == search["valid_count"]
    assert ranking.completed_count == search["completed_count"]
    assert {str(s): g for s, g in ranking.baseline_by_size} == search["baseline_by_size"]


def _replay(backend: Backend, report: GoldenReport) -> list[ReplayEvaluation]:
    ranking = backend.rank_candidates(
        report.measurements, report.threshold, report.rule, report.objective
    )
    baseline = dict(ranking.baseline_by_size)
    meta = report.raw["metadata"]
    top = ranking.ranked[: meta["top_k"]]
    recorded = report.raw["replay"]["candidates"]
    assert [(r.candidate_id, r.size) for r in top] == [
        (candidate_key(c), c["size"]) for c in recorded
    ]
    thresholds = GateThresholds(max_error=report.threshold)
    return [
        backend.evaluate_replay(
            recorded_sessions(c, meta["replay_sessions"]), baseline.get(c["size"]), thresholds
        )
        for c in recorded
    ]


def test_replay_gates_reproduce_recorded(backend: Backend, report: GoldenReport) -> None:
    evaluations = _replay(backend, report)
    for got, want in zip(evaluations, report.raw["replay"]["candidates"], strict=True):
        assert got.correctness_passed == want["correctness_passed"]
        assert got.stability_passed == want["stability_passed"]
        assert got.promotion_gate_passed == want["promotion_gate_passed"]
        assert got.mean_delta_vs_baseline_percent is not None
        assert math.isclose(
            got.mean_delta_vs_baseline_percent, want["mean_delta_vs_baseline_percent"], rel_tol=1e-9
        )


def test_decision_reproduces_recorded(backend: Backend, report: GoldenReport) -> None:
    ranking = backend.rank_candidates(
        report.measurements, report.threshold, report.rule, report.objective
    )
    decision = backend.decide(ranking.valid_count, _replay(backend, report))
    assert decision.hint == report.raw["summary"]["decision_hint"]
    assert decision.rationale == report.raw["summary"]["decision_rationale"]


def test_recorded_cv_peak_is_the_gflops_cv(report: GoldenReport) -> None:
    """cv_peak is the GFLOPS coefficient of variation: check the rule on the recorded stats."""
    for c in report.raw["replay"]["candidates"]:
        assert c["cv_peak"] == c["gflops"]["std"] / c["gflops"]["mean"]
