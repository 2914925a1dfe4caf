"""Every ``shadow`` command tells the truth (issue 13): a table of cases, exit codes, messages.

One meaning per exit code, the same across commands: 0 checked and nothing found, 1 found,
2 could not check. Every error is one line naming the option, variable or file, without a
Python exception class name. (`shadow review` has its own table in test_review_cli.py.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from docs.examples.intervals import TARGET
from shadow._cli import main

EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|\[Errno")
SPEC = TARGET.import_spec


def _baseline(path: Path, entries: str = "[]") -> Path:
    path.write_text('{"schema": "shadow.baseline/1", "accepted": ' + entries + "}")
    return path


def _gate(tmp: Path, *extra: str) -> list[str]:
    corpus = tmp / "corpus"
    corpus.mkdir(exist_ok=True)
    out = ["--junit", str(tmp / "j.xml"), "--summary", str(tmp / "g.md"), "--log"]
    out += [str(tmp / "g.jsonl"), "--corpus", str(corpus), "--examples", "40"]
    return ["gate", "--target", SPEC, *out, *extra]


def _fuzz(tmp: Path, *extra: str) -> list[str]:
    base = ["fuzz", "--target", SPEC, "--log", str(tmp / "f.jsonl"), "--no-database"]
    return [*base, "--examples", "60", "--seed", "1", *extra]


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path], list[str]]
    code: int
    says: str  # a piece of the one-line message (stdout or stderr)


CASES = [
    Case("fuzz clean", lambda t: _fuzz(t), 0, "0 distinct problem(s)"),
    Case("fuzz finds", lambda t: _fuzz(t, "--shadow", "off_by_one"), 1, "1 distinct problem(s)"),
    Case("fuzz seed printed", lambda t: _fuzz(t), 0, "seed 1"),
    Case("fuzz --seconds 0", lambda t: [*_fuzz(t)[:-4], "--seconds", "0"], 2, "--seconds must be > 0"),
    Case("fuzz --seconds -1", lambda t: [*_fuzz(t)[:-4], "--seconds", "-1"], 2, "--seconds must be > 0"),
    Case("fuzz --examples 0", lambda t: [*_fuzz(t)[:-4], "--examples", "0"], 2, "--examples must be at least 1"),
    Case("fuzz --memory-limit -1", lambda t: _fuzz(t, "--memory-limit", "-1"), 2, "--memory-limit: must be a whole number of MB >= 0"),
    Case("gate --memory-limit abc", lambda t: _gate(t, "--memory-limit", "abc"), 2, "--memory-limit: must be a whole number of MB >= 0"),
    Case("fuzz under a memory cap", lambda t: _fuzz(t, "--memory-limit", "512"), 0, "0 distinct problem(s)"),
    Case("fuzz unknown op", lambda t: _fuzz(t, "--ops", "nope"), 2, "no op 'nope'"),
    Case("fuzz unknown target", lambda t: ["fuzz", "--target", "no_such_mod:X"], 2, "no module named 'no_such_mod'"),
    Case("fuzz bad implementation", lambda t: _fuzz(t, "--shadow", "nope"), 2, "no implementation 'nope'"),
    Case("gate clean", lambda t: _gate(t, "--baseline", str(_baseline(t / "b.json"))), 0, "gate: 1 passed, 0 failed, 0 not run"),
    Case("gate finds", lambda t: _gate(t, "--baseline", str(_baseline(t / "b.json")), "--shadow", "off_by_one"), 1, "0 passed, 1 failed"),
    Case("gate mistyped corpus", lambda t: [*_gate(t)[:-4], "--corpus", str(t / "corpsu")], 2, "--corpus"),
    Case("gate missing baseline", lambda t: _gate(t, "--baseline", str(t / "nope.json")), 2, "--baseline"),
    Case("gate broken baseline", lambda t: _gate(t, "--baseline", str(_baseline(t / "b.json", "[{}]"))), 1, "failed setup: baseline"),
    Case("gate bad profile", lambda t: _gate(t)[:-2], 2, "HYPOTHESIS_PROFILE"),
    Case("replay missing log", lambda t: ["replay", str(t / "missing.jsonl"), "--call", "x"], 2, "no such file"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_command_table(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.name == "gate bad profile":
        monkeypatch.setenv("HYPOTHESIS_PROFILE", "nope")
    try:
        code = main(case.argv(tmp_path))
    except SystemExit as exit_:  # a usage error, refused by argparse itself
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == case.code, text
    assert case.says in text, text
    if code == 2:
        (line,) = [ln for ln in text.splitlines() if ln.startswith("shadow ")][-1:]
        assert not EXCEPTION_NAME.search(line), line


def test_broken_baseline_final_line_agrees_with_the_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The closing line counts the setup problem as a failure, like the line above it."""
    main(_gate(tmp_path, "--baseline", str(_baseline(tmp_path / "b.json", "[{}]"))))
    lines = capsys.readouterr().out.splitlines()
    verdict = next(ln for ln in lines if ln.startswith("shadow gate FAILED"))
    final = lines[-1]
    assert "1 failed" in verdict and final == "gate: 1 passed, 1 failed, 0 not run"


def test_a_case_of_another_target_is_listed_as_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    case = {"schema": "shadow.case/1", "target": "other.module:TARGET", "op": "merge", "input": {}}
    (corpus / "merge-0.json").write_bytes(orjson.dumps(case))
    argv = _gate(tmp_path, "--baseline", str(_baseline(tmp_path / "b.json")), "--no-fuzz")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "not run corpus/merge-0.json: not run: recorded for target other.module:TARGET" in out
    assert out.splitlines()[-1] == "gate: 0 passed, 0 failed, 1 not run"


@pytest.mark.parametrize("command", ["fuzz", "gate", "replay", "review", "verify", "query"])
def test_help_lists_exit_codes_and_examples_without_markup(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "exit" in text and "2" in text, text
    assert "example" in text.lower(), text
    assert "``" not in text, text
