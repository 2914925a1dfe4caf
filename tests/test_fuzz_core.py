"""``shadow._fuzz`` on a generic target (docs/examples/intervals.py), and the two commands.

This is also the test that keeps docs/fuzzing.md's worked example true.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from docs.examples.intervals import TARGET
from shadow._cli import main
from shadow._dispatcher import Dispatcher
from shadow._fuzz import FuzzConfig, fuzz_target
from shadow._log import EventLog, read_events


def test_correct_port_has_no_findings() -> None:
    report = fuzz_target(TARGET, FuzzConfig(max_examples=150, seed=0))
    (r,) = report.results
    assert report.ok and r.examples == 150 and r.matched == 150 and r.examples_per_s > 0


def test_bug_is_shrunk_and_logged_as_a_replayable_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_path = tmp_path / "fuzz.jsonl"
    with EventLog(log_path) as log:
        report = fuzz_target(
            TARGET, FuzzConfig(max_examples=300, seed=0), shadow="off_by_one", log=log
        )
    assert not report.ok
    finding = min(report.findings, key=lambda f: len(f.input_repr))
    # Shrunk to two touching intervals, the smallest input that shows the bug.
    args = TARGET.codec_for("merge").decode(finding.input)[0]
    assert len(args[0]) == 2
    events = list(read_events(log_path))
    divergences = [e for e in events if e["event"] == "divergence"]
    assert {e["source"] for e in divergences} == {"fuzz"}
    assert events[-1]["event"] == "run_summary" and events[-1]["counters"]["merge"]["calls"] > 0
    event = next(e for e in divergences if e["call_id"] == finding.call_id)
    for key in (
        "schema",
        "ts",
        "run_id",
        "target",
        "op",
        "kind",
        "severity",
        "primary",
        "shadow",
        "input_digest",
        "input",
        "diff",
        "diff_count",
        "signature",
        "replay",
    ):
        assert key in event
    assert event["replay"] == (
        f"shadow replay {log_path} --call {finding.call_id} --target {TARGET.import_spec}"
    )
    replay = ["replay", str(log_path), "--call", finding.call_id]
    assert main(replay) == 2  # logged for another target: refused, nothing imported
    assert main([*replay, "--target", TARGET.import_spec]) == 1  # still diverges


def test_time_budget_runs_batches() -> None:
    report = fuzz_target(TARGET, FuzzConfig(max_examples=20, seconds=0.5, seed=1))
    assert report.ok and report.results[0].examples >= 20


def test_shadow_and_fuzz_share_one_verdict() -> None:
    """The dispatcher (runtime) and the fuzzer judge the same input the same way."""
    d = Dispatcher(
        TARGET, primary=TARGET.make("sorting"), shadow=TARGET.make("off_by_one"), mode="sync"
    )
    proxy = d.wrap()
    assert proxy.merge([(0, 1), (1, 2)]) == [(0, 2)]  # the caller gets the primary's answer
    counters = d.close()
    assert counters.divergences == 1


def test_fuzz_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "f.jsonl"
    common = ["fuzz", "--target", TARGET.import_spec, "--examples", "80", "--no-database"]
    assert main([*common, "--log", str(log), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "sorting vs sweep" in out and "events:" in out
    assert main([*common, "--log", str(log), "--shadow", "off_by_one", "--seed", "0"]) == 1
    assert "replay: shadow replay" in capsys.readouterr().out
    assert main([*common, "--ops", "nope"]) == 2


def test_gate_command_reads_default_target_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHADOW_TARGET", TARGET.import_spec)
    out = [
        "--junit",
        str(tmp_path / "j.xml"),
        "--summary",
        str(tmp_path / "g.md"),
        "--log",
        str(tmp_path / "g.jsonl"),
        "--corpus",
        str(tmp_path / "c"),
        "--baseline",
        str(tmp_path / "b.json"),
        "--examples",
        "40",
    ]
    assert main(["gate", *out]) == 2  # an explicit corpus/baseline that does not exist
    assert "--corpus" in capsys.readouterr().out
    (tmp_path / "c").mkdir()
    assert main(["gate", *out]) == 2
    assert "--baseline" in capsys.readouterr().out
    (tmp_path / "b.json").write_text('{"schema": "shadow.baseline/1", "accepted": []}')
    assert main(["gate", *out]) == 0
    assert main(["gate", *out, "--shadow", "off_by_one"]) == 1
    assert (tmp_path / "g.md").read_text().startswith("# shadow gate: FAILED")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "nope")
    assert main(["gate", *out[:-2]]) == 2


def test_default_target_comes_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    from shadow._config import default_target

    monkeypatch.delenv("SHADOW_TARGET", raising=False)
    assert default_target(env={}) == "runners.shadow_t2:TARGET"
    assert default_target(env={"SHADOW_TARGET": "a:b"}) == "a:b"
    assert os.environ.get("SHADOW_TARGET") is None


def test_case_format_is_shared_with_replay() -> None:
    from shadow._commands import replay
    from shadow._corpus import Case, save_case

    assert replay.Case is Case and replay.save_case is save_case
    assert orjson.loads(orjson.dumps({"ok": True}))
