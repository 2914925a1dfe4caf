"""t2-search's command line: every case a user can hit, with its exit code and its message.

Errors are one line on stderr, ``t2-search: <what is wrong>``, naming the option, variable
or file, with no traceback, exception class or ``[Errno N]``. Shadow runs use the faulty
target of ``tests/shadow_faulty_t2.py`` to get real divergences of known severity.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runners.cli import (
    EXIT_DIVERGENCE,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    build_parser,
    main,
)
from tests.runner_helpers import PROJECT_ROOT, fixture_names, fixtures_path

FIXTURE = fixture_names()[-1] if fixture_names() else "missing.json"
FAULTY = "tests.shadow_faulty_t2:TARGET"
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback|\[Errno")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The user's own T2_SHADOW* variables must not leak into these cases."""
    import os

    for key in list(os.environ):
        if key.startswith("T2_SHADOW"):
            monkeypatch.delenv(key)
    yield


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("t2-search: "), err
    assert not CLASS_NAME.search(lines[0]), err
    return lines[0]


# ---------------------------------------------------------------------------- usage errors


@dataclass(frozen=True)
class Bad:
    id: str
    argv: list[str]
    message: str
    """A substring of the one error line (the whole line after ``t2-search: `` when it
    starts with ``=``)."""
    env: dict[str, str] = field(default_factory=dict)
    recorded: bool = True


