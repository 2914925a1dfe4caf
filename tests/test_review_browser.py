"""The review page as a person sees it: a real run with divergences, rendered by Chromium.

A toy target with a deliberately wrong port (``tests/review_toy.py``) runs through the
dispatcher; its log is reviewed and ``review.html`` is loaded in headless Chromium.  The
checks read the DOM *after* the page's JavaScript ran (``--dump-dom``): the banner, the
problem rows, the SVG charts, the filter and the sort driven by the address fragment.  A
screenshot is kept in ``reports/review-screenshot.png`` for people to look at.

Under ``CI`` a missing Chromium fails these tests (``.ci/run`` installs it); elsewhere they
skip with the reason.  The page tests that need no browser run everywhere.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from shadow._dispatcher import Dispatcher
from shadow._review.groups import review_logs
from shadow._review.render_html import render_html
from shadow._review.render_md import render_markdown
from shadow._review.report import write_reports
from tests.review_toy import TARGET, ZWSP

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "reports" / "review-screenshot.png"
WINDOW = (1400, 2200)

# ------------------------------------------------------------------------ a tiny DOM

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    content: list[Node | str] = field(default_factory=list)  # in document order

    @property
    def children(self) -> list[Node]:
        return [c for c in self.content if isinstance(c, Node)]

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.content)

    def iter(self) -> list[Node]:
        out = [self]
        for c in self.children:
            out += c.iter()
        return out

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def by_id(self, ident: str) -> Node:
        (node,) = self.find_all(id=ident)
        return node

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].content.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].content.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def problem_rows(dom: Node) -> list[Node]:
    (tbody,) = dom.by_id("problems-table").find_all("tbody")
    return tbody.find_all("tr")


def visible_rows(dom: Node) -> list[tuple[str, str, str]]:
    return [
        (r.attrs["data-severity"], r.attrs["data-op"], r.attrs["data-kind"])
        for r in problem_rows(dom)
        if "hidden" not in r.attrs
    ]


# ------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class Page:
    log: Path
    html: Path
    run_id: str


def _run_toy(log: Path) -> str:
    """Two batches of calls a second apart (two timeline buckets); some calls agree."""
    with Dispatcher(TARGET, log=log, timeout_s=None) as d:
        port = d.wrap()
        for batch in range(2):
            port.normalize_ids(["a" + ZWSP, "b"])
            port.normalize_ids([" x ", "y" + ZWSP * 2 + "z"])
            port.normalize_ids(["ok"])
            port.mean([1.0, 2.0, 2.0 / 3])
            port.mean([0.1, 0.2])
            port.mean([])
            port.mean([4.0])
            if batch == 0:
                time.sleep(1.1)
        return d.run_id


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Page:
    tmp = tmp_path_factory.mktemp("page")
    log = tmp / "shadow.jsonl"
    run_id = _run_toy(log)
    paths = write_reports(review_logs([log]), tmp / "review")
    assert paths.svg is not None and paths.svg.exists()
    return Page(log, paths.html, run_id)


# ------------------------------------------------------------------------ Chromium


def chromium() -> str:
    binary = next(
        (
            b
            for b in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
            if shutil.which(b)
        ),
        None,
    )
    if binary is None:
        reason = "chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI"):  # .ci/run installs it: under CI this fails, never skips
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def run_chromium(binary: str, tmp: Path, *args: str) -> bytes:
    """Headless Chromium on a local file; no network is involved."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        pytest.fail(f"chromium exited with {done.returncode}: " + " | ".join(tail))
    return done.stdout


def dom_after_js(binary: str, tmp: Path, html: Path, fragment: str = "") -> Node:
    out = run_chromium(binary, tmp, "--dump-dom", html.resolve().as_uri() + fragment)
    dom = parse(out.decode("utf-8"))
    (body,) = dom.find_all("body")
    assert body.attrs.get("data-filters") == "ready", "the page's script did not run"
    return dom


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ------------------------------------------------------------------------ browser tests


