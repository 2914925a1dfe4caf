"""The DuckDB engine against the pure-Python reference reader, on logs full of junk.

The reference (``review_logs_python``) states the counting rules line by line; the DuckDB
engine must give the same groups, counts, first/last seen, smallest reproducers, skipped
lines by reason, per-op rates and timeline, whatever junk the log holds.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_review_support import GARBAGE, event, signature_of, write_log

from shadow.review import prescan
from shadow.review.groups import review_logs, review_logs_python
from shadow.review.model import Review

TS = "2025-01-02T00:00:00.000000Z"


def _line(i: int, call: str, **over: Any) -> bytes:
    ev = event(i, 0, TS, call, "extra")
    ev.update(over)
    return orjson.dumps(ev)


def _junk_log(path: Path) -> None:
    """Every kind of junk the reader must survive, on top of a generated log."""
    write_log(path, 3000, garbage_every=40)
    full = _line(3, "rescued-1")
    with path.open("ab") as f:
        # Torn lines: a killed writer's partial line, completed by another writer's line.
        f.write(_line(4, "lost")[:70] + full + b"\n")
        f.write(b"\xff\xfe junk then " + _line(5, "rescued-2") + b"\n")  # binary prefix
        f.write(_line(6, "lost2")[:30] + _line(6, "lost3")[:50] + _line(7, "rescued-3") + b"\n")
        # CR: a CRLF line (one event), and junk with a CR inside.
        f.write(_line(8, "crlf") + b"\r\n")
        f.write(b"junk\rwith a carriage return\n")
        f.write(b"\x01\x02 control bytes\n")  # the reader's delimiter byte
        f.write(b"\x00" * 64 + b"\n")  # a NUL block (crash on some filesystems)
        f.write(b"\n\n \t \n")  # blank lines
        f.write(b"x" * 5000 + b"\n")  # oversized (the limit is lowered by the fixture)
        f.write(_line(9, "big", input={"args": [1e400]}) + b"\n")  # a number beyond double
        f.write(
            b'{"schema":"shadow.event/1","event":"divergence","signature":5,'
            b'"call_id":"x","op":"o","kind":"k"}\n'
        )  # non-string signature
        f.write(b"\xc3\xa9t\xc3\xa9 is UTF-8 text, not JSON\n")
        f.write(_line(10, "utf8", primary={"name": "py", "version": "1", "summary": "caf\xc3\xa9"}))
        f.write(b"\n")
        f.write(_line(11, "cut")[:90])  # the last line, cut by a crash (no newline)


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lower the line limit so an 'oversized' line is cheap to write."""
    from shadow.review import reader

    monkeypatch.setattr(prescan, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 4096)


def _core(review: Review) -> dict[str, Any]:
    """What both engines must agree on."""
    groups = []
    for g in review.groups:
        r = g.reproducer
        groups.append(
            (
                g.signature,
                g.count,
                g.first_seen,
                g.last_seen,
                g.severity,
                g.severities,
                g.ops,
                g.kinds,
                g.sources,
                r and (r.call_id, r.log_path, r.line_no, r.size, r.input, r.diff, r.replay),
            )
        )
    ops = [dataclasses.replace(o, durations=None) for o in review.ops]
    return {
        "read": (review.read.files, review.read.lines, review.read.events, review.read.skipped),
        "groups": groups,
        "ops": ops,
        "timeline": review.timeline,
        "divergences": review.divergences,
        "by_severity": review.by_severity,
        "duplicates": review.duplicate_summaries,
    }


def test_duckdb_equals_reference_on_junk(tmp_path: Path, small_limit: None) -> None:
    path = tmp_path / "junk.jsonl"
    _junk_log(path)
    duck, ref = review_logs([path]), review_logs_python([path])
    assert _core(duck) == _core(ref)
    skipped = dict(duck.read.skipped)
    for reason, _ in GARBAGE:
        assert skipped[reason] > 0, reason
    assert skipped["torn"] == 3 and skipped["oversized"] == 1
    assert skipped["missing_fields"] >= 1 and skipped["binary"] >= 2
    calls = {g.reproducer.call_id for g in duck.groups if g.reproducer}
    assert {"rescued-1", "rescued-2", "rescued-3"} <= _calls(duck, path)
    assert calls  # every group has a reproducer


