"""Golden cases: ranking, gates and decision recomputed from the RX 580 reports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runners.backend import Backend
from runners.executors.recorded import RecordedStats, session_values
from runners.types import GateThresholds, ReplayEvaluation, ReplaySample
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


def test_backend_cv_peak_reproduces_recorded(backend: Backend, report: GoldenReport) -> None:
    """The backend's cv_peak (population std / mean of the session GFLOPS) and stability gate,
    computed from sessions whose statistics are the recorded ones, are what was recorded."""
    sessions = report.raw["metadata"]["replay_sessions"]
    for c in report.raw["replay"]["candidates"]:
        gflops = session_values(RecordedStats(**c["gflops"]), sessions)
        samples = [ReplaySample(g, c["avg_time_ms"]["mean"], c["max_error"]["max"]) for g in gflops]
        e = backend.evaluate_replay(samples, None, GateThresholds(max_error=report.threshold))
        assert e.gflops.mean == pytest.approx(c["gflops"]["mean"], rel=1e-12)
        assert e.gflops.std == pytest.approx(c["gflops"]["std"], rel=1e-9)
        assert e.cv_peak is not None
        assert e.cv_peak == pytest.approx(c["cv_peak"], rel=1e-9)
        assert e.cv_peak == e.gflops.std / e.gflops.mean
        assert e.stability_passed == c["stability_passed"]
        assert e.correctness_passed == c["correctness_passed"]
