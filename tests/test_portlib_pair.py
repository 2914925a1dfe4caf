"""The portlib benchmark pair: the planted bugs are what the manifest says, the faithful port
is faithful, and attribution tells the bugs apart.

These are the ground truth ``bench/bench_detection.py`` scores the fuzzer against, so they
check the pair strictly (type-exact, -0.0 is not 0.0, NaN equals NaN, errors by type, code
and field) and independently of ``shadow``'s own comparison.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given

from examples.portlib import OPS, faithful, reference
from examples.portlib.attribution import (
    Result,
    attribute,
    divergence_kind,
    run,
    same_error,
    same_value,
)
from examples.portlib.errors import EmptyInputError, RangeError
from examples.portlib.manifest import BY_ID, MANIFEST, PlantedBug
from examples.portlib.model import Job, LatencySummary
from examples.portlib.planted import BUG_IDS, make
from examples.portlib.target import CODEC, TARGET
from shadow._isolation.thread import ThreadIsolation
from shadow._judge import Differential
from shadow._registry import load_target
from shadow._strategies import call_strategy

Call = tuple[tuple[Any, ...], dict[str, Any]]
BUGS = pytest.mark.parametrize("bug", MANIFEST, ids=[b.id for b in MANIFEST])


def _outcomes(bug: PlantedBug, port: Any) -> tuple[Result, Result]:
    return (
        run(getattr(reference, bug.function), bug.args, bug.kwargs),
        run(getattr(port, bug.function), bug.args, bug.kwargs),
    )


# ---------------------------------------------------------------------- the manifest


def test_manifest_covers_every_planted_bug_with_a_distinct_kind() -> None:
    assert {b.id for b in MANIFEST} == BUG_IDS
    assert len(MANIFEST) == len(BUG_IDS) >= 10
    kinds = [b.kind for b in MANIFEST]
    assert len(set(kinds)) == len(kinds), "each planted divergence must be of its own kind"
    assert {b.function for b in MANIFEST} <= set(OPS)
    shared = [op for op in OPS if sum(b.function == op for b in MANIFEST) >= 2]
    assert len(shared) >= 2, "some functions must carry two bugs, to test grouping"


@BUGS
def test_manifest_input_diverges_with_its_bug_alone(bug: PlantedBug) -> None:
    expected, got = _outcomes(bug, make({bug.id}))
    assert divergence_kind(expected, got) == bug.shows, (expected, got)


@BUGS
def test_manifest_input_agrees_with_its_bug_disabled(bug: PlantedBug) -> None:
    for port in (make(()), make(BUG_IDS - {bug.id})):
        expected, got = _outcomes(bug, port)
        assert divergence_kind(expected, got) is None, (port, expected, got)


@BUGS
def test_faithful_agrees_on_manifest_input(bug: PlantedBug) -> None:
    expected, got = _outcomes(bug, faithful)
    assert divergence_kind(expected, got) is None, (expected, got)


@BUGS
def test_attribution_is_exclusive_on_manifest_input(bug: PlantedBug) -> None:
    assert attribute(bug.function, bug.args, bug.kwargs) == {bug.id}


def test_attribution_is_empty_where_no_bug_reaches() -> None:
    assert attribute("quantize", (1.3,), {"step": 0.5}) == frozenset()
    assert attribute("split_budget", (10, [1, 2, 3]), {}) == frozenset()


def test_attribution_names_both_bugs_an_input_triggers() -> None:
    # -0.5 is a tie (0 vs -1) and rounds towards a negative zero: both quantize bugs.
    assert attribute("quantize", (-0.5,), {}) == {"ties_away", "negative_zero"}


def test_planted_port_refuses_unknown_ids_and_defaults_to_all() -> None:
    assert make().enabled == BUG_IDS
    with pytest.raises(ValueError, match="no_such_bug"):
        make({"no_such_bug"})


# ---------------------------------------------------------------------- the faithful port


@pytest.mark.parametrize("op", OPS)
def test_faithful_port_agrees_with_reference(op: str) -> None:
    """The plain differential property, with boundary values mixed into the drawn inputs.
    The planted port with every bug off must agree too (it is the faithful port)."""
    ref_fn, faithful_fn, off_fn = (
        getattr(reference, op),
        getattr(faithful, op),
        getattr(make(()), op),
    )

    @given(call_strategy(ref_fn))
    def differential(call: Call) -> None:
        args, kwargs = call
        expected = run(ref_fn, args, kwargs)
        for fn in (faithful_fn, off_fn):
            got = run(fn, args, kwargs)
            assert divergence_kind(expected, got) is None, (args, kwargs, expected, got)

    differential()


def test_faithful_normalize_tag_agrees_on_every_code_point() -> None:
    """Which characters are letters or digits is where a hand-written port drifts from a
    regex: check all of Unicode, each character between two ``x`` and in upper case."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(chars), 256):
        tag = "x".join(chars[i : i + 256])
        for text in (tag, tag.upper()):
            expected = run(reference.normalize_tag, (text,), {})
            got = run(faithful.normalize_tag, (text,), {})
            assert divergence_kind(expected, got) is None, hex(i)


