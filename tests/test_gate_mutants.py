"""Mutation self-check: the gate's fuzz must catch every deliberately wrong reference.

Each mutant of ``tests/mutants_t2.py`` replaces the shadow implementation; the gate runs
its fuzz for the mutant's op exactly as in CI (same code path, the ``ci`` budget,
derandomized, no database). Each mutant's gate run is done once per test session and
shared by the per-mutant test and the table test, so the table never depends on test order.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from shadow.gate import GATE_PROFILES, GateConfig, run_gate
from tests.mutants_t2 import MUTANTS, TARGET, Mutant

BUDGET = GATE_PROFILES["ci"]


@dataclass(frozen=True)
class Caught:
    """How the gate reacted to one mutant."""

    ok: bool
    fuzz_failures: int
    op: str | None
    has_replay: bool
    has_signature: bool
    needed: int | None
    """Examples until the first divergence (None: never diverged)."""
    examples: int
    """Examples run in all, shrinking included."""


@functools.cache
def gate_on(mutant: type[Mutant]) -> Caught:
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        config = GateConfig(
            corpus=Path(tmp) / "no-corpus",
            baseline=None,
            examples=BUDGET,
            ops=(mutant.op,),
            log=Path(tmp) / "gate.jsonl",
            primary="python",
            shadow=mutant.name,
        )
        result = run_gate(TARGET, config)
    assert result.fuzz is not None
    (op_result,) = result.fuzz.results
    fuzz = [i for i in result.failures if i.suite == "fuzz"]
    first = fuzz[0] if fuzz else None
    return Caught(
        ok=result.ok,
        fuzz_failures=len(fuzz),
        op=first.op if first else None,
        has_replay=bool(first and first.replay),
        has_signature=bool(first and first.signature),
        needed=op_result.first_divergence_at,
        examples=op_result.examples,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_gate_catches_mutant(mutant: type[Mutant]) -> None:
    caught = gate_on(mutant)
    assert not caught.ok, f"{mutant.name} survived {caught.examples} examples"
    assert caught.fuzz_failures == 1
    assert caught.op == mutant.op and caught.has_replay and caught.has_signature
    assert caught.needed is not None and 1 <= caught.needed <= BUDGET
    print(f"\n{mutant.name}: caught after {caught.needed} examples ({caught.examples} in all)")


def mutant_table() -> str:
    """The Markdown table of examples each mutant needed (for a report)."""
    lines = [
        "| mutant | category | op | examples to catch | with shrinking |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for m in MUTANTS:
        c = gate_on(m)
        needed = "not caught" if c.ok or c.needed is None else str(c.needed)
        lines.append(f"| {m.name} | {m.category} | {m.op} | {needed} | {c.examples} |")
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
