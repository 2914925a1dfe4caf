"""Mutation self-check: the gate's fuzz must catch every deliberately wrong reference, each as
one problem, and judge it as bad as what it would change downstream.

Two layers. The gate layer (``slow``) puts each mutant of ``tests/mutants_t2.py`` in place of
the shadow and runs the gate's fuzz for the mutant's op exactly as CI does (``run_gate``, the
``ci`` budget, the fixed seed 0, no database, process isolation); each mutant's gate run is
done once per test session and shared by the tests that read it. How many *random* seeds
catch each mutant is a measurement, not a test: ``bench/bench_mutants.py``. The judge layer
runs each mutant and the reference on one hand-picked input that shows its slip and checks
the T2 policy's verdict (kind, severity, the problem it is grouped as), and that two inputs
showing one slip differently are still one problem.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runners.reference import PythonBackend
from runners.types import (
    SEED_LIMIT,
    BaselineRule,
    CandidateTable,
    GateThresholds,
    Measurement,
    ReplayEvaluation,
    ReplayPlan,
    ReplaySample,
    SearchSpace,
    Stats,
)
from shadow._cli import main as shadow_cli
from shadow._gate import GATE_PROFILES, GateConfig, run_gate
from shadow._judge import Divergence, Judge, run_primary
from shadow._outcome import Outcome
from tests.mutants_t2 import MUTANTS, TARGET, Mutant

BUDGET = GATE_PROFILES["ci"]
MAX_SIGNATURES = 2
REFERENCE = PythonBackend()


@dataclass(frozen=True)
class Caught:
    """How the gate reacted to one mutant."""

    ok: bool
    fuzz_failures: int
    ops: tuple[str | None, ...]
    has_replay: bool
    has_signature: bool
    severities: tuple[str | None, ...]
    needed: int | None
    """Examples until the first divergence (None: never diverged)."""
    examples: int
    """Examples run in all, shrinking included."""
    log: str
    """The gate's event log, as written."""


