"""`shadow review`, `shadow query` and `shadow export` as a user runs them: exit codes and
one-line messages, hostile logs, and Parquet read back."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import orjson
import pytest
from test_review_support import event, write_log

from shadow._cli import main

TS = "2025-01-01T00:00:00.000000Z"


def _line(i: int, call: str, **over: object) -> bytes:
    ev = event(i, 0, TS, call, "r")
    ev.update(over)
    try:
        return orjson.dumps(ev) + b"\n"
    except TypeError:  # deeper than orjson writes: the standard library does
        return json.dumps(ev, separators=(",", ":")).encode() + b"\n"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# name -> (builder of the LOG argument, extra args, exit code, text expected in out/err)
Case = tuple[Callable[[Path], str], list[str], int, str]


def _critical(tmp: Path) -> str:
    return str(_write(tmp / "c.jsonl", _line(0, "c1", severity="critical") + _line(1, "m1")))


def _minor(tmp: Path) -> str:
    return str(_write(tmp / "m.jsonl", _line(1, "m1", severity="minor")))


def _loop(tmp: Path) -> str:
    link = tmp / "loop.jsonl"
    os.symlink(link, link)
    return str(link)


CASES: dict[str, Case] = {
    "critical found": (_critical, [], 1, "CRITICAL"),
    "minor passes by default": (_minor, [], 0, "none critical"),
    "minor fails with --fail-on minor": (_minor, ["--fail-on", "minor"], 1, "none critical"),
    "quiet still says what it found": (_critical, ["--quiet"], 1, "shadow review: CRITICAL"),
    "missing path": (lambda t: str(t / "nope.jsonl"), [], 2, "nope.jsonl: no such file"),
    "glob matching nothing": (lambda t: str(t / "*.nomatch"), [], 2, "no file matches"),
    "directory without logs": (
        lambda t: str((t / "empty-dir").mkdir() or t / "empty-dir"),
        [],
        2,
        "no *.jsonl or *.jsonl.gz file",
    ),
    "unreadable file": (lambda t: "/proc/self/mem", [], 2, "cannot read /proc/self/mem"),
    "symbolic link loop": (_loop, [], 2, "broken or looping symbolic link"),
    "empty file": (lambda t: str(_write(t / "e.jsonl", b"")), [], 2, "no readable event"),
    "empty file allowed": (
        lambda t: str(_write(t / "e.jsonl", b"")),
        ["--allow-empty"],
        0,
        "No divergence found",
    ),
    "binary file": (
        lambda t: str(_write(t / "b.jsonl", bytes(range(256)) * 50)),
        [],
        2,
        "no readable event",
    ),
    "only other programs' lines": (
        lambda t: str(_write(t / "f.jsonl", b'{"level":"info"}\n' * 3)),
        [],
        2,
        "foreign 3",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_review_cli_table(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build, extra, code, text = CASES[name]
    log = build(tmp_path)
    assert main(["review", log, "--out", str(tmp_path / "out"), *extra]) == code
    out, err = capsys.readouterr()
    assert text in out + err
    if code == 2:
        (line,) = err.strip().splitlines()  # one line, naming the problem, no traceback
        assert line.startswith("shadow review: ") and "Error" not in line.split(":")[1]
    if "--quiet" in extra:
        assert out.count("\n") == 1


def test_quiet_and_clean_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", _minor(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for argv in (["review"], ["review", "x", "--top", "0"], ["query", "x", "--format", "xml"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_console_tables_are_not_cut_in_a_pipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_op = "an_operation_name_long_enough_to_overflow_eighty_columns_" * 2
    log = _write(tmp_path / "l.jsonl", _line(0, "c1", op=long_op, severity="critical"))
    assert main(["review", str(log), "--out", str(tmp_path / "o")]) == 1
    assert long_op in capsys.readouterr().out


# ------------------------------------------------------------------ hostile logs


def _hostile(tmp: Path) -> Path:
    deep: object = 1
    for _ in range(300):
        deep = [deep]
    lines = [
        _line(0, "deep", input={"args": [deep]}),
        _line(0, "nul", input=None, input_ref="blobs/\u0000x.json"),
        _line(0, "escape", input=None, input_ref="../../etc/passwd"),
        _line(0, "abs", input=None, input_ref="/etc/passwd"),
        _line(1, "year1", ts="0001-01-01T00:00:00.000000Z"),
        _line(1, "year9999", ts="9999-12-31T23:59:59.999999Z"),
        _line(1, "badts", ts="yesterday at noon"),
        _line(2, "huge", diff_count=10**30, primary={"name": "py", "duration_s": 1e308 * 10}),
        _line(2, "nan", primary={"name": "py", "duration_s": "slow"}),
        _line(3, "sig", signature=12345),
        _line(3, "sev", severity="catastrophic"),
    ]
    return _write(tmp / "hostile.jsonl", b"".join(lines))


def test_hostile_json_never_crashes_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _hostile(tmp_path)
    out = tmp_path / "out"
    assert main(["review", str(log), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "bad fields:" in printed
    doc = json.loads((out / "review.json").read_text())
    problems = {(p["field"], p["problem"]): p["events"] for p in doc["read"]["field_problems"]}
    assert problems[("input_ref", "contains a NUL byte")] == 1
    assert problems[("input_ref", "points outside the log's folder")] == 2
    assert problems[("ts", "unparsable")] == 1
    assert problems[("ts", "outside 1970-2199 (left out of the timeline)")] == 2
    assert problems[("primary.duration_s", "not a number")] == 1
    assert problems[("primary.duration_s", "not a finite non-negative number")] == 1
    assert problems[("severity", "unknown value (ranks below info)")] == 1
    assert doc["read"]["skipped"] == {"missing_fields": 1}  # the non-string signature
    assert doc["totals"]["divergences"] == 10
    group0 = next(
        g
        for g in doc["groups"]
        if g["smallest"]["call_id"] in {"nul", "escape", "abs"} or g["count"] == 4
    )
    assert group0 is not None
    firsts = {g["first_seen"] for g in doc["groups"]} | {g["last_seen"] for g in doc["groups"]}
    assert "0001-01-01T00:00:00.000000Z" in firsts and "9999-12-31T23:59:59.999999Z" in firsts
    for name in ("review.md", "review.html", "review.json"):
        assert (out / name).stat().st_size > 0
    md = (out / "review.md").read_text()
    assert "Bad fields" in md


def test_deep_input_is_left_out_with_a_note(tmp_path: Path) -> None:
    deep: object = 1
    for _ in range(300):
        deep = [deep]
    log = _write(tmp_path / "d.jsonl", _line(0, "deep", input={"args": [deep]}))
    out = tmp_path / "out"
    assert main(["review", str(log), "--out", str(out), "--quiet"]) == 1
    (group,) = json.loads((out / "review.json").read_text())["groups"]
    assert group["smallest"]["input"] is None and "nested too deep" in group["smallest"]["note"]


def test_truncated_gzip_review_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "a.jsonl"
    write_log(plain, 500)
    data = gzip.compress(plain.read_bytes())
    cut = _write(tmp_path / "cut.jsonl.gz", data[: len(data) * 2 // 3])
    assert main(["review", str(cut), "--out", str(tmp_path / "o")]) == 1
    assert f"partly read: {cut}: the gzip stream ends early" in capsys.readouterr().out


# ------------------------------------------------------------------ query and export


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    logs = tmp_path / "fleet"
    logs.mkdir()
    lines = [
        _line(
            0,
            "a",
            op="summarize",
            severity="critical",
            ts="2025-06-01T10:00:00.000000Z",
            shadow={"name": "rust", "version": "1.0.3", "duration_s": 1e-6, "summary": "x"},
        ),
        _line(
            0,
            "b",
            op="summarize",
            severity="critical",
            ts="2025-06-03T10:00:00.000000Z",
            shadow={"name": "rust", "version": "1.0.3", "duration_s": 1e-6, "summary": "x"},
        ),
        _line(
            0,
            "c",
            op="summarize",
            severity="critical",
            ts="2025-06-04T10:00:00.000000Z",
            shadow={"name": "rust", "version": "1.0.2", "duration_s": 1e-6, "summary": "x"},
        ),
        _line(
            1,
            "d",
            op="summarize",
            severity="minor",
            ts="2025-06-05T10:00:00.000000Z",
            shadow={"name": "rust", "version": "1.0.3", "duration_s": 1e-6, "summary": "x"},
        ),
        b'{"schema":"shadow.event/1","event":"call","ts":"2025-06-05T11:00:00Z","op":"rank",'
        b'"call_id":"rec-1","primary":{"name":"python","version":"1.0","duration_s":0.1}}\n',
        b"garbage line\n",
    ]
    _write(logs / "host1.jsonl", b"".join(lines[:2] + lines[4:]))
    (logs / "host2.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[2:4])))
    return logs


WHERE = (
    "event = 'divergence' AND severity = 'critical' AND op = 'summarize' "
    "AND shadow_version = '1.0.3' AND ts >= TIMESTAMP '2025-06-02'"
)


def test_query_where_the_issue_example(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", str(fleet), "--where", WHERE, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["call_id"] for r in rows] == ["b"]
    assert "skipped 1 line" in err


def test_query_sql_csv_and_every_event_type(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event"
    assert main(["query", str(fleet), "--sql", sql, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["event,n", "call,1", "divergence,4"]


def test_query_table_in_a_pipe_is_markdown_and_whole(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", str(fleet), "--columns", "file,line,call_id,raw"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| file | line | call_id | raw |")
    assert '"replay":"shadow replay x --call a"' in out and "(5 rows)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sql", "SELECT * FROM nope"], "shadow query: --sql: Catalog Error"),
        (["--where", "no_such_column = 1"], "shadow query: --where: Binder Error"),
        (["--limit", "-1"], "--limit must be at least 0"),
    ],
)
def test_query_errors_exit_2(
    fleet: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", str(fleet), *argv]) == 2
    assert message in capsys.readouterr().err


def test_query_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = _write(tmp_path / "e.jsonl", b"")
    assert main(["query", str(empty)]) == 2
    assert "no readable event" in capsys.readouterr().err
    assert main(["query", str(empty), "--allow-empty", "--format", "csv"]) == 0


def test_export_parquet_reads_back(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lake" / "events.parquet"
    assert main(["export", str(fleet), "--parquet", str(out)]) == 0
    assert "wrote 5 event(s)" in capsys.readouterr().out
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{out}'").fetchall() == [(5,)]
    same = con.execute(f"SELECT call_id FROM '{out}' WHERE {WHERE}").fetchall()
    assert same == [("b",)]
    assert main(["export", str(fleet), "--parquet", str(out)]) == 2
    assert "exists (pass --force" in capsys.readouterr().err
    assert (
        main(["export", str(fleet), "--parquet", str(out), "--force", "--where", "op = 'rank'"])
        == 0
    )
    assert con.execute(f"SELECT count(*) FROM '{out}'").fetchall() == [(1,)]


def test_export_partitioned(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lake"
    assert main(["export", str(fleet), "--parquet", str(out), "--partition-by", "event,op"]) == 0
    assert (out / "event=divergence" / "op=summarize").is_dir()
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT event, count(*) FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true) "
        "GROUP BY event ORDER BY event"
    ).fetchall()
    assert rows == [("call", 1), ("divergence", 4)]
    assert (
        main(["export", str(fleet), "--parquet", str(tmp_path / "x"), "--partition-by", "nope"])
        == 2
    )
    assert "no column nope" in capsys.readouterr().err
