"""Hypothesis strategies for every T2 op, valid and invalid, for ``shadow fuzz`` and the gate.

Why they look like this: a port drifts at the edges, and uniform random inputs almost never
land on one. So every strategy mixes plain random values with the contract's boundaries
(widths 1 and 16, unroll 0 and 64, work groups of exactly 256/257/1024 items, the last seed
at exactly 2**63-1) and builds ties and exact threshold hits *on purpose*: the threshold of
a gate is computed from the drawn data with the reference's own arithmetic, so
``max_error == threshold``, ``cv == max_cv`` and ``delta == min_delta`` happen in a third
of the draws rather than never. Invalid inputs take a valid one and break exactly one thing
(a wrong type, including ``bool`` and NumPy integers, NaN/inf, empty, duplicate, out of
range, overflow, too large), at a random position, because the contract says the *first*
failure in signature order is the one reported and both backends must agree on it.

Every strategy draws ``(args, kwargs)``; :data:`FUZZ_SPECS` maps op names to
:class:`shadow.fuzz.FuzzSpec` for ``runners.shadow_t2`` to attach to its ``OpSpec``\\s.
:class:`NumpyCodec` lets inputs holding NumPy scalars/arrays be logged and replayed.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st

from runners.reference.stats import stats_of
from runners.types import (
    SEED_LIMIT,
    BaselineRule,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplaySample,
    SearchSpace,
    Stats,
)
from shadow.codec import JSON, CodecError, TypedCodec
from shadow.fuzz import Call, FuzzSpec

T = TypeVar("T")

# ---------------------------------------------------------------------- codec


class NumpyCodec(TypedCodec):
    """:class:`TypedCodec` plus NumPy scalars (``{"$np": dtype, "v": ...}``) and 1-D+ arrays
    (``{"$ndarray": dtype, "shape", "v"}``), so a finding about ``np.int64(4)`` replays as
    ``np.int64(4)`` and not as a plain int that both backends accept."""

    def encode_value(self, value: Any, *, lenient: bool = False) -> JSON:
        if isinstance(value, np.generic):
            return {"$np": value.dtype.str, "v": super().encode_value(value.item())}
        if isinstance(value, np.ndarray):
            return {
                "$ndarray": value.dtype.str,
                "shape": list(value.shape),
                "v": super().encode_value(value.reshape(-1).tolist(), lenient=lenient),
            }
        return super().encode_value(value, lenient=lenient)

    def decode_value(self, data: JSON) -> Any:
        if isinstance(data, dict) and "$np" in data:
            return np.dtype(data["$np"]).type(self.decode_value(data["v"]))
        if isinstance(data, dict) and "$ndarray" in data:
            try:
                flat = np.array(self.decode_value(data["v"]), dtype=np.dtype(data["$ndarray"]))
            except (TypeError, ValueError) as exc:
                raise CodecError(f"bad $ndarray: {exc}") from exc
            return flat.reshape(data["shape"])
        return super().decode_value(data)


# ---------------------------------------------------------------------- helpers


def call(*args: Any, **kwargs: Any) -> Call:
    return (args, kwargs)


def mostly(valid: st.SearchStrategy[T], invalid: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """About two thirds valid inputs (the values), one third invalid (error parity)."""
    return st.one_of(valid, valid, invalid)


def edges_or(edges: Iterable[T], rest: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return st.one_of(st.sampled_from(list(edges)), rest)


@st.composite
def _insert(draw: st.DrawFn, items: list[Any], bad: Any) -> list[Any]:
    """``items`` with ``bad`` at a random position (the first failure must still win)."""
    at = draw(st.integers(0, len(items)))
    return [*items[:at], bad, *items[at:]]


def _shuffled(draw: st.DrawFn, items: list[T]) -> list[T]:
    """A permutation from one drawn seed: one draw instead of one per element (speed)."""
    seed = draw(st.integers(0, 2**32 - 1))
    out = list(items)
    if len(out) > 1 and seed:
        random.Random(seed).shuffle(out)
    return out


def _container(draw: st.DrawFn, items: list[Any]) -> Any:
    """Lists and tuples are both valid sequences; backends must treat them alike."""
    return tuple(items) if draw(st.booleans()) else items


WRONG_INTS: tuple[Any, ...] = (
    True,
    False,
    np.int64(4),
    np.int32(1),
    np.uint8(2),
    4.0,
    "4",
    None,
)
"""Not a Python int by the contract: bools, NumPy integers, floats, strings, None."""

WRONG_REALS: tuple[Any, ...] = (True, False, "1.0", None, np.float64(1.0), np.int64(1), 1j)
NON_FINITE: tuple[Any, ...] = (math.nan, math.inf, -math.inf, 10**400, -(10**400))
WRONG_SEQUENCES: tuple[Any, ...] = ("abc", None, 3, {"a": 1}, frozenset({1}), b"ab")
HUGE_INTS: tuple[int, ...] = (2**63 - 1, 2**63, 2**64, 2**70, -(2**63) - 1, -(2**70))

# ---------------------------------------------------------------------- enumerate_candidates

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
KERNEL_EDGES = (
    "tile20",
    "tile24",
    "v3",
    "t20_v3vec",
    "tile24_v3",
    "tile20tile24",
    "gemm",
    "a",
    "b",
    "K" * 64,
    "_",
    "0",
)
kernel_names = edges_or(KERNEL_EDGES, st.text(NAME_CHARS, min_size=1, max_size=12))
widths = edges_or((1, 16, 2, 4, 8, 3, 5, 6, 7, 9, 12, 15), st.integers(1, 16))
unrolls = edges_or((0, 64, 1, 63, 10, 32), st.integers(0, 64))
LOCAL_EDGES = (
    (1, 1),
    (32, 32),
    (1, 1024),
    (1024, 1),
    (16, 16),
    (256, 1),
    (1, 256),
    (8, 32),
    (257, 1),
    (1, 257),
    (16, 17),
    (10, 10),
    (20, 5),
    (10, 5),
    (15, 10),
    (2, 512),
    (3, 341),
    (31, 33),
)
"""Work groups of 1, 256 (no penalty), 257 (first penalized), 1024 (the largest), ties in
``|x*y - 100|`` (50 and 150 items), and non-powers of two."""


@st.composite
def _any_local(draw: st.DrawFn) -> tuple[int, int]:
    x = draw(st.integers(1, 1024))
    y = draw(st.integers(1, 1024 // x))
    return (x, y)


local_sizes = edges_or(LOCAL_EDGES, _any_local())


def _product(space: SearchSpace) -> int:
    return (
        len(space.kernels)
        * len(space.vector_widths)
        * len(space.unroll_k_values)
        * len(space.local_sizes)
    )


@st.composite
def valid_spaces(draw: st.DrawFn, max_total: int = 1024) -> SearchSpace:
    """Small spaces (ties are frequent: kernels without v3/tile share a bias), sometimes one
    maximal list (all 16 widths or all 65 unroll factors), top_k 1, == total or > total."""
    maximal = draw(st.sampled_from(["none", "none", "none", "widths", "unrolls"]))
    kernels = draw(st.lists(kernel_names, min_size=1, max_size=4, unique=True))
    if maximal == "widths":
        ws = _shuffled(draw, list(range(1, 17)))
    else:
        ws = draw(st.lists(widths, min_size=1, max_size=4, unique=True))
    if maximal == "unrolls":
        us = _shuffled(draw, list(range(65)))
    else:
        us = draw(st.lists(unrolls, min_size=1, max_size=4, unique=True))
    locals_ = draw(st.lists(local_sizes, min_size=1, max_size=4, unique=True))
    while len(kernels) * len(ws) * len(us) * len(locals_) > max_total and len(locals_) > 1:
        locals_.pop()
    while len(kernels) * len(ws) * len(us) * len(locals_) > max_total and len(kernels) > 1:
        kernels.pop()
    total = len(kernels) * len(ws) * len(us) * len(locals_)
    top_k = draw(
        st.one_of(
            st.none(),
            st.just(1),
            st.just(total),
            st.just(total + 1),
            st.integers(1, total + 3),
            st.just(2**63 - 1),
        )
    )
    cap = draw(st.sampled_from([1_000_000, total, total + 1, 2**63 - 1]))
    return SearchSpace(
        _container(draw, kernels),
        _container(draw, ws),
        _container(draw, us),
        _container(draw, [tuple(p) if draw(st.booleans()) else list(p) for p in locals_]),
        top_k=top_k,
        max_candidates=cap,
    )


def _bad_list(draw: st.DrawFn, items: list[Any], bad_elements: st.SearchStrategy[Any]) -> Any:
    """One broken list: not a sequence, empty, a duplicate, or one bad element."""
    how = draw(st.sampled_from(["element", "duplicate", "empty", "type", "element"]))
    if how == "type":
        return draw(st.sampled_from(WRONG_SEQUENCES))
    if how == "empty":
        return draw(st.sampled_from([[], ()]))
    if how == "duplicate":
        dup = draw(st.sampled_from(items))
        return draw(_insert(items, dup))
    return draw(_insert(items, draw(bad_elements)))


@st.composite
def invalid_spaces(draw: st.DrawFn) -> Call:
    space = draw(valid_spaces(max_total=256))
    # Hypothesis often draws the first option (its "simplest"): lead with the fields that
    # have the most rules, and leave the whole-space type error for last.
    field = draw(
        st.sampled_from(
            [
                "kernels",
                "local_sizes",
                "vector_widths",
                "unroll_k_values",
                "too_large",
                "top_k",
                "max_candidates",
                "space",
            ]
        )
    )
    if field == "space":
        bad: Any = draw(st.sampled_from([None, ("tile20",), {"kernels": ["a"]}, 1]))
        return call(bad)
    if field == "kernels":
        names = st.one_of(
            st.sampled_from(["", "a-b", "K" * 65, "tile\u00e920", "a b", "x.y"]),
            st.text(min_size=0, max_size=70).filter(
                lambda s: not (1 <= len(s) <= 64 and all(c in NAME_CHARS for c in s))
            ),
            st.sampled_from([20, None, b"tile20", True, 1.5]),
        )
        value = _bad_list(draw, list(space.kernels), names)
    elif field == "vector_widths":
        elems = st.one_of(
            st.sampled_from([0, 17, -1, *HUGE_INTS, *WRONG_INTS]),
            st.integers(17, 2**64),
            st.integers(-(2**64), 0),
        )
        value = _bad_list(draw, list(space.vector_widths), elems)
    elif field == "unroll_k_values":
        elems = st.one_of(
            st.sampled_from([-1, 65, *HUGE_INTS, *WRONG_INTS]), st.integers(65, 2**64)
        )
        value = _bad_list(draw, list(space.unroll_k_values), elems)
    elif field == "local_sizes":
        dims = st.sampled_from([0, -1, 1025, 2**64, *WRONG_INTS])
        pairs = st.one_of(
            st.sampled_from([(33, 32), (1024, 2), (2, 1024), (64, 17), (1025, 1), (0, 4)]),
            st.tuples(st.integers(1, 1024), dims),
            st.tuples(dims, st.integers(1, 1024)),
            st.sampled_from([(8, 8, 1), (8,), (), "ab", 64, None, [1, 2, 3]]),
            st.tuples(st.integers(2, 1024), st.integers(2, 1024)).filter(
                lambda p: p[0] * p[1] > 1024
            ),
        )
        value = _bad_list(draw, [tuple(p) for p in space.local_sizes], pairs)
    elif field == "top_k":
        value = draw(st.sampled_from([0, -1, -(2**70), True, False, 1.0, np.int64(1), "1"]))
    elif field == "max_candidates":
        value = draw(st.sampled_from([0, -1, True, 1.0, np.int64(10), None, "10"]))
    else:  # the product cap, hit exactly: one candidate too many
        total = _product(space)
        if total < 2:
            space = dataclasses.replace(space, vector_widths=[1, 16])
            total = _product(space)
        return call(dataclasses.replace(space, max_candidates=total - 1))
    return call(dataclasses.replace(space, **{field: value}))


def _enumerate_observe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, float]:
    space = args[0] if args else None
    if not isinstance(space, SearchSpace):
        return {}
    try:
        areas = [int(x) * int(y) for x, y in space.local_sizes]
    except (TypeError, ValueError):
        return {}
    # Climb towards the 1024 work-item limit and towards the 256-item penalty edge.
    return {
        "largest_work_group": float(max(a for a in areas if a <= 1024) if areas else 0),
        "near_256": -float(min((abs(a - 256.5) for a in areas), default=1e9)),
    }


enumerate_calls = mostly(valid_spaces().map(lambda s: call(s)), invalid_spaces())


def _space_from_bytes(raw: bytes) -> SearchSpace:
    """A small space (at most 16 candidates) decoded from 13 bytes; all-zero bytes decode to
    the smallest one, so Hypothesis' byte shrinking still shrinks the space."""
    b = raw.ljust(13, b"\0")

    def pick(items: Sequence[T], count: int, start: int) -> list[T]:
        return list(dict.fromkeys(items[b[start + i] % len(items)] for i in range(count)))

    return SearchSpace(
        pick(KERNEL_EDGES, 1 + b[0] % 2, 4),
        pick(range(1, 17), 1 + b[1] % 2, 6),
        pick(range(65), 1 + b[2] % 2, 8),
        pick(LOCAL_EDGES, 1 + b[3] % 2, 10),
        top_k=None if b[12] < 128 else 1 + b[12] % 16,
    )