def _calls(review: Review, path: Path) -> set[str]:
    """Call ids of the extra events, found through the query view."""
    from shadow.review.duck import open_logs

    with open_logs([path]) as logset:
        logset.events_view()
        rows = logset.con.execute("SELECT call_id FROM events WHERE run_id = 'extra'").fetchall()
    return {r[0] for r in rows}


def test_gzip_directories_globs_and_duplicates(tmp_path: Path, small_limit: None) -> None:
    logs = tmp_path / "logs"
    (logs / "host-a").mkdir(parents=True)
    plain = logs / "host-a" / "a.jsonl"
    _junk_log(plain)
    gz = logs / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    (logs / "notes.txt").write_text("not a log")
    duck = review_logs([str(logs), str(tmp_path / "logs" / "*" / "*.jsonl")])
    ref = review_logs_python([gz, plain])
    assert duck.read.files == (str(gz), str(plain))  # the glob repeats a.jsonl: read once
    assert _core(duck) == _core(ref)
    assert duck.duplicate_summaries == 4


def test_truncated_gzip_keeps_what_it_can(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    write_log(plain, 2000)
    data = gzip.compress(plain.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    review = review_logs([cut])
    ((file, problem),) = review.read.file_problems
    assert file == str(cut) and "ends early" in problem
    assert 0 < review.divergences < 2000


def test_group_data_for_reports(tmp_path: Path) -> None:
    """Messages, sides, durations and runs: what the reports show beyond counts."""
    path = tmp_path / "x.jsonl"
    lines = []
    for k in range(30):
        lines.append(
            _line(
                1,
                f"c{k}",
                primary={
                    "name": "python",
                    "version": "1.0",
                    "duration_s": 0.010,
                    "summary": f"ValueError: bad top_k {k}",
                },
                shadow={
                    "name": "rust",
                    "version": "1.0.3" if k % 3 else "1.0.2",
                    "duration_s": 0.002,
                    "summary": "Ok(list[3])",
                },
            )
        )
    lines.append(
        _line(
            1,
            "other",
            primary={"name": "python", "version": "1.0", "duration_s": 0.010, "summary": "list[2]"},
        )
    )
    summary = {
        "schema": "shadow.event/1",
        "event": "run_summary",
        "run_id": "r1",
        "ts": TS,
        "target": "t:T",
        "source": "runtime",
        "mode": "sync",
        "primary": {"name": "python", "version": "1.0"},
        "shadow": {"name": "rust", "version": "1.0.3"},
        "counters": {"plan": {"calls": 100, "sampled": 50, "diverged": {"x": 31}}},
    }
    lines.append(orjson.dumps(summary))
    path.write_bytes(b"\n".join(lines) + b"\n")
    review = review_logs([path])
    (g,) = review.groups
    assert g.messages[0].count == 30 and g.messages[0].primary == "ValueError: bad top_k 0"
    assert g.messages[0].shadow == "Ok(list[3])" and g.distinct_messages == 2
    assert [(s.primary, s.shadow, s.count) for s in g.sides] == [
        ("python 1.0", "rust 1.0.3", 20),
        ("python 1.0", "rust 1.0.2", 10),
        ("python 1.0", "rs 1", 1),
    ]
    (op,) = review.ops
    d = op.durations
    assert d is not None and d.timed == 31
    assert d.primary_median == pytest.approx(0.010, rel=0.01)
    assert d.shadow_p95 == pytest.approx(0.002, rel=0.01)
    assert d.ratio_median == pytest.approx(0.2, rel=0.02)
    assert op.sampled == 50 and op.rate == pytest.approx(31 / 50)
    (run,) = review.runs
    assert (run.run_id, run.mode, run.primary, run.shadow) == (
        "r1",
        "sync",
        "python 1.0",
        "rust 1.0.3",
    )


def test_signature_order_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    write_log(path, 500)
    review = review_logs([path])
    assert {g.signature for g in review.groups} == {signature_of(i) for i in range(20)}