@functools.cache
def gate_on(mutant: type[Mutant]) -> Caught:
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        log = Path(tmp) / "gate.jsonl"
        config = GateConfig(
            corpus=None,
            baseline=None,
            examples=BUDGET,
            ops=(mutant.op,),
            log=log,
            primary="python",
            shadow=mutant.name,
        )
        result = run_gate(TARGET, config)
        text = log.read_text()
    assert result.fuzz is not None
    (op_result,) = result.fuzz.results
    fuzz = [i for i in result.failures if i.suite == "fuzz"]
    return Caught(
        ok=result.ok,
        fuzz_failures=len(fuzz),
        ops=tuple(i.op for i in fuzz),
        has_replay=all(i.replay for i in fuzz),
        has_signature=all(i.signature for i in fuzz),
        severities=tuple(i.severity for i in fuzz),
        needed=op_result.first_divergence_at,
        examples=op_result.examples,
        log=text,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_gate_catches_mutant(mutant: type[Mutant]) -> None:
    caught = gate_on(mutant)
    assert not caught.ok, f"{mutant.name} survived {caught.examples} examples"
    assert 1 <= caught.fuzz_failures <= MAX_SIGNATURES, caught
    assert set(caught.ops) == {mutant.op} and caught.has_replay and caught.has_signature
    assert caught.needed is not None and 1 <= caught.needed <= BUDGET
    print(f"\n{mutant.name}: caught after {caught.needed} examples ({caught.examples} in all)")


def mutant_table() -> str:
    """The Markdown table of examples each mutant needed (for a report)."""
    lines = [
        "| mutant | category | op | examples to catch | with shrinking | problems |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for m in MUTANTS:
        c = gate_on(m)
        needed = "not caught" if c.ok or c.needed is None else str(c.needed)
        lines.append(
            f"| {m.name} | {m.category} | {m.op} | {needed} | {c.examples} | {c.fuzz_failures} |"
        )
    return "# Gate mutation self-check\n\n" + "\n".join(lines) + "\n"


@pytest.mark.slow
def test_mutant_table(tmp_path: Path) -> None:
    """Every mutant has a row, every row says it was caught within the budget."""
    path = tmp_path / "mutants.md"
    path.write_text(mutant_table())
    rows = [r for r in path.read_text().splitlines() if r.startswith("| ") and "---" not in r]
    header, *body = rows
    assert header.startswith("| mutant |")
    assert [r.split(" | ")[0].removeprefix("| ") for r in body] == [m.name for m in MUTANTS]
    for row in body:
        needed = row.split(" | ")[3]
        assert needed.isdigit() and 1 <= int(needed) <= BUDGET, row
    print("\n" + path.read_text())


def _mutant(name: str) -> type[Mutant]:
    return next(m for m in MUTANTS if m.name == name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fails"),
    [
        ("seed_wraps", True),  # a wrapped seed: python raises overflow, the port returns
        ("top_k_zero_keeps_all", True),  # keep all where the contract says "invalid 0"
        ("score_reassociated", False),  # scores drift, the order and the set do not
        ("percentile_lower", False),  # only reported statistics change
    ],
)
def test_review_fail_on_critical(name: str, fails: bool, tmp_path: Path) -> None:
    """``shadow review --fail-on critical`` on the gate's log fails exactly when the slip
    changes what the search does."""
    caught = gate_on(_mutant(name))
    assert not caught.ok
    log = tmp_path / "gate.jsonl"
    log.write_text(caught.log)
    code = shadow_cli(
        ["review", str(log), "--out", str(tmp_path / "review"), "--quiet", "--fail-on", "critical"]
    )
    assert code == (1 if fails else 0), caught.severities
    assert set(caught.severities) == ({"critical"} if fails else {"minor"})


# ---------------------------------------------------------------------- the judge layer


def _evaluation(
    *, error: float = 0.0, cv: float | None = 0.01, flags: tuple[bool, bool, bool]
) -> ReplayEvaluation:
    stats = Stats(1, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    max_error = Stats(1, error, 0.0, error, error, error, error, None)
    return ReplayEvaluation(stats, stats, max_error, cv, 10.0, *flags)


def _m(cid: str, size: int, gflops: float, error: float = 0.0) -> Measurement:
    return Measurement(cid, size, "completed", gflops, 1.0, error)


Call = tuple[tuple[Any, ...], dict[str, Any]]

SLIPS: dict[str, tuple[Call, str, str, str | None]] = {
    # mutant: (input that shows its slip, kind, severity, group key or None)
    "width_off_by_one": (
        ((SearchSpace(["a"], [16], [0], [(1, 1)]),), {}),
        "shadow_error_only",
        "critical",
        None,
    ),
    "top_k_zero_keeps_all": (
        ((SearchSpace(["a"], [1, 2], [0], [(1, 1)], top_k=0),), {}),
        "primary_error_only",
        "critical",
        None,
    ),
    "score_reassociated": (
        ((SearchSpace(["a"], [1], [1], [(32, 32)]),), {}),
        "value_mismatch",
        "minor",
        "scores differ",
    ),
    "tie_break_descending": (
        ((SearchSpace(["a", "b"], [1], [0], [(1, 1)]),), {}),
        "value_mismatch",
        "critical",
        "equal scores ordered differently",
    ),
    "seed_limit_exclusive": (
        ((["a"], 1, 1, SEED_LIMIT), {}),
        "shadow_error_only",
        "critical",
        None,
    ),
    "seed_wraps": (((["a"], 1, 2, SEED_LIMIT), {}), "primary_error_only", "critical", None),
    "accepts_bools": ((([1.0, True],), {}), "primary_error_only", "critical", None),
    "percentile_lower": (
        (([1.0, 2.0],), {}),
        "value_mismatch",
        "minor",
        "statistics differ: percentiles",
    ),
    "error_field_undotted": (
        (([_m("a", 1, -1.0)], 1e-3, BaselineRule.original()), {}),
        "error_mismatch",
        "critical",
        "nested error field named without its parent",
    ),
    "unstable_rank_sort": (
        (([_m("a", 1, 5.0), _m("b", 1, 5.0)], 1e-3, BaselineRule(())), {}),
        "value_mismatch",
        "critical",
        "tied entries ordered differently",
    ),
    "duplicate_wrong_code": (
        (([_m("a", 1, 5.0), _m("a", 1, 6.0)], 1e-3, BaselineRule(())), {}),
        "error_mismatch",
        "critical",
        "error code duplicate reported as invalid_value",
    ),
    "correctness_gate_strict": (
        (([ReplaySample(100.0, 1.0, 1e-3)], None, GateThresholds(1e-3, 0.03, 10.0)), {}),
        "value_mismatch",
        "critical",
        "evaluation differs: correctness_passed",
    ),
    "stability_gate_strict": (
        (([ReplaySample(100.0, 1.0, 0.0)] * 2, None, GateThresholds(1e-3, 0.0, 10.0)), {}),
        "value_mismatch",
        "critical",
        "evaluation differs: stability_passed",
    ),
    "promotion_gate_strict": (  # delta of 100 against a baseline of 100: exactly 0.0
        (([ReplaySample(100.0, 1.0, 0.0)], 100.0, GateThresholds(1e-3, 0.03, 0.0)), {}),
        "value_mismatch",
        "critical",
        "evaluation differs: promotion_gate_passed",
    ),
    "decision_branch_order": (
        ((0, [_evaluation(flags=(True, True, True))]), {}),
        "value_mismatch",
        "critical",
        None,
    ),
    "rationale_default_thresholds": (
        (
            (
                1,
                [_evaluation(error=0.002, cv=0.05, flags=(False, False, False))],
                GateThresholds(1e-3, 0.04, 10.0),
            ),
            {},
        ),
        "value_mismatch",
        "minor",
        None,
    ),
}


def judge_slip(mutant: type[Mutant], call: Call) -> Divergence:
    """The one divergence between the reference and ``mutant`` on ``call``."""
    args, kwargs = call
    judge = Judge(TARGET.op(mutant.op))
    p = run_primary(getattr(REFERENCE, mutant.op), args, dict(kwargs))
    s = run_primary(getattr(mutant(), mutant.op), args, dict(kwargs))
    judgement = judge.judge(p, s)
    assert len(judgement.divergences) == 1, judgement
    return judgement.divergences[0]


def test_every_mutant_has_a_slip() -> None:
    assert set(SLIPS) == {m.name for m in MUTANTS}


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_slip_is_judged_by_what_it_changes(mutant: type[Mutant]) -> None:
    call, kind, severity, key = SLIPS[mutant.name]
    d = judge_slip(mutant, call)
    assert (d.kind, d.severity) == (kind, severity), d
    if key is not None:
        assert d.signature.parts == (f"key:{key}",)
    else:
        assert not any(p.startswith("key:") for p in d.signature.parts)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        # the tie broken the other way, with and without top_k keeping only one of the tied
        ("tie_break_descending", ((SearchSpace(["a", "b"], [1], [0], [(1, 1)], top_k=1),), {})),
        # one percentile differs, or both
        ("percentile_lower", (([1.0, 2.0, 4.0, 8.0, 16.0],), {})),
        # another nested field, another code
        (
            "error_field_undotted",
            (([_m("a", 0, 1.0)], 1e-3, BaselineRule(((0, "a"), (0, "b")))), {}),
        ),
        ("error_field_undotted", (([_m("a", 1, 1.0)], 1e-3, BaselineRule(((-1, "a"),))), {})),
        # a duplicate of another record
        (
            "duplicate_wrong_code",
            (([_m("b", 7, 1.0), _m("c", 2, 1.0), _m("b", 7, 2.0)], 0.0, BaselineRule(())), {}),
        ),
        # a tie of -0.0 and 0.0 (equal to the sort, not to a strict comparison)
        (
            "unstable_rank_sort",
            (([_m("a", 1, -0.0), _m("b", 1, 0.0), _m("c", 1, 100.0)], 1e-3, BaselineRule(())), {}),
        ),
        # the tie under the gflops objective
        (
            "unstable_rank_sort",
            (([_m("a", 1, 5.0), _m("b", 2, 5.0)], 1e-3, BaselineRule(())), {"objective": "gflops"}),
        ),
    ],
)
def test_one_slip_is_one_problem(name: str, other: Call) -> None:
    """Two inputs showing one slip differently get one signature."""
    mutant = _mutant(name)
    first = judge_slip(mutant, SLIPS[name][0])
    second = judge_slip(mutant, other)
    assert second.signature.id == first.signature.id, (first.signature, second.signature)


def _table(ids: tuple[str, ...]) -> CandidateTable:
    n = len(ids)
    return CandidateTable(ids, ("a",) * n, (1,) * n, (0,) * n, (1,) * n, (1,) * n, (1.0,) * n, 2)


@pytest.mark.parametrize(
    ("op", "primary", "shadow", "severity"),
    [
        # keep none vs keep all (a limit of 0 read as "no limit", one way or the other)
        ("enumerate_candidates", _table(("x", "y")), _table(()), "critical"),
        # a wrapped seed in an otherwise equal plan
        (
            "build_replay_plan",
            ReplayPlan(("a",), (0,), (1,), (SEED_LIMIT,), ("a_s0_r1",)),
            ReplayPlan(("a",), (0,), (1,), (0,), ("a_s0_r1",)),
            "critical",
        ),
        # the mean, which the search uses, vs a percentile, which it only reports
        (
            "summarize",
            Stats(2, 1.5, 0.5, 1.0, 1.5, 1.95, 2.0, 1 / 3),
            Stats(2, 1.6, 0.5, 1.0, 1.5, 1.95, 2.0, 1 / 3),
            "critical",
        ),
        (
            "summarize",
            Stats(2, 1.5, 0.5, 1.0, 1.5, 1.95, 2.0, 1 / 3),
            Stats(2, 1.5, 0.5, 1.0, 1.0, 1.95, 2.0, 1 / 3),
            "minor",
        ),
    ],
)
def test_severity_of_value_differences(op: str, primary: Any, shadow: Any, severity: str) -> None:
    judgement = Judge(TARGET.op(op)).judge(Outcome(primary), Outcome(shadow))
    assert judgement.diverged
    assert judgement.divergences[0].severity == severity
