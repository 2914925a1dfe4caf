"""Checks specific to the Rust binding: GIL release, panics, version, instance building.

The backend-parity suite lives in the other test modules; these tests only make sense for
the compiled module.
"""

from __future__ import annotations

import math
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runners.types import (
    BaselineRule,
    GateThresholds,
    Measurement,
    RankedCandidate,
    ReplaySample,
    SearchSpace,
)
from t2_sidecar.errors import ERROR_CODES, InvalidInputError
from tests.conftest import PROJECT_ROOT, load_backend


@pytest.fixture(scope="module")
def rust() -> Any:
    return load_backend("rust")


@pytest.fixture(scope="module")
def nat(rust: Any) -> Any:
    from t2_sidecar import _native

    return _native


def big_space(n_kernels: int = 20) -> SearchSpace:
    return SearchSpace(
        kernels=[f"tile{i}" for i in range(n_kernels)],
        vector_widths=list(range(1, 11)),
        unroll_k_values=list(range(50)),
        local_sizes=[(x, y) for x in range(1, 11) for y in range(1, 11)],
    )


def test_version_matches_the_crate(rust: Any, nat: Any) -> None:
    cargo = tomllib.loads((PROJECT_ROOT / "sidecar_rs" / "Cargo.toml").read_text())
    assert nat.__version__ == cargo["package"]["version"]
    assert rust.version == nat.__version__
    assert rust.name == "rust"


def test_native_imports_nothing_of_ours_but_errors() -> None:
    src = Path(PROJECT_ROOT / "sidecar_rs" / "src" / "bindings.rs").read_text()
    assert '"t2_sidecar.errors"' in src
    for forbidden in ('"runners', '"shadow'):
        assert forbidden not in src


def test_panic_surfaces_as_panic_exception(nat: Any) -> None:
    with pytest.raises(BaseException) as info:
        nat._panic_for_tests()
    assert type(info.value).__name__ == "PanicException"
    assert not isinstance(info.value, Exception)


def _counter_during(call: Any) -> tuple[int, int]:
    """Ticks a Python thread made while ``call`` ran, and while idle for the same time."""
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    worker = threading.Thread(target=spin)
    worker.start()
    try:
        time.sleep(0.01)
        before = ticks
        call()
        during = ticks - before
    finally:
        stop.set()
        worker.join()
    return during, ticks


@pytest.mark.slow
def test_enumerate_releases_the_gil(rust: Any) -> None:
    """Another Python thread keeps running while the core enumerates 1e6 candidates."""
    import sys

    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # with the GIL held, the spinner would starve for 1 s
    try:
        during, _ = _counter_during(lambda: rust.enumerate_candidates(big_space()))
    finally:
        sys.setswitchinterval(old)
    assert during > 0


def test_bad_input_never_panics(rust: Any, python_backend: Any) -> None:
    """A spread of odd values in every argument: the Rust backend returns what the reference
    returns or raises InvalidInputError with the reference's code and field; never a panic,
    never another exception."""
    weird: list[Any] = [
        None,
        True,
        1.5,
        math.nan,
        -1,
        2**64,
        -(2**200),
        "x",
        "",
        "\ud800",
        b"ab",
        object(),
        [],
        [None],
        [[1, 2, 3]],
        (1,),
        {1: 2},
        10**400,
    ]
    calls: list[Callable[[Any, Any], Any]] = [
        lambda b, w: b.enumerate_candidates(SearchSpace([w], [1], [0], [(1, 1)])),
        lambda b, w: b.enumerate_candidates(SearchSpace(["a"], [w], [0], [(1, 1)])),
        lambda b, w: b.enumerate_candidates(SearchSpace(["a"], [1], [0], [(w, 1)])),
        lambda b, w: b.enumerate_candidates(SearchSpace(["a"], [1], [0], w)),
        lambda b, w: b.enumerate_candidates(SearchSpace(["a"], [1], [0], [(1, 1)], w)),
        lambda b, w: b.build_replay_plan([w], 1, 1, 0),
        lambda b, w: b.build_replay_plan(["a"], w, 1, 0),
        lambda b, w: b.build_replay_plan(["a"], 1, 1, w),
        lambda b, w: b.summarize([1.0, w]),
        lambda b, w: b.summarize(w),
        lambda b, w: b.rank_candidates(
            [Measurement("a", w, "completed", 1.0, 1.0, 0.0)], 1e-3, BaselineRule.original()
        ),
        lambda b, w: b.rank_candidates(
            [Measurement("a", 1, "completed", w, 1.0, 0.0)], 1e-3, BaselineRule.original()
        ),
        lambda b, w: b.rank_candidates([], w, BaselineRule(((w, "a"),))),
        lambda b, w: b.evaluate_replay([ReplaySample(1.0, 1.0, 0.0)], w),
        lambda b, w: b.evaluate_replay(
            [ReplaySample(1.0, 1.0, 0.0)], None, GateThresholds(w, w, w)
        ),
        lambda b, w: b.decide(w, []),
        lambda b, w: b.decide(0, [w]),
    ]
    for call in calls:
        for w in weird:
            _expect_clean_outcome(call, w, rust, python_backend)