def test_banner_rows_and_charts_after_javascript(page: Page, tmp_path: Path) -> None:
    dom = dom_after_js(chromium(), tmp_path, page.html)

    banner = dom.by_id("verdict")
    assert "critical" in banner.classes
    text = " ".join(banner.text.split())
    assert "Critical problems found" in text
    assert "CRITICAL: 2 of 3 problems change a decision." in text
    assert "reference 1.0 (primary) vs faulty_port 0.3.1 (shadow)" in text
    assert "tests.review_toy:TARGET" in text and page.run_id in text
    assert "mode: sync 1" in text and "14 of 14 calls (100.0%)" in text

    assert visible_rows(dom) == [
        ("critical", "normalize_ids", "value_mismatch"),
        ("critical", "mean", "shadow_error_only"),
        ("minor", "mean", "value_mismatch"),
    ]
    assert dom.by_id("filter-status").text == "Showing 3 of 3 problems."
    assert "hidden" not in dom.by_id("filters").attrs  # the script shows the controls

    # Both charts are inline SVG; one colour per op, the same in both charts.
    ops_svg = dom.by_id("chart-ops").find_all("svg")[0]
    bars = {g.attrs["data-op"]: g.find_all("rect")[0].attrs["fill"] for g in ops_svg.find_all("g")}
    assert set(bars) == {"mean", "normalize_ids"} and len(set(bars.values())) == 2
    timeline = dom.by_id("chart-timeline").find_all("svg")[0]
    assert "1 s buckets" in timeline.find_all("title")[0].text
    fills = {r.attrs["fill"] for r in timeline.find_all("rect")}
    assert set(bars.values()) <= fills

    # Examples: messages with counts, the replay command, diff lines naming the sides,
    # the zero-width space escaped the same way in the diff and in the input.
    details = dom.by_id("g-1")
    assert "open" in details.attrs
    (diff,) = details.find_all("pre", class_="diff")
    assert diff.text == "root[0]: reference='a\\u200b' faulty_port='a'"
    (given,) = details.find_all("pre", class_="input")
    assert "'a\\u200b'" in given.text and ZWSP not in given.text
    messages = details.find_all("table", class_="messages")[0].find_all("tr")
    assert len(messages) == 1 + 2  # header, and the two distinct messages
    (replay,) = details.find_all("pre", class_="replay")
    assert replay.text.startswith("shadow replay ") and "--target tests.review_toy:TARGET" in (
        replay.text
    )


def test_filter_and_sort_from_the_address(page: Page, tmp_path: Path) -> None:
    binary = chromium()
    dom = dom_after_js(binary, tmp_path, page.html, "#severity=critical&sort=size")
    # sizes: the empty list (25 B) before ['a\u200b', 'b'] (35 B); the minor row hidden
    assert visible_rows(dom) == [
        ("critical", "mean", "shadow_error_only"),
        ("critical", "normalize_ids", "value_mismatch"),
    ]
    assert dom.by_id("filter-status").text == "Showing 2 of 3 problems (severity = critical)."
    hidden_details = [d.attrs["id"] for d in dom.find_all("details") if "hidden" in d.attrs]
    assert hidden_details == ["g-3"]  # the minor problem's details are filtered out too
    (size_head,) = dom.by_id("problems-table").find_all("th", **{"data-key": "size"})
    assert size_head.attrs["aria-sort"] == "ascending"

    dom = dom_after_js(binary, tmp_path, page.html, "#op=mean&q=EMPTY")
    assert visible_rows(dom) == [("critical", "mean", "shadow_error_only")]

    dom = dom_after_js(binary, tmp_path, page.html, "#kind=no_such_kind")
    assert visible_rows(dom) == []
    assert dom.by_id("filter-status").text.startswith("Showing 0 of 3 problems")


def test_screenshot_is_kept_in_reports(page: Page, tmp_path: Path) -> None:
    binary = chromium()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    run_chromium(binary, tmp_path, size, f"--screenshot={SCREENSHOT}", page.html.resolve().as_uri())
    blank = tmp_path / "blank.png"
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><title>blank</title>")
    run_chromium(binary, tmp_path, size, f"--screenshot={blank}", empty.resolve().as_uri())
    data = SCREENSHOT.read_bytes()
    assert png_size(data) == WINDOW
    # A flat page compresses to almost nothing; the review (text, tables, charts) does not.
    assert len(data) > 10 * len(blank.read_bytes()), (len(data), len(blank.read_bytes()))


