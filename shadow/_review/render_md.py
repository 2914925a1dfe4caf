"""``review.md``: the report a person reads in a terminal, a PR comment or a wiki.

Why this layout: the same content as the page (``review.html``) in the same order, the
verdict first with what was compared, then one table row per distinct problem, durations,
per-op rates, and per-problem details: messages, the smallest input, its replay command and
its diff with the implementations named — so the reader can go from "what broke" to
"reproduce it" top to bottom.  Logged values are shown as in the page and the CLI
(:mod:`shadow._review.show`: invisible characters escaped).
"""

from __future__ import annotations

import re
from pathlib import Path

from shadow._review import format as fmt
from shadow._review.model import Group, Review
from shadow._review.show import (
    VERDICT_LABEL,
    compared,
    diff_lines,
    pretty,
    side_names,
    summary_text,
    verdict_class,
)

_MAX_RUNS = 20
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def _cell(text: str | None) -> str:
    """Logged text as plain Markdown in a table cell: escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", summary_text(text)).replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell_code(text: str | None) -> str:
    """Logged text as inline code in a table cell (GFM: ``\\|`` is a pipe even in code)."""
    return _code(summary_text(text).replace("\n", " ")).replace("|", "\\|")


def _block(text: str, lang: str = "") -> list[str]:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", text, fence]


def _group_details(rank: int, g: Group) -> list[str]:
    names = side_names(g)
    out = [
        f"### {rank}. {_code(summary_text(g.signature))} — {_cell(g.op)} / {_cell(g.kind)}",
        "",
        f"- severity: **{_cell(g.severity)}** (the worst of its events: "
        f"{_cell(fmt.counts(g.severities))})",
        f"- events: {g.count:,}; first seen {_cell(g.first_seen or '?')}, "
        f"last seen {_cell(g.last_seen or '?')}",
        f"- kinds: {_cell(fmt.counts(g.kinds))}; ops: {_cell(fmt.counts(g.ops))}; "
        f"sources: {_cell(fmt.counts(g.sources))}",
    ]
    if g.sides:
        out.append(
            "- implementations: "
            + "; ".join(f"{_cell(s.primary)} vs {_cell(s.shadow)} ({s.count:,})" for s in g.sides)
        )
    if g.messages:
        out += [
            "",
            f"Messages ({len(g.messages)} of {g.distinct_messages:,} distinct; runs of digits "
            "masked when telling them apart):",
            "",
            f"| events | {_cell(names.primary)} | {_cell(names.shadow)} |",
            "| ---: | --- | --- |",
        ]
        out += [
            f"| {m.count:,} | {_cell_code(m.primary or '—')} | {_cell_code(m.shadow or '—')} |"
            for m in g.messages
        ]
    r = g.reproducer
    if r is None:
        out += ["", "No reproducer (no event carried an input).", ""]
        return out
    out += [
        "",
        f"Smallest input: {fmt.size(r.size)}, call {_code(summary_text(r.call_id))} "
        f"({_code(summary_text(r.log_path))} line {r.line_no:,}). Replay it:",
        "",
        *_block(r.replay, "sh"),
        "",
    ]
    for name, info in ((names.primary, r.primary), (names.shadow, r.shadow)):
        if info:
            out.append(f"- {_cell(name)}: {_code(summary_text(str(info.get('summary', ''))))}")
    if r.note:
        out.append(f"- note: {_cell(r.note)}")
    if r.diff:
        out += [
            "",
            f"Diff of this call ({len(r.diff)} of {r.diff_count:,} paths):",
            "",
            *_block("\n".join(diff_lines(r, names))),
        ]
    out.append("")
    if r.input is not None:
        out += [
            "Input (strings quoted and escaped as in the diff; review.json has it exactly):",
            "",
            *_block(pretty(r.input)),
            "",
        ]
    elif r.input_ref:
        out += [f"Input: blob {_code(summary_text(r.input_ref))} next to the log.", ""]
    return out


def _compared(review: Review) -> list[str]:
    """What was compared: implementations, targets, runs, modes and the sampled share."""
    c = compared(review)
    unit = "run" if c.pairs_from_runs else "event"
    pairs = (
        "; ".join(
            f"**{_cell(p)}** (primary) vs **{_cell(s)}** (shadow), {n:,} {unit}"
            + ("s" if n != 1 else "")
            for p, s, n in c.pairs
        )
        or "unknown"
    )
    if c.calls:
        sampled = f"{c.sampled:,} of {c.calls:,} calls ({c.sampled / c.calls:.1%})"
        if c.ops_without_summary:
            sampled += f"; unknown for {_cell(', '.join(c.ops_without_summary))}"
    else:
        sampled = "unknown: no run summary in the logs"
    runs = (
        f"{len(c.run_ids):,}; mode: {_cell(fmt.counts(c.modes))}; "
        f"source: {_cell(fmt.counts(c.sources))}"
        if c.run_ids
        else "no run summary in the logs"
    )
    read = review.read
    out = [
        "| | |",
        "| --- | --- |",
        f"| compared | {pairs} |",
        f"| target | {', '.join(_cell_code(t) for t in c.targets) or 'unknown'} |",
        f"| runs | {runs} |",
        f"| sampled | {sampled} |",
        f"| found | {review.divergences:,} divergence events in {len(review.groups):,} problems "
        f"({review.critical_groups:,} critical); events by severity: "
        f"{_cell(fmt.counts(review.by_severity))} |",
        f"| read | {read.lines:,} lines from {len(read.files):,} log(s); "
        f"{read.skipped_total:,} skipped ({_cell(fmt.counts(read.skipped))}) |",
        "",
    ]
    if review.runs:
        out += [
            "| run | mode | source | primary | shadow | time |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {_cell_code(r.run_id or '?')} | {_cell(r.mode or '?')} | {_cell(r.source or '?')} "
            f"| {_cell(r.primary)} | {_cell(r.shadow)} | {_cell(r.ts or '?')} |"
            for r in review.runs[:_MAX_RUNS]
        ]
        if len(review.runs) > _MAX_RUNS:
            out += ["", f"… {len(review.runs) - _MAX_RUNS:,} more runs in review.json"]
        out.append("")
    return out


def _example(g: Group) -> str:
    if not g.messages:
        return "—"
    names = side_names(g)
    m = g.messages[0]
    return (
        f"{_cell(names.primary)}: {_cell_code(m.primary or '—')}<br>"
        f"{_cell(names.shadow)}: {_cell_code(m.shadow or '—')}"
    )


def render_markdown(review: Review, *, top: int | None = None, image: str | None = None) -> str:
    groups = review.groups if top is None else review.groups[:top]
    read = review.read
    lines = [
        "# Shadow divergence review",
        "",
        f"Generated {review.generated_at} from {len(read.files)} log(s), {read.lines:,} lines.",
        "",
        f"**{VERDICT_LABEL[verdict_class(review)]}** — "
        f"{fmt.verdict(review.critical_groups, len(review.groups))}",
        "",
    ]
    lines += _compared(review)
    if image:
        lines += [
            f"![divergences by op and over time]({image})",
            "",
            "Colour is the op, the same in both charts; severity is written out.",
            "",
        ]
    if not review.groups:
        lines += ["## Problems", "", "No divergence event in the logs: nothing to fix.", ""]
    else:
        shown = (
            f"top {len(groups)} of {len(review.groups)}; review.json lists all"
            if len(groups) < len(review.groups)
            else "all"
        )
        lines += [
            f"## Problems ({shown})",
            "",
            "One row per signature (one cause, many calls), most severe first, then most "
            "frequent; a problem's severity is the worst of its events.",
            "",
            "| # | severity | op | kind | events | first seen | last seen | smallest input "
            "| messages | example (most frequent message) | signature |",
            "| ---: | --- | --- | --- | ---: | --- | --- | ---: | ---: | --- | --- |",
        ]
        for i, g in enumerate(groups, 1):
            r = g.reproducer
            lines.append(
                f"| {i} | {_cell(g.severity)} | {_cell(g.op)} | {_cell(g.kind)} "
                f"| {g.count:,} | {_cell(g.first_seen or '?')} | {_cell(g.last_seen or '?')} "
                f"| {fmt.size(r.size) if r else '—'} | {g.distinct_messages:,} "
                f"| {_example(g)} | {_cell_code(g.signature)} |"
            )
        lines.append("")
    timed = [o for o in review.ops if o.durations and o.durations.timed]
    if timed:
        pairs = compared(review).pairs
        p, s = (_cell(pairs[0][0]), _cell(pairs[0][1])) if len(pairs) == 1 else ("", "")
        p_label = f"primary ({p})" if p else "primary"
        s_label = f"shadow ({s})" if s else "shadow"
        lines += [
            "## Primary vs shadow durations",
            "",
            "Over the divergence events of each op (the calls that diverged, not all calls), "
            "from log-scale histograms: each value within about 1%. The ratio is taken per "
            "call: 0.2x means the shadow took a fifth of the primary's time.",
            "",
            f"| op | timed events | {p_label} median | {p_label} p95 | {s_label} median "
            f"| {s_label} p95 | ratio median | ratio p95 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for o in timed:
            d = o.durations
            assert d is not None
            lines.append(
                f"| {_cell(o.op)} | {d.timed:,} | {fmt.seconds(d.primary_median)} "
                f"| {fmt.seconds(d.primary_p95)} | {fmt.seconds(d.shadow_median)} "
                f"| {fmt.seconds(d.shadow_p95)} | {fmt.ratio(d.ratio_median)} "
                f"| {fmt.ratio(d.ratio_p95)} |"
            )
        lines.append("")
    if review.ops:
        lines += [
            "## Per op",
            "",
            "Sampled calls and rates come from the logs' `run_summary` events (summed over "
            "runs); *unknown* means no run summary covered the op.",
            "",
            "| op | divergence events | critical | runs | calls | sampled | tolerated | diverged "
            "| divergence rate |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for o in review.ops:
            lines.append(
                f"| {_cell(o.op)} | {o.divergences:,} | {o.critical:,} | {o.runs:,} "
                f"| {fmt.num(o.calls)} | {fmt.num(o.sampled)} | {fmt.num(o.tolerated)} "
                f"| {fmt.num(o.diverged)} | {fmt.rate(o)} |"
            )
        lines.append("")
    if groups:
        lines += ["## Details", ""]
        for i, g in enumerate(groups, 1):
            lines += _group_details(i, g)
    if read.field_problems or read.file_problems:
        lines += ["## Bad fields and files", ""]
        lines += [
            "Events with a bad field still count; the field is left out where it cannot be "
            "used (an unparsable time is not on the timeline, a bad blob path has no input).",
            "",
        ]
        if read.field_problems:
            lines += ["| field | problem | events |", "| --- | --- | ---: |"]
            lines += [
                f"| {_cell_code(f)} | {_cell(p)} | {n:,} |" for f, p, n in read.field_problems
            ]
            lines.append("")
        for file, problem in read.file_problems:
            lines.append(f"- {_code(summary_text(file))}: {_cell(problem)}")
        if read.file_problems:
            lines.append("")
    lines += ["## Skipped lines", ""]
    if read.skipped:
        lines += ["| reason | lines |", "| --- | ---: |"]
        lines += [f"| {_cell(reason)} | {n:,} |" for reason, n in read.skipped]
    else:
        lines.append("None: every line was a shadow event.")
    lines += ["", "Logs read:", ""] + [f"- {_code(summary_text(f))}" for f in read.files] + [""]
    return "\n".join(lines)


def write_markdown(
    review: Review, path: Path, *, top: int | None = None, image: str | None = None
) -> Path:
    path.write_text(render_markdown(review, top=top, image=image), encoding="utf-8")
    return path
