"""``review.html``: one self-contained page (inline CSS, plot as a base64 PNG, no scripts).

Why self-contained: the page is attached to CI runs and mailed around; it must open from a
file, offline, years later.  No JavaScript either: ``<details>`` gives the expandable
per-problem sections for free.  Every logged string is escaped — logs hold arbitrary input.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from shadow.review import format as fmt
from shadow.review.groups import Group, Review

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222;
max-width:1400px}
h1{margin-bottom:.2rem}.meta{color:#666;margin-top:0}
.verdict{padding:.7rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.verdict.critical{background:#fdecea;border:1px solid #c0392b;color:#8e1b10}
.verdict.minor{background:#fff6e0;border:1px solid #e69f00;color:#7a5200}
.verdict.clean{background:#e8f6ee;border:1px solid #27ae60;color:#145a32}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:24rem;border-radius:4px}
.sev{display:inline-block;padding:0 .45rem;border-radius:3px;color:#fff;font-size:.8rem}
.sev.critical{background:#c0392b}.sev.minor{background:#e69f00}
.sev.info,.sev.unknown{background:#7f8c8d}
details{margin:.4rem 0;border:1px solid #e3e3e3;border-radius:4px;padding:.3rem .7rem}
summary{cursor:pointer;font-weight:600}
img.plot{max-width:100%;border:1px solid #eee}
"""


def _sev(severity: str) -> str:
    cls = severity if severity in ("critical", "minor", "info") else "unknown"
    return f'<span class="sev {cls}">{escape(severity)}</span>'


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _details(rank: int, g: Group) -> str:
    r = g.reproducer
    parts = [
        f"<details><summary>{rank}. {_sev(g.severity)} <code>{escape(g.signature)}</code> "
        f"{escape(g.op)} / {escape(g.kind)} — {g.count:,} events</summary>",
        "<ul>",
        f"<li>first seen {escape(g.first_seen or '?')}, "
        f"last seen {escape(g.last_seen or '?')}</li>",
        f"<li>severities: {escape(fmt.counts(g.severities))}; kinds: {escape(fmt.counts(g.kinds))};"
        f" sources: {escape(fmt.counts(g.sources))}</li>",
    ]
    if r is None:
        parts.append("<li>no reproducer: no event carried an input</li></ul></details>")
        return "".join(parts)
    parts.append(
        f"<li>smallest input: {escape(fmt.size(r.size))}, call <code>{escape(r.call_id)}</code>"
        f" (<code>{escape(r.log_path)}</code> line {r.line_no})</li>"
        f"<li>replay: <code>{escape(r.replay)}</code></li>"
    )
    for side, info in (("primary", r.primary), ("shadow", r.shadow)):
        if info:
            parts.append(
                f"<li>{side}: {escape(str(info.get('name', '?')))} "
                f"{escape(str(info.get('version', '')))} — "
                f"<code>{escape(str(info.get('summary', '')))}</code></li>"
            )
    parts.append("</ul>")
    if r.diff:
        parts.append(f"<p>Sample diff ({len(r.diff)} of {r.diff_count} paths)</p>")
        parts.append(
            _table(
                ["path", "primary", "shadow"],
                [
                    [
                        f"<code>{escape(str(e.get('path', '?')))}</code>",
                        f"<code>{escape(fmt.compact(e.get('primary'), 200))}</code>",
                        f"<code>{escape(fmt.compact(e.get('shadow'), 200))}</code>",
                    ]
                    for e in r.diff
                ],
            )
        )
    if r.input is not None:
        parts.append(f"<p>Input</p><pre>{escape(fmt.pretty(r.input))}</pre>")
    elif r.input_ref:
        parts.append(f"<p>Input: blob <code>{escape(r.input_ref)}</code> next to the log.</p>")
    parts.append("</details>")
    return "".join(parts)


def render_html(review: Review, *, png: bytes | None, top: int | None = None) -> str:
    groups = review.groups if top is None else review.groups[:top]
    read = review.read
    if not review.groups:
        vclass = "clean"
    elif review.critical_groups:
        vclass = "critical"
    else:
        vclass = "minor"
    summary = _table(
        ["", ""],
        [
            ["divergence events", f"{review.divergences:,}"],
            ["distinct problems (signatures)", f"{len(review.groups):,}"],
            ["critical problems", f"{review.critical_groups:,}"],
            ["events by severity", escape(fmt.counts(review.by_severity))],
            ["skipped lines", f"{read.skipped_total:,} ({escape(fmt.counts(read.skipped))})"],
        ],
    )
    group_rows = []
    for i, g in enumerate(groups, 1):
        r = g.reproducer
        group_rows.append(
            [
                str(i),
                _sev(g.severity),
                f"<code>{escape(g.signature)}</code>",
                escape(g.op),
                escape(g.kind),
                f"{g.count:,}",
                escape(g.first_seen or "?"),
                escape(g.last_seen or "?"),
                escape(fmt.size(r.size)) if r else "—",
                f"<code>{escape(r.replay)}</code>" if r else "—",
            ]
        )
    groups_table = _table(
        [
            "#",
            "severity",
            "signature",
            "op",
            "kind",
            "events",
            "first seen",
            "last seen",
            "smallest input",
            "replay",
        ],
        group_rows,
        numeric={5, 8},
    )
    ops_table = _table(
        [
            "op",
            "divergence events",
            "critical",
            "runs",
            "calls",
            "sampled",
            "tolerated",
            "diverged",
            "divergence rate",
        ],
        [
            [
                escape(o.op),
                f"{o.divergences:,}",
                f"{o.critical:,}",
                f"{o.runs:,}",
                fmt.num(o.calls),
                fmt.num(o.sampled),
                fmt.num(o.tolerated),
                fmt.num(o.diverged),
                fmt.rate(o),
            ]
            for o in review.ops
        ],
        numeric={1, 2, 3, 4, 5, 6, 7, 8},
    )
    skipped = (
        _table(["reason", "lines"], [[escape(k), f"{v:,}"] for k, v in read.skipped], {1})
        if read.skipped
        else "<p>None: every line was a shadow event.</p>"
    )
    plot = (
        f'<img class="plot" alt="divergences by op and over time" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        if png
        else "<p>(plot not rendered)</p>"
    )
    shown = f"top {len(groups)} of {len(review.groups)}" if top is not None else "all"
    verdict = fmt.verdict(review.critical_groups, len(review.groups))
    files = "".join(f"<li><code>{escape(f)}</code></li>" for f in read.files)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shadow divergence review</title><style>{_CSS}</style></head>
<body>
<h1>Shadow divergence review</h1>
<p class="meta">Generated {escape(review.generated_at)} from {len(read.files)} log(s),
{read.lines:,} lines.</p>
<div class="verdict {vclass}">{escape(verdict)}</div>
{summary}
{plot}
<h2 id="problems">Problems ({shown})</h2>
{groups_table}
<h2 id="ops">Per op</h2>
<p>Sampled calls and rates come from the logs' <code>run_summary</code> events (summed over
runs); <em>unknown</em> means no run summary covered the op.</p>
{ops_table}
<h2 id="details">Details</h2>
{"".join(_details(i, g) for i, g in enumerate(groups, 1))}
<h2 id="skipped">Skipped lines</h2>
{skipped}
<p>Logs read:</p><ul>{files}</ul>
</body></html>
"""


def write_html(review: Review, path: Path, *, png: bytes | None, top: int | None = None) -> Path:
    path.write_text(render_html(review, png=png, top=top), encoding="utf-8")
    return path
