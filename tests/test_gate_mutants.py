"""Mutation self-check: the gate's fuzz must catch every deliberately wrong reference.

Each mutant of ``tests/mutants_t2.py`` replaces the shadow implementation; the gate runs
its fuzz for the mutant's op exactly as in CI (same code path, the ``ci`` budget,
derandomized, no database). The number of examples each needed is printed (``-s``) and
recorded in ``reports/mutants.md`` when that folder exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shadow.gate import GATE_PROFILES, GateConfig, run_gate
from tests.mutants_t2 import MUTANTS, TARGET, Mutant

NEEDED: dict[str, tuple[str, str, int | None, int]] = {}


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_gate_catches_mutant(mutant: type[Mutant], tmp_path: Path) -> None:
    config = GateConfig(
        corpus=tmp_path / "no-corpus",
        baseline=None,
        examples=GATE_PROFILES["ci"],
        ops=(mutant.op,),
        log=tmp_path / "gate.jsonl",
        primary="python",
        shadow=mutant.name,
    )
    result = run_gate(TARGET, config)
    assert result.fuzz is not None
    (op_result,) = result.fuzz.results
    assert not result.ok, f"{mutant.name} survived {op_result.examples} examples"
    (item,) = [i for i in result.failures if i.suite == "fuzz"]
    assert item.op == mutant.op and item.replay and item.signature
    needed = op_result.first_divergence_at
    assert needed is not None and needed <= GATE_PROFILES["ci"]
    NEEDED[mutant.name] = (mutant.category, mutant.op, needed, op_result.examples)
    print(f"\n{mutant.name}: caught after {needed} examples ({op_result.examples} with shrinking)")


def test_mutant_table(request: pytest.FixtureRequest) -> None:
    """Runs last (file order): writes the table of examples needed, for the report."""
    if not NEEDED:
        pytest.skip("no mutant ran")
    lines = [
        "| mutant | category | op | examples to catch | with shrinking |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    lines += [f"| {n} | {c} | {op} | {k} | {t} |" for n, (c, op, k, t) in NEEDED.items()]
    print("\n" + "\n".join(lines))
    reports = Path(str(request.config.rootpath)) / "reports"
    if reports.is_dir():
        (reports / "mutants.md").write_text(
            "# Gate mutation self-check\n\n" + "\n".join(lines) + "\n"
        )