small_space_calls = st.binary(min_size=13, max_size=13).map(
    lambda raw: call(_space_from_bytes(raw))
)
"""Small valid spaces drawn as one byte string: Hypothesis spends most of a structured
draw's time on bookkeeping, so this is the strategy for throughput (``bench/bench_fuzz.py``);
the gate uses the structured ones, which reach more edges."""

# ---------------------------------------------------------------------- build_replay_plan

candidate_ids = st.one_of(
    st.sampled_from(["t20_prod_v4_u10_l10", "a", "b", "c", "x" * 200, "é", " "]),
    st.text(min_size=1, max_size=12),
)
sessions = st.one_of(st.sampled_from([1, 99, 2, 98]), st.integers(1, 10), st.integers(1, 99))
runs = st.one_of(st.sampled_from([1, 999, 2, 998]), st.integers(1, 10), st.integers(1, 999))
MAX_PLAN_ENTRIES = 4_000
"""Plans are kept small (speed) except the one largest plan drawn on purpose."""


def last_offset(n_ids: int, n_sessions: int, n_runs: int) -> int:
    return (n_ids - 1) * 100_000 + (n_sessions - 1) * 1_000 + (n_runs - 1)


@st.composite
def valid_plans(draw: st.DrawFn) -> Call:
    """Plans of at most ~100k entries (99 sessions x 999 runs only with a single id); the
    base seed is ordinary, or puts the last seed at exactly 2**63-1."""
    ids = draw(st.lists(candidate_ids, min_size=1, max_size=5, unique=True))
    n_s, n_r = draw(sessions), draw(runs)
    if len(ids) * n_s * n_r > MAX_PLAN_ENTRIES:
        ids = ids[:1]
        if n_s * n_r > MAX_PLAN_ENTRIES:  # keep the edge value that was drawn, shrink the other
            if n_r in (998, 999):
                n_s = min(n_s, 4)
            else:
                n_r = max(1, MAX_PLAN_ENTRIES // n_s)
    if draw(st.integers(0, 24)) == 0:  # the largest plan the contract allows
        ids, n_s, n_r = ids[:1], 99, 999
    top = SEED_LIMIT - last_offset(len(ids), n_s, n_r)
    seed = draw(
        st.one_of(
            st.just(0),
            st.integers(0, 2**32),
            st.just(top),
            st.integers(max(0, top - 1000), top),
            st.integers(0, top),
        )
    )
    return call(_container(draw, ids), n_s, n_r, seed)


@st.composite
def invalid_plans(draw: st.DrawFn) -> Call:
    ids = draw(st.lists(candidate_ids, min_size=1, max_size=4, unique=True))
    n_s, n_r = draw(sessions), draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**32))
    field = draw(st.sampled_from(["ids", "sessions", "runs", "base_seed", "overflow"]))
    if field == "ids":
        bad_ids = _bad_list(draw, ids, st.sampled_from(["", 1, None, b"a", True]))
        return call(bad_ids, n_s, n_r, seed)
    if field == "sessions":
        return call(ids, draw(st.sampled_from([0, 100, -1, 2**64, *WRONG_INTS])), n_r, seed)
    if field == "runs":
        return call(ids, n_s, draw(st.sampled_from([0, 1000, -1, 2**64, *WRONG_INTS])), seed)
    if field == "base_seed":
        bad_seed = draw(st.sampled_from([-1, -(2**63), -(2**70), *WRONG_INTS, np.uint64(5)]))
        return call(ids, n_s, n_r, bad_seed)
    # overflow: the last seed is 2**63 exactly, or far beyond
    top = SEED_LIMIT - last_offset(len(ids), n_s, n_r)
    return call(ids, n_s, n_r, draw(st.sampled_from([top + 1, top + 2, 2**63, 2**64, 2**200])))


