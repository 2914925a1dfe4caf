"""The review's charts as SVG text: divergence events by op, and over time.

Why our own SVG: the page must open offline from a file, years later, and ``shadow`` must
install without a plotting library.  Two small charts do not need one: a chart here is a
few rectangles and labels, written as text, inlined in ``review.html`` (and gathered into a
standalone ``review.svg`` for the Markdown report).

One colour meaning everywhere: **colour is the op**.  Each op keeps its colour in both
charts and next to its name in the tables; severity is written out (the per-op bars say how
many events were critical), never coloured in a chart.  A chart that would show nothing is
not drawn: no chart for a clean review, no per-op chart for a single op, no timeline for a
single time bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Final

from shadow._display import escape_invisible
from shadow._review.model import Review

#: Distinct for colour-blind readers, and none of them the red or amber of the severity badges.
PALETTE: Final[tuple[str, ...]] = (
    "#0072b2",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#6a51a3",
    "#8c564b",
    "#bcbd22",
    "#17becf",
)
OTHER: Final = "#9e9e9e"  # every op beyond the palette: "other ops"
_FONT: Final = 'font-family="system-ui,sans-serif" font-size="12"'
_MAX_BARS: Final = 30
_CHAR_PX: Final = 7.0  # rough width of a 12 px character, to size label columns


@dataclass(frozen=True, slots=True)
class OpColours:
    """The colour of each op, most diverging op first; ops beyond the palette share ``OTHER``."""

    ordered: tuple[tuple[str, str], ...]

    def of(self, op: str) -> str:
        return dict(self.ordered).get(op, OTHER)

    @property
    def named(self) -> tuple[str, ...]:
        """Ops with a colour of their own (the others are "other ops" in the timeline)."""
        return tuple(op for op, colour in self.ordered if colour != OTHER)


def op_colours(review: Review) -> OpColours:
    ranked = sorted((o for o in review.ops if o.divergences), key=lambda o: (-o.divergences, o.op))
    known = {o.op for o in ranked}
    extra = sorted({op for _, b in review.timeline.buckets for op, _ in b} - known)
    names = [o.op for o in ranked] + extra
    return OpColours(
        tuple((op, PALETTE[i] if i < len(PALETTE) else OTHER) for i, op in enumerate(names))
    )


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its SVG element (no namespace: it is inlined in HTML) and its size."""

    svg: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Charts:
    """The charts worth drawing for a review (None: nothing to show there)."""

    colours: OpColours
    by_op: Chart | None
    timeline: Chart | None

    @property
    def any(self) -> bool:
        return self.by_op is not None or self.timeline is not None


def charts(review: Review) -> Charts:
    colours = op_colours(review)
    return Charts(colours, ops_chart(review, colours), timeline_chart(review, colours))


def _text(s: str) -> str:
    return escape(escape_invisible(s))


def _label(s: str, width: int) -> str:
    s = escape_invisible(s)
    return s if len(s) <= width else s[: width - 1] + "…"


