"""``review.md``: the report a person reads in a terminal, a PR comment or a wiki.

Why this layout: the verdict first (is anything critical?), then one table row per distinct
problem with its one-line replay command, then per-op rates, then per-problem details with
the smallest input, so the reader can go from "what broke" to "reproduce it" top to bottom.
"""

from __future__ import annotations

from pathlib import Path

from shadow.review import format as fmt
from shadow.review.model import Group, Review


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
    if g.sides:
        out.append(
            "- implementations: "
            + "; ".join(f"{s.primary} vs {s.shadow} ({s.count:,})" for s in g.sides)
        )
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
    if r.note:
        out.append(f"- note: {r.note}")
    if g.messages:
        out += [
            "",
            f"Messages ({len(g.messages)} of {g.distinct_messages} distinct, digits masked):",
            "",
            "| events | primary | shadow |",
            "| ---: | --- | --- |",
        ]
        out += [
            f"| {m.count:,} | {_cell(_code(m.primary or '—'))} | {_cell(_code(m.shadow or '—'))} |"
            for m in g.messages
        ]
    if r.diff:
        primary_name = g.sides[0].primary if g.sides else "primary"
        shadow_name = g.sides[0].shadow if g.sides else "shadow"
        out += [
            "",
            f"Sample diff ({len(r.diff)} of {r.diff_count} paths):",
            "",
            f"| path | primary ({_cell(primary_name)}) | shadow ({_cell(shadow_name)}) |",
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


def _compared(review: Review) -> list[str]:
    """What was compared: implementations, targets, runs and modes (from run summaries)."""
    runs = review.runs
    if not runs:
        return ["No run summary in the logs: implementations and sampling are unknown.", ""]
    pairs = sorted({(r.primary, r.shadow) for r in runs})
    targets = sorted({r.target for r in runs if r.target})
    modes = sorted({r.mode for r in runs if r.mode})
    sampled = sum(o.sampled or 0 for o in review.ops)
    calls = sum(o.calls or 0 for o in review.ops)
    out = [
        "## What was compared",
        "",
        "| | |",
        "| --- | --- |",
        f"| implementations | {'; '.join(f'{p} vs {s}' for p, s in pairs)} |",
        f"| targets | {', '.join(f'`{t}`' for t in targets) or '?'} |",
        f"| runs | {len(runs):,} ({', '.join(modes) or 'mode unknown'}) |",
        f"| sampled calls | {sampled:,} of {calls:,}"
        + (f" ({sampled / calls:.1%})" if calls else "")
        + " |",
        "",
    ]
    shown = runs[:20]
    out += [
        "| run | mode | source | primary | shadow | time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    out += [
        f"| `{_cell(r.run_id or '?')}` | {r.mode or '?'} | {r.source or '?'} "
        f"| {_cell(r.primary)} | {_cell(r.shadow)} | {r.ts or '?'} |"
        for r in shown
    ]
    if len(runs) > len(shown):
        out.append(f"\n… {len(runs) - len(shown):,} more runs in review.json")
    return [*out, ""]


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
    lines += _compared(review)
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
    timed = [o for o in review.ops if o.durations and o.durations.timed]
    if timed:
        lines += [
            "",
            "### Durations of the diverging calls",
            "",
            "Primary vs shadow, over the divergence events of each op (log-scale histograms: "
            "values within about 1%). Ratio = shadow / primary, per call.",
            "",
            "| op | timed events | primary median | primary p95 | shadow median | shadow p95 "
            "| ratio median | ratio p95 |",
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
    lines += ["", "## Details", ""]
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
            lines += [f"| `{_cell(f)}` | {_cell(p)} | {n:,} |" for f, p, n in read.field_problems]
            lines.append("")
        for file, problem in read.file_problems:
            lines.append(f"- `{file}`: {problem}")
        if read.file_problems:
            lines.append("")
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