def _plan_observe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, float]:
    try:
        ids, n_s, n_r, seed = args
        last = seed + last_offset(len(ids), n_s, n_r)
        return {"seed_headroom": -math.log2(1 + abs(SEED_LIMIT - last))}
    except Exception:
        return {}


plan_calls = mostly(valid_plans(), invalid_plans())

# ---------------------------------------------------------------------- summarize

moderate = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
any_finite = st.floats(allow_nan=False, allow_infinity=False)
SAMPLE_EDGES = (0.0, -0.0, 1.0, 2.5, -3.0, 100.0, 110.0, 5e-324, 1e-300, 1e150)


@st.composite
def valid_samples(draw: st.DrawFn) -> Any:
    """Single values, equal values (std 0), mean exactly 0 (cv None), ints and floats mixed,
    tuples, NumPy arrays of float and integer dtypes (the full double range, whose statistics
    can overflow, is drawn by :func:`invalid_samples`)."""
    kind = draw(st.sampled_from(["floats", "floats", "equal", "zero_mean", "ints", "edges"]))
    if kind == "floats":
        items: list[Any] = draw(st.lists(moderate, min_size=1, max_size=40))
    elif kind == "equal":
        items = [draw(moderate)] * draw(st.integers(1, 20))
    elif kind == "zero_mean":
        half = draw(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=10))
        items = [*half, *(-x for x in half)]
    elif kind == "ints":
        items = draw(
            st.lists(st.integers(-(2**60), 2**60) | st.integers(-10, 10), min_size=1, max_size=30)
        )
    else:
        items = draw(st.lists(st.sampled_from(SAMPLE_EDGES) | moderate, min_size=1, max_size=12))
    items = _shuffled(draw, items)
    form = draw(st.sampled_from(["list", "list", "tuple", "ndarray"]))
    if form == "tuple":
        return tuple(items)
    if form == "ndarray":
        if all(isinstance(x, int) for x in items) and all(-(2**31) <= x < 2**31 for x in items):
            dtype = draw(st.sampled_from([np.int64, np.int32, np.float64]))
        elif all(isinstance(x, int) and 0 <= x < 256 for x in items):
            dtype = np.uint8
        else:
            dtype = draw(st.sampled_from([np.float64, np.float64, np.float32]))
        with np.errstate(over="ignore"):
            arr = np.array(items, dtype=dtype)
        if not np.isfinite(arr.astype(np.float64)).all():
            arr = np.array(items, dtype=np.float64)
        return arr
    return items


