"""Recorded searches reproduce the RX 580 reports end to end, on every backend.

The search runs exactly as a real one (enumerate -> rank -> replay plan -> replay ->
gates -> decision), with the recorded executor serving the measurements; what it decides
must be what the original runner recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runners.backend import Backend
from runners.cli import main
from runners.executors.recorded import RecordedExecutor, RecordedStats, session_values
from runners.search import SearchResult, run_search
from tests.runner_helpers import fixture_names, recorded_key, rel_close

FIXTURES = fixture_names()


def test_fixtures_are_present(fixtures_dir: Path) -> None:
    assert sorted(p.name for p in fixtures_dir.glob("*.json")) == FIXTURES
    assert FIXTURES, "no recorded report found"


def _run(backend: Backend, path: Path) -> tuple[SearchResult, dict[str, Any]]:
    executor = RecordedExecutor(path)
    result = run_search(executor.defaults.to_config(), backend, executor)
    return result, executor.report.raw


def _check_against_recording(result: SearchResult, raw: dict[str, Any]) -> None:
    search = raw["search"]
    expected = [(recorded_key(r), r["size"]) for r in search["ranked_candidates"]]
    assert [(r.candidate_id, r.size) for r in result.ranking.ranked] == expected
    for got, want in zip(result.ranking.ranked, search["ranked_candidates"], strict=True):
        assert got.delta_vs_baseline_percent == want["delta_vs_baseline_percent"]
        assert got.correctness_passed == want["correctness_passed"]
    assert result.ranking.valid_count == search["valid_count"]
    assert result.ranking.completed_count == search["completed_count"]

    recorded = raw["replay"]["candidates"]
    assert [(r.candidate_id, r.size) for r in result.replays] == [
        (recorded_key(c), c["size"]) for c in recorded
    ]
    for outcome, want in zip(result.replays, recorded, strict=True):
        e = outcome.evaluation
        assert e is not None, outcome.reason
        assert rel_close(e.mean_delta_vs_baseline_percent, want["mean_delta_vs_baseline_percent"])
        assert rel_close(e.gflops.mean, want["gflops"]["mean"])
        assert rel_close(e.cv_peak, want["cv_peak"], 1e-9)
        assert e.max_error.max == want["max_error"]["max"]
        assert (e.correctness_passed, e.stability_passed, e.promotion_gate_passed) == (
            want["correctness_passed"],
            want["stability_passed"],
            want["promotion_gate_passed"],
        )
    assert result.decision.hint == raw["summary"]["decision_hint"]
    assert result.decision.rationale == raw["summary"]["decision_rationale"]


@pytest.mark.parametrize("name", FIXTURES)
def test_recorded_search_reproduces_report(backend: Backend, fixtures_dir: Path, name: str) -> None:
    result, raw = _run(backend, fixtures_dir / name)
    _check_against_recording(result, raw)
    assert result.backend == backend.name
    assert not result.failures


@pytest.mark.parametrize("name", FIXTURES)
def test_cli_recorded_report_matches_recording(
    backend: Backend, fixtures_dir: Path, name: str, tmp_path: Path
) -> None:
    code = main(
        [
            "--recorded",
            str(fixtures_dir / name),
            "--backend",
            backend.name,
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "t2_search_latest.json").read_text())
    raw = json.loads((fixtures_dir / name).read_text())
    assert [(r["config_id"], r["size"]) for r in report["search"]["ranked_candidates"]] == [
        (recorded_key(r), r["size"]) for r in raw["search"]["ranked_candidates"]
    ]
    assert [r["delta_vs_baseline_percent"] for r in report["search"]["ranked_candidates"]] == [
        r["delta_vs_baseline_percent"] for r in raw["search"]["ranked_candidates"]
    ]
    assert report["summary"]["decision_hint"] == raw["summary"]["decision_hint"]
    md = (tmp_path / "t2_search_latest.md").read_text()
    assert raw["summary"]["decision_hint"] in md and "## Replay" in md


@pytest.mark.parametrize("name", FIXTURES)
def test_own_report_can_be_replayed(
    python_backend: Backend, fixtures_dir: Path, name: str, tmp_path: Path
) -> None:
    """A report of this runner is itself a recording that reproduces the same search."""
    assert main(["--recorded", str(fixtures_dir / name), "--out", str(tmp_path), "--quiet"]) == 0
    own = tmp_path / "t2_search_latest.json"
    again, _raw = _run(python_backend, own)
    first, _ = _run(python_backend, fixtures_dir / name)
    assert [
        (r.candidate_id, r.size, r.delta_vs_baseline_percent) for r in again.ranking.ranked
    ] == [(r.candidate_id, r.size, r.delta_vs_baseline_percent) for r in first.ranking.ranked]
    assert again.decision == first.decision


def test_session_values_keep_recorded_statistics() -> None:
    stats = RecordedStats(mean=10.0, std=0.5, min=9.0, p50=10.0, p95=10.8, max=11.0)
    for n in (1, 2, 3, 4, 6, 7):
        values = session_values(stats, n)
        assert len(values) == n
        mean = sum(values) / n
        assert rel_close(mean, 10.0, 1e-12)
        if n > 1:
            std = (sum((v - mean) ** 2 for v in values) / n) ** 0.5
            assert rel_close(std, 0.5, 1e-12)


def test_other_session_count_keeps_gates(python_backend: Backend, fixtures_dir: Path) -> None:
    """Replaying a recording with another session count still reproduces its gates."""
    name = FIXTURES[-1]
    executor = RecordedExecutor(fixtures_dir / name)
    config = executor.defaults.to_config()
    from dataclasses import replace

    result = run_search(replace(config, sessions=3), python_backend, executor)
    recorded = executor.report.raw["replay"]["candidates"]
    for outcome, want in zip(result.replays, recorded, strict=True):
        e = outcome.evaluation
        assert e is not None
        assert rel_close(e.cv_peak, want["cv_peak"], 1e-9)
        assert e.promotion_gate_passed == want["promotion_gate_passed"]


def test_top_k_beyond_recorded_replays_is_a_reported_failure(
    python_backend: Backend, fixtures_dir: Path
) -> None:
    name = FIXTURES[0]
    executor = RecordedExecutor(fixtures_dir / name)
    from dataclasses import replace

    config = replace(executor.defaults.to_config(), top_k=5)
    result = run_search(config, python_backend, executor)
    failed = [r for r in result.replays if r.evaluation is None]
    assert failed and all("no recorded replay" in (r.reason or "") for r in failed)