# ------------------------------------------------------------------------ no browser needed


def test_without_javascript_everything_is_listed(page: Page) -> None:
    """What a browser with scripts off shows is the markup itself."""
    dom = parse(page.html.read_text())
    assert "hidden" in dom.by_id("filters").attrs  # controls that cannot work are not shown
    assert len(visible_rows(dom)) == 3
    assert not [d for d in dom.find_all("details") if "hidden" in d.attrs]
    text = page.html.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert "<img" not in text and "src=" not in text


def _clean_log(path: Path, ops: dict[str, int]) -> Path:
    summary = {
        "schema": "shadow.event/1",
        "event": "run_summary",
        "ts": "2025-01-01T00:00:00.000000Z",
        "run_id": "r1",
        "target": "tests.review_toy:TARGET",
        "mode": "async",
        "source": "runtime",
        "primary": {"name": "reference", "version": "1.0"},
        "shadow": {"name": "faulty_port", "version": "0.3.1"},
        "counters": {
            op: {"calls": n, "sampled": n // 2, "matched": n // 2, "diverged": {}, "skipped": 0}
            for op, n in ops.items()
        },
    }
    path.write_bytes(orjson.dumps(summary) + b"\n")
    return path


def test_clean_review_shows_no_chart(tmp_path: Path) -> None:
    review = review_logs([_clean_log(tmp_path / "clean.jsonl", {"mean": 10, "normalize_ids": 4})])
    paths = write_reports(review, tmp_path / "out")
    dom = parse(paths.html.read_text())
    assert "clean" in dom.by_id("verdict").classes
    assert "Clean: no divergence" in dom.by_id("verdict").text
    assert "7 of 14 calls (50.0%)" in dom.by_id("verdict").text
    assert not dom.find_all("svg") and not dom.find_all(id="charts")
    assert not dom.find_all(id="problems-table")
    assert paths.svg is None and not (tmp_path / "out" / "review.svg").exists()
    assert "review.svg" not in paths.markdown.read_text()


def test_one_op_has_no_per_op_chart_and_one_bucket_no_timeline(tmp_path: Path) -> None:
    log = tmp_path / "one.jsonl"
    with Dispatcher(TARGET, log=log, timeout_s=None) as d:
        d.wrap().mean([])
    dom = parse(render_html(review_logs([log])))
    assert not dom.find_all("svg")  # one op, one second: nothing a chart would add
    (row,) = problem_rows(dom)
    assert row.attrs["data-severity"] == "critical"


def test_stale_svg_is_removed(page: Page, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "review.svg").write_text("<svg/>")
    write_reports(review_logs([_clean_log(tmp_path / "c.jsonl", {"mean": 2})]), out)
    assert not (out / "review.svg").exists()


def test_markdown_has_the_same_content(page: Page) -> None:
    md = render_markdown(review_logs([page.log]))
    assert "**Critical problems found** — CRITICAL: 2 of 3 problems change a decision." in md
    assert "**reference 1.0** (primary) vs **faulty_port 0.3.1** (shadow), 1 run" in md
    assert "root[0]: reference='a\\u200b' faulty_port='a'" in md
    assert "{'args': [['a\\u200b', 'b']], 'kwargs': {}}" in md
    assert "| events | reference | faulty_port |" in md
    assert "| 2 | `0.0` | `ValueError: mean of an empty list` |" in md
    assert "## Primary vs shadow durations" in md and ZWSP not in md


def test_reports_need_no_plotting_library(page: Page, tmp_path: Path) -> None:
    """``shadow`` installs without matplotlib: the review must not import it."""
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None  # any import of it now raises ImportError\n"
        "from shadow._cli import main\n"
        f"sys.exit(main(['review', {str(page.log)!r}, '--out', {str(tmp_path)!r}, '--quiet']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 1, done.stderr  # critical problems found, reports written
    assert (tmp_path / "review.svg").exists() and (tmp_path / "review.html").exists()
