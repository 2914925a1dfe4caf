"""``review.html``: one self-contained page a person reads to decide what to fix first.

Why self-contained: the page is attached to CI runs and mailed around; it must open from a
file, offline, years later: inline CSS, charts as inline SVG (:mod:`shadow._review.plot`),
and a few lines of vanilla JavaScript for filtering and sorting the problems table.  The
page shows everything without JavaScript (the filter controls stay hidden then).  The
filter lives in the address's fragment (``review.html#severity=critical&op=rank&sort=-events``)
so a filtered view can be linked.  Every logged string is escaped twice over: for HTML, and
for invisible characters (:mod:`shadow._review.show`) — logs hold arbitrary input.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Final

from shadow._review import format as fmt
from shadow._review.model import Group, OpStats, Review, severity_rank
from shadow._review.plot import Charts, OpColours, charts
from shadow._review.show import (
    VERDICT_LABEL,
    Compared,
    compared,
    diff_lines,
    pretty,
    side_names,
    summary_text,
    verdict_class,
)

_MAX_RUN_IDS: Final = 8
_OPEN_DETAILS: Final = 3  # the first problems' details are open: their examples show

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem 2rem;
color:#222;max-width:1400px}
h1{margin:0 0 .2rem}h2{margin-top:2rem}.meta,.note{color:#666}.meta{margin-top:0}
nav a{margin-right:.8rem}
[hidden]{display:none!important}
.banner{padding:.8rem 1.1rem;border-radius:6px;margin:1rem 0 1.5rem}
.banner .label{font-size:1.35rem;font-weight:700;margin:0}
.banner .sentence{margin:.2rem 0 .6rem;font-weight:600}
.banner.critical{background:#fdecea;border:2px solid #c0392b;color:#6d150c}
.banner.minor{background:#fff6e0;border:2px solid #e69f00;color:#5e3f00}
.banner.clean{background:#e8f6ee;border:2px solid #27ae60;color:#145a32}
.banner table{margin:0;background:rgba(255,255,255,.6)}
.banner th{background:transparent;font-weight:600;white-space:nowrap}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even) td{background:#fafafa}
th.sortable{cursor:pointer;user-select:none}
th.sortable::after{content:" \\2195";color:#aaa}
th[aria-sort=ascending]::after{content:" \\25B2";color:#333}
th[aria-sort=descending]::after{content:" \\25BC";color:#333}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:24rem;border-radius:4px;
white-space:pre-wrap;word-break:break-all}
.sev{display:inline-block;padding:0 .45rem;border-radius:3px;color:#fff;font-size:.8rem;
font-weight:600}
.sev.critical{background:#c0392b}.sev.minor{background:#b7791f}
.sev.info,.sev.unknown{background:#6b7778}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.35rem;
vertical-align:baseline}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}figure{margin:0}
svg.chart{max-width:100%;height:auto;border:1px solid #eee;background:#fff;padding:.4rem}
.filters{display:flex;flex-wrap:wrap;gap:.8rem;align-items:center;margin:.5rem 0}
.filters label{font-size:.9rem}.filters select,.filters input{margin-left:.3rem}
details{margin:.5rem 0;border:1px solid #e3e3e3;border-radius:4px;padding:.3rem .8rem}
details[open]{padding-bottom:.6rem}
summary{cursor:pointer;font-weight:600}
td.example{max-width:34rem}td.op,td.time{white-space:nowrap}
"""