@st.composite
def invalid_samples(draw: st.DrawFn) -> Any:
    items = draw(st.lists(moderate, min_size=1, max_size=10))
    how = draw(st.sampled_from(["type", "empty", "element", "element", "bool", "array", "wide"]))
    if how == "type":
        return draw(st.sampled_from([*WRONG_SEQUENCES, 1.0, "1,2"]))
    if how == "empty":
        return draw(st.sampled_from([[], (), np.array([], dtype=np.float64)]))
    if how == "array":
        return draw(
            st.sampled_from(
                [
                    np.array([[1.0, 2.0]]),
                    np.array([True, False]),
                    np.array(["a"]),
                    np.array([1.0, np.nan]),
                    np.array([np.inf]),
                    np.array([1 + 1j]),
                    np.zeros((0, 2)),
                ]
            )
        )
    if how == "wide":  # the whole double range: sums and squares may overflow (an error)
        return draw(
            st.lists(any_finite | st.sampled_from([1.7976931348623157e308]), min_size=1, max_size=8)
        )
    if how == "bool":  # the contract's favourite trap: bool is an int subclass in Python
        return draw(_insert(items, draw(st.booleans())))
    bad = draw(st.sampled_from([*NON_FINITE, *WRONG_REALS]))
    return draw(_insert(items, bad))


