"""The gate's corpus and baseline rules, on a generic target (two interval mergers).

A finding added to the corpus stays checked: with a divergent implementation it fails the
gate; accepted by an unexpired baseline entry it passes; once the entry expires it fails.
JUnit XML and the Markdown summary name the failure, its input and its replay command.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import orjson
import pytest

from docs.examples.intervals import TARGET
from shadow._baseline import Accepted, write_baseline
from shadow._gate import GateConfig, run_gate
from shadow._gate_report import junit_xml, markdown_summary, write_reports
from tests.gate_helpers import touching_case

TODAY = date(2026, 6, 1)


def _config(tmp_path: Path, shadow: str, **kw: object) -> GateConfig:
    base = dict(
        corpus=tmp_path / "corpus",
        baseline=tmp_path / "baseline.json",
        examples=50,
        log=tmp_path / "gate.jsonl",
        shadow=shadow,
        today=TODAY,
        fuzz=False,
    )
    base.update(kw)
    return GateConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    touching_case(tmp_path / "corpus")
    return tmp_path / "corpus"


def test_corpus_case_passes_with_a_correct_port(tmp_path: Path, corpus: Path) -> None:
    result = run_gate(TARGET, _config(tmp_path, "sweep"))
    assert result.ok
    assert [(i.suite, i.status) for i in result.items] == [("corpus", "passed")]


def test_divergent_corpus_case_fails_the_gate(tmp_path: Path, corpus: Path) -> None:
    result = run_gate(TARGET, _config(tmp_path, "off_by_one"))
    assert not result.ok
    (item,) = result.failures
    assert item.suite == "corpus" and item.op == "merge" and item.kind == "value_mismatch"
    assert item.replay and item.replay.startswith("shadow replay ")
    events = [orjson.loads(line) for line in (tmp_path / "gate.jsonl").read_bytes().splitlines()]
    assert events[0]["source"] == "corpus" and events[0]["signature"] == item.signature


def _accept(tmp_path: Path, corpus: Path, expires: date) -> str:
    signature = run_gate(TARGET, _config(tmp_path, "off_by_one")).failures[0].signature
    assert signature
    write_baseline(
        tmp_path / "baseline.json",
        [Accepted(signature, "merge", "port tracked in #1", expires)],
    )
    return signature


def test_accepted_divergence_passes_until_it_expires(tmp_path: Path, corpus: Path) -> None:
    _accept(tmp_path, corpus, TODAY)  # expires today: still valid today
    result = run_gate(TARGET, _config(tmp_path, "off_by_one"))
    assert result.ok, result.failures
    assert [i.status for i in result.items] == ["accepted"]


def test_expired_acceptance_fails(tmp_path: Path, corpus: Path) -> None:
    _accept(tmp_path, corpus, date(2026, 5, 31))
    result = run_gate(TARGET, _config(tmp_path, "off_by_one"))
    assert not result.ok
    suites = sorted(i.suite for i in result.failures)
    assert suites == ["baseline", "corpus"]  # the entry itself and the case it no longer covers


def test_expired_entry_fails_even_when_fixed(tmp_path: Path, corpus: Path) -> None:
    _accept(tmp_path, corpus, date(2026, 5, 31))
    result = run_gate(TARGET, _config(tmp_path, "sweep"))
    assert [i.suite for i in result.failures] == ["baseline"]


def test_malformed_baseline_fails(tmp_path: Path, corpus: Path) -> None:
    (tmp_path / "baseline.json").write_text('{"schema": "shadow.baseline/1", "accepted": [{}]}')
    result = run_gate(TARGET, _config(tmp_path, "sweep"))
    assert not result.ok and result.problems


def test_junit_and_markdown_name_the_failure(tmp_path: Path, corpus: Path) -> None:
    result = run_gate(TARGET, _config(tmp_path, "off_by_one", fuzz=True))
    junit, summary = tmp_path / "junit.xml", tmp_path / "gate.md"
    write_reports(result, junit, summary)
    root = ET.fromstring(junit.read_bytes())  # valid XML
    assert root.tag == "testsuites"
    cases = root.findall(".//testcase")
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert any(cls == "shadow.fuzz" and name.startswith("merge/") for cls, name in names)
    assert any(cls == "shadow.corpus" for cls, _ in names)
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == 2 == int(root.get("failures", "0"))
    text = failed[0].find("failure").text or ""  # type: ignore[union-attr]
    assert "op: merge" in text and "replay: shadow replay" in text and "input:" in text
    md = summary.read_text()
    assert md.startswith("# shadow gate: FAILED")
    assert "Shrunk input" in md and "shadow replay" in md and "`merge`" in md
    assert junit_xml(result) == junit.read_bytes() and markdown_summary(result) == md


def test_junit_of_a_passing_gate_has_no_failures(tmp_path: Path, corpus: Path) -> None:
    result = run_gate(TARGET, _config(tmp_path, "sweep", fuzz=True))
    root = ET.fromstring(junit_xml(result))
    assert root.get("failures") == "0" and not root.findall(".//failure")
    assert len(root.findall(".//testcase")) == 2  # one corpus case, one op


def test_repository_corpus_replays_clean() -> None:
    """The project's own corpus (tests/corpus), on the real pair when Rust is built."""
    from runners.shadow_t2 import TARGET as T2
    from tests.conftest import PROJECT_ROOT, rust_required

    try:
        T2.make("rust")
        shadow = "rust"
    except ImportError:
        if rust_required():
            raise
        shadow = "python"
    config = GateConfig(
        corpus=PROJECT_ROOT / "tests" / "corpus",
        baseline=PROJECT_ROOT / "shadow-baseline.json",
        log=None,
        shadow=shadow,
        fuzz=False,
    )
    result = run_gate(T2, config)
    corpus_items = [i for i in result.items if i.suite == "corpus"]
    assert len(corpus_items) >= 10
    assert result.ok, [(i.name, i.message) for i in result.failures]
