"""The T2 strategies: attached to every op, covering every error code and every contract
limit (valid and invalid sides), shrinking towards small inputs, replayable inputs, and
python-vs-rust agreement on a small budget (the gate runs the full one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import hypothesis
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from runners.backend import OPS
from runners.fuzz_t2 import (
    FUZZ_SPECS,
    INT_EXTREMES,
    INVALID_CALLS,
    MAX_DOUBLE,
    MIN_SUBNORMAL,
    VALID_CALLS,
    NumpyCodec,
    _space_from_bytes,
    last_offset,
)
from runners.reference import PythonBackend
from runners.shadow_t2 import CODEC, TARGET
from runners.types import (
    SEED_LIMIT,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplaySample,
    SearchSpace,
)
from shadow._fuzz import FuzzConfig, Fuzzer, Pair
from t2_sidecar.errors import ERROR_CODES, InvalidInputError

REFERENCE = PythonBackend()


def test_every_op_has_a_strategy() -> None:
    assert set(FUZZ_SPECS) == set(OPS)
    assert all(TARGET.op(op).strategies is FUZZ_SPECS[op] for op in OPS)


def _codes(op: str, n: int, seed: int, seen: set[str]) -> None:
    """Adds the error codes the op's strategy reaches in ``n`` examples drawn from ``seed``."""

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(FUZZ_SPECS[op].strategy)
    def collect(call: tuple[tuple[object, ...], dict[str, object]]) -> None:
        args, kwargs = call
        try:
            getattr(REFERENCE, op)(*args, **kwargs)
        except InvalidInputError as exc:
            seen.add(exc.code)

    hypothesis.seed(seed)(collect)()


def test_invalid_inputs_reach_every_error_code() -> None:
    """Fixed seeds (not derandomize, whose seed depends on where the checkout lives), a few
    batches at most: the strategies must reach every code of the contract."""
    seen: set[str] = set()
    for seed in range(12):
        for op in OPS:
            _codes(op, 100, seed, seen)
        if seen == set(ERROR_CODES):
            break
    assert seen == set(ERROR_CODES)


