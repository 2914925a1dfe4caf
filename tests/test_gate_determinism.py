"""The gate is a pure function of the code: two runs agree exactly (derandomized, no DB)."""

from __future__ import annotations

from pathlib import Path

from shadow._gate import GateConfig, GateResult, run_gate
from tests.mutants_t2 import TARGET


def _essence(result: GateResult) -> list[tuple[object, ...]]:
    return [(i.suite, i.name, i.status, i.signature, repr(i.input)) for i in result.items] + [
        (r.op, r.examples, r.first_divergence_at)
        for r in (result.fuzz.results if result.fuzz else ())
    ]


def test_same_gate_twice_same_result(tmp_path: Path) -> None:
    config = GateConfig(
        corpus=tmp_path / "none",
        baseline=None,
        examples=120,
        ops=("summarize", "decide"),
        log=tmp_path / "gate.jsonl",
        primary="python",
        shadow="percentile_lower",
    )
    first, second = run_gate(TARGET, config), run_gate(TARGET, config)
    assert not first.ok  # the mutant is caught...
    assert _essence(first) == _essence(second)  # ...the same way, with the same shrunk input


def test_passing_gate_is_deterministic(tmp_path: Path) -> None:
    config = GateConfig(
        corpus=tmp_path / "none", baseline=None, examples=60, log=None, shadow="python"
    )
    first, second = run_gate(TARGET, config), run_gate(TARGET, config)
    assert first.ok and _essence(first) == _essence(second)