def _outcome(call: Callable[[Any, Any], Any], backend: Any, w: Any) -> tuple[str, Any]:
    """("ok", result) or ("error", (code, field)); any other exception propagates (and a
    panic, a BaseException, escapes too): both fail the test."""
    try:
        return "ok", call(backend, w)
    except InvalidInputError as exc:
        assert exc.code in ERROR_CODES, exc
        return "error", (exc.code, exc.field)


def _expect_clean_outcome(call: Callable[[Any, Any], Any], w: Any, rust: Any, python: Any) -> None:
    got = _outcome(call, rust, w)
    assert got == _outcome(call, python, w), (w, got)


def test_huge_seed_is_overflow_not_wraparound(rust: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        rust.build_replay_plan(["a"], 1, 1, 2**63)
    assert (info.value.code, info.value.field) == ("overflow", "base_seed")
    plan = rust.build_replay_plan(["a"], 1, 1, 2**63 - 1)
    assert plan.seeds == (2**63 - 1,)


def test_cap_is_checked_before_allocating(rust: Any) -> None:
    huge = SearchSpace(
        kernels=[f"k{i}" for i in range(10_000)],
        vector_widths=list(range(1, 17)),
        unroll_k_values=list(range(65)),
        local_sizes=[(x, y) for x in range(1, 33) for y in range(1, 33)],
        max_candidates=2**62,
    )
    # 10,000 x 16 x 65 x 1,024 = 1.06e10 candidates: building them first would exhaust the
    # memory of any machine, so reaching the error at all shows the cap came first.
    with pytest.raises(InvalidInputError) as info:
        rust.enumerate_candidates(
            SearchSpace(huge.kernels, huge.vector_widths, huge.unroll_k_values, huge.local_sizes)
        )
    assert (info.value.code, info.value.field) == ("too_large", "space")


def test_ranked_instances_are_real_dataclasses(rust: Any) -> None:
    ms = [
        Measurement("t20_prod_v4_u10_l10", 1024, "completed", 100.0, 1.0, 0.0),
        Measurement("x", 1024, "completed", 110, 1.0, 0.0),
    ]
    ranking = rust.rank_candidates(ms, 1e-3, BaselineRule.original())
    first = ranking.ranked[0]
    assert type(first) is RankedCandidate
    assert first == RankedCandidate("x", 1024, 110.0, 1.0, 0.0, True, 10.0)
    assert hash(first) == hash(RankedCandidate("x", 1024, 110.0, 1.0, 0.0, True, 10.0))
    assert isinstance(first.gflops, float)
    assert repr(first).startswith("RankedCandidate(candidate_id='x'")
    with pytest.raises(AttributeError):
        first.size = 5  # type: ignore[misc]


def test_results_are_plain_python_types(rust: Any) -> None:
    table = rust.enumerate_candidates(SearchSpace(["tile20"], [4], [10], [(10, 10)]))
    assert type(table.candidate_ids) is tuple and type(table.scores[0]) is float
    assert table.candidate_ids == ("tile20_vw4_u10_l10x10",)
    plan = rust.build_replay_plan(["a"], 2, 2, 0)
    assert all(type(s) is int for s in plan.seeds)