def test_faithful_keeps_the_originals_quirks() -> None:
    assert same_value(faithful.quantize(-0.2), 0.0)
    assert same_value(faithful.quantize(2.5), 2.0)
    assert same_value(faithful.scale_scores({"a": float("nan")}, 0.25, 1.0), {"a": 0.25})
    assert type(faithful.summarize_latencies([1, 5, 3]).median) is int
    with pytest.raises(OverflowError):
        faithful.quantize(1e308, 1e-308)
    with pytest.raises(ValueError, match="math domain error"):
        faithful.log_histogram([1.0, 0.0])


# ---------------------------------------------------------------------- strict comparison


def test_strict_comparison() -> None:
    assert not same_value(3, 3.0)
    assert not same_value(True, 1)
    assert not same_value(0.0, -0.0)
    assert same_value(float("nan"), float("nan"))
    assert not same_value(float("nan"), 0.0)
    assert not same_value({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert same_value([Job("a", 1, 2)], [Job("a", 1, 2)])
    summary = LatencySummary(1, 3, 3, 3, 3.0)
    assert not same_value(summary, dataclasses.replace(summary, median=3.0))
    assert same_error(RangeError("limit", "x"), RangeError("limit", "another message"))
    assert not same_error(RangeError("limit", "x"), RangeError("total", "x"))
    assert not same_error(RangeError("weights", "x"), EmptyInputError("weights", "x"))
    assert not same_error(RangeError("w", "x"), RangeError("w", "x", code="overflow"))


# ---------------------------------------------------------------------- the shadow target


def test_target_loads_and_builds_every_implementation() -> None:
    target = load_target("examples.portlib.target:TARGET")
    assert target is TARGET
    assert target.default_pair == ("reference", "planted")
    assert set(target.implementation_names) == {"reference", "faithful", "planted"}
    assert list(target.ops) == list(OPS)
    assert all(target.op(op).strategies is None for op in OPS)  # derived from type hints
    assert target.make("planted").enabled == BUG_IDS


@BUGS
def test_codec_round_trips_manifest_input(bug: PlantedBug) -> None:
    args, kwargs = CODEC.decode(CODEC.encode(bug.args, bug.kwargs))
    assert same_value(list(args), list(bug.args))
    assert same_value(kwargs, dict(bug.kwargs))


@BUGS
def test_shadow_sees_manifest_input_as_the_same_divergence(bug: PlantedBug) -> None:
    spec = TARGET.op(bug.function)
    primary = getattr(TARGET.make("reference"), bug.function)
    differential = Differential(spec, primary, ThreadIsolation(TARGET.make("planted")))
    judgement = differential(bug.args, dict(bug.kwargs))
    assert judgement.first is not None and judgement.first.kind == bug.shows
    assert BY_ID[bug.id].function == judgement.op
