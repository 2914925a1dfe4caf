"""The reports of ``shadow verify``: JUnit XML for CI dashboards and Markdown for people.

Kept apart from :mod:`shadow._verify` (as the gate's are from the gate) so the engine can be
tested without files and the formats changed without touching it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from shadow._display import visible
from shadow._verify import UNCHECKED_REASONS, Group, OpTally, VerifyResult


def verdict(result: VerifyResult) -> str:
    return {0: "PASSED", 1: "FAILED"}.get(result.exit_code, "COULD NOT CHECK")


def recorded_by(result: VerifyResult) -> str:
    return ", ".join(f"{name} ({n} calls)" for name, n in result.recorded_by) or "nobody"


def diff_line(entry: object, primary: str, shadow: str) -> str:
    if not isinstance(entry, dict):
        return visible(entry, 240)
    return (
        f"{entry.get('path')}: {primary}={visible(entry.get('primary'), 100)} "
        f"{shadow}={visible(entry.get('shadow'), 100)}"
    )


def op_message(t: OpTally) -> str:
    parts = [f"{t.calls} calls"]
    if t.diverged_calls:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(t.diverged.items()))
        parts.append(f"{t.diverged_calls} diverged ({kinds})")
    parts.append(f"{t.matched} matched")
    if t.tolerated:
        parts.append(f"{t.tolerated} within tolerance")
    if t.unchecked:
        parts.append(f"{t.unchecked} not checked")
    return ", ".join(parts)


def group_lines(group: Group, result: VerifyResult) -> list[str]:
    f = group.first
    recorded = f" (recorded call {f.recorded_call_id})" if f.recorded_call_id else ""
    lines = [
        f"{group.severity} {group.kind} x{group.count}, signature {group.signature}; "
        f"first: call {f.call_id}{recorded} in {f.recording}"
    ]
    primary = result.recorded_by[0][0] if len(result.recorded_by) == 1 else "recorded"
    lines += ["  " + diff_line(d, primary, result.shadow.name) for d in f.diff]
    if f.replay:
        lines.append(f"  replay: {f.replay}")
    return lines


def junit_xml(result: VerifyResult) -> bytes:
    """One ``<testcase>`` per op (failed: it diverged; error: calls not checked)."""
    root = ET.Element("testsuites", name="shadow verify", time=f"{result.elapsed_s:.3f}")
    failures = errors = 0
    suite = ET.SubElement(root, "testsuite", name="shadow.verify")
    by_op: dict[str, list[Group]] = {}
    for group in result.groups:
        by_op.setdefault(group.op, []).append(group)
    for op, t in result.tallies.items():
        case = ET.SubElement(suite, "testcase", classname="shadow.verify", name=op)
        if t.diverged_calls:
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=op_message(t), type=",".join(sorted(t.diverged))
            )
            failure.text = "\n".join(
                line for g in by_op.get(op, []) for line in group_lines(g, result)
            )
        elif t.unchecked:
            errors += 1
            ET.SubElement(case, "error", message=op_message(t), type="not_checked")
        else:
            ET.SubElement(case, "system-out").text = op_message(t)
    skipped = result.skipped_lines
    if skipped:
        text = ", ".join(f"{why} {n}" for why, n in sorted(skipped.items()))
        ET.SubElement(suite, "system-err").text = f"lines skipped in the recordings: {text}"
    for element in (suite, root):
        element.set("tests", str(len(result.tallies)))
        element.set("failures", str(failures))
        element.set("errors", str(errors))
    suite.set("time", f"{result.elapsed_s:.3f}")
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_summary(result: VerifyResult) -> str:
    lines = [
        f"# shadow verify: {verdict(result)}",
        "",
        f"- target: `{result.target}`",
        f"- recorded by: {recorded_by(result)}",
        f"- verified on: {result.shadow.name} {result.shadow.version} ({result.isolation} "
        f"isolation, {result.workers} worker(s))",
        f"- calls: {result.calls} read, {result.checked} checked, {result.diverged_calls} "
        f"diverged, {result.unchecked_total} not checked",
        f"- wall time: {result.elapsed_s:.1f}s",
    ]
    if result.log is not None:
        lines.append(f"- events: `{result.log}` (`shadow review {result.log}`)")
    lines += [
        "",
        "## Recordings",
        "",
        "| recording | lines | calls | skipped lines | recorder said |",
    ]
    lines.append("| --- | ---: | ---: | --- | --- |")
    for scan in result.scans:
        skipped = ", ".join(f"{w} {n}" for w, n in sorted(scan.skipped.items())) or "-"
        said = "-"
        if scan.summaries:
            said = f"{scan.recorded} recorded"
            if scan.not_recorded_whole:
                said += f", {scan.not_recorded_whole} not recorded whole"
        lines.append(f"| `{scan.path}` | {scan.lines} | {scan.calls} | {skipped} | {said} |")
    lines += [
        "",
        "## Ops",
        "",
        "| op | calls | matched | tolerated | diverged | not checked |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for op, t in result.tallies.items():
        lines.append(
            f"| {op} | {t.calls} | {t.matched} | {t.tolerated} | {t.diverged_calls} "
            f"| {t.unchecked} |"
        )
    groups = result.groups
    if groups:
        lines += ["", f"## Divergences ({len(groups)} group(s))", ""]
        for g in groups:
            lines += [f"### `{g.op}` {g.kind} ({g.severity}) x{g.count}", ""]
            lines += [f"- signature: `{g.signature}`"]
            lines += [f"- first call: `{g.first.call_id}` in `{g.first.recording}`"]
            if g.first.recorded_call_id:
                lines.append(f"- recorded call: `{g.first.recorded_call_id}`")
            primary = result.recorded_by[0][0] if len(result.recorded_by) == 1 else "recorded"
            for d in g.first.diff:
                lines.append(f"- `{_cell(diff_line(d, primary, result.shadow.name))}`")
            if g.first.replay:
                lines += ["", f"Replay: `{g.first.replay}`"]
            lines.append("")
    if result.unchecked:
        lines += ["", "## Not checked", "", "| reason | calls | example |", "| --- | ---: | --- |"]
        for reason, n in sorted(result.unchecked.items()):
            example = next((u for u in result.examples if u.reason == reason), None)
            text = UNCHECKED_REASONS.get(reason, reason)
            shown = "-"
            if example is not None:
                shown = f"{example.recorded_call_id or '#' + str(example.index)}: {example.detail}"
            lines.append(f"| {_cell(text)} | {n} | {_cell(shown)} |")
    return "\n".join(lines) + "\n"


def write_reports(result: VerifyResult, junit: Path | None, summary: Path | None) -> None:
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_bytes(junit_xml(result))
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(markdown_summary(result), encoding="utf-8")
