"""Real OpenCL runs on PoCL's CPU device (or whatever device is first): tiny but complete.

Sizes are deliberately not multiples of any tile or vector width, so the edge handling of
the kernels is exercised; every candidate must be correct or failed with a reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runners.backend import Backend
from runners.kernels import kernel_source
from runners.report import write_reports
from runners.search import SearchConfig, run_search
from runners.types import BaselineRule, Candidate, GateThresholds, SearchSpace
from tests.conftest import open_opencl

pytestmark = pytest.mark.opencl

THRESHOLD = 1e-3


@pytest.fixture(scope="module")
def executor():  # type: ignore[no-untyped-def]
    ex = open_opencl()
    yield ex
    ex.close()


def _config(space: SearchSpace, baseline: str) -> SearchConfig:
    return SearchConfig(
        space=space,
        sizes=(17, 45),
        runs=2,
        warmup=1,
        budget=None,
        top_k=2,
        sessions=2,
        replay_runs=2,
        seed=7,
        correctness_threshold=THRESHOLD,
        gates=GateThresholds(max_error=THRESHOLD),
        objective="delta",
        baseline_rule=BaselineRule(((0, baseline),)),
    )


SPACE = SearchSpace(
    kernels=("tile8", "tile20"),
    vector_widths=(1, 4),
    unroll_k_values=(0, 3),
    local_sizes=((4, 4), (5, 5), (8, 8)),
)


def test_tiny_search_every_candidate_correct_or_failed(
    executor,
    python_backend: Backend,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    result = run_search(_config(SPACE, "tile8_vw1_u0_l8x8"), python_backend, executor)
    # the device filter removed the local sizes that do not divide the tile
    invalid = dict(result.invalid)
    assert "tile20_vw1_u0_l8x8" in invalid and "divide" in invalid["tile20_vw1_u0_l8x8"]
    assert result.measurements
    for m in result.measurements:
        if m.ok:
            assert m.max_error is not None and m.max_error <= THRESHOLD, m
            assert m.gflops and m.gflops > 0
        else:
            assert m.reason
    assert result.ranking.baseline_by_size  # the baseline was measured
    assert result.replays and all(r.evaluation is not None for r in result.replays)
    assert result.decision.hint in ("promote", "iterate", "refine")
    paths = write_reports(result, tmp_path)
    assert paths.json.exists()
    assert "Decision" in paths.markdown.read_text()


@pytest.mark.parametrize(
    ("kernel", "vw", "unroll", "local", "size"),
    [
        ("tile16", 4, 4, (8, 8), 33),
        ("tile24_pad", 8, 0, (6, 12), 50),
        ("tile16", 16, 2, (16, 16), 31),
        ("tile20", 2, 0, (10, 5), 1),
    ],
)
def test_kernel_matches_numpy_on_awkward_sizes(  # type: ignore[no-untyped-def]
    executor, kernel: str, vw: int, unroll: int, local: tuple[int, int], size: int
) -> None:
    c = Candidate(
        f"{kernel}_vw{vw}_u{unroll}_l{local[0]}x{local[1]}",
        kernel,
        vw,
        unroll,
        local[0],
        local[1],
        0.0,
    )
    assert executor.validity_problem(c) is None
    r = executor.measure(c, size, runs=1, warmup=0, seed=3)
    assert r.ok, r.reason
    assert r.max_error is not None and r.max_error <= THRESHOLD


def test_kernel_that_fails_to_build_is_reported_failed(python_backend: Backend) -> None:
    # tile20 kernels do not compile; the others do: the run must go on past the failures.
    source = "#if TILE == 20\n#error deliberately broken for tile20\n#endif\n" + kernel_source()
    ex = open_opencl(source)
    space = SearchSpace(("tile8", "tile20"), (1,), (0,), ((4, 4),))
    result = run_search(_config(space, "tile8_vw1_u0_l4x4"), python_backend, ex)
    failed = [m for m in result.measurements if not m.ok]
    assert {m.candidate_id for m in failed} == {"tile20_vw1_u0_l4x4"}
    assert all("build failed" in (m.reason or "") for m in failed)
    assert result.ranking.failed_count == 2 and result.ranking.completed_count == 2
    assert [r.candidate_id for r in result.ranking.ranked] == ["tile8_vw1_u0_l4x4"] * 2


def test_unknown_family_is_invalid_not_a_crash(executor) -> None:  # type: ignore[no-untyped-def]
    c = Candidate("mystery_vw1_u0_l4x4", "mystery", 1, 0, 4, 4, 0.0)
    assert "unknown kernel family" in (executor.validity_problem(c) or "")
    r = executor.measure(c, 8, 1, 0, 1)
    assert not r.ok and r.reason


def test_every_build_failing_still_ends_with_a_report(
    python_backend: Backend, tmp_path: Path
) -> None:
    ex = open_opencl("__kernel void gemm( this is not C")
    space = SearchSpace(("tile8",), (1,), (0,), ((4, 4),))
    result = run_search(_config(space, "tile8_vw1_u0_l4x4"), python_backend, ex)
    assert all(not m.ok and "build failed" in (m.reason or "") for m in result.measurements)
    assert not result.replays and result.decision.hint == "refine"
    md = write_reports(result, tmp_path).markdown.read_text()
    assert "build failed" in md