def nice_ceiling(n: float) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above ``n`` (at least 1): a round axis end."""
    if n <= 1:
        return 1
    power = 10 ** math.floor(math.log10(n))
    for step in (1, 2, 5, 10):
        if step * power >= n:
            return int(step * power)
    return int(10 * power)


def _ticks(top: int) -> list[int]:
    """0, a round step, ... up to ``top`` (itself a nice number): at most 6 ticks."""
    step = nice_ceiling(top / 5)
    return list(range(0, top + 1, step))


def _svg(width: int, height: int, label: str, body: list[str]) -> Chart:
    svg = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" {_FONT}>'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )
    return Chart(svg, width, height)


def ops_chart(review: Review, colours: OpColours) -> Chart | None:
    """Horizontal bars: divergence events per op, the critical ones written beside each bar."""
    ops = sorted((o for o in review.ops if o.divergences), key=lambda o: (-o.divergences, o.op))
    if len(ops) < 2:
        return None
    shown = ops[:_MAX_BARS]
    label_chars = min(max(len(escape_invisible(o.op)) for o in shown), 28)
    left = int(label_chars * _CHAR_PX) + 16
    bar_area, right, top, row = 300, 150, 34, 24
    width = left + bar_area + right
    height = top + row * len(shown) + 30 + (16 if len(ops) > len(shown) else 0)
    axis_top = nice_ceiling(max(o.divergences for o in shown))
    scale = bar_area / axis_top
    title = "Divergence events by op"
    body = [f'<text x="0" y="16" font-size="14" font-weight="600">{title}</text>']
    axis_y = top + row * len(shown)
    for t in _ticks(axis_top):
        x = left + t * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#e6e6e6"/>'
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{t:,}</text>'
        )
    for i, o in enumerate(shown):
        y = top + i * row
        w = max(o.divergences * scale, 1.5)
        critical = f" ({o.critical:,} critical)" if o.critical else " (none critical)"
        body.append(
            f'<g class="bar" data-op="{_text(o.op)}">'
            f"<title>{_text(o.op)}: {o.divergences:,} events{critical}</title>"
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(_label(o.op, 28))}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" '
            f'fill="{colours.of(o.op)}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" fill="#333">{o.divergences:,}'
            f"{critical}</text></g>"
        )
    body.append(
        f'<text x="{left + bar_area / 2:.0f}" y="{axis_y + 28}" text-anchor="middle" '
        f'fill="#555">events</text>'
    )
    if len(ops) > len(shown):
        body.append(
            f'<text x="0" y="{height - 4}" fill="#555">… {len(ops) - len(shown)} more ops '
            "in the per-op table</text>"
        )
    return _svg(width, height, title, body)


#: Steps between time ticks, in seconds: round clock intervals from a second to a year.
_TIME_STEPS: Final[tuple[int, ...]] = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400,
)  # fmt: skip


def time_ticks(start: int, end: int, most: int = 6) -> tuple[list[int], str]:
    """Round times (epoch seconds) within [start, end], at most ``most`` of them, and the
    strftime format that tells them apart."""
    span = max(end - start, 1)
    step = next((s for s in _TIME_STEPS if span / s <= most), None)
    if step is None:
        step = _TIME_STEPS[-1] * math.ceil(span / (most * _TIME_STEPS[-1]))
    first = -(-start // step) * step
    ticks = list(range(first, end + 1, step))
    if step >= 86400:
        fmt = "%Y-%m-%d"
    elif span > 86400:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%H:%M:%S" if step < 60 else "%H:%M"
    return ticks, fmt


def _bucket_label(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}" + ("s" if unit == "day" and n > 1 else "")
    return f"{seconds:,} s"


def timeline_chart(review: Review, colours: OpColours) -> Chart | None:
    """Stacked bars of divergence events per time bucket, one colour per op, time to scale."""
    timeline = review.timeline
    if len(timeline.buckets) < 2:
        return None
    named = colours.named
    series = list(named)
    if any(op not in named for _, b in timeline.buckets for op, _ in b):
        series.append("other ops")
    start = timeline.buckets[0][0]
    end = timeline.buckets[-1][0] + timeline.bucket_seconds
    span = max(end - start, 1)
    left, right, plot_w, plot_h = 52, 44, 600, 170
    legend_rows = _legend_rows(series, left + plot_w)
    top = 30 + 18 * len(legend_rows) + 6
    width = left + plot_w + right
    height = top + plot_h + 44
    y_top = nice_ceiling(max(sum(n for _, n in b) for _, b in timeline.buckets))
    y_scale = plot_h / y_top
    x_scale = plot_w / span
    bucket_w = timeline.bucket_seconds * x_scale
    bar_w = max(bucket_w - max(1.0, bucket_w * 0.15), 1.5)  # a gap between buckets
    title = f"Divergence events over time (UTC, {_bucket_label(timeline.bucket_seconds)} buckets)"
    body = [f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>']
    for r, items in enumerate(legend_rows):
        for lx, name in items:
            colour = OTHER if name == "other ops" else colours.of(name)
            body.append(
                f'<rect x="{lx}" y="{26 + 18 * r}" width="11" height="11" fill="{colour}"/>'
                f'<text x="{lx + 15}" y="{36 + 18 * r}">{escape(_label(name, 28))}</text>'
            )
    base = top + plot_h
    for tick in _ticks(y_top):
        ty = base - tick * y_scale
        body.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#e6e6e6"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="#555">{tick:,}</text>'
        )
    for bucket_start, counts in timeline.buckets:
        x = left + (bucket_start - start) * x_scale
        y = float(base)
        when = datetime.fromtimestamp(bucket_start, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        parts: list[tuple[str, int]] = [(op, n) for op, n in counts if op in named]
        other = sum(n for op, n in counts if op not in named)
        if other:
            parts.append(("other ops", other))
        for name, n in sorted(parts, key=lambda p: series.index(p[0])):
            h = n * y_scale
            y -= h
            colour = OTHER if name == "other ops" else colours.of(name)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{when} UTC: {_text(name)} {n:,}</title></rect>'
            )
    body.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#999"/>')
    ticks, fmt = time_ticks(start, end)
    for at in ticks:
        tx = left + (at - start) * x_scale
        label = datetime.fromtimestamp(at, tz=UTC).strftime(fmt)
        body.append(
            f'<line x1="{tx:.1f}" y1="{base}" x2="{tx:.1f}" y2="{base + 4}" stroke="#999"/>'
            f'<text x="{tx:.1f}" y="{base + 17}" text-anchor="middle" fill="#555">{label}</text>'
        )
    first_day = datetime.fromtimestamp(start, tz=UTC).strftime("%Y-%m-%d")
    body.append(
        f'<text x="{left}" y="{base + 36}" fill="#555">from {first_day} (UTC); '
        f"events per bucket</text>"
    )
    return _svg(width, height, title, body)


def _legend_rows(names: list[str], max_x: int) -> list[list[tuple[int, str]]]:
    """Legend entries laid out left to right, wrapping before ``max_x``."""
    rows: list[list[tuple[int, str]]] = [[]]
    x = 0
    for name in names:
        w = int(len(_label(name, 28)) * _CHAR_PX) + 32
        if x and x + w > max_x:
            rows.append([])
            x = 0
        rows[-1].append((x, name))
        x += w
    return rows


def standalone_svg(drawn: Charts) -> str | None:
    """The charts stacked in one SVG file (for ``review.md``); None when there is none."""
    parts = [c for c in (drawn.by_op, drawn.timeline) if c is not None]
    if not parts:
        return None
    gap = 24
    width = max(c.width for c in parts)
    height = sum(c.height for c in parts) + gap * (len(parts) - 1)
    body: list[str] = []
    y = 0
    for c in parts:
        body.append(f'<svg x="0" y="{y}"' + c.svg.removeprefix("<svg"))
        y += c.height + gap
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>' + "".join(body) + "</svg>\n"
    )
