"""The gate's two reports: JUnit XML for CI dashboards and Markdown for people.

Kept apart from :mod:`shadow._gate` so the gate's logic can be tested without files, and the
formats changed without touching the logic.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson

from shadow._gate import GateItem, GateResult


def _text(item: GateItem) -> str:
    lines = [
        f"op: {item.op}",
        f"kind: {item.kind} ({item.severity})",
        f"signature: {item.signature}",
    ]
    if item.input is not None:
        lines.append("input: " + _input(item.input))
    lines += list(item.details)
    if item.replay:
        lines.append(f"replay: {item.replay}")
    return "\n".join(lines)


def _input(value: object, limit: int = 4000) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=repr).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def junit_xml(result: GateResult) -> bytes:
    """One ``<testsuite>`` per part (corpus, fuzz, baseline), one ``<testcase>`` per item."""
    root = ET.Element("testsuites", name="shadow gate", time=f"{result.elapsed_s:.3f}")
    suites: dict[str, list[GateItem]] = {"corpus": [], "fuzz": [], "baseline": []}
    for item in result.items:
        suites[item.suite].append(item)
    if result.problems:
        suites.setdefault("setup", [])
    total_failures = 0
    for suite_name, items in suites.items():
        failures = sum(1 for i in items if i.status == "failed")
        if suite_name == "setup":
            failures = len(result.problems)
        skipped = sum(1 for i in items if i.status == "skipped")
        total_failures += failures
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"shadow.{suite_name}",
            tests=str(len(items) if suite_name != "setup" else len(result.problems)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time=f"{sum(i.elapsed_s for i in items):.3f}",
        )
        if suite_name == "setup":
            for i, problem in enumerate(result.problems):
                case = ET.SubElement(suite, "testcase", classname="shadow.setup", name=f"setup-{i}")
                ET.SubElement(case, "failure", message=problem, type="setup").text = problem
            continue
        for item in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"shadow.{item.suite}",
                name=item.name,
                time=f"{item.elapsed_s:.3f}",
            )
            if item.status == "failed":
                failure = ET.SubElement(
                    case, "failure", message=item.message, type=item.kind or "divergence"
                )
                failure.text = _text(item)
            elif item.status == "skipped":
                ET.SubElement(case, "skipped", message=item.message)
            elif item.status == "accepted":
                ET.SubElement(case, "system-out").text = f"accepted: {item.message}"
    root.set("tests", str(sum(len(v) for v in suites.values())))
    root.set("failures", str(total_failures))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def markdown_summary(result: GateResult) -> str:
    verdict = "PASSED" if result.ok else "FAILED"
    lines = [
        f"# shadow gate: {verdict}",
        "",
        f"- target: `{result.target}` ({result.primary} vs {result.shadow})",
        f"- fuzz budget: {result.examples_per_op} examples per op, derandomized",
        f"- wall time: {result.elapsed_s:.1f}s",
    ]
    if result.log is not None:
        lines.append(f"- events: `{result.log}` (`shadow review {result.log}`)")
    lines += ["", "| part | case | status | note |", "| --- | --- | --- | --- |"]
    for item in result.items:
        note = item.message.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {item.suite} | `{item.name}` | {item.status} | {note} |")
    for problem in result.problems:
        lines.append(f"| setup | - | failed | {problem} |")
    if result.fuzz is not None and result.fuzz.results:
        lines += ["", "## Fuzz statistics", "", "| op | examples | s | examples/s | findings |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for r in result.fuzz.results:
            lines.append(
                f"| {r.op} | {r.examples} | {r.elapsed_s:.2f} | {r.examples_per_s:.0f} "
                f"| {len(r.findings)} |"
            )
    failures = result.failures
    if failures:
        lines += ["", "## Failures", ""]
        for item in failures:
            lines += [f"### {item.suite}: `{item.name}`", "", f"- {item.message}"]
            if item.op:
                lines.append(f"- op: `{item.op}`")
            if item.kind:
                lines.append(f"- kind: {item.kind}, severity: {item.severity}")
            if item.signature:
                lines.append(f"- signature: `{item.signature}`")
            for detail in item.details:
                lines.append(f"- {detail}")
            if item.input is not None:
                lines += ["", "Shrunk input:", "", "```json", _input(item.input), "```"]
            if item.replay:
                lines += [
                    "",
                    f"Replay: `{item.replay}`",
                    "",
                    f"Pin it as a regression case: `{item.replay} --save`; or accept it in "
                    f"`shadow-baseline.json` with signature `{item.signature}`, op `{item.op}`, "
                    "a reason and an expiry date.",
                ]
            lines.append("")
    return "\n".join(lines) + "\n"


def write_reports(result: GateResult, junit: Path | None, summary: Path | None) -> None:
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_bytes(junit_xml(result))
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(markdown_summary(result), encoding="utf-8")
