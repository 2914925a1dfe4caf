"""Hypothesis strategies for every T2 op, valid and invalid, for ``shadow fuzz`` and the gate.

Why they look like this: a port drifts at the edges, and uniform random inputs almost never
land on one. So every number the contract limits (``docs/contract.md``) is drawn through
:func:`within` (valid: the limit, the value just inside it, and for an open range the
fixed-width integer extremes a port may store it in) or :func:`beyond` (invalid: the value
just outside each limit, 0, -1 and the extremes outside), each with a real probability (a
few percent per draw), not by luck. The limits, by op:

* ``enumerate_candidates``: widths 1..16, unroll 0..64, local dims 1..1024 with x*y <= 1024
  (and 256/257, where the penalty starts), kernel names of 1 and 64 characters, ``top_k``
  None, 1, total - 1, total, total + 1 and the i64/u64 extremes (0 invalid), ``max_candidates``
  exactly at the product, one above, the extremes (0 invalid, one below the product is
  ``too_large``), all 16 widths or all 65 unroll factors;
* ``build_replay_plan``: sessions 1..99, runs 1..999, base_seed 0, and the last seed at
  exactly 2**63 - 1, one below, one above, far above;
* ``summarize``: one sample, two, equal samples (std 0), a zero mean (cv None), -0.0, the
  smallest subnormal, the largest double alone and twice (overflow), ints past 2**53 and
  too large for a double, NumPy arrays of several dtypes;
* ``rank_candidates``: sizes at a rule's thresholds and one below, size 1 and the extremes,
  gflops 0 (no baseline), max_error exactly at the threshold and the next double above it,
  an empty list, all failed;
* ``evaluate_replay`` and ``decide``: each gate hit exactly (``max_error == threshold``,
  ``cv == max_cv``, ``delta == min_delta``), thresholds of 0, -0.0, the smallest and the
  largest double, ``valid_count`` 0, no results, and ``decide``'s ``thresholds`` and
  ``labels`` (one per result; empty, invisible, lone-surrogate, one too few or too many).

Ties and exact threshold hits are *built* from the drawn data with the reference's own
arithmetic, so they happen in a third of the draws rather than never. Half of the draws
are valid inputs, half invalid. Invalid inputs take a
valid one and break exactly one thing, at a random position, because the contract says the
*first* failure in signature order is the one reported and both backends must agree on it.

Draw order: in a long example Hypothesis draws the later choices closer to their simplest
option, and after its first few examples it follows each new one with up to five copies
that duplicate one of its parts (its mutator, good at ties), so a 400-example budget holds
about a hundred independent draws. Each composite therefore draws what decides its case
first (valid or invalid, the field to break, the gate to hit, the decision branch), then
the data; and each case the contract singles out gets a few percent of the draws or more
(``bench/bench_mutants.py`` measures the result: seeds that catch each planted slip).

Shrinking: Hypothesis shrinks a ``sampled_from``/``one_of`` towards its first option and an
integer towards 0, so every choice lists the small, plain case first (no top_k, the default
cap, one id, one session, seed 0), and the rare large inputs (the largest plan, all 65
unroll factors) are picked by a draw that shrinks *away* from them. A shrunk finding is
therefore the smallest input that shows the divergence, not the largest the contract allows.

No ``observe`` targets: ``hypothesis.target`` adds an optimisation phase that cost half of a
run's time (a hill climb that re-ran the largest plans), and the boundaries it climbed to
are now drawn directly.

Every strategy draws ``(args, kwargs)``; :data:`FUZZ_SPECS` maps op names to
:class:`shadow._fuzz.FuzzSpec` for ``runners.shadow_t2`` to attach to its ``OpSpec``\\s.
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
    DEFAULT_MAX_CANDIDATES,
    SEED_LIMIT,
    BaselineRule,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplaySample,
    SearchSpace,
    Stats,
)
from shadow._codec import JSON, CodecError, TypedCodec
from shadow._fuzz import Call, FuzzSpec

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


# ---------------------------------------------------------------------- limits


I64_MAX = 2**63 - 1
INT_EXTREMES: tuple[int, ...] = (2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1)
"""Where a port's fixed-width integers end (i64 and u64), on each side of each limit."""
MAX_DOUBLE = 1.7976931348623157e308
MIN_SUBNORMAL = 5e-324


def _unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))


def within(
    low: int, high: int | None = None, *, also: Iterable[int] = ()
) -> st.SearchStrategy[int]:
    """Valid ints of ``low..=high`` (``high`` None: no upper limit).

    Half of the draws are a limit or its inner neighbour (and ``also``; for an open range the
    fixed-width extremes, which a port may not hold), the rest any value in range. Shrinks
    towards ``low``."""
    if high is None:
        edges = [low, low + 1, *also, *(v for v in INT_EXTREMES if v >= low)]
        rest = st.integers(low, low + 1000)
    else:
        edges = [low, low + 1, high - 1, high, *also]
        rest = st.integers(low, high)
    ok = [v for v in _unique(edges) if v >= low and (high is None or v <= high)]
    return st.one_of(st.sampled_from(ok), rest)


