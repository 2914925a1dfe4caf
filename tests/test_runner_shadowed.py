"""Shadowed runs of the real runner: every core call goes through the dispatcher, both
backends agree on real data, and the primary's answers are what an unshadowed run gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from runners.backend import OPS
from runners.backends import get_backend
from runners.executors.recorded import RecordedExecutor
from runners.search import run_search
from runners.shadow_t2 import ShadowOptions, start_shadow
from shadow._log import read_events
from tests.conftest import load_backend, open_opencl
from tests.runner_helpers import fixture_names
from tests.test_runner_opencl import SPACE, _config


@pytest.fixture(autouse=True)
def _rust_built() -> None:
    load_backend("rust")  # a missing build fails under CI, never skips


@pytest.mark.parametrize("name", fixture_names())
@pytest.mark.parametrize("primary", ["python", "rust"])
def test_shadowed_recorded_run_has_no_divergence(
    name: str, primary: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    executor = RecordedExecutor(fixtures_dir / name)
    shadow = "rust" if primary == "python" else "python"
    log = tmp_path / "shadow.jsonl"
    session = start_shadow(
        ShadowOptions(primary=primary, shadow=shadow, mode="strict", log_path=log)
    )
    shadowed = run_search(executor.defaults.to_config(), session.backend, executor)
    report = session.close()

    plain = run_search(executor.defaults.to_config(), get_backend(primary), executor)
    assert shadowed.ranking == plain.ranking
    assert shadowed.decision == plain.decision
    assert report.divergences == 0
    counts = report.counters.by_op
    for op in (
        "enumerate_candidates",
        "rank_candidates",
        "build_replay_plan",
        "evaluate_replay",
        "decide",
    ):
        assert counts[op].calls >= 1 and counts[op].matched == counts[op].calls, op
    assert "enumerate_candidates" in report.render()
    events = list(read_events(log))
    assert [e["event"] for e in events] == ["run_summary"]


@pytest.mark.opencl
def test_shadowed_opencl_run_calls_every_op_and_agrees(tmp_path: Path) -> None:
    executor = open_opencl()
    log = tmp_path / "shadow.jsonl"
    session = start_shadow(
        ShadowOptions(primary="rust", shadow="python", mode="sync", log_path=log)
    )
    try:
        result = run_search(_config(SPACE, "tile8_vw1_u0_l4x4"), session.backend, executor)
    finally:
        executor.close()
    report = session.close()
    assert report.divergences == 0, report.render()
    for op in OPS:
        counts = report.counters.by_op[op]
        assert counts.calls >= 1, op
        assert counts.matched + counts.tolerated == counts.sampled == counts.calls, op
    assert result.measurements and all(m.ok or m.reason for m in result.measurements)
