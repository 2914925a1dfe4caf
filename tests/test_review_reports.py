"""Reader robustness, grouping details, the reports and CLI exit codes.

The page in a real browser: ``tests/test_review_browser.py``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from test_review_support import GARBAGE, N_SIGNATURES, event, severity_of, write_log

from shadow._cli import main
from shadow._review.groups import review_logs
from shadow._review.reader import ReadStats, iter_events
from shadow._review.render_html import render_html
from shadow._review.render_md import render_markdown
from shadow._review.report import write_reports


@pytest.fixture(scope="module")
def mixed_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("mixed") / "shadow.jsonl"
    exp = write_log(path, 5_000, garbage_every=50)
    with path.open("ab") as f:  # a crash mid-write: the last line has no newline
        f.write(b'{"schema":"shadow.event/1","event":"divergence","call_id":"cut')
    exp.garbage["truncated"] += 1
    return path, exp


def test_garbage_is_counted_by_reason_and_groups_stay_right(mixed_log: tuple[Path, object]) -> None:
    path, exp = mixed_log
    review = review_logs([path])
    assert {g.signature: g.count for g in review.groups} == dict(exp.counts)  # type: ignore[attr-defined]
    assert dict(review.read.skipped) == dict(exp.garbage)  # type: ignore[attr-defined]
    assert set(dict(review.read.skipped)) == {reason for reason, _ in GARBAGE}
    assert len(review.groups) == N_SIGNATURES


def test_every_junk_kind_alone_never_crashes(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(
        b"\n".join(j for _, j in GARBAGE) + b"\n" + b"\x00" * 100 + b"\n" + b'"just a string"\n'
    )
    stats = ReadStats()
    assert list(iter_events([path], stats)) == []
    assert stats.lines == len(GARBAGE) + 2
    assert sum(stats.skipped.values()) == stats.lines


def test_oversized_line_is_skipped_in_bounded_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shadow._review import prescan, reader

    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(prescan, "MAX_LINE_BYTES", 1000)
    line = orjson.dumps(event(1, 0, "2025-01-01T00:00:00.000000Z", "c1", "r")) + b"\n"
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 5000 + b"\n" + line)
    review = review_logs([path])
    assert dict(review.read.skipped) == {"oversized": 1}
    assert review.divergences == 1


def test_gzip_logs_and_duplicate_paths(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    exp = write_log(plain, 300)
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    review = review_logs([plain, gz, plain])  # the repeated path is read once
    assert {g.signature: g.count for g in review.groups} == {
        k: 2 * v for k, v in exp.counts.items()
    }
    assert review.duplicate_summaries == 4  # the same run ids summarized in both files


def test_group_fields(mixed_log: tuple[Path, object]) -> None:
    path, exp = mixed_log
    review = review_logs([path])
    ranks = [{"critical": 2, "minor": 1, "info": 0}[g.severity] for g in review.groups]
    assert ranks == sorted(ranks, reverse=True)
    for g in review.groups:
        i = int(g.signature, 16) - 0xA5A5_0000_0000_0000
        i //= 0x1_0001
        assert g.severity == severity_of(i)
        assert g.first_seen == exp.first_ts[g.signature]  # type: ignore[attr-defined]
        assert g.reproducer is not None
        assert g.reproducer.call_id == exp.smallest_call[g.signature]  # type: ignore[attr-defined]
        assert g.reproducer.input["args"][0] == [float(i), float(i + 1)]
        assert g.reproducer.replay == (  # not the project's target: named explicitly
            f"shadow replay {path} --call {g.reproducer.call_id} --target tests.toy:TARGET"
        )
        assert g.reproducer.diff[0]["path"] == f"[{i}].score"
    assert all(o.sampled is not None and o.rate == pytest.approx(0.1) for o in review.ops)


def test_rates_unknown_without_run_summary(tmp_path: Path) -> None:
    path = tmp_path / "nosummary.jsonl"
    path.write_bytes(orjson.dumps(event(3, 0, "2025-01-01T00:00:00.000000Z", "c1", "r")) + b"\n")
    review = review_logs([path])
    (op,) = review.ops
    assert op.sampled is None and op.rate is None
    assert "unknown" in render_markdown(review)


def test_reports_contents(mixed_log: tuple[Path, object], tmp_path: Path) -> None:
    path, exp = mixed_log
    review = review_logs([path])
    paths = write_reports(review, tmp_path / "out", top=5)

    md = paths.markdown.read_text()
    assert md.startswith("# Shadow divergence review")
    assert (
        "CRITICAL:" in md
        and "## Problems (top 5 of 20; review.json lists all)" in md
        and "## Per op" in md
    )
    top = review.groups[0]
    assert f"`{top.signature}`" in md and top.reproducer is not None
    assert top.reproducer.replay in md
    assert "| truncated |" in md and "![divergences by op and over time](review.svg)" in md

    doc = json.loads(paths.json.read_text())
    assert doc["schema"] == "shadow.review/1"
    assert len(doc["groups"]) == N_SIGNATURES  # json lists all groups whatever --top says
    assert doc["totals"]["critical_groups"] == sum(
        1 for i in range(20) if severity_of(i) == "critical"
    )
    assert doc["read"]["skipped"] == dict(exp.garbage)  # type: ignore[attr-defined]
    assert doc["groups"][0]["smallest"]["input"] == top.reproducer.input

    html = paths.html.read_text()
    assert "<table" in html and html.count("<tr") > 20
    assert "http://" not in html and "https://" not in html and "<img" not in html
    assert html.count('<svg class="chart"') == 2  # four ops, hours of events: both charts
    assert paths.svg is not None
    svg = paths.svg.read_text()
    assert svg.startswith("<?xml") and svg.count('class="chart"') == 2


def test_html_escapes_logged_strings(tmp_path: Path) -> None:
    ev = event(2, 0, "2025-01-01T00:00:00.000000Z", "<script>alert(1)</script>", "r")
    ev["op"] = "<b>op</b>"
    path = tmp_path / "x.jsonl"
    path.write_bytes(orjson.dumps(ev) + b"\n")
    html = render_html(review_logs([path]))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>op</b>" not in html and "&lt;b&gt;op&lt;/b&gt;" in html


# ------------------------------------------------------------------------------ CLI


def _line(i: int, call: str, **over: object) -> bytes:
    ev = event(i, 0, "2025-01-01T00:00:00.000000Z", call, "r")
    ev.update(over)
    return orjson.dumps(ev) + b"\n"


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out")
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(
        b'{"level":"info","msg":"only other programs here"}\n'
        b'{"schema":"shadow.event/1","event":"run_summary","run_id":"r","counters":{}}\n'
    )
    minor = tmp_path / "minor.jsonl"
    minor.write_bytes(_line(1, "m1", severity="minor"))
    critical = tmp_path / "critical.jsonl"
    critical.write_bytes(_line(0, "c1", severity="critical") + _line(1, "m1", severity="minor"))

    assert main(["review", str(clean), "--out", out]) == 0
    assert "No divergence found." in capsys.readouterr().out
    assert main(["review", str(minor), "--out", out, "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["review", str(minor), "--out", out, "--quiet", "--fail-on", "minor"]) == 1
    assert main(["review", str(critical), "--out", out]) == 1
    printed = capsys.readouterr().out
    assert "CRITICAL" in printed and "shadow replay" in printed
    assert main(["review", str(tmp_path / "missing.jsonl"), "--out", out]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["review", str(tmp_path), "--out", out]) == 1  # a directory: its logs
    with pytest.raises(SystemExit) as exc:
        main(["review", str(critical), "--top", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["review"])
    assert exc.value.code == 2
