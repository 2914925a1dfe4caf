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

from shadow._review import prescan
from shadow._review.groups import review_logs, review_logs_python
from shadow._review.model import Review

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
    from shadow._review import reader

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
    from shadow._review.duck import open_logs

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


# ---------------------------------------------------------------- the read_json fast path
#
# DuckDB's read_json numbers rows, not lines: it gives no row for a blank line.  These
# tests put blank lines (every whitespace the reference strips), torn lines, lines over the
# limit and block boundaries where the mapping back to line numbers could go wrong, and
# require the reference's line numbers and counts.

BLANKS = (b"", b" ", b"\t", b"\r", b"\x0b", b"\x0c", b" \r\t ")


def _blank_log(path: Path) -> None:
    lines: list[bytes] = [b"   "]  # a blank first line
    for k in range(400):
        lines.append(_line(k % 7, f"c{k}", input={"args": [k % 5] * (1 + k % 4)}))
        if k % 37 == 0:
            lines.extend(BLANKS[(k // 37) % len(BLANKS) :][:2])  # one or two in a row
        if k % 53 == 0:
            lines.append(_line(1, f"lost{k}")[:60] + _line(k % 7, f"torn{k}"))
        if k == 200:
            lines.append(b"\xff not text")
    lines.append(_line(3, "small", input={"args": []}))  # the smallest input, late
    path.write_bytes(b"\n".join(lines) + b"\n \t")  # ends with an unterminated blank line


def test_blank_lines_map_rows_back_to_line_numbers(tmp_path: Path, small_limit: None) -> None:
    path = tmp_path / "blanks.jsonl"
    _blank_log(path)
    duck, ref = review_logs([path]), review_logs_python([path])
    assert _core(duck) == _core(ref)
    skipped = dict(duck.read.skipped)
    lines = path.read_bytes().split(b"\n")
    assert skipped["blank"] == sum(1 for line in lines if not line.strip()) > 20
    assert skipped["torn"] == 8
    for g in duck.groups:  # the reported line holds the reported call
        r = g.reproducer
        assert r is not None and f'"call_id":"{r.call_id}"'.encode() in lines[r.line_no - 1]


def test_the_index_pass_counts_as_the_line_scan_and_finds_every_blank(
    tmp_path: Path, small_limit: None
) -> None:
    path = tmp_path / "blanks.jsonl"
    _blank_log(path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fast = prescan.Prescanner(scratch, "n", "json").prepare(path, 0)
    general = prescan.Prescanner(scratch, "n", "lines").prepare(path, 0)
    physical = path.read_bytes().split(b"\n")
    if physical[-1] == b"":
        physical.pop()
    assert not fast.copied and (fast.lines, fast.complete) == (len(physical), False)
    assert general.lines == fast.lines
    expected = [i for i, line in enumerate(physical, 1) if not line.strip()]
    assert prescan.blank_lines(fast) == expected
    wanted = [1, 2, 57, len(physical) // 2, len(physical)]
    assert prescan.fetch_lines(fast, wanted) == {n: physical[n - 1] for n in wanted}
    rows = [k for k in range(1, len(physical) - len(expected) + 1)]
    mapped = prescan.rows_to_lines(rows, expected)
    assert [mapped[k] for k in rows] == [
        i for i in range(1, len(physical) + 1) if i not in expected
    ]


@pytest.mark.parametrize("seed", range(20))
def test_blank_lines_and_fetched_lines_on_random_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random lines (blank ones of every kind, binary, CR, long ones), small blocks and
    windows: the index pass, ``blank_lines`` and ``fetch_lines`` agree with splitting."""
    import random

    rng = random.Random(seed)
    monkeypatch.setattr(prescan, "MAX_LINE_BYTES", 700)
    monkeypatch.setattr(prescan, "WINDOW_BYTES", 1500)
    pieces = [b"", b" ", b"\t\r", b"\x0b\x0c ", b"{}", b"\xff\xfe", b"a\rb", b"x" * 300]
    lines = [rng.choice(pieces) + rng.choice(pieces) for _ in range(rng.randrange(50, 400))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n", b"  ", b"tail"])
    path = tmp_path / "r.jsonl"
    path.write_bytes(data)
    log = prescan.Prescanner(tmp_path, "n", "json").prepare(path, 0)
    physical = data.split(b"\n")
    if physical[-1] == b"":
        physical.pop()
    assert log.lines == len(physical) and not log.copied
    assert log.complete == data.endswith(b"\n")
    assert prescan.blank_lines(log) == [i for i, x in enumerate(physical, 1) if not x.strip()]
    wanted = rng.sample(range(1, len(physical) + 1), min(25, len(physical)))
    assert prescan.fetch_lines(log, wanted) == {n: physical[n - 1] for n in wanted}


def test_a_line_over_the_limit_mid_file_is_read_from_a_copy(
    tmp_path: Path, small_limit: None
) -> None:
    path = tmp_path / "big.jsonl"
    write_log(path, 600)
    data = path.read_bytes().split(b"\n")
    data.insert(300, _line(2, "huge", input={"args": ["x" * 6000]}).rstrip(b"\n"))  # > 4096
    path.write_bytes(b"\n".join(data))
    duck, ref = review_logs([path]), review_logs_python([path])
    assert _core(duck) == _core(ref)
    assert dict(duck.read.skipped)["oversized"] == 1


def _timeline_log(path: Path, stamps: list[str]) -> None:
    path.write_bytes(b"".join(_line(k % 4, f"t{k}", ts=ts) + b"\n" for k, ts in enumerate(stamps)))


def _stamp(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(1_735_689_600 + seconds, tz=UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000000Z"
    )


@pytest.mark.parametrize(
    ("offsets", "second_pass"),
    [
        ([k * 7 for k in range(300)], False),  # 35 minutes: counted per second at once
        ([k * 900 for k in range(300)], False),  # three days: per minute is enough
        # First and last lines days apart, all else within minutes: the main pass guessed
        # a long log, the width is finer than a minute, a second pass counts per second.
        ([0, *range(40, 340), 5 * 86400], True),
    ],
    ids=["short", "long", "guessed-long"],
)
def test_timeline_widths_equal_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offsets: list[int], second_pass: bool
) -> None:
    from shadow._review import sql

    path = tmp_path / "t.jsonl"
    _timeline_log(path, [_stamp(s) for s in offsets])
    passes: list[tuple[str, ...]] = []
    real = sql.aggregate_sql

    def spy(table: str, classified: str, sets: Any = sql.SET_NAMES, **kw: Any) -> str:
        passes.append(tuple(sets))
        return real(table, classified, sets, **kw)

    monkeypatch.setattr(sql, "aggregate_sql", spy)
    duck, ref = review_logs([path]), review_logs_python([path])
    assert duck.timeline == ref.timeline
    assert (("timeline",) in passes) == second_pass


@pytest.mark.parametrize("raw", [True, False], ids=["raw-summaries", "masked-per-line"])
def test_messages_do_not_depend_on_how_the_main_pass_keys_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: bool
) -> None:
    from shadow._review import duck as engine

    path = tmp_path / "m.jsonl"
    path.write_bytes(
        b"".join(
            _line(
                1,
                f"c{k}",
                primary={"name": "py", "version": "1", "summary": f"bad top_k {k % 13}"},
                shadow={"name": "rs", "version": "1", "summary": "Ok" if k % 3 else "Err 7"},
            )
            + b"\n"
            for k in range(90)
        )
    )
    monkeypatch.setattr(engine, "_repeats_messages", lambda samples: raw)
    (g,) = review_logs([path]).groups
    assert g.distinct_messages == 2
    assert [(m.primary, m.shadow, m.count) for m in g.messages] == [
        ("bad top_k 1", "Ok", 60),
        ("bad top_k 0", "Err 7", 30),
    ]


def test_values_that_read_like_json_literals_are_checked_from_their_text(
    tmp_path: Path,
) -> None:
    """read_json renders a non-string as its JSON text: ``12345`` and ``"12345"`` look the
    same, so such rows are classified again from the line (the required fields must be
    strings; a severity or source that is not one is missing)."""
    path = tmp_path / "lit.jsonl"
    rows = [
        _line(0, "s1", signature="12345"),  # a string that reads like a number: kept
        _line(0, "n1", signature=12345),  # a number: missing_fields
        _line(0, "b1", call_id=True),
        _line(0, "o1", kind={"a": 1}),
        _line(0, "m1", op="-1.5e3"),  # kept
        _line(1, "v1", severity=5),  # kept, severity missing or not a string
        _line(1, "v2", severity="5"),  # kept, unknown severity
        _line(1, "v3", source=False),  # kept, source defaults to runtime
        _line(1, "v4", source="nightly"),  # kept, as is
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    duck, ref = review_logs([path]), review_logs_python([path])
    assert _core(duck) == _core(ref)
    assert dict(duck.read.skipped) == {"missing_fields": 3}
    problems = {(f, p): n for f, p, n in duck.read.field_problems}
    assert problems[("severity", "missing or not a string")] == 1
    assert problems[("severity", "unknown value (ranks below info)")] == 1
    sources = {src for g in duck.groups for src, _ in g.sources}
    assert {"runtime", "nightly"} <= sources and "false" not in sources


def test_review_resync_is_the_writers_rule() -> None:
    """Whatever the line, review keeps what ``shadow._log.parse_line`` keeps (counted as
    ``torn``), and gives up where it gives up."""
    import random

    from shadow import _log as log
    from shadow._review.resync import RESYNC_MARKER, TORN, parse_line

    assert RESYNC_MARKER == log.RESYNC_MARK
    inner = orjson.loads(_line(1, "inner"))
    nested = _line(0, "a", input={"args": [inner, inner]})
    whole = _line(2, "b")
    rng = random.Random(5)
    lines = [nested[:cut] + whole for cut in range(1, len(nested) - 1, 7)]
    lines += [
        b"\x00" * 300 + whole,
        b"\x0b" + whole,
        whole[:40] + nested[:90] + whole + b" \r\t",
        whole[:40] + whole + b"x",  # no whole line: it does not end with "}"
        nested[:50] + b"}",
        RESYNC_MARKER * 50_000 + b"}",  # bounded work, no event
    ]
    lines += [
        bytes(rng.choice([whole, nested, b"}", b'"', b"\\"])[: rng.randrange(1, 200)])
        + rng.choice([whole, nested])
        for _ in range(200)
    ]
    for line in lines:
        try:
            value, torn = log.parse_line(line)
        except orjson.JSONDecodeError:
            value, torn = None, -1
        parsed = parse_line(line)
        if torn > 0:
            assert parsed.skipped == (TORN,) and parsed.value == value
            assert parsed.text == line[torn:]
        elif torn == 0:
            assert parsed.skipped == () and parsed.value == value
        else:
            assert parsed.value is None and TORN not in parsed.skipped