summarize_calls = mostly(
    valid_samples().map(lambda s: call(s)), invalid_samples().map(lambda s: call(s))
)

# ---------------------------------------------------------------------- rank_candidates

BASELINE_IDS = ("t20_prod_v4_u10_l10", "t24_prod_v4_u0_l12")
RANK_IDS = (*BASELINE_IDS, "a", "b", "c")
SIZES = (1, 512, 1024, 1799, 1800, 2048)
gflops_values = st.one_of(st.sampled_from([0.0, 100.0, 110.0, 90.0, 100.0]), st.floats(0.0, 5e3))
error_values = st.one_of(
    st.sampled_from([0.0, 1e-4, 5e-4, 1e-3, 1.0000000000000002e-3, 2e-3]), st.floats(0.0, 1e-2)
)


@st.composite
def measurement_lists(draw: st.DrawFn) -> list[Measurement]:
    ids = draw(
        st.lists(st.sampled_from(RANK_IDS) | candidate_ids, min_size=1, max_size=5, unique=True)
    )
    sizes = draw(
        st.lists(
            st.sampled_from(SIZES) | st.integers(1, 10_000), min_size=1, max_size=3, unique=True
        )
    )
    out: list[Measurement] = []
    for cid in ids:
        for size in sizes:
            if not draw(st.integers(0, 3)):
                continue
            if draw(st.integers(0, 5)) == 0:
                out.append(
                    Measurement(cid, size, "failed", draw(st.none() | gflops_values), None, None)
                )
            else:
                out.append(
                    Measurement(
                        cid,
                        size,
                        "completed",
                        draw(gflops_values),
                        draw(st.floats(0.0, 1e3)),
                        draw(error_values),
                    )
                )
    return _shuffled(draw, out)