BAD = [
    Bad("executor-choice", ["--executor", "cuda"], "argument --executor: invalid choice: 'cuda'"),
    Bad("recorded-needs-path", ["--executor", "recorded"], "needs --recorded", recorded=False),
    Bad(
        "recorded-missing",
        ["--recorded", "/nonexistent/report.json"],
        "=recorded report not found: /nonexistent/report.json",
        recorded=False,
    ),
    Bad("sizes-zero", ["--sizes", "0"], "--sizes: every size must be > 0"),
    Bad("sizes-negative", ["--sizes", "256,-1"], "--sizes: every size must be > 0"),
    Bad("sizes-text", ["--sizes", "a,b"], "--sizes: expected comma-separated integers"),
    Bad("sizes-duplicate", ["--sizes", "256,256"], "--sizes: duplicate"),
    Bad("runs-zero", ["--runs", "0"], "--runs must be >= 1, got 0"),
    Bad("sessions-100", ["--sessions", "100"], "--sessions must be 1..99, got 100"),
    Bad("replay-runs-zero", ["--replay-runs", "0"], "--replay-runs must be 1..999"),
    Bad("top-k-above-budget", ["--top-k", "5", "--budget", "3"], "above the budget", recorded=False),
    Bad("baseline-shape", ["--baseline", "tile20"], "MIN_SIZE:CANDIDATE_ID"),
    Bad("baseline-size", ["--baseline", "x:tile20"], "not an integer"),
    Bad("local-sizes", ["--local-sizes", "8by8"], "XxY", recorded=False),
    Bad("widths-text", ["--vector-widths", "four"], "integers", recorded=False),
    Bad("backend-choice", ["--backend", "java"], "argument --backend: invalid choice: 'java'"),
    Bad("min-delta-nan", ["--min-delta", "nan"], "--min-delta must be a finite number"),
    Bad("out-unwritable", ["--out", "/proc/nope"], "=cannot write reports to /proc/nope: no such directory"),
    # --shadow-* without --shadow: one rule for every option
    Bad("sample-rate-alone", ["--shadow-sample-rate", "0.5"], "=--shadow-sample-rate needs --shadow (or T2_SHADOW=1): shadow mode is off"),
    Bad("mode-alone", ["--shadow-mode", "async"], "--shadow-mode needs --shadow"),
    Bad("strict-alone", ["--shadow-strict"], "--shadow-strict needs --shadow"),
    Bad("fail-on-alone", ["--shadow-fail-on", "critical"], "--shadow-fail-on needs --shadow"),
    Bad("log-alone", ["--shadow-log", "x.jsonl"], "--shadow-log needs --shadow"),
    Bad("isolation-alone", ["--shadow-isolation", "process"], "--shadow-isolation needs --shadow"),
    Bad("record-alone", ["--shadow-record", "r.jsonl"], "--shadow-record needs --shadow"),
    Bad("secondary-alone", ["--shadow-secondary", "rust"], "--shadow-secondary needs --shadow"),
    # bad shadow values
    Bad("sample-rate-range", ["--shadow", "--shadow-sample-rate", "1.5"], "argument --shadow-sample-rate: must be a number within 0..1, got '1.5'"),
    Bad("sample-rate-text", ["--shadow", "--shadow-sample-rate", "abc"], "argument --shadow-sample-rate: must be a number within 0..1, got 'abc'"),
    Bad("record-rate-range", ["--shadow", "--shadow-record", "r.jsonl", "--shadow-record-rate", "-1"], "--shadow-record-rate: must be a number within 0..1"),
    Bad("record-rate-needs-record", ["--shadow", "--shadow-record-rate", "0.5"], "=--shadow-record-rate needs --shadow-record PATH"),
    Bad("timeout-zero", ["--shadow", "--shadow-timeout", "0"], "argument --shadow-timeout: must be a number of seconds > 0, got '0'"),
    Bad("isolation-choice", ["--shadow", "--shadow-isolation", "fork"], "argument --shadow-isolation: invalid choice: 'fork'"),
    Bad("fail-on-choice", ["--shadow", "--shadow-fail-on", "minor"], "argument --shadow-fail-on: invalid choice"),
    Bad("strict-vs-mode", ["--shadow", "--shadow-strict", "--shadow-mode", "async"], "=--shadow-strict contradicts --shadow-mode async"),
    Bad("strict-vs-fail-on", ["--shadow", "--shadow-strict", "--shadow-fail-on", "critical"], "--shadow-fail-on applies to sync and async modes"),
    Bad("same-pair", ["--shadow", "--shadow-secondary", "python"], "must differ from the primary 'python'"),
    Bad("backend-vs-primary", ["--shadow", "--backend", "rust", "--shadow-primary", "python"], "--backend rust and --shadow-primary python disagree"),
    Bad("log-unwritable", ["--shadow", "--shadow-log", "/proc/nope/x.jsonl"], "=cannot write the shadow log /proc/nope/x.jsonl: no such directory"),
    Bad("target-missing", ["--shadow", "--shadow-target", "no_such_module_x:T"], "cannot load the shadow target no_such_module_x:T: No module named 'no_such_module_x'"),
    Bad("implementation-missing", ["--shadow", "--shadow-target", FAULTY, "--shadow-secondary", "nope"], "has no implementation 'nope' (known: python, rust, swapped_rank"),
    # the environment
    Bad("env-switch-maybe", [], "=T2_SHADOW must be one of 1, true, yes, on (on) or 0, false, no, off (off), got 'maybe'", {"T2_SHADOW": "maybe"}),
    Bad("env-rate-text", [], "=T2_SHADOW_SAMPLE_RATE must be a number within 0..1, got 'abc'", {"T2_SHADOW": "1", "T2_SHADOW_SAMPLE_RATE": "abc"}),
    Bad("env-rate-range", [], "T2_SHADOW_SAMPLE_RATE must be a number within 0..1, got '2'", {"T2_SHADOW": "1", "T2_SHADOW_SAMPLE_RATE": "2"}),
    Bad("env-mode", [], "T2_SHADOW_MODE must be one of off, sync, async, strict, got 'fast'", {"T2_SHADOW": "1", "T2_SHADOW_MODE": "fast"}),
    Bad("env-timeout", [], "T2_SHADOW_TIMEOUT_S must be a number > 0, got '-3'", {"T2_SHADOW": "1", "T2_SHADOW_TIMEOUT_S": "-3"}),
    Bad("env-isolation", [], "T2_SHADOW_ISOLATION must be one of thread, process", {"T2_SHADOW": "1", "T2_SHADOW_ISOLATION": "vm"}),
    Bad("env-option-while-off", [], "=T2_SHADOW_MODE is set but T2_SHADOW is not on: set T2_SHADOW=1 to shadow, or unset T2_SHADOW_MODE", {"T2_SHADOW_MODE": "async"}),
    Bad("env-option-while-zero", [], "T2_SHADOW_LOG is set but T2_SHADOW is not on", {"T2_SHADOW": "0", "T2_SHADOW_LOG": "x.jsonl"}),
    Bad("env-unknown", [], "T2_SHADOW_SAMPLERATE is not a known variable (known: T2_SHADOW_MODE", {"T2_SHADOW": "1", "T2_SHADOW_SAMPLERATE": "0.5"}),
    Bad("env-target", [], "T2_SHADOW_TARGET must be MODULE:ATTR, got 'nocolon'", {"T2_SHADOW": "1", "T2_SHADOW_TARGET": "nocolon"}),
    Bad("env-log-unwritable", [], "=cannot write the shadow log /proc/nope/y.jsonl: no such directory", {"T2_SHADOW": "1", "T2_SHADOW_LOG": "/proc/nope/y.jsonl"}),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    case: Bad,
) -> None:
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    argv = ["--out", str(tmp_path / "out"), "--quiet"]
    if case.recorded:
        argv += ["--recorded", str(fixtures_path() / FIXTURE)]
    code, out, err = _run(capsys, *argv, *case.argv)
    line = _one_error_line(err)
    if case.message.startswith("="):
        assert line == "t2-search: " + case.message[1:]
    else:
        assert case.message in line
    assert (code, out) == (EXIT_USAGE, "")


