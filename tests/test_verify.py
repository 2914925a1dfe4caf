"""``shadow verify``: a recording of real T2 calls (the recorded RX 580 searches, Python
primary) verified against the Rust build passes; deliberately wrong shadows fail it with
the groups a live shadowed run finds; workers change nothing; and every way the input can
be unusable is a one-line exit 2, never a pass."""

from __future__ import annotations

import dataclasses
import math
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest

import runners.rust_backend  # noqa: F401  (the Rust build: missing means failing, never skipped)
from runners.executors.recorded import RecordedExecutor
from runners.reference import PythonBackend
from runners.search import run_search
from runners.shadow_t2 import TARGET, ShadowOptions, make_target, start_shadow
from runners.types import GateThresholds
from shadow._cli import main as shadow_main
from shadow._dispatcher import Dispatcher
from shadow._log import read_events
from shadow._registry import load_target
from shadow._verify import run_verify
from tests.runner_helpers import fixture_names

FAULTY = "tests.shadow_faulty_t2:TARGET"


class MutatingRank(PythonBackend):
    """Right answers, but reverses the measurements it was given (mutated_input)."""

    name = "mutating_rank"

    def rank_candidates(self, measurements, *args, **kwargs):  # type: ignore[no-untyped-def]
        ranking = super().rank_candidates(measurements, *args, **kwargs)
        measurements.reverse()
        return ranking


class NudgedStats(PythonBackend):
    """Statistics one ULP off: within ``summarize``'s tolerance, so tolerated."""

    name = "nudged_stats"

    def summarize(self, samples):  # type: ignore[no-untyped-def]
        stats = super().summarize(samples)
        return dataclasses.replace(stats, mean=math.nextafter(stats.mean, math.inf))


class FloatCount(PythonBackend):
    """``count`` as 3.0 instead of 3: equal numbers, different types (type-strict)."""

    name = "float_count"

    def summarize(self, samples):  # type: ignore[no-untyped-def]
        stats = super().summarize(samples)
        return dataclasses.replace(stats, count=float(stats.count))


LOCAL = make_target(
    "tests.test_verify:LOCAL",
    {"mutating_rank": MutatingRank, "nudged_stats": NudgedStats, "float_count": FloatCount},
)


def _searches(fixtures_dir: Path, options: ShadowOptions) -> None:
    """The recorded searches, each through a session with ``options``."""
    for name in fixture_names():
        executor = RecordedExecutor(fixtures_dir / name)
        session = start_shadow(options)
        run_search(executor.defaults.to_config(), session.backend, executor)
        session.close()


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    """The three recorded searches with the shadow off (record in production), plus calls
    the primary rejects (so error parity is verified too)."""
    folder = tmp_path_factory.mktemp("recording")
    record = folder / "record.jsonl"
    assert len(fixture_names()) >= 3
    _searches(fixtures_dir, ShadowOptions(mode="off", record=record))
    with Dispatcher(TARGET, primary="python", mode="off", record=record) as d:
        backend = d.wrap()
        for samples in ([1.0, 2.0, 4.0], [0.1, 0.7, 0.2, 0.9], [3.0]):
            backend.summarize(samples)
        for bad in (
            lambda: backend.summarize([]),
            lambda: backend.summarize([1.0, float("nan")]),
            lambda: backend.build_replay_plan(["a", "a"], 1, 1, 0),
            lambda: backend.build_replay_plan(["a"], 0, 1, 0),
            lambda: backend.decide(-1, [], GateThresholds()),
        ):
            with pytest.raises(ValueError):
                bad()
    return record