@st.composite
def baseline_rules(draw: st.DrawFn) -> BaselineRule:
    kind = draw(st.sampled_from(["original", "original", "custom", "empty"]))
    if kind == "original":
        return BaselineRule.original()
    if kind == "empty":
        return BaselineRule(())
    mins = sorted(
        draw(
            st.lists(
                st.sampled_from([0, 1, 512, 1024, 1800]) | st.integers(0, 5000),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    )
    return BaselineRule(tuple((m, draw(st.sampled_from(RANK_IDS))) for m in mins))


@st.composite
def valid_rankings(draw: st.DrawFn) -> Call:
    ms = draw(measurement_lists())
    errors_seen = [m.max_error for m in ms if m.status == "completed" and m.max_error is not None]
    threshold = draw(
        st.one_of(
            st.just(1e-3),
            st.sampled_from(errors_seen) if errors_seen else st.just(0.0),
            error_values,
        )
    )
    rule = draw(baseline_rules())
    objective = draw(st.sampled_from(["delta", "delta", "gflops", None]))
    if objective is None:
        return call(_container(draw, ms), threshold, rule)
    if draw(st.booleans()):
        return call(_container(draw, ms), threshold, rule, objective=objective)
    return call(_container(draw, ms), threshold, rule, objective)


@st.composite
def invalid_rankings(draw: st.DrawFn) -> Call:
    ms = draw(measurement_lists().filter(bool))
    rule: Any = BaselineRule.original()
    threshold: Any = 1e-3
    objective: Any = "delta"
    field = draw(
        st.sampled_from(
            [
                "measurements",
                "measurement",
                "measurement",
                "duplicate",
                "threshold",
                "rule",
                "objective",
            ]
        )
    )
    if field == "measurements":
        ms_any: Any = draw(
            st.sampled_from([*WRONG_SEQUENCES, Measurement("a", 1, "completed", 1.0, 1.0, 0.0)])
        )
        return call(ms_any, threshold, rule, objective)
    if field == "measurement":
        base = draw(st.sampled_from(ms))
        attr = draw(
            st.sampled_from(
                ["candidate_id", "size", "status", "gflops", "avg_time_ms", "max_error", "object"]
            )
        )
        bad_value: Any
        if attr == "object":
            bad_m: Any = draw(st.sampled_from([None, ("a", 1), ReplaySample(1.0, 1.0, 0.0)]))
        else:
            if attr == "candidate_id":
                bad_value = draw(st.sampled_from(["", None, 1, b"a"]))
            elif attr == "size":
                bad_value = draw(st.sampled_from([0, -1, *WRONG_INTS, 2**64]))
            elif attr == "status":
                bad_value = draw(st.sampled_from(["done", "Completed", "", None, 1]))
            else:
                bad_value = draw(st.sampled_from([*NON_FINITE, *WRONG_REALS, -1.0, -5e-324]))
                base = dataclasses.replace(base, status="completed")
            bad_m = dataclasses.replace(base, **{attr: bad_value})
        return call(
            draw(_insert([m for m in ms if m is not base], bad_m)), threshold, rule, objective
        )
    if field == "duplicate":
        dup = draw(st.sampled_from(ms))
        return call(
            draw(_insert(ms, dataclasses.replace(dup, gflops=1.0))), threshold, rule, objective
        )
    if field == "threshold":
        threshold = draw(st.sampled_from([*NON_FINITE, *WRONG_REALS, -1e-3]))
    elif field == "rule":
        rule = draw(
            st.sampled_from(
                [
                    None,
                    ((0, "a"),),
                    BaselineRule(((100, "a"), (100, "b"))),
                    BaselineRule(((200, "a"), (100, "b"))),
                    BaselineRule(((-1, "a"),)),
                    BaselineRule(((True, "a"),)),
                    BaselineRule(((0, ""),)),
                    BaselineRule(((0, "a", 1),)),  # type: ignore[arg-type]
                    BaselineRule(((0, None),)),  # type: ignore[arg-type]
                    BaselineRule("ab"),  # type: ignore[arg-type]
                    BaselineRule(((np.int64(0), "a"),)),  # type: ignore[arg-type]
                ]
            )
        )
    else:
        objective = draw(st.sampled_from(["speed", "", None, 1, "Delta"]))
    return call(ms, threshold, rule, objective)


def _rank_observe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, float]:
    # Equal gflops are where a stable sort and an unstable one part ways.
    try:
        gf = [m.gflops for m in args[0] if isinstance(m, Measurement) and m.status == "completed"]
        return {"gflops_ties": float(len(gf) - len(set(gf)))}
    except Exception:
        return {}


rank_calls = mostly(valid_rankings(), invalid_rankings())

# ---------------------------------------------------------------------- evaluate_replay

replay_samples = st.builds(
    ReplaySample,
    st.one_of(st.sampled_from([100.0, 110.0, 0.0]), st.floats(0.0, 2000.0)),
    st.floats(0.0, 100.0),
    error_values,
)


@st.composite
def valid_evaluations(draw: st.DrawFn) -> Call:
    """Thresholds are often computed from the drawn samples with the reference's arithmetic,
    so each gate is hit exactly (``<=`` versus ``<`` is then observable)."""
    samples = draw(st.lists(replay_samples, min_size=1, max_size=8))
    shape = draw(st.sampled_from(["any", "identical", "tight"]))
    if shape == "identical":  # cv exactly 0
        samples = [samples[0]] * len(samples)
    elif shape == "tight":  # stable and correct: the promotion gate decides
        level = draw(st.sampled_from([100.0, 110.0, 1000.0]))
        samples = [
            ReplaySample(level * (1.0 + (i % 3) * 0.001), s.avg_time_ms, min(s.max_error, 1e-4))
            for i, s in enumerate(samples)
        ]
    base = draw(st.one_of(st.none(), st.sampled_from([100.0, 90.0, 1.0]), st.floats(1e-3, 2000.0)))
    g = stats_of(np.array([s.gflops for s in samples], dtype=np.float64))
    exact_err = max(s.max_error for s in samples)
    max_error = draw(st.sampled_from([1e-3, exact_err, exact_err, 0.0]))
    max_cv = draw(st.sampled_from([0.03, g.cv if g.cv is not None else 0.03, 0.0, 1.0]))
    delta = (g.mean - base) / base * 100.0 if base is not None else None
    min_delta = draw(st.sampled_from([10.0, delta if delta is not None else 10.0, -100.0, 0.0]))
    thresholds = GateThresholds(max_error, max_cv, min_delta)
    form = draw(st.sampled_from(["positional", "kwargs", "default"]))
    items = _container(draw, samples)
    if form == "default":
        return call(items, base)
    if form == "kwargs":
        return call(items, baseline_gflops=base, thresholds=thresholds)
    return call(items, base, thresholds)


@st.composite
def invalid_evaluations(draw: st.DrawFn) -> Call:
    samples = draw(st.lists(replay_samples, min_size=1, max_size=4))
    base: Any = 100.0
    thresholds: Any = GateThresholds()
    field = draw(st.sampled_from(["samples", "sample", "sample", "baseline", "thresholds"]))
    if field == "samples":
        return call(draw(st.sampled_from([*WRONG_SEQUENCES, [], ()])), base, thresholds)
    if field == "sample":
        attr = draw(st.sampled_from(["gflops", "avg_time_ms", "max_error", "object"]))
        if attr == "object":
            bad: Any = draw(
                st.sampled_from(
                    [None, (1.0, 1.0, 0.0), Measurement("a", 1, "completed", 1.0, 1.0, 0.0)]
                )
            )
        else:
            value = draw(st.sampled_from([*NON_FINITE, *WRONG_REALS, -1.0]))
            bad = dataclasses.replace(draw(st.sampled_from(samples)), **{attr: value})
        return call(draw(_insert(samples, bad)), base, thresholds)
    if field == "baseline":
        base = draw(st.sampled_from([0.0, -0.0, -1.0, *NON_FINITE, True, "100", np.float64(100.0)]))
        return call(samples, base, thresholds)
    attr = draw(st.sampled_from(["max_error", "max_cv", "min_delta_percent", "object"]))
    if attr == "object":
        return call(
            samples, base, draw(st.sampled_from([None, (1e-3, 0.03, 10.0), {"max_cv": 0.03}]))
        )
    bad_values = [*NON_FINITE, *WRONG_REALS]
    if attr != "min_delta_percent":
        bad_values.append(-1e-9)
    return call(
        samples, base, dataclasses.replace(thresholds, **{attr: draw(st.sampled_from(bad_values))})
    )


def _evaluate_observe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, float]:
    try:
        samples = args[0]
        thresholds = args[2] if len(args) > 2 else kwargs.get("thresholds", GateThresholds())
        gap = abs(max(s.max_error for s in samples) - thresholds.max_error)
        return {"error_at_threshold": -gap} if math.isfinite(gap) else {}
    except Exception:
        return {}