def beyond(
    low: int | None, high: int | None = None, *, wrong: Iterable[Any] = ()
) -> st.SearchStrategy[Any]:
    """Invalid values of an int field of ``low..=high``: half of the draws are a limit's
    outer neighbour (``low - 1``, ``high + 1``), the rest 0 and -1 when outside, the
    fixed-width extremes outside, and the ``wrong`` values (another type)."""
    near = []
    if low is not None:
        near.append(low - 1)
    if high is not None:
        near.append(high + 1)
    far = [
        v
        for v in _unique([0, -1, *INT_EXTREMES])
        if v not in near and ((low is not None and v < low) or (high is not None and v > high))
    ]
    # one_of weighs its (distinct) branches alike: the neighbours get two of four
    branches = [st.sampled_from(near), st.sampled_from(near), st.sampled_from(far)]
    wrong = list(wrong)
    branches.append(st.sampled_from(wrong) if wrong else st.sampled_from(far))
    return st.one_of(branches)


def bad_reals(low: float | None = 0.0) -> st.SearchStrategy[Any]:
    """Invalid values of a real field with lower limit ``low`` (None: no limit): half of the
    draws are the double just below the limit (for 0: ``-5e-324``), the rest a value well
    below it, non-finite values, ints too large for a double, and other types."""
    wrong = st.sampled_from([*NON_FINITE, *WRONG_REALS])
    if low is None:
        return wrong
    near = st.just(math.nextafter(low, -math.inf))
    return st.one_of(near, st.just(math.nextafter(low, -math.inf)), st.just(low - 1.0), wrong)


# ---------------------------------------------------------------------- helpers


def call(*args: Any, **kwargs: Any) -> Call:
    return (args, kwargs)