# Filtering and sorting, in plain JavaScript.  The state is the fragment:
# severity, op, kind (exact values), q (text, case-insensitive) and sort (a column key,
# "-" first for descending).  A fragment without "=" is an anchor (a problem's details):
# it opens them and keeps the filter.
_JS = """
(function () {
  "use strict";
  var table = document.getElementById("problems-table");
  var form = document.getElementById("filters");
  if (!table || !form) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var status = document.getElementById("filter-status");
  var KEYS = ["severity", "op", "kind", "q", "sort"];
  var state = {};
  function parse(hash) {
    var p = new URLSearchParams(hash.replace(/^#/, "")), out = {};
    KEYS.forEach(function (k) { out[k] = p.get(k) || ""; });
    return out;
  }
  function matches(row, f) {
    var d = row.dataset;
    return (!f.severity || d.severity === f.severity) && (!f.op || d.op === f.op) &&
      (!f.kind || d.kind === f.kind) &&
      (!f.q || d.text.indexOf(f.q.toLowerCase()) >= 0);
  }
  function order(spec) {
    var desc = spec.charAt(0) === "-", key = desc ? spec.slice(1) : spec, col = -1;
    heads.forEach(function (th, i) {
      var on = !!key && th.dataset.key === key;
      if (on) { col = i; }
      if (th.dataset.key) {
        th.setAttribute("aria-sort", on ? (desc ? "descending" : "ascending") : "none");
      }
    });
    var sorted = rows.slice();
    if (col >= 0) {
      var numeric = heads[col].dataset.type === "num";
      sorted.sort(function (a, b) {
        var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
        var c = numeric ? Number(x) - Number(y) : (x < y ? -1 : (x > y ? 1 : 0));
        return desc ? -c : c;
      });
    }
    sorted.forEach(function (r) { tbody.appendChild(r); });
  }
  function apply() {
    var shown = 0, active = [];
    KEYS.forEach(function (k) {
      if (form.elements[k]) { form.elements[k].value = state[k]; }
      if (state[k] && k !== "sort") { active.push(k + " = " + state[k]); }
    });
    rows.forEach(function (row) {
      var ok = matches(row, state);
      row.hidden = !ok;
      var details = document.getElementById(row.dataset.details);
      if (details) { details.hidden = !ok; }
      if (ok) { shown += 1; }
    });
    order(state.sort);
    status.textContent = "Showing " + shown + " of " + rows.length + " problems" +
      (active.length ? " (" + active.join(", ") + ")" : "") + ".";
    document.body.setAttribute("data-shown", String(shown));
  }
  function save() {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) { if (state[k]) { p.set(k, state[k]); } });
    var h = p.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
    apply();
  }
  function fromHash() {
    var h = location.hash;
    if (h.indexOf("=") >= 0 || !h) { state = parse(h); apply(); return; }
    var id;
    try { id = decodeURIComponent(h.slice(1)); } catch (err) { return; }
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  form.addEventListener("input", function () {
    KEYS.forEach(function (k) { if (form.elements[k]) { state[k] = form.elements[k].value; } });
    save();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("reset", function (e) {
    e.preventDefault();
    state = parse("");
    save();
  });
  heads.forEach(function (th) {
    if (!th.dataset.key) { return; }
    th.classList.add("sortable");
    th.tabIndex = 0;
    function click() {
      var key = th.dataset.key, first = th.dataset.type === "num" ? "-" + key : key;
      var second = first.charAt(0) === "-" ? key : "-" + key;
      state.sort = state.sort === first ? second : first;
      save();
    }
    th.addEventListener("click", click);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); click(); }
    });
  });
  window.addEventListener("hashchange", fromHash);
  state = parse(location.hash.indexOf("=") >= 0 ? location.hash : "");
  form.hidden = false;
  apply();
  fromHash();
  document.body.setAttribute("data-filters", "ready");
}());
"""


def _t(text: str | None) -> str:
    """A logged string for HTML: invisible characters escaped, then HTML-escaped."""
    return escape(summary_text(text))


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _sev(severity: str) -> str:
    cls = severity if severity in ("critical", "minor", "info") else "unknown"
    return f'<span class="sev {cls}">{_t(severity)}</span>'


def _op(op: str, colours: OpColours) -> str:
    return f'<span class="swatch" style="background:{colours.of(op)}"></span>{_t(op)}'


def _table(
    head: list[str], rows: list[list[str]], numeric: set[int] | None = None, cls: str = ""
) -> str:
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
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _share(c: Compared) -> str:
    if not c.calls:
        return "unknown: no run summary in the logs (a crashed or still-running process)"
    text = f"{c.sampled:,} of {c.calls:,} calls ({c.sampled / c.calls:.1%})"
    if c.ops_without_summary:
        text += f"; unknown for {_t(', '.join(c.ops_without_summary))} (no run summary)"
    return text