@pytest.mark.parametrize("op", OPS)
def test_valid_strategies_are_valid(op: str) -> None:
    @settings(
        max_examples=60,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(VALID_CALLS[op])
    def valid(call: tuple[tuple[object, ...], dict[str, object]]) -> None:
        args, kwargs = call
        getattr(REFERENCE, op)(*args, **kwargs)

    valid()


@given(
    st.sampled_from(
        [
            np.int64(4),
            np.uint8(7),
            np.float32(1.5),
            np.bool_(True),
            np.array([1, 2], dtype=np.int32),
            np.array([[1.0, np.nan]]),
        ]
    )
)
def test_numpy_values_round_trip(value: object) -> None:
    codec = NumpyCodec()
    (back,), _ = codec.decode(codec.encode((value,), {}))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    else:
        assert back == value
    assert isinstance(CODEC, NumpyCodec)


def test_python_and_rust_agree_on_a_small_budget() -> None:
    from tests.conftest import load_backend

    load_backend("rust")  # skips locally when not built; fails in CI
    fuzzer = Fuzzer(TARGET, Pair.of(TARGET, "python", "rust"), FuzzConfig(40, seed=0))
    report = fuzzer.run()
    assert report.ok, [(f.op, f.kind, f.input_repr, f.replay) for f in report.findings]


@given(raw=st.binary(min_size=13, max_size=13))
def test_compact_small_spaces_are_valid_and_small(raw: bytes) -> None:
    space = _space_from_bytes(raw)
    table = PythonBackend().enumerate_candidates(space)
    assert 1 <= table.total <= 16
    assert _space_from_bytes(bytes(13)) == SearchSpace(["tile20"], [1], [0], [(1, 1)])


# ---------------------------------------------------------------------- limits

Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Probe = Callable[[Args, Kwargs], bool]


def _space(args: Args) -> SearchSpace | None:
    space = args[0] if args else None
    return space if isinstance(space, SearchSpace) else None


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _has(field: str, wanted: Callable[[Any], bool]) -> Probe:
    """The space's ``field`` list holds an element ``wanted`` picks (ints only, not bools)."""

    def probe(args: Args, kwargs: Kwargs) -> bool:
        space = _space(args)
        return space is not None and any(
            type(v) is int and wanted(v) for v in _items(getattr(space, field))
        )

    return probe


def _area(wanted: int) -> Probe:
    def probe(args: Args, kwargs: Kwargs) -> bool:
        space = _space(args)
        pairs = _items(space.local_sizes) if space is not None else []
        return any(
            isinstance(p, list | tuple)
            and len(p) == 2
            and all(type(d) is int for d in p)
            and p[0] * p[1] == wanted
            for p in pairs
        )

    return probe


def _has_dim(wanted: int) -> Probe:
    def probe(args: Args, kwargs: Kwargs) -> bool:
        space = _space(args)
        pairs = _items(space.local_sizes) if space is not None else []
        return any(
            isinstance(p, list | tuple) and any(type(d) is int and d == wanted for d in p)
            for p in pairs
        )

    return probe


def _space_limit(field: str, wanted: Callable[[Any, int], bool]) -> Probe:
    """``field`` (top_k, max_candidates) against the space's size."""

    def probe(args: Args, kwargs: Kwargs) -> bool:
        space = _space(args)
        if space is None or not all(
            isinstance(getattr(space, f), list | tuple)
            for f in ("kernels", "vector_widths", "unroll_k_values", "local_sizes")
        ):
            return False
        total = (
            len(space.kernels)
            * len(space.vector_widths)
            * len(space.unroll_k_values)
            * len(space.local_sizes)
        )
        value = getattr(space, field)
        return type(value) is int and wanted(value, total)

    return probe


def _plan(wanted: Callable[[int, int, int, int, int], bool]) -> Probe:
    """(ids, sessions, runs, base_seed, last seed) of a plan call with int arguments."""

    def probe(args: Args, kwargs: Kwargs) -> bool:
        if len(args) != 4 or not all(type(a) is int for a in args[1:]):
            return False
        ids, n_s, n_r, seed = args
        n_ids = len(_items(ids))
        return n_ids > 0 and wanted(n_ids, n_s, n_r, seed, seed + last_offset(n_ids, n_s, n_r))

    return probe


def _samples(wanted: Callable[[list[Any]], bool]) -> Probe:
    def probe(args: Args, kwargs: Kwargs) -> bool:
        value = args[0] if args else None
        items = value.tolist() if isinstance(value, np.ndarray) else _items(value)
        return wanted(items) if isinstance(value, list | tuple | np.ndarray) else False

    return probe


def _measurements(wanted: Callable[[Measurement, float], bool]) -> Probe:
    def probe(args: Args, kwargs: Kwargs) -> bool:
        if len(args) < 2 or not isinstance(args[1], float):
            return False
        return any(isinstance(m, Measurement) and wanted(m, args[1]) for m in _items(args[0]))

    return probe


def _gate_edge(which: str) -> Probe:
    """An evaluation call whose thresholds sit exactly on the samples' value."""

    def probe(args: Args, kwargs: Kwargs) -> bool:
        samples = _items(args[0]) if args else []
        base = args[1] if len(args) > 1 else kwargs.get("baseline_gflops")
        limits = args[2] if len(args) > 2 else kwargs.get("thresholds")
        if not samples or not all(isinstance(s, ReplaySample) for s in samples):
            return False
        if not isinstance(limits, GateThresholds):
            return False
        try:
            e = REFERENCE.evaluate_replay(samples, base, limits)
        except ValueError:
            return False
        if which == "correctness":
            return e.max_error.max == limits.max_error
        if which == "stability":
            return e.cv_peak == limits.max_cv
        return e.mean_delta_vs_baseline_percent == limits.min_delta_percent and e.correctness_passed

    return probe


def _decision(wanted: Callable[[Any, list[Any], Any, Any], bool]) -> Probe:
    """(valid_count, results, thresholds, labels) of a decide call."""

    def probe(args: Args, kwargs: Kwargs) -> bool:
        full = [*args, None, None, None, None]
        thresholds = kwargs.get("thresholds", full[2])
        labels = kwargs.get("labels", full[3])
        return wanted(full[0], _items(full[1]), thresholds, labels)

    return probe


def _lone_surrogate(text: Any) -> bool:
    return isinstance(text, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in text)


LIMITS: Mapping[str, Mapping[str, Probe]] = {
    "enumerate_candidates": {
        "width 1": _has("vector_widths", lambda v: v == 1),
        "width 16": _has("vector_widths", lambda v: v == 16),
        "width 0": _has("vector_widths", lambda v: v == 0),
        "width 17": _has("vector_widths", lambda v: v == 17),
        "width at an integer extreme": _has("vector_widths", lambda v: v in INT_EXTREMES),
        "unroll 0": _has("unroll_k_values", lambda v: v == 0),
        "unroll 64": _has("unroll_k_values", lambda v: v == 64),
        "unroll -1": _has("unroll_k_values", lambda v: v == -1),
        "unroll 65": _has("unroll_k_values", lambda v: v == 65),
        "all 65 unrolls": lambda a, k: (
            (s := _space(a)) is not None and sorted(_items(s.unroll_k_values)) == list(range(65))
        ),
        "work group 1024": _area(1024),
        "work group 1025": _area(1025),
        "work group 256": _area(256),
        "work group 257": _area(257),
        "local dim 0": _has_dim(0),
        "local dim 1025": _has_dim(1025),
        "top_k None": lambda a, k: (s := _space(a)) is not None and s.top_k is None,
        "top_k 0": _space_limit("top_k", lambda v, t: v == 0),
        "top_k 1": _space_limit("top_k", lambda v, t: v == 1),
        "top_k total - 1": _space_limit("top_k", lambda v, t: v == t - 1 and t > 2),
        "top_k total": _space_limit("top_k", lambda v, t: v == t and t > 1),
        "top_k total + 1": _space_limit("top_k", lambda v, t: v == t + 1),
        "top_k 2**63-1": _space_limit("top_k", lambda v, t: v == 2**63 - 1),
        "top_k at an integer extreme": _space_limit("top_k", lambda v, t: v in INT_EXTREMES),
        "cap 0": _space_limit("max_candidates", lambda v, t: v == 0),
        "cap total - 1": _space_limit("max_candidates", lambda v, t: v == t - 1 and t > 1),
        "cap total": _space_limit("max_candidates", lambda v, t: v == t),
        "cap total + 1": _space_limit("max_candidates", lambda v, t: v == t + 1),
        "cap 2**64": _space_limit("max_candidates", lambda v, t: v == 2**64),
        "kernel name of 64": lambda a, k: (
            (s := _space(a)) is not None
            and any(isinstance(n, str) and len(n) == 64 for n in _items(s.kernels))
        ),
        "kernel name of 65": lambda a, k: (
            (s := _space(a)) is not None
            and any(isinstance(n, str) and len(n) == 65 for n in _items(s.kernels))
        ),
        "empty kernel name": lambda a, k: (s := _space(a)) is not None and "" in _items(s.kernels),
        "an empty list": lambda a, k: (
            (s := _space(a)) is not None
            and any(
                isinstance(v, list | tuple) and not v
                for v in (s.kernels, s.vector_widths, s.unroll_k_values, s.local_sizes)
            )
        ),
    },
    "build_replay_plan": {
        "sessions 1": _plan(lambda i, s, r, b, last: s == 1),
        "sessions 99": _plan(lambda i, s, r, b, last: s == 99),
        "sessions 0": _plan(lambda i, s, r, b, last: s == 0),
        "sessions 100": _plan(lambda i, s, r, b, last: s == 100),
        "runs 1": _plan(lambda i, s, r, b, last: r == 1),
        "runs 999": _plan(lambda i, s, r, b, last: r == 999),
        "runs 0": _plan(lambda i, s, r, b, last: r == 0),
        "runs 1000": _plan(lambda i, s, r, b, last: r == 1000),
        "base seed 0": _plan(lambda i, s, r, b, last: b == 0),
        "base seed -1": _plan(lambda i, s, r, b, last: b == -1),
        "last seed 2**63-1": _plan(lambda i, s, r, b, last: last == SEED_LIMIT),
        "last seed 2**63-2": _plan(lambda i, s, r, b, last: last == SEED_LIMIT - 1),
        "last seed 2**63": _plan(lambda i, s, r, b, last: last == SEED_LIMIT + 1),
        "largest plan": _plan(lambda i, s, r, b, last: (i, s, r) == (1, 99, 999)),
        "no ids": lambda a, k: bool(a) and isinstance(a[0], list | tuple) and not a[0],
    },
    "summarize": {
        "one sample": _samples(lambda xs: len(xs) == 1),
        "two samples": _samples(lambda xs: len(xs) == 2),
        "empty": _samples(lambda xs: not xs),
        "largest double": _samples(lambda xs: MAX_DOUBLE in xs),
        "smallest subnormal": _samples(lambda xs: MIN_SUBNORMAL in xs),
        "2**53 + 1": _samples(lambda xs: 2**53 + 1 in xs),
        "-0.0": _samples(lambda xs: any(type(x) is float and str(x) == "-0.0" for x in xs)),
        "a bool": _samples(lambda xs: any(type(x) is bool for x in xs)),
        "an int too large for a double": _samples(
            lambda xs: any(type(x) is int and abs(x) > 2**1023 for x in xs)
        ),
    },
    "rank_candidates": {
        "size 1": _measurements(lambda m, t: type(m.size) is int and m.size == 1),
        "size 0": _measurements(lambda m, t: type(m.size) is int and m.size == 0),
        "size 1800": _measurements(lambda m, t: m.size == 1800),
        "size 1799": _measurements(lambda m, t: m.size == 1799),
        "size 2**64": _measurements(lambda m, t: m.size == 2**64),
        "gflops 0": _measurements(lambda m, t: m.status == "completed" and m.gflops == 0.0),
        "a real just below 0": _measurements(
            lambda m, t: -MIN_SUBNORMAL in (m.gflops, m.avg_time_ms, m.max_error)
        ),
        "error at the threshold": _measurements(
            lambda m, t: m.status == "completed" and m.max_error == t
        ),
        "error just above 1e-3": _measurements(lambda m, t: m.max_error == 1.0000000000000002e-3),
        "no measurement": lambda a, k: bool(a) and isinstance(a[0], list | tuple) and not a[0],
        "threshold just below 0": lambda a, k: len(a) > 1 and a[1] == -MIN_SUBNORMAL,
    },
    "evaluate_replay": {
        "max_error at its threshold": _gate_edge("correctness"),
        "cv_peak at its threshold": _gate_edge("stability"),
        "delta at its threshold": _gate_edge("promotion"),
        "smallest baseline": lambda a, k: len(a) > 1 and a[1] == MIN_SUBNORMAL,
        "baseline 0": lambda a, k: len(a) > 1 and type(a[1]) is float and a[1] == 0.0,
        "threshold just below 0": lambda a, k: (
            len(a) > 2
            and isinstance(a[2], GateThresholds)
            and -MIN_SUBNORMAL in (a[2].max_error, a[2].max_cv)
        ),
    },
    "decide": {
        "valid_count 0": _decision(lambda v, r, t, lb: type(v) is int and v == 0),
        "valid_count -1": _decision(lambda v, r, t, lb: type(v) is int and v == -1),
        "valid_count 2**64": _decision(lambda v, r, t, lb: type(v) is int and v == 2**64),
        "no results": _decision(lambda v, r, t, lb: not r and isinstance(lb, list | tuple)),
        "0 with a promoted result": _decision(
            lambda v, r, t, lb: (
                v == 0
                and any(
                    isinstance(e, ReplayEvaluation) and e.promotion_gate_passed is True for e in r
                )
            )
        ),
        "thresholds at 0": _decision(
            lambda v, r, t, lb: isinstance(t, GateThresholds) and t.max_cv == 0.0
        ),
        "largest threshold": _decision(
            lambda v, r, t, lb: (
                isinstance(t, GateThresholds) and MAX_DOUBLE in (t.max_error, t.max_cv)
            )
        ),
        "cv_peak at max_cv": _decision(
            lambda v, r, t, lb: (
                isinstance(t, GateThresholds)
                and any(isinstance(e, ReplayEvaluation) and e.cv_peak == t.max_cv for e in r)
            )
        ),
        "labels, one per result": _decision(
            lambda v, r, t, lb: isinstance(lb, list | tuple) and len(lb) == len(r) > 0
        ),
        "one label too few": _decision(
            lambda v, r, t, lb: isinstance(lb, list) and len(lb) == len(r) - 1
        ),
        "one label too many": _decision(
            lambda v, r, t, lb: isinstance(lb, list) and len(lb) == len(r) + 1
        ),
        "empty label": _decision(lambda v, r, t, lb: isinstance(lb, list) and "" in lb),
        "lone surrogate label": _decision(
            lambda v, r, t, lb: isinstance(lb, list) and any(_lone_surrogate(x) for x in lb)
        ),
    },
}


def _reached(op: str, n: int, seed: int, seen: set[str]) -> None:
    probes = LIMITS[op]

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(FUZZ_SPECS[op].strategy)
    def collect(call: tuple[Args, Kwargs]) -> None:
        args, kwargs = call
        for name, probe in probes.items():
            if name not in seen and probe(args, kwargs):
                seen.add(name)

    hypothesis.seed(seed)(collect)()


@pytest.mark.parametrize("op", OPS)
def test_strategies_draw_every_limit(op: str) -> None:
    """Each limit of the contract (and its neighbours, 0, empty, the extremes) is drawn, on
    the valid and the invalid side, within a few gate budgets (fixed seeds; most ops need
    one)."""
    seen: set[str] = set()
    for seed in range(8):
        _reached(op, 400, seed, seen)
        if seen == set(LIMITS[op]):
            break
    assert set(LIMITS[op]) - seen == set()


def _plan_size(call: tuple[Args, Kwargs]) -> int:
    ids, n_s, n_r, _ = call[0]
    return len(ids) * n_s * n_r


SMALLEST: Mapping[str, Callable[[tuple[Args, Kwargs]], bool]] = {
    "enumerate_candidates": lambda c: (
        REFERENCE.enumerate_candidates(*c[0]).total == 1
        and c[0][0].top_k is None
        and c[0][0].max_candidates == 1_000_000
    ),
    "build_replay_plan": lambda c: _plan_size(c) == 1 and c[0][3] == 0,
    "summarize": lambda c: len(c[0][0]) == 1,
    "rank_candidates": lambda c: len(c[0][0]) <= 1,
    "evaluate_replay": lambda c: len(c[0][0]) == 1,
    "decide": lambda c: len(c[0][1]) <= 1,
}


def _smallest(strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]) -> Any:
    return find(
        strategy,
        condition,
        settings=settings(database=None, max_examples=500, suppress_health_check=list(HealthCheck)),
    )


@pytest.mark.parametrize("op", OPS)
def test_valid_strategies_shrink_to_a_small_input(op: str) -> None:
    """Shrinking goes to the smallest plain input: one candidate, one entry, one sample."""
    smallest = _smallest(VALID_CALLS[op], lambda c: True)
    assert SMALLEST[op](smallest), smallest


@pytest.mark.parametrize("op", OPS)
def test_invalid_strategies_break_one_rule(op: str) -> None:
    """Each invalid input is rejected by the reference, with the contract's error."""

    @settings(
        max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(INVALID_CALLS[op])
    def rejected(call: tuple[Args, Kwargs]) -> None:
        args, kwargs = call
        with pytest.raises(InvalidInputError):
            getattr(REFERENCE, op)(*args, **kwargs)

    rejected()


def test_plan_shrinks_away_from_the_largest_plan() -> None:
    """A finding that needs more than one entry shrinks to two entries, not 99 x 999."""
    smallest = _smallest(VALID_CALLS["build_replay_plan"], lambda c: _plan_size(c) >= 2)
    assert _plan_size(smallest) == 2, smallest
