"""The review's figure: divergences by op, and over time, as PNG bytes.

Why matplotlib's Agg backend and PNG bytes: the HTML report must open with no network and no
display; a base64 PNG inlined in the page needs neither, and the same bytes are written as
``review.png`` for the Markdown report.  matplotlib is imported lazily so that reading and
grouping (and ``--quiet`` runs of tools built on them) do not pay for its import.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from shadow.review.groups import Review

_CRITICAL = "#c0392b"
_OTHER = "#e69f00"
_PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#999999",
)
_MAX_OPS_IN_TIMELINE = 7  # the rest are summed as "other" so the legend stays legible


def render_png(review: Review, *, dpi: int = 110) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, (ax_ops, ax_time) = plt.subplots(
        1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2, 3]}, constrained_layout=True
    )
    try:
        ops = sorted(review.ops, key=lambda o: o.divergences)
        ops = [o for o in ops if o.divergences]
        if ops:
            names = [o.op for o in ops]
            critical = [o.critical for o in ops]
            other = [o.divergences - o.critical for o in ops]
            ax_ops.barh(names, critical, color=_CRITICAL, label="critical")
            ax_ops.barh(names, other, left=critical, color=_OTHER, label="minor / other")
            ax_ops.legend(loc="lower right", fontsize=8)
        else:
            ax_ops.text(0.5, 0.5, "no divergence", ha="center", va="center")
            ax_ops.set_yticks([])
        ax_ops.set_title("Divergence events by op")
        ax_ops.set_xlabel("events")

        timeline = review.timeline
        if timeline.buckets:
            totals: dict[str, int] = {}
            for _, bucket in timeline.buckets:
                for op, n in bucket:
                    totals[op] = totals.get(op, 0) + n
            shown = sorted(totals, key=lambda op: -totals[op])[:_MAX_OPS_IN_TIMELINE]
            series = [*shown, "other"] if len(totals) > len(shown) else shown
            xs = [datetime.fromtimestamp(start, tz=UTC) for start, _ in timeline.buckets]
            width_days = timeline.bucket_seconds / 86400
            bottom = [0] * len(xs)
            for i, name in enumerate(series):
                ys = []
                for _, bucket in timeline.buckets:
                    d = dict(bucket)
                    ys.append(
                        sum(n for op, n in bucket if op not in shown)
                        if name == "other"
                        else d.get(name, 0)
                    )
                ax_time.bar(
                    xs,
                    ys,
                    width=width_days,
                    bottom=bottom,
                    align="edge",
                    color=_PALETTE[i % len(_PALETTE)],
                    label=name,
                    linewidth=0,
                )
                bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
            locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
            ax_time.xaxis.set_major_locator(locator)
            formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
            ax_time.xaxis.set_major_formatter(formatter)
            ax_time.legend(fontsize=8, loc="upper left")
        else:
            ax_time.text(0.5, 0.5, "no timestamps", ha="center", va="center")
        ax_time.set_title(f"Divergences over time (UTC, {timeline.bucket_seconds:,} s buckets)")
        ax_time.set_ylabel("events")

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()
    finally:
        plt.close(fig)
