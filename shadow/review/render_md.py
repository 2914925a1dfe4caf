"""``review.md``: the report a person reads in a terminal, a PR comment or a wiki.

Why this layout: the verdict first (is anything critical?), then one table row per distinct
problem with its one-line replay command, then per-op rates, then per-problem details with
the smallest input, so the reader can go from "what broke" to "reproduce it" top to bottom.
"""

from __future__ import annotations

from pathlib import Path

from shadow.review import format as fmt
from shadow.review.groups import Group, Review


def _cell(text: str) -> str:
    """Escape what would break a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks inside the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _group_details(rank: int, g: Group) -> list[str]:
    out = [
        f"### {rank}. `{g.signature}` — {g.op} / {g.kind}",
        "",
        f"- severity: **{g.severity}** ({fmt.counts(g.severities)})",
        f"- events: {g.count:,}; first seen {g.first_seen or '?'}, last seen {g.last_seen or '?'}",
        f"- kinds: {fmt.counts(g.kinds)}; ops: {fmt.counts(g.ops)}; "
        f"sources: {fmt.counts(g.sources)}",
    ]
    r = g.reproducer
    if r is None:
        out += ["", "No reproducer (no event carried an input).", ""]
        return out
    out += [
        f"- smallest input: {fmt.size(r.size)}, call `{r.call_id}` "
        f"(`{r.log_path}` line {r.line_no})",
        f"- replay: {_code(r.replay)}",
    ]
    for side, info in (("primary", r.primary), ("shadow", r.shadow)):
        if info:
            out.append(
                f"- {side}: {info.get('name', '?')} {info.get('version', '')} — "
                f"{_code(str(info.get('summary', '')))}"
            )
    if r.diff:
        out += [
            "",
            f"Sample diff ({len(r.diff)} of {r.diff_count} paths):",
            "",
            "| path | primary | shadow |",
            "| --- | --- | --- |",
        ]
        out += [
            f"| {_cell(_code(str(e.get('path', '?'))))} | {_cell(fmt.compact(e.get('primary')))} "
            f"| {_cell(fmt.compact(e.get('shadow')))} |"
            for e in r.diff
        ]
    out.append("")
    if r.input is not None:
        out += ["Input:", "", "```json", fmt.pretty(r.input), "```", ""]
    elif r.input_ref:
        out += [f"Input: blob `{r.input_ref}` next to the log.", ""]
    return out


def render_markdown(review: Review, *, top: int | None = None, image: str | None = None) -> str:
    groups = review.groups if top is None else review.groups[:top]
    read = review.read
    lines = [
        "# Shadow divergence review",
        "",
        f"Generated {review.generated_at} from {len(read.files)} log(s), {read.lines:,} lines.",
        "",
        f"**{fmt.verdict(review.critical_groups, len(review.groups))}**",
        "",
        "| | |",
        "| --- | --- |",
        f"| divergence events | {review.divergences:,} |",
        f"| distinct problems (signatures) | {len(review.groups):,} |",
        f"| critical problems | {review.critical_groups:,} |",
        f"| events by severity | {fmt.counts(review.by_severity)} |",
        f"| skipped lines | {read.skipped_total:,} ({fmt.counts(read.skipped)}) |",
        "",
    ]
    if image:
        lines += [f"![divergences by op and over time]({image})", ""]
    shown = f"top {len(groups)} of {len(review.groups)}" if top is not None else "all"
    lines += [
        f"## Problems ({shown})",
        "",
        "| # | severity | signature | op | kind | events | first seen | last seen "
        "| smallest input | replay |",
        "| --- | --- | --- | --- | --- | ---: | --- | --- | ---: | --- |",
    ]
    for i, g in enumerate(groups, 1):
        r = g.reproducer
        lines.append(
            f"| {i} | {g.severity} | `{g.signature}` | {_cell(g.op)} | {_cell(g.kind)} "
            f"| {g.count:,} | {g.first_seen or '?'} | {g.last_seen or '?'} "
            f"| {fmt.size(r.size) if r else '—'} | {_cell(_code(r.replay)) if r else '—'} |"
        )
    if not groups:
        lines.append("| | | | | | | | | | |")
    lines += [
        "",
        "## Per op",
        "",
        "Sampled calls and rates come from the logs' `run_summary` events (summed over runs); "
        "*unknown* means no run summary covered the op.",
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
    lines += ["", "## Details", ""]
    for i, g in enumerate(groups, 1):
        lines += _group_details(i, g)
    lines += ["## Skipped lines", ""]
    if read.skipped:
        lines += ["| reason | lines |", "| --- | ---: |"]
        lines += [f"| {reason} | {n:,} |" for reason, n in read.skipped]
    else:
        lines.append("None: every line was a shadow event.")
    lines += ["", "Logs read:", ""] + [f"- `{f}`" for f in read.files] + [""]
    return "\n".join(lines)


def write_markdown(
    review: Review, path: Path, *, top: int | None = None, image: str | None = None
) -> Path:
    path.write_text(render_markdown(review, top=top, image=image), encoding="utf-8")
    return path