def verify(capsys: pytest.CaptureFixture[str], tmp: Path, *args: str) -> tuple[int, str, str]:
    code = shadow_main(
        [
            "verify",
            *args,
            "--log",
            str(tmp / "verify.jsonl"),
            "--junit",
            str(tmp / "junit.xml"),
            "--summary",
            str(tmp / "verify.md"),
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def divergences(log: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(log) if e["event"] == "divergence"]


# ---------------------------------------------------------------------------- passes


@pytest.mark.parametrize("isolation", ["process", "thread"])
def test_the_recording_passes_against_the_rust_build(
    recording: Path, isolation: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = verify(capsys, tmp_path, str(recording), "--isolation", isolation)
    calls = sum(1 for e in read_events(recording) if e["event"] == "call")
    assert (code, err) == (0, ""), out
    assert out.splitlines()[-1] == f"verify: {calls} passed, 0 failed, 0 not run"
    assert "on rust 1.0.0" in out and "recorded by python" in out
    for op in TARGET.ops:
        assert f"ok verify/{op}: " in out
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    assert int(suite.get("tests") or 0) == len(TARGET.ops)
    assert "# shadow verify: PASSED" in (tmp_path / "verify.md").read_text()
    (summary,) = [e for e in read_events(tmp_path / "verify.jsonl")]
    assert summary["event"] == "run_summary" and summary["source"] == "verify"
    assert sum(c["matched"] for c in summary["counters"].values()) == calls


# ---------------------------------------------------------------------------- fails


WRONG = [
    # shadow, isolation, (op, kind, severity) of every group it must produce
    ("swapped_rank", "thread", {("rank_candidates", "value_mismatch", "critical")}),
    ("flipped_gate", "thread", {("evaluate_replay", "value_mismatch", "critical")}),
    ("drifting_scores", "thread", {("enumerate_candidates", "value_mismatch", "minor")}),
    ("panicking_rust", "process", {("rank_candidates", "shadow_error", "critical")}),
]


@pytest.mark.parametrize(("shadow", "isolation", "expected"), WRONG)
def test_a_wrong_shadow_fails_with_the_groups_a_live_run_finds(
    recording: Path,
    shadow: str,
    isolation: str,
    expected: set[tuple[str, str, str]],
    fixtures_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, out, err = verify(
        capsys,
        tmp_path,
        str(recording),
        "--target",
        FAULTY,
        "--shadow",
        shadow,
        "--isolation",
        isolation,
    )
    assert (code, err) == (1, ""), out
    events = divergences(tmp_path / "verify.jsonl")
    assert {(e["op"], e["kind"], e["severity"]) for e in events} == expected
    assert all(e["source"] == "verify" and e["shadow"]["name"] == shadow for e in events)
    assert all(e["primary"]["name"] == "python" for e in events)
    # The same searches shadowed live by the same wrong implementation: same causes.
    live = tmp_path / "live.jsonl"
    _searches(
        fixtures_dir,
        ShadowOptions(target=FAULTY, shadow=shadow, isolation=isolation, log_path=live),
    )
    live_events = divergences(live)
    assert {e["signature"] for e in events} == {e["signature"] for e in live_events}
    assert len(events) == len(live_events)
    (op, kind, severity) = next(iter(expected))
    assert f"FAILED verify/{op}: " in out and f"{severity} {kind} x{len(events)}" in out
    assert f"--target {FAULTY}" in out  # the replay command names the target
    failed = ET.parse(tmp_path / "junit.xml").getroot()
    assert failed.get("failures") == "1"


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_shadow_that_mutates_its_input_is_found(
    recording: Path, isolation: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = verify(
        capsys, tmp_path, str(recording), "--target", "tests.test_verify:LOCAL",
        "--shadow", "mutating_rank", "--isolation", isolation,
    )  # fmt: skip
    assert code == 1, out
    events = divergences(tmp_path / "verify.jsonl")
    assert {(e["op"], e["kind"]) for e in events} == {("rank_candidates", "mutated_input")}
    assert all(d["path"].startswith("input") for e in events for d in e["diff"])


def test_drift_within_the_policy_is_tolerated_not_failed(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = verify(
        capsys, tmp_path, str(recording), "--target", "tests.test_verify:LOCAL",
        "--shadow", "nudged_stats", "--isolation", "thread",
    )  # fmt: skip
    assert code == 0, out
    assert "ok verify/summarize: 5 calls, 2 matched, 3 within tolerance" in out


def test_comparison_is_type_strict(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = verify(
        capsys, tmp_path, str(recording), "--target", "tests.test_verify:LOCAL",
        "--shadow", "float_count", "--isolation", "thread",
    )  # fmt: skip
    assert code == 1, out
    events = divergences(tmp_path / "verify.jsonl")
    assert len(events) == 3  # the three statistics; the two rejected inputs still agree
    assert {(e["op"], e["kind"]) for e in events} == {("summarize", "value_mismatch")}
    assert {d["path"] for e in events for d in e["diff"]} == {"root.count"}


def test_a_verify_event_replays_like_any_other(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = verify(
        capsys, tmp_path, str(recording), "--target", FAULTY, "--shadow", "swapped_rank",
        "--isolation", "thread",
    )  # fmt: skip
    assert code == 1
    event = divergences(tmp_path / "verify.jsonl")[0]
    assert shadow_main(["replay", str(tmp_path / "verify.jsonl"), "--call", event["call_id"],
                        "--target", FAULTY]) == 1  # fmt: skip
    assert "still diverges" in capsys.readouterr().out


def test_two_workers_give_the_same_result_as_one(recording: Path, tmp_path: Path) -> None:
    faulty = load_target(FAULTY)
    results = []
    for workers, chunk_size in ((1, None), (2, 7)):  # 7: chunks end mid-file, anywhere
        log = tmp_path / f"w{workers}.jsonl"
        result = run_verify(
            [recording, recording],  # twice: more calls, chunks in both files
            target=faulty,
            explicit_target=True,
            shadow="drifting_scores",
            isolation="process",
            workers=workers,
            log=log,
            chunk_size=chunk_size,
        )
        events = divergences(log)
        assert len(events) == len(result.found) > 0
        results.append(result)
        ids = {e["call_id"].removeprefix(result.run_id) for e in events}
        found = {(f.call_id.removeprefix(result.run_id), f.signature) for f in result.found}
        assert {i for i, _ in found} == ids
    one, two = results
    assert one.tallies == two.tallies and one.exit_code == two.exit_code == 1
    strip = [[(f.index, f.op, f.kind, f.severity, f.signature) for f in r.found] for r in results]
    assert strip[0] == strip[1]
    assert [(g.signature, g.count) for g in one.groups] == [
        (g.signature, g.count) for g in two.groups
    ]


def test_the_cli_with_two_workers(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = verify(capsys, tmp_path, str(recording), "--workers", "2")
    assert code == 0, out
    assert out.splitlines()[-1].endswith(" passed, 0 failed, 0 not run")


# ---------------------------------------------------------------------------- error outcomes


def _edited(recording: Path, tmp_path: Path, edit: Any) -> Path:
    """A copy of the recording whose call events went through ``edit`` (None drops one)."""
    out = tmp_path / "edited.jsonl"
    lines = []
    for event in read_events(recording):
        if event["event"] == "call":
            event = edit(event)
            if event is None:
                continue
        lines.append(orjson.dumps(event))
    out.write_bytes(b"\n".join(lines) + b"\n")
    return out


def test_recorded_errors_are_compared_by_identity(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def edit(event: dict[str, Any]) -> dict[str, Any]:
        if event["outcome"] == "raised" and event["op"] == "summarize":
            event["error"]["attrs"]["field"] = "not_the_field"
        if event["outcome"] == "raised" and event["op"] == "decide":
            event.update(outcome="returned", error=None, value=None)
        return event

    code, out, _ = verify(capsys, tmp_path, str(_edited(recording, tmp_path, edit)))
    assert code == 1
    kinds = {(e["op"], e["kind"]) for e in divergences(tmp_path / "verify.jsonl")}
    assert kinds == {("summarize", "error_mismatch"), ("decide", "shadow_error_only")}
    assert "verify/build_replay_plan: " in out and "ok verify/build_replay_plan" in out


# ---------------------------------------------------------------------------- cannot check


def _one_call(recording: Path) -> dict[str, Any]:
    return next(e for e in read_events(recording) if e["event"] == "call")


def _bad(kind: str, recording: Path, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.jsonl"
    good = _one_call(recording)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b'not json\n{"schema":"shadow.event/1","event":"ca\n\n')
    elif kind == "divergence_log":
        path.write_bytes(orjson.dumps({"schema": "shadow.event/1", "event": "run_summary"}) + b"\n")
    elif kind == "other_target":
        path.write_bytes(orjson.dumps({**good, "target": "elsewhere:T"}) + b"\n")
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "missing.jsonl: no such file"),
        ("directory", "directory.jsonl: is a directory"),
        ("empty", "no recorded call to verify in {path} (empty)"),
        ("garbage", "no recorded call to verify in {path}; it holds 1 blank line(s), 2 unparsable"),
        ("divergence_log", "it holds 1 run_summary event(s)"),
        (
            "other_target",
            "holds calls recorded for target 'elsewhere:T', not this project's "
            "'runners.shadow_t2:TARGET'; its target was not imported. To verify them with that "
            "target, pass --target elsewhere:T",
        ),
    ],
)
def test_unusable_recordings_are_one_line_exit_2(
    kind: str, message: str, recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _bad(kind, recording, tmp_path)
    code, out, err = verify(capsys, tmp_path, str(path))
    assert code == 2 and out == ""
    assert err.startswith("shadow verify: ") and err.count("\n") == 1
    assert message.format(path=path) in err
    assert "Error" not in err and "Traceback" not in err


def test_usage_errors_are_exit_2(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = verify(capsys, tmp_path, str(recording), "--shadow", "nope")
    assert code == 2
    assert err == (
        "shadow verify: --shadow 'nope' is not an implementation of runners.shadow_t2:TARGET "
        "(known: python, rust)\n"
    )
    code, _, err = verify(capsys, tmp_path, str(recording), "--target", "no_such_module_q:T")
    assert code == 2 and "cannot load target no_such_module_q:T" in err
    with pytest.raises(SystemExit) as exited:
        verify(capsys, tmp_path, str(recording), "--workers", "0")
    assert exited.value.code == 2 and "--workers: must be at least 1" in capsys.readouterr().err


def test_calls_that_cannot_be_checked_are_counted_and_fail(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: dict[str, int] = {}

    def edit(event: dict[str, Any]) -> dict[str, Any] | None:
        n = seen[event["op"]] = seen.get(event["op"], 0) + 1
        if event["op"] == "decide" and n == 1:
            event["op"] = "no_such_op"
        elif event["op"] == "build_replay_plan" and n == 1:
            event["input"] = {"args": [{"$type": "Unknown"}], "kwargs": {}}
        elif event["op"] == "rank_candidates" and n == 1:
            event.update(value=None, value_error="CodecError: cannot encode a thing")
        return event

    code, out, _ = verify(capsys, tmp_path, str(_edited(recording, tmp_path, edit)))
    assert code == 2
    assert "not checked: 1 call(s): op not registered on the target" in out
    assert "not checked: 1 call(s): input the op's codec cannot decode" in out
    assert "not checked: 1 call(s): recorded without a usable outcome" in out
    assert out.splitlines()[-1].endswith(" 0 failed, 3 not run")
    assert "COULD NOT CHECK" in (tmp_path / "verify.md").read_text()
    assert ET.parse(tmp_path / "junit.xml").getroot().get("errors") == "3"


def test_torn_and_foreign_lines_are_counted_not_fatal(
    recording: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "torn.jsonl"
    raw = recording.read_bytes().splitlines(keepends=True)
    torn = raw[0][: len(raw[0]) // 2] + raw[1]  # a writer killed mid-line, the next glued on
    path.write_bytes(b"".join([torn, b"[1, 2]\n", *raw[2:]]))
    code, out, _ = verify(capsys, tmp_path, str(path))
    assert code == 0, out
    assert "lines skipped in the recordings (not call events): foreign 1, torn 1" in out


def test_blobs_are_read_and_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from runners.types import SearchSpace

    record = tmp_path / "rec" / "big.jsonl"
    space = SearchSpace(
        kernels=tuple(f"tile{i}" for i in range(8, 60)),
        vector_widths=(1, 2, 4, 8),
        unroll_k_values=(0, 1, 2, 4),
        local_sizes=((8, 8), (16, 16), (4, 4)),
    )
    with Dispatcher(TARGET, primary="python", mode="off", record=record) as d:
        d.call("enumerate_candidates", space)
        d.call("summarize", [float(i) for i in range(10_000)])
    code, out, _ = verify(capsys, tmp_path, str(record), "--isolation", "thread")
    assert code == 0, out
    moved = tmp_path / "moved"
    shutil.copytree(record.parent, moved)
    for blob in (moved / "blobs").iterdir():
        blob.write_bytes(blob.read_bytes().replace(b"tile8", b"tile9"))
    code, out, _ = verify(capsys, tmp_path, str(moved / "big.jsonl"), "--isolation", "thread")
    assert code == 2
    assert "not checked: 1 call(s): value blob missing, altered or unreadable" in out
    assert "does not match its sha256 name" in out
    assert "not checked: 1 call(s): input blob missing, altered or unreadable" not in out


# ---------------------------------------------------------------------------- end to end


def test_t2_search_records_with_the_shadow_off_and_verify_reads_it(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from runners.cli import main as t2_search

    record = tmp_path / "rec.jsonl"
    fixture = fixtures_dir / fixture_names()[0]
    argv = ["--executor", "recorded", "--recorded", str(fixture), "--backend", "python"]
    argv += ["--out", str(tmp_path / "out"), "--shadow", "--shadow-mode", "off"]
    assert t2_search([*argv, "--shadow-record", str(record)]) == 0
    out = capsys.readouterr().out
    n = sum(1 for e in read_events(record) if e["event"] == "call")
    assert f"shadow (off): nothing compared; {n} of {n} calls recorded in {record}" in out
    code, out, _ = verify(capsys, tmp_path, str(record))
    assert code == 0 and out.splitlines()[-1] == f"verify: {n} passed, 0 failed, 0 not run"