def _banner(review: Review) -> str:
    cls = verdict_class(review)
    c = compared(review)
    rows: list[tuple[str, str]] = []
    if c.pairs:
        unit = "run" if c.pairs_from_runs else "event"
        rows.append(
            (
                "compared",
                "<br>".join(
                    f"<strong>{escape(p)}</strong> (primary) vs <strong>{escape(s)}</strong> "
                    f"(shadow) — {n:,} {unit}{'s' if n != 1 else ''}"
                    for p, s, n in c.pairs
                ),
            )
        )
    else:
        rows.append(("compared", "unknown: no run summary and no divergence event"))
    rows.append(("target", ", ".join(f"<code>{escape(t)}</code>" for t in c.targets) or "unknown"))
    if c.run_ids:
        ids = ", ".join(f"<code>{escape(r)}</code>" for r in c.run_ids[:_MAX_RUN_IDS])
        if len(c.run_ids) > _MAX_RUN_IDS:
            ids += f" … and {len(c.run_ids) - _MAX_RUN_IDS:,} more (review.json)"
        modes = ", ".join(f"{_t(m)} {n:,}" for m, n in c.modes)
        sources = ", ".join(f"{_t(s)} {n:,}" for s, n in c.sources)
        rows.append((f"runs ({len(c.run_ids):,})", f"{ids}<br>mode: {modes}; source: {sources}"))
    else:
        rows.append(("runs", "no run summary in the logs"))
    rows.append(("sampled", _share(c)))
    rows.append(
        (
            "found",
            f"{review.divergences:,} divergence events in {len(review.groups):,} problems "
            f"({review.critical_groups:,} critical); events by severity: "
            f"{_t(fmt.counts(review.by_severity))}",
        )
    )
    read = review.read
    rows.append(
        (
            "read",
            f"{read.lines:,} lines from {len(read.files):,} log(s); "
            f"{read.skipped_total:,} skipped"
            + (f" ({_t(fmt.counts(read.skipped))})" if read.skipped else ""),
        )
    )
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    sentence = fmt.verdict(review.critical_groups, len(review.groups))
    return (
        f'<header class="banner {cls}" id="verdict" data-verdict="{cls}">'
        f'<p class="label">{VERDICT_LABEL[cls]}</p>'
        f'<p class="sentence">{escape(sentence)}</p>'
        f'<table class="compared"><tbody>{table}</tbody></table></header>'
    )


def _charts(drawn: Charts) -> str:
    if not drawn.any:
        return ""
    figures = "".join(
        f'<figure id="chart-{name}">{chart.svg}</figure>'
        for name, chart in (("ops", drawn.by_op), ("timeline", drawn.timeline))
        if chart is not None
    )
    return (
        '<section id="charts"><h2>Charts</h2>'
        '<p class="note">Colour is the op, the same in both charts and in the tables; '
        "severity is written out, never coloured in a chart.</p>"
        f'<div class="charts">{figures}</div></section>'
    )


def _example(g: Group) -> str:
    if not g.messages:
        return "—"
    names = side_names(g)
    m = g.messages[0]
    return (
        f"<code>{escape(names.primary)}: {_t(m.primary)}</code><br>"
        f"<code>{escape(names.shadow)}: {_t(m.shadow)}</code>"
    )


def _when(ts: str | None) -> str:
    """A logged time, to the second, for a table cell (the full time is in the details)."""
    if ts is None:
        return "?"
    return ts[:19].replace("T", " ") if len(ts) >= 19 and ts[10:11] == "T" else ts


def _search_text(g: Group) -> str:
    parts = [g.signature, g.severity, *dict(g.ops), *dict(g.kinds)]
    for m in g.messages:
        parts += [m.primary or "", m.shadow or ""]
    if g.reproducer:
        parts += [g.reproducer.call_id, g.reproducer.replay]
    return " ".join(summary_text(p) for p in parts).lower()


