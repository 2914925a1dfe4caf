"""The gate on a pair it was not written for: portlib's planted divergences, one problem each.

Why these tests: the gate's promise is "every distinct bug fails the build, and accepting
one bug in the baseline never hides another". On T2 that could be an accident of strategies
written together with the code; portlib (``examples/portlib``) is a library with twelve
planted divergences of different kinds, fuzzed with strategies derived from type hints only.

One full gate run finds every planted divergence as its own group (attributed by running the
shrunk input with one bug switched on at a time). Then, for every planted divergence, its
signature goes into the baseline and the gate is re-run on its function: the other planted
divergences of that function must still fail the gate. (A signature names an op, so the
baseline entry cannot change what the gate says about other functions.)
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from examples.portlib.attribution import attribute
from examples.portlib.manifest import MANIFEST
from examples.portlib.target import CODEC, TARGET
from shadow._baseline import Accepted, write_baseline
from shadow._gate import GateConfig, GateResult, run_gate

BUDGET = 1500  # examples per op: the pair has up to two bugs per function
SEED = 11


def _config(tmp_path: Path, name: str, **changes: object) -> GateConfig:
    values: dict[str, object] = {
        "corpus": None,
        "baseline": None,
        "examples": BUDGET,
        "log": tmp_path / f"{name}.jsonl",
        "seed": SEED,
        "isolation": "thread",
    }
    values.update(changes)
    return GateConfig(**values)  # type: ignore[arg-type]


def _planted_by_signature(result: GateResult) -> dict[str, frozenset[str]]:
    """Each failing fuzz item's signature -> the planted ids its shrunk input triggers."""
    out: dict[str, frozenset[str]] = {}
    for item in result.failures:
        assert item.suite == "fuzz" and item.op is not None and item.signature is not None
        args, kwargs = CODEC.decode(item.input)
        out[item.signature] = attribute(item.op, args, kwargs)
    return out


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, frozenset[str]]:
    tmp = tmp_path_factory.mktemp("detection")
    return _planted_by_signature(run_gate(TARGET, _config(tmp, "full")))


@pytest.mark.slow
def test_every_planted_divergence_is_exactly_one_group(
    full_run: dict[str, frozenset[str]],
) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for sig, ids in full_run.items():
        assert len(ids) == 1, f"group {sig} holds {sorted(ids) or 'no planted divergence'}"
        groups[next(iter(ids))].append(sig)
    missing = sorted({b.id for b in MANIFEST} - set(groups))
    assert not missing, f"not found: {missing}"
    split = {bug: sigs for bug, sigs in groups.items() if len(sigs) > 1}
    assert len(split) <= 1 and all(len(s) == 2 for s in split.values()), split


SHARING = [b for b in MANIFEST if sum(o.function == b.function for o in MANIFEST) > 1]
"""Planted divergences whose function carries another one (the only ones a baseline entry,
which names an op, could hide)."""


@pytest.mark.slow
@pytest.mark.parametrize("bug", SHARING, ids=[b.id for b in SHARING])
def test_accepting_one_divergence_leaves_the_others_failing(
    bug: object, full_run: dict[str, frozenset[str]], tmp_path: Path
) -> None:
    bug_id, function = bug.id, bug.function  # type: ignore[attr-defined]
    others = {b.id for b in MANIFEST if b.function == function and b.id != bug_id}
    accepted = [sig for sig, ids in full_run.items() if ids == {bug_id}]
    assert accepted, f"{bug_id} was not found by the full run"
    baseline = tmp_path / "baseline.json"
    expires = date.today() + timedelta(days=30)
    write_baseline(baseline, [Accepted(s, function, "known", expires) for s in accepted])
    result = run_gate(TARGET, _config(tmp_path, bug_id, baseline=baseline, ops=(function,)))
    still_failing = set().union(*_planted_by_signature(result).values())
    assert others <= still_failing, f"accepting {bug_id} hid {sorted(others - still_failing)}"