def test_usage_errors_are_cheap(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Shadow options are checked before anything is opened: no report, no log is written."""
    out = tmp_path / "out"
    code, _, err = _run(capsys, "--out", str(out), "--shadow-sample-rate", "0.5")
    assert code == EXIT_USAGE and "needs --shadow" in err
    assert not out.exists()


def test_recorded_file_problems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"metadata": {}, "search": {"raw_candidates": [{"size": 1}]}}))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, needle in (
        (bad_json, f"recorded report {bad_json} is not valid JSON"),
        (empty, f"recorded report {empty} is malformed: missing field 'metadata'"),
        (wrong, f"recorded report {wrong} is malformed"),
        (binary, f"cannot read recorded report {binary}: not UTF-8 text"),
        (tmp_path, f"cannot read recorded report {tmp_path}: it is a directory"),
    ):
        code, _, err = _run(capsys, "--recorded", str(path), "--out", str(tmp_path / "o"))
        assert code == EXIT_USAGE, err
        assert needle in _one_error_line(err)


def test_recorded_options_that_do_not_apply(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, tmp_path: Path
) -> None:
    rec = str(fixtures_dir / FIXTURE)
    for extra, needle in (
        (["--kernels", "tile16"], "--kernels applies to the opencl executor only"),
        (["--device", "pocl"], "--device applies to the opencl executor only"),
        (["--baseline", "0:nonexistent"], "baseline candidate"),
        (
            ["--baseline", "100:t20_prod_v4_u10_l10,50:t24_prod_v4_u0_l12"],
            "the T2 core rejected the input: baseline_rule.thresholds",
        ),
    ):
        code, _, err = _run(capsys, "--recorded", rec, "--out", str(tmp_path), "--quiet", *extra)
        assert code == EXIT_USAGE, (extra, err)
        assert needle in _one_error_line(err)


def test_opencl_with_recorded_path_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--executor", "opencl", "--recorded", "x.json")
    assert code == EXIT_USAGE
    assert _one_error_line(err) == "t2-search: --recorded applies to --executor recorded only"


@pytest.mark.opencl
def test_core_rejection_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "--kernels", "bad-name!", "--out", str(tmp_path), "--quiet")
    assert code == EXIT_USAGE
    line = _one_error_line(err)
    assert "T2 core rejected" in line and "kernels" in line


def test_subprocess_bad_option_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runners.cli", "--sizes", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_USAGE
    assert "--sizes" in _one_error_line(proc.stderr)


# ---------------------------------------------------------------------------- help


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == EXIT_OK
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert flag in out
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
    assert "``" not in out


def test_help_has_examples_exit_codes_and_the_real_log_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, "--help")
    assert "examples:" in out and "t2-search --shadow --shadow-fail-on critical" in out
    codes = out[out.index("exit codes:") :]
    for code in (EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_DIVERGENCE, 130):
        assert re.search(rf"^\s+{code}\s+\w", codes, re.M), code
    assert "OUT/shadow.jsonl" in out
    assert "need --shadow or T2_SHADOW=1" in " ".join(out.split())


def test_readme_lists_the_same_exit_codes() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("`t2-search` exit codes") :]
    for code in (EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_DIVERGENCE, 130):
        assert f"| {code} |" in section, code


# ---------------------------------------------------------------------------- runs


def _rec(tmp_path: Path, *extra: str) -> list[str]:
    return ["--recorded", str(fixtures_path() / FIXTURE), "--out", str(tmp_path), *extra]


def _faulty(secondary: str, *extra: str) -> list[str]:
    return ["--shadow", "--shadow-target", FAULTY, "--shadow-secondary", secondary, *extra]


def test_quiet_clean_run_prints_one_summary_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, *_rec(tmp_path, "--quiet"))
    assert (code, err) == (EXIT_OK, "")
    (line,) = out.strip().splitlines()
    assert line.startswith("t2-search: PROMOTE, promoted ")
    assert (tmp_path / "t2_search_latest.md").exists()


def test_quiet_clean_shadow_run_prints_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, *_rec(tmp_path, "--quiet", "--shadow"))
    assert (code, err) == (EXIT_OK, "")
    assert len(out.strip().splitlines()) == 1
    report = json.loads((tmp_path / "t2_search_latest.json").read_text())
    assert report["shadow"]["divergences"] == 0
    assert report["shadow"]["totals"]["calls"] == report["shadow"]["totals"]["sampled"] > 0


@dataclass(frozen=True)
class Run:
    id: str
    argv: list[str]
    code: int
    verdict: str
    """A substring of the divergence line on stdout (empty: no such line)."""
    error: str = ""
    """A substring of the one stderr line (empty: stderr is empty)."""


RUNS = [
    Run("critical-default-exit-0", _faulty("swapped_rank"), EXIT_OK, "1 divergence(s) (1 critical)"),
    Run("critical-fail-on-critical", _faulty("swapped_rank", "--shadow-fail-on", "critical"), EXIT_DIVERGENCE, "1 divergence(s) (1 critical)", "1 critical shadow divergence(s) (--shadow-fail-on critical)"),
    Run("critical-fail-on-any", _faulty("swapped_rank", "--shadow-fail-on", "any"), EXIT_DIVERGENCE, "(1 critical)", "1 shadow divergence(s) (--shadow-fail-on any)"),
    Run("minor-fail-on-critical", _faulty("reworded_decision", "--shadow-fail-on", "critical"), EXIT_OK, "1 divergence(s) (1 minor)"),
    Run("minor-fail-on-any", _faulty("reworded_decision", "--shadow-fail-on", "any"), EXIT_DIVERGENCE, "(1 minor)", "--shadow-fail-on any"),
    Run("async-critical", _faulty("swapped_rank", "--shadow-mode", "async"), EXIT_OK, "shadow (async, python vs swapped_rank): 1 divergence(s) (1 critical)"),
    Run("sampled-out", _faulty("swapped_rank", "--shadow-sample-rate", "0"), EXIT_OK, ""),
    Run("mode-off", _faulty("swapped_rank", "--shadow-mode", "off"), EXIT_OK, ""),
]  # fmt: skip


@pytest.mark.parametrize("case", RUNS, ids=[r.id for r in RUNS])
def test_quiet_shadow_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: Run) -> None:
    """--quiet: the summary line, plus one line naming the divergences and the log."""
    code, out, err = _run(capsys, *_rec(tmp_path, "--quiet"), *case.argv)
    assert code == case.code, err
    lines = out.strip().splitlines()
    assert lines[-1].startswith("t2-search: PROMOTE")
    if case.verdict:
        assert len(lines) == 2, out
        assert case.verdict in lines[0]
        log = tmp_path / "shadow.jsonl"
        assert lines[0].endswith(f"events in {log}; review: shadow review {log}")
    else:
        assert len(lines) == 1, out
    if case.error:
        assert case.error in _one_error_line(err)
    else:
        assert err == ""


def test_strict_mode_stops_at_the_first_divergence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(
        capsys, *_rec(tmp_path, "--quiet"), *_faulty("swapped_rank"), "--shadow-strict"
    )
    assert (code, out) == (EXIT_DIVERGENCE, "")
    verdict, message = err.strip().splitlines()
    assert "shadow (strict, python vs swapped_rank): 1 divergence(s) (1 critical)" in verdict
    assert message.startswith("t2-search: shadow divergence in strict mode: rank_candidates: ")
    assert not CLASS_NAME.search(err)
    assert not (tmp_path / "t2_search_latest.json").exists()


def test_environment_switches_shadow_on_and_flags_win(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("T2_SHADOW", "yes")
    monkeypatch.setenv("T2_SHADOW_TARGET", FAULTY)
    monkeypatch.setenv("T2_SHADOW_SHADOW", "swapped_rank")
    monkeypatch.setenv("T2_SHADOW_SAMPLE_RATE", "0")
    log = tmp_path / "env.jsonl"
    monkeypatch.setenv("T2_SHADOW_LOG", str(log))
    code, out, _ = _run(capsys, *_rec(tmp_path, "--quiet"))
    assert code == EXIT_OK and len(out.strip().splitlines()) == 1  # rate 0: nothing compared
    code, out, _ = _run(capsys, *_rec(tmp_path, "--quiet", "--shadow-sample-rate", "1"))
    assert code == EXIT_OK
    assert "1 divergence(s) (1 critical)" in out and f"events in {log}" in out
    report = json.loads((tmp_path / "t2_search_latest.json").read_text())
    assert report["shadow"]["by_severity"] == {"critical": 1}
    assert report["shadow"]["log"] == str(log)


def test_full_output_tables_agree_with_the_final_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Not a TTY: plain tables, nothing cut; the verdict, the table and the JSON agree."""
    code, out, _ = _run(capsys, *_rec(tmp_path), *_faulty("swapped_rank"))
    assert code == EXIT_OK
    assert "…" not in out
    lines = out.splitlines()
    title = next(x for x in lines if x.startswith("shadow run "))
    assert title.endswith(": 1 divergence(s) (1 critical)")
    header = next(x for x in lines if x.startswith("op "))
    assert header.split() == [
        "op",
        "calls",
        "sampled",
        "matched",
        "tolerated",
        "diverged",
        "skipped",
    ]
    rows = {x.split()[0]: x for x in lines[lines.index(header) + 2 :] if x and x.split()[0] in {
        "enumerate_candidates", "build_replay_plan", "summarize", "rank_candidates",
        "evaluate_replay", "decide"}}  # fmt: skip
    assert len(rows) == 6
    assert "1 (value_mismatch=1)" in rows["rank_candidates"]
    calls = sum(int(r.split()[1]) for r in rows.values())
    verdict = next(x for x in lines if x.startswith("t2-search: shadow ("))
    assert f"; {calls} calls, {calls} sampled, 0 skipped;" in verdict
    report = json.loads((tmp_path / "t2_search_latest.json").read_text())
    assert report["shadow"]["totals"]["calls"] == calls
    summary = lines[-1]
    measurements = report["search"]["raw_candidates"]
    assert f"; {len(measurements)} measurements (" in summary
    assert lines[-4].startswith("decision: promote: At least one replayed candidate")


def test_refine_rationale_is_printed_with_the_gate_that_failed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A REFINE next to a positive uplift says why: the failed gate, value and limit."""
    code, out, _ = _run(capsys, *_rec(tmp_path), "--max-cv", "0.0001")
    assert code == EXIT_OK
    decision = next(x for x in out.splitlines() if x.startswith("decision: "))
    assert decision.startswith(
        "decision: refine: No replayed candidate is both correct and stable: "
        "t24_prod_v4_u0_l12@1536 failed stability (cv_peak "
    )
    assert "> 0.0001)" in decision
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("t2-search: REFINE, top replayed ") and "failed stability" in summary


def test_unwritable_reports_at_the_end_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import runners.report

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runners.report, "write_reports", disk_full)
    code, _, err = _run(capsys, *_rec(tmp_path, "--quiet"))
    assert code == EXIT_RUNTIME
    assert _one_error_line(err) == (
        f"t2-search: cannot write reports to {tmp_path}: no space left on the device"
    )


def test_isolation_and_recording_reach_the_session(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from runners import cli

    seen = []
    real = cli._start_shadow

    def spy(plan: cli.ShadowPlan) -> object:
        seen.append(plan)
        return real(plan)

    monkeypatch.setattr(cli, "_start_shadow", spy)
    record = tmp_path / "rec.jsonl"
    argv = ["--shadow", "--shadow-isolation", "process", "--shadow-record", str(record)]
    code, _, err = _run(capsys, *_rec(tmp_path, "--quiet"), *argv, "--shadow-record-rate", "0.25")
    (plan,) = seen
    assert plan.options.isolation == "process"
    assert (plan.options.record, plan.options.record_rate) == (record, 0.25)
    if code == EXIT_USAGE:  # a dispatcher that does not support them yet says so, clearly
        assert "is not supported by this version of the shadow dispatcher" in _one_error_line(err)
    else:
        assert code == EXIT_OK, err