evaluate_calls = mostly(valid_evaluations(), invalid_evaluations())

# ---------------------------------------------------------------------- decide

_STATS = Stats(1, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0)


@st.composite
def evaluations(draw: st.DrawFn) -> ReplayEvaluation:
    """Replay results with the gate flags the decision reads: promoted, correct and stable,
    only correct, or arbitrary (the decision must not assume they are consistent)."""
    shape = draw(st.sampled_from(["promoted", "correct_stable", "correct_only", "any"]))
    if shape == "promoted":
        flags = (True, True, True)
    elif shape == "correct_stable":
        flags = (True, True, False)
    elif shape == "correct_only":
        flags = (True, False, False)
    else:
        flags = (draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
    delta = draw(st.one_of(st.none(), st.sampled_from([10.0, 9.99, -5.0])))
    cv = draw(st.one_of(st.none(), st.sampled_from([0.0, 0.03, 0.5])))
    return ReplayEvaluation(_STATS, _STATS, _STATS, cv, delta, *flags)


@st.composite
def valid_decisions(draw: st.DrawFn) -> Call:
    valid = draw(
        st.one_of(st.just(0), st.sampled_from([0, 1, 2]), st.integers(0, 2**63 - 1), st.just(2**64))
    )
    results = draw(st.lists(evaluations(), min_size=0, max_size=5))
    return call(valid, _container(draw, results))


@st.composite
def invalid_decisions(draw: st.DrawFn) -> Call:
    results = draw(st.lists(evaluations(), min_size=1, max_size=4))
    field = draw(st.sampled_from(["valid_count", "results", "result", "flag"]))
    if field == "valid_count":
        return call(draw(st.sampled_from([-1, -(2**70), *WRONG_INTS])), results)
    if field == "results":
        return call(1, draw(st.sampled_from(["abc", None, 3, {"a": 1}])))
    if field == "result":
        return call(1, draw(_insert(results, draw(st.sampled_from([None, _STATS, "promote", 1])))))
    flag = draw(
        st.sampled_from(["correctness_passed", "stability_passed", "promotion_gate_passed"])
    )
    value: Any = draw(st.sampled_from([1, 0, None, "true", np.bool_(True)]))
    bad = dataclasses.replace(draw(st.sampled_from(results)), **{flag: value})
    return call(draw(st.integers(0, 3)), draw(_insert(results, bad)))


decide_calls = mostly(valid_decisions(), invalid_decisions())

# ---------------------------------------------------------------------- registration

FUZZ_SPECS: Mapping[str, FuzzSpec] = {
    "enumerate_candidates": FuzzSpec(enumerate_calls, _enumerate_observe),
    "build_replay_plan": FuzzSpec(plan_calls, _plan_observe),
    "summarize": FuzzSpec(summarize_calls),
    "rank_candidates": FuzzSpec(rank_calls, _rank_observe),
    "evaluate_replay": FuzzSpec(evaluate_calls, _evaluate_observe),
    "decide": FuzzSpec(decide_calls),
}
"""What ``runners.shadow_t2`` attaches to each ``OpSpec.strategies``."""

VALID_CALLS: Mapping[str, st.SearchStrategy[Call]] = {
    "enumerate_candidates": valid_spaces().map(lambda s: call(s)),
    "build_replay_plan": valid_plans(),
    "summarize": valid_samples().map(lambda s: call(s)),
    "rank_candidates": valid_rankings(),
    "evaluate_replay": valid_evaluations(),
    "decide": valid_decisions(),
}
"""Valid inputs only (for tests that want results, not errors)."""

__all__: list[str] = ["FUZZ_SPECS", "VALID_CALLS", "NumpyCodec"]