def _problems(review: Review, groups: tuple[Group, ...], colours: OpColours) -> str:
    if not review.groups:
        return (
            '<section id="problems"><h2>Problems</h2>'
            "<p>No divergence event in the logs: nothing to fix.</p></section>"
        )
    shown = (
        f"top {len(groups)} of {len(review.groups)}; review.json lists all"
        if len(groups) < len(review.groups)
        else f"{len(groups)}"
    )
    heads = [
        ("rank", "num", "#"),
        ("severity", "num", "severity"),
        ("op", "text", "op"),
        ("kind", "text", "kind"),
        ("events", "num", "events"),
        ("first", "text", "first seen (UTC)"),
        ("last", "text", "last seen (UTC)"),
        ("size", "num", "smallest input"),
        ("messages", "num", "messages"),
        ("", "", "example (most frequent message)"),
        ("signature", "text", "signature"),
    ]
    th = "".join(
        f'<th data-key="{k}" data-type="{t}" aria-sort="none">{label}</th>'
        if k
        else f"<th>{label}</th>"
        for k, t, label in heads
    )
    body = []
    for i, g in enumerate(groups, 1):
        r = g.reproducer
        size = r.size if r else -1
        # (sort key or None, cell HTML, CSS class)
        cells = [
            (str(i), str(i), "n"),
            (str(severity_rank(g.severity)), _sev(g.severity), ""),
            (_attr(g.op), _op(g.op, colours), "op"),
            (_attr(g.kind), _t(g.kind), ""),
            (str(g.count), f"{g.count:,}", "n"),
            (_attr(g.first_seen or ""), _t(_when(g.first_seen)), "time"),
            (_attr(g.last_seen or ""), _t(_when(g.last_seen)), "time"),
            (str(size), escape(fmt.size(r.size)) if r else "—", "n"),
            (str(g.distinct_messages), f"{g.distinct_messages:,}", "n"),
            (None, _example(g), "example"),
            (_attr(g.signature), f'<a href="#g-{i}"><code>{_t(g.signature)}</code></a>', ""),
        ]
        tds = "".join(
            "<td"
            + (f' class="{cls}"' if cls else "")
            + (f' data-sort="{sort}"' if sort is not None else "")
            + f">{html}</td>"
            for sort, html, cls in cells
        )
        body.append(
            f'<tr data-severity="{_attr(g.severity)}" data-op="{_attr(g.op)}" '
            f'data-kind="{_attr(g.kind)}" data-text="{_attr(_search_text(g))}" '
            f'data-details="g-{i}">{tds}</tr>'
        )

    def options(name: str, values: list[str]) -> str:
        opts = "".join(f'<option value="{_attr(v)}">{_t(v)}</option>' for v in values)
        return f'<label>{name} <select name="{name}"><option value="">all</option>{opts}</select></label>'

    severities = sorted(
        {"critical", "minor", "info"} | {g.severity for g in review.groups},
        key=lambda s: -severity_rank(s),
    )
    form = (
        '<form id="filters" class="filters" hidden>'
        + options("severity", severities)
        + options("op", sorted({g.op for g in groups}))
        + options("kind", sorted({g.kind for g in groups}))
        + '<label>text <input name="q" type="search" '
        'placeholder="signature, message, call id"></label>'
        '<button type="reset">clear</button></form>'
    )
    return (
        f'<section id="problems"><h2>Problems ({shown})</h2>'
        '<p class="note">One row per signature (one cause, many calls), most severe first, '
        "then most frequent. A problem's severity is the worst of its events. Click a column "
        "to sort; the filter is kept in the address (<code>#severity=critical&amp;op=…</code>)."
        "</p>"
        f"{form}"
        f'<p id="filter-status" class="note" aria-live="polite">All {len(groups)} problems '
        "listed.</p>"
        f'<table id="problems-table"><thead><tr>{th}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def _single_pair(review: Review) -> tuple[str, str] | None:
    pairs = compared(review).pairs
    return (pairs[0][0], pairs[0][1]) if len(pairs) == 1 else None


def _durations(review: Review, colours: OpColours) -> str:
    timed = [o for o in review.ops if o.durations and o.durations.timed]
    if not timed:
        return ""
    pair = _single_pair(review)
    p, s = (
        (f"<br><small>{escape(pair[0])}</small>", f"<br><small>{escape(pair[1])}</small>")
        if pair
        else ("", "")
    )
    rows = []
    for o in timed:
        d = o.durations
        assert d is not None
        rows.append(
            [
                _op(o.op, colours),
                f"{d.timed:,}",
                fmt.seconds(d.primary_median),
                fmt.seconds(d.primary_p95),
                fmt.seconds(d.shadow_median),
                fmt.seconds(d.shadow_p95),
                fmt.ratio(d.ratio_median),
                fmt.ratio(d.ratio_p95),
            ]
        )
    table = _table(
        [
            "op",
            "timed events",
            f"primary median{p}",
            f"primary p95{p}",
            f"shadow median{s}",
            f"shadow p95{s}",
            "ratio median<br><small>shadow / primary</small>",
            "ratio p95<br><small>shadow / primary</small>",
        ],
        rows,
        numeric={1, 2, 3, 4, 5, 6, 7},
        cls="durations",
    )
    return (
        '<section id="durations"><h2>Primary vs shadow durations</h2>'
        '<p class="note">Over the divergence events of each op (the calls that diverged, not '
        "all calls), from log-scale histograms: each value within about 1%. The ratio is "
        "taken per call: 0.2x means the shadow took a fifth of the primary's time.</p>"
        f"{table}</section>"
    )


def _ops(review: Review, colours: OpColours) -> str:
    if not review.ops:
        return ""

    def row(o: OpStats) -> list[str]:
        return [
            _op(o.op, colours),
            f"{o.divergences:,}",
            f"{o.critical:,}",
            f"{o.runs:,}",
            fmt.num(o.calls),
            fmt.num(o.sampled),
            fmt.num(o.tolerated),
            fmt.num(o.diverged),
            fmt.rate(o),
        ]

    table = _table(
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
        [row(o) for o in review.ops],
        numeric={1, 2, 3, 4, 5, 6, 7, 8},
    )
    return (
        '<section id="ops"><h2>Per op</h2>'
        '<p class="note">Sampled calls and rates come from the logs\' <code>run_summary</code>'
        " events (summed over runs); <em>unknown</em> means no run summary covered the op.</p>"
        f"{table}</section>"
    )


def _details(rank: int, g: Group, colours: OpColours) -> str:
    names = side_names(g)
    p, s = escape(names.primary), escape(names.shadow)
    r = g.reproducer
    items = [
        f"severity {_sev(g.severity)} (the worst of its events: {_t(fmt.counts(g.severities))})",
        f"{g.count:,} events; first seen {_t(g.first_seen or '?')}, "
        f"last seen {_t(g.last_seen or '?')}",
        f"kinds: {_t(fmt.counts(g.kinds))}; ops: {_t(fmt.counts(g.ops))}; "
        f"sources: {_t(fmt.counts(g.sources))}",
    ]
    if g.sides:
        items.append(
            "implementations: "
            + "; ".join(f"{_t(x.primary)} vs {_t(x.shadow)} ({x.count:,})" for x in g.sides)
        )
    parts = [
        f'<details id="g-{rank}" data-signature="{_attr(g.signature)}"'
        + (" open" if rank <= _OPEN_DETAILS else "")
        + ">"
        f"<summary>{rank}. {_sev(g.severity)} {_op(g.op, colours)} / {_t(g.kind)} — "
        f"{g.count:,} events — <code>{_t(g.signature)}</code></summary>",
        "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>",
    ]
    if g.messages:
        parts.append(
            f"<p>Messages ({len(g.messages)} of {g.distinct_messages:,} distinct; runs of "
            "digits masked when telling them apart):</p>"
        )
        parts.append(
            _table(
                ["events", p, s],
                [
                    [
                        f"{m.count:,}",
                        f"<code>{_t(m.primary)}</code>",
                        f"<code>{_t(m.shadow)}</code>",
                    ]
                    for m in g.messages
                ],
                numeric={0},
                cls="messages",
            )
        )
    if r is None:
        parts.append("<p>No reproducer: no event carried an input.</p></details>")
        return "".join(parts)
    parts.append(
        f"<p>Smallest input: {escape(fmt.size(r.size))}, call <code>{_t(r.call_id)}</code> "
        f"(<code>{_t(r.log_path)}</code> line {r.line_no:,}). Replay it:</p>"
        f'<pre class="replay">{escape(r.replay)}</pre>'
    )
    outcomes = [
        f"<li>{escape(name)}: <code>{_t(str(info.get('summary', '')))}</code></li>"
        for name, info in ((names.primary, r.primary), (names.shadow, r.shadow))
        if info
    ]
    if outcomes:
        parts.append("<ul>" + "".join(outcomes) + "</ul>")
    if r.note:
        parts.append(f"<p>Note: {_t(r.note)}</p>")
    if r.diff:
        parts.append(
            f"<p>Diff of this call ({len(r.diff)} of {r.diff_count:,} paths):</p>"
            f'<pre class="diff">{escape(chr(10).join(diff_lines(r, names)))}</pre>'
        )
    if r.input is not None:
        parts.append(
            "<p>Input (strings quoted and escaped as in the diff; review.json has it "
            f'exactly):</p><pre class="input">{escape(pretty(r.input))}</pre>'
        )
    elif r.input_ref:
        parts.append(f"<p>Input: blob <code>{_t(r.input_ref)}</code> next to the log.</p>")
    parts.append("</details>")
    return "".join(parts)


def _read_sections(review: Review) -> str:
    read = review.read
    out = []
    if read.field_problems or read.file_problems:
        out.append(
            '<section id="bad-fields"><h2>Bad fields and files</h2>'
            '<p class="note">Events with a bad field still count; the field is left out where '
            "it cannot be used.</p>"
        )
        if read.field_problems:
            out.append(
                _table(
                    ["field", "problem", "events"],
                    [[f"<code>{_t(f)}</code>", _t(p), f"{n:,}"] for f, p, n in read.field_problems],
                    {2},
                )
            )
        if read.file_problems:
            out.append(
                "<ul>"
                + "".join(f"<li><code>{_t(f)}</code>: {_t(p)}</li>" for f, p in read.file_problems)
                + "</ul>"
            )
        out.append("</section>")
    skipped = (
        _table(["reason", "lines"], [[_t(k), f"{v:,}"] for k, v in read.skipped], {1})
        if read.skipped
        else "<p>None: every line was a shadow event.</p>"
    )
    files = "".join(f"<li><code>{_t(f)}</code></li>" for f in read.files)
    out.append(
        f'<section id="skipped"><h2>Skipped lines</h2>{skipped}'
        f"<p>Logs read:</p><ul>{files}</ul></section>"
    )
    return "".join(out)


def render_html(review: Review, *, top: int | None = None, drawn: Charts | None = None) -> str:
    """The page; ``drawn`` lets the caller reuse charts it already drew (for review.svg)."""
    groups = review.groups if top is None else review.groups[:top]
    drawn = drawn if drawn is not None else charts(review)
    colours = drawn.colours
    read = review.read
    nav = " ".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label, present in (
            ("charts", "Charts", drawn.any),
            ("problems", "Problems", True),
            ("durations", "Durations", any(o.durations and o.durations.timed for o in review.ops)),
            ("ops", "Per op", bool(review.ops)),
            ("details", "Details", bool(groups)),
            ("skipped", "Skipped lines", True),
        )
        if present
    )
    details = (
        '<section id="details"><h2>Details</h2>'
        + "".join(_details(i, g, colours) for i, g in enumerate(groups, 1))
        + "</section>"
        if groups
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shadow divergence review: {escape(VERDICT_LABEL[verdict_class(review)])}</title>
<style>{_CSS}</style></head>
<body>
<h1>Shadow divergence review</h1>
<p class="meta">Generated {_t(review.generated_at)} from {len(read.files):,} log(s),
{read.lines:,} lines ({escape(review.engine)} engine).</p>
<nav>{nav}</nav>
{_banner(review)}
{_charts(drawn)}
{_problems(review, groups, colours)}
{_durations(review, colours)}
{_ops(review, colours)}
{details}
{_read_sections(review)}
<noscript><p class="note">JavaScript is off: filtering and sorting are unavailable; every
problem is listed above.</p></noscript>
<script>{_JS}</script>
</body></html>
"""


def write_html(
    review: Review, path: Path, *, top: int | None = None, drawn: Charts | None = None
) -> Path:
    path.write_text(render_html(review, top=top, drawn=drawn), encoding="utf-8")
    return path


__all__ = ["VERDICT_LABEL", "render_html", "write_html"]