def mostly(valid: st.SearchStrategy[T], invalid: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Half valid inputs (the values), half invalid (error parity). Valid comes first: a
    finding shrinks towards a valid input when one shows it."""
    return st.one_of(valid, invalid)


def edges_or(edges: Iterable[T], rest: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    return st.one_of(st.sampled_from(list(edges)), rest)


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True once in ``one_in`` draws; shrinks to False (a rare large case is never where a
    finding shrinks to)."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


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

WRONG_REALS: tuple[Any, ...] = (True, False, "1.0", None, np.int64(1), 1j)
"""Not a real by the contract (``np.float64`` *is* one: it subclasses ``float``)."""
NON_FINITE: tuple[Any, ...] = (math.nan, math.inf, -math.inf, 10**400, -(10**400), 2**1024)
WRONG_SEQUENCES: tuple[Any, ...] = ("abc", None, 3, {"a": 1}, frozenset({1}), b"ab")
FLOAT_EDGES: tuple[float, ...] = (0.0, -0.0, MIN_SUBNORMAL, 1.0, 2.2250738585072014e-308)
"""Non-negative reals at the edges: zero of both signs, the smallest subnormal, the
smallest normal (the largest double is drawn where it cannot overflow a sum)."""

# ---------------------------------------------------------------------- enumerate_candidates

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
KERNEL_EDGES = (
    "tile20",
    "tile24",
    "v3",
    "a",
    "b",
    "t20_v3vec",
    "tile24_v3",
    "tile20tile24",
    "gemm",
    "K" * 64,
    "_",
    "0",
)
"""Names that select each kernel bias (v3 > tile24 > tile20 > other), several that tie,
and the length limits (1 and 64 characters)."""
kernel_names = edges_or(KERNEL_EDGES, st.text(NAME_CHARS, min_size=1, max_size=64))
widths = within(1, 16, also=(4, 8, 3, 5))
unrolls = within(0, 64, also=(10, 32))
LOCAL_EDGES = (
    (1, 1),
    (32, 32),
    (1, 1024),
    (1024, 1),
    (4, 256),
    (31, 33),
    (1023, 1),
    (16, 16),
    (256, 1),
    (257, 1),
    (1, 257),
    (255, 1),
    (16, 17),
    (10, 10),
    (20, 5),
    (10, 5),
    (15, 10),
    (2, 512),
    (3, 341),
)
"""Work groups of 1, 1023 and exactly 1024 items (the limit), 255/256/257 (where the
penalty starts), ties in ``|x*y - 100|`` (50 and 150 items), non-powers of two."""


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


TOP_K_KINDS = ("none", "one", "below_total", "total", "above_total", "any", "extreme")
CAP_KINDS = ("default", "total", "above_total", "extreme")


@st.composite
def valid_spaces(draw: st.DrawFn, max_total: int = 1024) -> SearchSpace:
    """Small spaces (ties are frequent: kernels without v3/tile share a bias), sometimes one
    maximal list (all 16 widths or all 65 unroll factors); ``top_k`` and ``max_candidates``
    at, just below and just above the space's size, and at the integer extremes."""
    maximal = draw(st.integers(0, 9))  # 8: all widths, 9: all unrolls; shrinks to neither
    top_kind = draw(st.sampled_from(TOP_K_KINDS))
    cap_kind = draw(st.sampled_from(CAP_KINDS))
    kernels = draw(st.lists(kernel_names, min_size=1, max_size=4, unique=True))
    if maximal == 8:
        ws = _shuffled(draw, list(range(1, 17)))
    else:
        ws = draw(st.lists(widths, min_size=1, max_size=4, unique=True))
    if maximal == 9:
        us = _shuffled(draw, list(range(65)))
    else:
        us = draw(st.lists(unrolls, min_size=1, max_size=4, unique=True))
    locals_ = draw(st.lists(local_sizes, min_size=1, max_size=4, unique=True))
    while len(kernels) * len(ws) * len(us) * len(locals_) > max_total and len(locals_) > 1:
        locals_.pop()
    while len(kernels) * len(ws) * len(us) * len(locals_) > max_total and len(kernels) > 1:
        kernels.pop()
    total = len(kernels) * len(ws) * len(us) * len(locals_)
    top_k = {
        "none": None,
        "one": 1,
        "below_total": max(1, total - 1),
        "total": total,
        "above_total": total + 1,
    }.get(top_kind)
    if top_kind == "any":
        top_k = draw(st.integers(1, total + 3))
    elif top_kind == "extreme":
        top_k = draw(st.sampled_from([v for v in INT_EXTREMES if v > 0]))
    cap = {"default": DEFAULT_MAX_CANDIDATES, "total": total, "above_total": total + 1}.get(
        cap_kind
    )
    if cap is None:
        cap = draw(st.sampled_from([v for v in INT_EXTREMES if v > 0]))
    return SearchSpace(
        _container(draw, kernels),
        _container(draw, ws),
        _container(draw, us),
        _container(draw, [tuple(p) if draw(st.booleans()) else list(p) for p in locals_]),
        top_k=top_k,
        max_candidates=cap,
    )


def _bad_list(draw: st.DrawFn, items: list[Any], bad_elements: st.SearchStrategy[Any]) -> Any:
    """One broken list: one bad element, a duplicate, empty, or not a sequence at all."""
    how = draw(st.sampled_from(["element", "element", "duplicate", "empty", "type"]))
    if how == "type":
        return draw(st.sampled_from(WRONG_SEQUENCES))
    if how == "empty":
        return draw(st.sampled_from([[], ()]))
    if how == "duplicate":
        dup = draw(st.sampled_from(items))
        return draw(_insert(items, dup))
    return draw(_insert(items, draw(bad_elements)))


BAD_NAMES = ("", "K" * 65, "a-b", "tile\u00e920", "a b", "x.y", "\u200b", "a\x00")
"""0 and 65 characters (the limits' outer neighbours), and characters outside the set."""


@st.composite
def invalid_spaces(draw: st.DrawFn) -> Call:
    # Fields in the contract's check order, the whole-space type error last. The two count
    # limits are drawn twice as often: a limit of 0 taken as "no limit" (``if top_k:``) is
    # the classic falsy-boundary slip.
    field = draw(
        st.sampled_from(
            [
                "kernels",
                "vector_widths",
                "unroll_k_values",
                "local_sizes",
                "top_k",
                "top_k",
                "max_candidates",
                "max_candidates",
                "too_large",
                "space",
            ]
        )
    )
    if field == "space":
        bad: Any = draw(st.sampled_from([None, ("tile20",), {"kernels": ["a"]}, 1]))
        return call(bad)
    space = draw(valid_spaces(max_total=256))
    if field == "kernels":
        names = st.one_of(
            st.sampled_from(BAD_NAMES),
            st.text(min_size=0, max_size=70).filter(
                lambda s: not (1 <= len(s) <= 64 and all(c in NAME_CHARS for c in s))
            ),
            st.sampled_from([20, None, b"tile20", True, 1.5]),
        )
        value = _bad_list(draw, list(space.kernels), names)
    elif field == "vector_widths":
        elems = beyond(1, 16, wrong=WRONG_INTS)
        value = _bad_list(draw, list(space.vector_widths), elems)
    elif field == "unroll_k_values":
        elems = beyond(0, 64, wrong=WRONG_INTS)
        value = _bad_list(draw, list(space.unroll_k_values), elems)
    elif field == "local_sizes":
        dims = beyond(1, 1024, wrong=WRONG_INTS)
        pairs = st.one_of(
            # one work-item too many, and far too many
            st.sampled_from(
                [(0, 1), (1, 1025), (1025, 1), (1, 0), (5, 205), (41, 25), (33, 32), (1024, 2)]
            ),
            st.tuples(within(1, 1024), dims),
            st.tuples(dims, within(1, 1024)),
            st.sampled_from([(8, 8, 1), (8,), (), "ab", 64, None, [1, 2, 3]]),
            st.tuples(st.integers(2, 1024), st.integers(2, 1024)).filter(
                lambda p: p[0] * p[1] > 1024
            ),
        )
        value = _bad_list(draw, [tuple(p) for p in space.local_sizes], pairs)
    elif field == "top_k":
        value = draw(beyond(1, wrong=[True, False, 1.0, np.int64(1), "1"]))
    elif field == "max_candidates":
        value = draw(beyond(1, wrong=[True, 1.0, np.int64(10), None, "10"]))
    else:  # the product cap, hit exactly: one candidate too many
        total = _product(space)
        if total < 2:
            space = dataclasses.replace(space, vector_widths=[1, 16])
            total = _product(space)
        return call(dataclasses.replace(space, max_candidates=total - 1))
    return call(dataclasses.replace(space, **{field: value}))


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

ID_EDGES = ("a", "b", "t20_prod_v4_u10_l10", "c", "x" * 200, "\u00e9", " ", "a\u200bb", "\x00")
candidate_ids = edges_or(ID_EDGES, st.text(min_size=1, max_size=12))
sessions = within(1, 99, also=(2, 10))
runs = within(1, 999, also=(2, 10))
MAX_PLAN_ENTRIES = 1_000
"""Plans are kept small (each entry is built, sent and compared on both sides) except the
largest plan, drawn on purpose once in 50 valid plans."""


def last_offset(n_ids: int, n_sessions: int, n_runs: int) -> int:
    return (n_ids - 1) * 100_000 + (n_sessions - 1) * 1_000 + (n_runs - 1)


SEED_KINDS = ("zero", "any", "top", "top", "below_top", "near_top", "in_range")


@st.composite
def valid_plans(draw: st.DrawFn) -> Call:
    """Plans of at most ~1000 entries (keeping the session/run limits that were drawn),
    sometimes the largest one (99 sessions x 999 runs); the base seed is 0, ordinary, or
    puts the last seed at exactly 2**63-1 or just below it."""
    largest = rarely(draw, 50)  # the largest plan the contract allows
    seed_kind = draw(st.sampled_from(SEED_KINDS))
    ids = draw(st.lists(candidate_ids, min_size=1, max_size=4, unique=True))
    n_s, n_r = draw(sessions), draw(runs)
    if len(ids) * n_s * n_r > MAX_PLAN_ENTRIES:
        ids = ids[:1]
        if n_s * n_r > MAX_PLAN_ENTRIES:  # keep the edge value that was drawn, shrink the other
            if n_r >= 998:
                n_s = min(n_s, 2)
            else:
                n_r = max(1, MAX_PLAN_ENTRIES // n_s)
    if largest:
        ids, n_s, n_r = ids[:1], 99, 999
    top = SEED_LIMIT - last_offset(len(ids), n_s, n_r)
    seed = {"zero": 0, "top": top, "below_top": top - 1}.get(seed_kind)
    if seed_kind == "any":
        seed = draw(st.integers(0, 2**32))
    elif seed_kind == "near_top":
        seed = draw(st.integers(max(0, top - 1000), top))
    elif seed_kind == "in_range":
        seed = draw(st.integers(0, top))
    return call(_container(draw, ids), n_s, n_r, seed)


@st.composite
def invalid_plans(draw: st.DrawFn) -> Call:
    field = draw(st.sampled_from(["ids", "sessions", "runs", "base_seed", "overflow"]))
    ids = draw(st.lists(candidate_ids, min_size=1, max_size=4, unique=True))
    n_s, n_r = draw(within(1, 99)), draw(within(1, 20))
    seed = draw(st.integers(0, 2**32))
    if field == "ids":
        bad_ids = _bad_list(draw, ids, st.sampled_from(["", 1, None, b"a", True]))
        return call(bad_ids, n_s, n_r, seed)
    if field == "sessions":
        bad_s = draw(beyond(1, 99, wrong=WRONG_INTS))
        return call(ids, bad_s, n_r, seed)
    if field == "runs":
        bad_r = draw(beyond(1, 999, wrong=WRONG_INTS))
        return call(ids, n_s, bad_r, seed)
    if field == "base_seed":
        bad_seed = draw(beyond(0, wrong=[*WRONG_INTS, np.uint64(5)]))
        return call(ids, n_s, n_r, bad_seed)
    # overflow: the last seed is one past 2**63-1, or far beyond
    top = SEED_LIMIT - last_offset(len(ids), n_s, n_r)
    return call(ids, n_s, n_r, draw(st.sampled_from([top + 1, top + 2, 2**63, 2**64, 2**200])))


plan_calls = mostly(valid_plans(), invalid_plans())

# ---------------------------------------------------------------------- summarize

moderate = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
any_finite = st.floats(allow_nan=False, allow_infinity=False)
SAMPLE_EDGES = (0.0, -0.0, 1.0, 2.5, -3.0, 100.0, 110.0, MIN_SUBNORMAL, 1e-300, 1e150)
INT_SAMPLE_EDGES = (0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 2**200)
"""Ints a double holds exactly, the first it does not (2**53 + 1) and the integer extremes."""


@st.composite
def valid_samples(draw: st.DrawFn) -> Any:
    """Single values, two values, equal values (std 0), mean exactly 0 (cv None), ints
    and floats mixed, the largest double alone, tuples, NumPy arrays of float and integer
    dtypes (the full double range, whose statistics can overflow, is drawn by
    :func:`invalid_samples`)."""
    kind = draw(st.sampled_from(["floats", "floats", "few", "equal", "zero_mean", "ints", "edges"]))
    form = draw(st.sampled_from(["list", "list", "tuple", "ndarray"]))
    if kind == "floats":
        items: list[Any] = draw(st.lists(moderate, min_size=1, max_size=40))
    elif kind == "few":  # the smallest counts: percentiles interpolate between 1 or 2 values
        items = draw(st.lists(st.sampled_from(SAMPLE_EDGES) | moderate, min_size=1, max_size=3))
        if rarely(draw, 4):
            items = [draw(st.sampled_from([MAX_DOUBLE, -MAX_DOUBLE]))]
    elif kind == "equal":
        items = [draw(moderate)] * draw(within(1, 20))
    elif kind == "zero_mean":
        half = draw(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=10))
        items = [*half, *(-x for x in half)]
    elif kind == "ints":
        items = draw(
            st.lists(
                st.integers(-10, 10)
                | st.sampled_from(INT_SAMPLE_EDGES)
                | st.integers(-(2**60), 2**60),
                min_size=1,
                max_size=30,
            )
        )
    else:
        items = draw(st.lists(st.sampled_from(SAMPLE_EDGES) | moderate, min_size=1, max_size=12))
    items = _shuffled(draw, items)
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
            try:
                arr = np.array(items, dtype=dtype)
            except OverflowError:
                arr = np.array([float(x) for x in items], dtype=np.float64)
        if not np.isfinite(arr.astype(np.float64)).all():
            arr = np.array([float(x) for x in items], dtype=np.float64)
        return arr
    return items


@st.composite
def invalid_samples(draw: st.DrawFn) -> Any:
    how = draw(st.sampled_from(["element", "bool", "empty", "type", "bool", "array", "wide"]))
    items = draw(st.lists(moderate, min_size=1, max_size=10))
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
    if how == "wide":  # the whole double range, two of them the largest: an overflow
        extremes = st.sampled_from([MAX_DOUBLE, -MAX_DOUBLE])
        wide = [*draw(st.lists(any_finite, max_size=6)), draw(extremes), draw(extremes)]
        return _shuffled(draw, wide)
    if how == "bool":  # the contract's favourite trap: bool is an int subclass in Python
        return draw(_insert(items, draw(st.booleans())))
    bad = draw(st.sampled_from([*NON_FINITE, *WRONG_REALS]))
    return draw(_insert(items, bad))


summarize_calls = mostly(
    valid_samples().map(lambda s: call(s)), invalid_samples().map(lambda s: call(s))
)

# ---------------------------------------------------------------------- rank_candidates

BASELINE_IDS = ("t20_prod_v4_u10_l10", "t24_prod_v4_u0_l12")
RANK_IDS = ("a", "b", *BASELINE_IDS, "c")
SIZES = (1, 512, 1024, 1799, 1800, 1801, 2048, 2**63 - 1, 2**64)
"""Size 1 (the limit), the original rule's threshold (1800) and its neighbours, extremes."""
gflops_values = st.one_of(
    st.sampled_from([100.0, 0.0, 110.0, 90.0, -0.0, MIN_SUBNORMAL, 1e300]), st.floats(0.0, 5e3)
)
ERROR_EDGES = (0.0, 1e-3, 1.0000000000000002e-3, 1e-4, 5e-4, 2e-3, -0.0, MIN_SUBNORMAL)
"""The default threshold (1e-3), the next double above it, zero of both signs."""
error_values = st.one_of(st.sampled_from(ERROR_EDGES), st.floats(0.0, 1e-2))


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
            if draw(st.integers(0, 3)) == 3:
                continue
            if draw(st.integers(0, 5)) == 5:
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


RULE_KINDS = ("original", "original", "at_sizes", "empty")


def _baseline_rule(draw: st.DrawFn, kind: str, sizes: Sequence[int]) -> BaselineRule:
    """The original rule, none, or thresholds at the drawn sizes (a size equal to its
    threshold uses it; one below does not) and at 0."""
    if kind == "original":
        return BaselineRule.original()
    if kind == "empty":
        return BaselineRule(())
    at = st.sampled_from([0, 1, *sizes, *(s + 1 for s in sizes)]) | st.integers(0, 5000)
    mins = sorted(draw(st.lists(at, min_size=1, max_size=3, unique=True)))
    return BaselineRule(tuple((m, draw(st.sampled_from(RANK_IDS))) for m in mins))


@st.composite
def valid_rankings(draw: st.DrawFn) -> Call:
    objective = draw(st.sampled_from(["delta", "delta", "gflops", None]))
    keyword = draw(st.booleans())
    rule_kind = draw(st.sampled_from(RULE_KINDS))
    threshold_kind = draw(st.sampled_from(["default", "seen", "any", "largest"]))
    ties = rarely(draw, 3)  # equal gflops for every entry: where sorts part ways
    ms = draw(measurement_lists())
    completed = [m for m in ms if m.status == "completed"]
    errors_seen = [m.max_error for m in completed if m.max_error is not None]
    if threshold_kind == "seen" and errors_seen:
        threshold = draw(st.sampled_from(errors_seen))  # an error exactly at the threshold
    elif threshold_kind == "any":
        threshold = draw(error_values)
    elif threshold_kind == "largest":
        threshold = MAX_DOUBLE
    else:
        threshold = 1e-3
    rule = _baseline_rule(draw, rule_kind, sorted({m.size for m in ms}))
    if completed and ties:
        level = draw(gflops_values)
        ms = [dataclasses.replace(m, gflops=level) if m.status == "completed" else m for m in ms]
    if objective is None:
        return call(_container(draw, ms), threshold, rule)
    if keyword:
        return call(_container(draw, ms), threshold, rule, objective=objective)
    return call(_container(draw, ms), threshold, rule, objective)


@st.composite
def invalid_rankings(draw: st.DrawFn) -> Call:
    field = draw(
        st.sampled_from(
            [
                "measurement",
                "measurement",
                "duplicate",
                "duplicate",
                "measurements",
                "threshold",
                "rule",
                "objective",
            ]
        )
    )
    attr = draw(
        st.sampled_from(
            ["size", "gflops", "max_error", "avg_time_ms", "candidate_id", "status", "object"]
        )
    )
    ms = draw(measurement_lists().filter(bool))
    rule: Any = BaselineRule.original()
    threshold: Any = 1e-3
    objective: Any = "delta"
    if field == "measurements":
        ms_any: Any = draw(
            st.sampled_from([*WRONG_SEQUENCES, Measurement("a", 1, "completed", 1.0, 1.0, 0.0)])
        )
        return call(ms_any, threshold, rule, objective)
    if field == "measurement":
        base = draw(st.sampled_from(ms))
        bad_value: Any
        if attr == "object":
            bad_m: Any = draw(st.sampled_from([None, ("a", 1), ReplaySample(1.0, 1.0, 0.0)]))
        else:
            if attr == "candidate_id":
                bad_value = draw(st.sampled_from(["", None, 1, b"a"]))
            elif attr == "size":
                bad_value = draw(beyond(1, wrong=WRONG_INTS))
            elif attr == "status":
                bad_value = draw(st.sampled_from(["done", "Completed", "", None, 1]))
            else:
                bad_value = draw(bad_reals())
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
        threshold = draw(st.sampled_from([-MIN_SUBNORMAL, -1e-3, *NON_FINITE, *WRONG_REALS]))
    elif field == "rule":
        rule = draw(
            st.sampled_from(
                [
                    BaselineRule(((-1, "a"),)),
                    BaselineRule(((100, "a"), (100, "b"))),
                    BaselineRule(((200, "a"), (100, "b"))),
                    None,
                    ((0, "a"),),
                    BaselineRule(((True, "a"),)),
                    BaselineRule(((0, ""),)),
                    BaselineRule(((0, "a", 1),)),  # type: ignore[arg-type]
                    BaselineRule(((0, None),)),  # type: ignore[arg-type]
                    BaselineRule("ab"),  # type: ignore[arg-type]
                    BaselineRule(((np.int64(0), "a"),)),  # type: ignore[arg-type]
                    BaselineRule(((-(2**63) - 1, "a"),)),
                ]
            )
        )
    else:
        objective = draw(st.sampled_from(["speed", "", None, 1, "Delta"]))
    return call(ms, threshold, rule, objective)


rank_calls = mostly(valid_rankings(), invalid_rankings())

# ---------------------------------------------------------------------- evaluate_replay

replay_samples = st.builds(
    ReplaySample,
    st.one_of(st.sampled_from([100.0, 110.0, 0.0, MIN_SUBNORMAL]), st.floats(0.0, 2000.0)),
    st.floats(0.0, 100.0),
    error_values,
)


@st.composite
def valid_evaluations(draw: st.DrawFn) -> Call:
    """Thresholds are often computed from the drawn samples with the reference's arithmetic,
    so each gate is hit exactly (``<=`` versus ``<`` is then observable)."""
    shape = draw(st.sampled_from(["any", "identical", "tight"]))
    aim = draw(st.sampled_from(["promotion", "correctness", "stability", "any"]))
    form = draw(st.sampled_from(["positional", "kwargs", "positional", "default"]))
    base_kind = draw(st.sampled_from(["edge", "any", "none"]))
    samples = draw(st.lists(replay_samples, min_size=1, max_size=8))
    if shape == "identical":  # cv exactly 0
        samples = [samples[0]] * len(samples)
    elif shape == "tight":  # stable and correct: the promotion gate decides
        level = draw(st.sampled_from([100.0, 110.0, 1000.0]))
        samples = [
            ReplaySample(level * (1.0 + (i % 3) * 0.001), s.avg_time_ms, min(s.max_error, 1e-4))
            for i, s in enumerate(samples)
        ]
    base = None
    if base_kind == "edge":
        base = draw(st.sampled_from([100.0, 90.0, 1.0, MIN_SUBNORMAL]))
    elif base_kind == "any":
        base = draw(st.floats(1e-3, 2000.0))
    g = stats_of(np.array([s.gflops for s in samples], dtype=np.float64))
    exact_err = max(s.max_error for s in samples)
    exact_cv = g.cv if g.cv is not None else 0.03
    delta = (g.mean - base) / base * 100.0 if base is not None else None
    exact_delta = delta if delta is not None and math.isfinite(delta) else 10.0
    # One gate sits exactly on its threshold and the others pass (loosest limits, or on
    # theirs too), so the gate at its edge decides; or any mix of limits.
    if aim == "any":
        max_error = draw(st.sampled_from([1e-3, exact_err, 0.0, -0.0, MAX_DOUBLE]))
        max_cv = draw(st.sampled_from([0.03, exact_cv, 0.0, 1.0]))
        min_delta = draw(st.sampled_from([10.0, exact_delta, -100.0, 0.0, -MAX_DOUBLE]))
    else:
        loose = st.sampled_from([True, False])
        max_error = exact_err if aim == "correctness" or draw(loose) else MAX_DOUBLE
        max_cv = exact_cv if aim == "stability" or draw(loose) else MAX_DOUBLE
        min_delta = exact_delta if aim == "promotion" or draw(loose) else -MAX_DOUBLE
    thresholds = GateThresholds(max_error, max_cv, min_delta)
    items = _container(draw, samples)
    if form == "default":
        return call(items, base)
    if form == "kwargs":
        return call(items, baseline_gflops=base, thresholds=thresholds)
    return call(items, base, thresholds)


@st.composite
def invalid_evaluations(draw: st.DrawFn) -> Call:
    field = draw(st.sampled_from(["sample", "sample", "baseline", "thresholds", "samples"]))
    attr = draw(st.sampled_from(["gflops", "avg_time_ms", "max_error", "object"]))
    samples = draw(st.lists(replay_samples, min_size=1, max_size=4))
    base: Any = 100.0
    thresholds: Any = GateThresholds()
    if field == "samples":
        return call(draw(st.sampled_from([[], (), *WRONG_SEQUENCES])), base, thresholds)
    if field == "sample":
        if attr == "object":
            bad: Any = draw(
                st.sampled_from(
                    [None, (1.0, 1.0, 0.0), Measurement("a", 1, "completed", 1.0, 1.0, 0.0)]
                )
            )
        else:
            value = draw(bad_reals())
            bad = dataclasses.replace(draw(st.sampled_from(samples)), **{attr: value})
        return call(draw(_insert(samples, bad)), base, thresholds)
    if field == "baseline":
        base = draw(st.sampled_from([0.0, -0.0, -MIN_SUBNORMAL, -1.0, *NON_FINITE, True, "100"]))
        return call(samples, base, thresholds)
    return call(samples, base, draw(invalid_thresholds()))


@st.composite
def invalid_thresholds(draw: st.DrawFn) -> Any:
    """Gate thresholds with one bad field (a negative limit just below 0, non-finite, not a
    real), or not thresholds at all."""
    attr = draw(st.sampled_from(["max_error", "max_cv", "min_delta_percent", "object"]))
    if attr == "object":
        return draw(st.sampled_from([None, (1e-3, 0.03, 10.0), {"max_cv": 0.03}]))
    bad = draw(bad_reals(None if attr == "min_delta_percent" else 0.0))
    return dataclasses.replace(GateThresholds(), **{attr: bad})


evaluate_calls = mostly(valid_evaluations(), invalid_evaluations())

# ---------------------------------------------------------------------- decide


def _stats(value: float) -> Stats:
    return Stats(1, value, 0.0, value, value, value, value, 0.0)


THRESHOLD_EDGES = (0.0, -0.0, MIN_SUBNORMAL, 1e-3, 0.03, 1.0, MAX_DOUBLE)


@st.composite
def valid_thresholds(draw: st.DrawFn) -> GateThresholds:
    """The defaults, or each limit at 0, -0.0, the smallest and the largest double."""
    if draw(st.integers(0, 3)) == 0:
        return GateThresholds()
    return GateThresholds(
        draw(st.sampled_from(THRESHOLD_EDGES) | st.floats(0.0, 1.0)),
        draw(st.sampled_from(THRESHOLD_EDGES) | st.floats(0.0, 1.0)),
        draw(st.sampled_from([10.0, 0.0, -MAX_DOUBLE, MAX_DOUBLE]) | st.floats(-100.0, 100.0)),
    )


def _around(draw: st.DrawFn, limit: float) -> float:
    """A value at ``limit``, the next double either side, or well inside/outside it: the
    rationale quotes value and limit with the fewest digits that tell them apart."""
    how = draw(st.sampled_from(["at", "above", "below", "double", "zero", "any"]))
    if how == "at":
        return limit
    if how == "above":
        return math.nextafter(limit, math.inf) if limit < MAX_DOUBLE else limit
    if how == "below":
        return max(0.0, math.nextafter(limit, -math.inf))
    if how == "double":
        return min(MAX_DOUBLE, limit * 2.0 + 1e-3)
    if how == "zero":
        return 0.0
    return draw(st.floats(0.0, 1.0))


FLAG_SHAPES: Mapping[str, tuple[bool, bool, bool]] = {
    "promoted": (True, True, True),
    "correct_stable": (True, True, False),
    "correct_only": (True, False, False),
    "stable_only": (False, True, False),
    "neither": (False, False, False),
}
NOT_PROMOTED = ("correct_stable", "correct_only", "stable_only", "neither")
UNSTABLE = ("correct_only", "stable_only", "neither")


@st.composite
def evaluations(
    draw: st.DrawFn,
    limits: GateThresholds = GateThresholds(),  # noqa: B008 - frozen
    shapes: Sequence[str] = (*FLAG_SHAPES, "any"),
) -> ReplayEvaluation:
    """Replay results with the gate flags the decision reads (one of ``shapes``; ``any``:
    arbitrary flags, the decision must not assume they are consistent) and the values its
    rationale quotes near ``limits``."""
    shape = draw(st.sampled_from(list(shapes)))
    if shape == "any":
        flags = (draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
    else:
        flags = FLAG_SHAPES[shape]
    delta = draw(st.one_of(st.none(), st.sampled_from([10.0, 9.99, -5.0])))
    cv = None if rarely(draw, 5) else _around(draw, limits.max_cv)
    error = _around(draw, limits.max_error)
    return ReplayEvaluation(_stats(1.0), _stats(1.0), _stats(error), cv, delta, *flags)


LABEL_EDGES = ("t20_prod_v4_u10_l10@1024", "a", "#0", "\u00e9", " ", "a\u200bb", "x" * 100)
BRANCHES = (
    "promote",
    "no_correct",
    "promote_no_correct",
    "iterate",
    "unstable",
    "unstable",
    "unreplayed",
    "any",
)
"""The decision's branches (docs/contract.md), and ``promote_no_correct``: valid_count 0
with a promoted result, where the order of the first two checks decides. ``unstable``
(nothing correct and stable) twice: its rationale quotes values, thresholds and labels."""


@st.composite
def valid_decisions(draw: st.DrawFn) -> Call:
    branch = draw(st.sampled_from(BRANCHES))
    form = draw(st.sampled_from(["plain", "thresholds", "labels", "kwargs"]))
    limits = draw(valid_thresholds())
    no_correct = branch in ("no_correct", "promote_no_correct")
    valid = 0 if no_correct else draw(within(0 if branch == "any" else 1))
    if branch == "unreplayed":
        results: list[ReplayEvaluation] = []
    elif branch in ("any", "no_correct"):
        results = draw(st.lists(evaluations(limits), min_size=0, max_size=5))
    else:
        # the results that decide the branch, then any others the branch allows
        promote = branch in ("promote", "promote_no_correct")
        first = (
            ("promoted",) if promote else ("correct_stable",) if branch == "iterate" else UNSTABLE
        )
        rest = (
            (*FLAG_SHAPES, "any") if promote else NOT_PROMOTED if branch == "iterate" else UNSTABLE
        )
        results = [
            draw(evaluations(limits, first)),
            *draw(st.lists(evaluations(limits, rest), max_size=4)),
        ]
        results = _shuffled(draw, results)
    items = _container(draw, results)
    if form == "plain":
        return call(valid, items)
    if form == "thresholds":
        return call(valid, items, limits)
    labels = draw(
        st.lists(
            st.sampled_from(LABEL_EDGES) | st.text(min_size=1, max_size=8),
            min_size=len(results),
            max_size=len(results),
        )
    )
    if form == "labels":
        return call(valid, items, limits, _container(draw, labels))
    return call(valid, items, thresholds=limits, labels=None if rarely(draw, 4) else labels)


@st.composite
def invalid_decisions(draw: st.DrawFn) -> Call:
    field = draw(
        st.sampled_from(["result", "flag", "labels", "thresholds", "valid_count", "results"])
    )
    broken = draw(st.sampled_from(["object", "max_error", "max", "cv_peak", "delta"]))
    how = draw(st.sampled_from(["label", "label", "fewer", "more", "type"]))
    results = draw(st.lists(evaluations(), min_size=1, max_size=4))
    if field == "valid_count":
        return call(draw(beyond(0, wrong=WRONG_INTS)), results)
    if field == "results":
        return call(1, draw(st.sampled_from(["abc", None, 3, {"a": 1}])))
    if field == "result":
        bad_value: Any = draw(st.sampled_from([math.nan, math.inf, "1", True, None]))
        base = draw(st.sampled_from(results))
        if broken == "object":
            bad: Any = draw(st.sampled_from([None, _stats(1.0), "promote", 1]))
        elif broken == "max_error":
            not_stats: Any = draw(st.sampled_from([None, 1.0, "x"]))
            bad = dataclasses.replace(base, max_error=not_stats)
        elif broken == "max":
            bad = dataclasses.replace(
                base, max_error=dataclasses.replace(_stats(0.0), max=bad_value)
            )
        elif broken == "cv_peak":
            bad = dataclasses.replace(base, cv_peak=bad_value)
        else:
            bad = dataclasses.replace(base, mean_delta_vs_baseline_percent=bad_value)
        return call(1, draw(_insert(results, bad)))
    if field == "flag":
        flag = draw(
            st.sampled_from(["correctness_passed", "stability_passed", "promotion_gate_passed"])
        )
        value: Any = draw(st.sampled_from([1, 0, None, "true", np.bool_(True)]))
        bad = dataclasses.replace(draw(st.sampled_from(results)), **{flag: value})
        return call(draw(st.integers(0, 3)), draw(_insert(results, bad)))
    if field == "thresholds":
        return call(1, results, draw(invalid_thresholds()))
    # labels: not a sequence, a bad label, or not one per result (one too few, one too many)
    labels = [f"c{i}" for i in range(len(results))]
    bad_labels: Any
    if how == "fewer":
        bad_labels = labels[:-1]
    elif how == "more":
        bad_labels = [*labels, "extra"]
    elif how == "label":
        bad_label = draw(st.one_of(st.just(""), st.just("\ud800"), st.sampled_from([None, 1])))
        bad_labels = draw(_insert(labels[1:], bad_label))
    else:
        bad_labels = draw(st.sampled_from(["ab", 1, {"a": 1}]))
    return call(1, results, GateThresholds(), bad_labels)


decide_calls = mostly(valid_decisions(), invalid_decisions())

# ---------------------------------------------------------------------- registration

FUZZ_SPECS: Mapping[str, FuzzSpec] = {
    "enumerate_candidates": FuzzSpec(enumerate_calls),
    "build_replay_plan": FuzzSpec(plan_calls),
    "summarize": FuzzSpec(summarize_calls),
    "rank_candidates": FuzzSpec(rank_calls),
    "evaluate_replay": FuzzSpec(evaluate_calls),
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

INVALID_CALLS: Mapping[str, st.SearchStrategy[Call]] = {
    "enumerate_candidates": invalid_spaces(),
    "build_replay_plan": invalid_plans(),
    "summarize": invalid_samples().map(lambda s: call(s)),
    "rank_candidates": invalid_rankings(),
    "evaluate_replay": invalid_evaluations(),
    "decide": invalid_decisions(),
}
"""Invalid inputs only (each breaks one rule of the contract)."""

__all__: list[str] = ["FUZZ_SPECS", "INVALID_CALLS", "VALID_CALLS", "NumpyCodec"]
