"""Write every report of a review into one directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shadow._review.model import Review
from shadow._review.plot import charts, standalone_svg
from shadow._review.render_html import write_html
from shadow._review.render_json import write_json
from shadow._review.render_md import write_markdown

DEFAULT_OUT = Path("reports")
SVG_NAME = "review.svg"


@dataclass(frozen=True, slots=True)
class ReportPaths:
    markdown: Path
    json: Path
    html: Path
    svg: Path | None  # None when no chart was worth drawing (a clean review, one bucket...)


def write_reports(
    review: Review, out_dir: Path = DEFAULT_OUT, *, top: int | None = None
) -> ReportPaths:
    """Write review.md, review.json, review.html (self-contained) and review.svg (charts).

    The charts are drawn once, inlined in the page and written as ``review.svg`` for the
    Markdown report.  A review with nothing to chart writes no SVG and removes the one an
    earlier review left in the same directory, so the folder never shows stale charts.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = charts(review)
    svg_text = standalone_svg(drawn)
    svg_path = out_dir / SVG_NAME
    if svg_text is None:
        svg_path.unlink(missing_ok=True)
    else:
        svg_path.write_text(svg_text, encoding="utf-8")
    image = svg_path.name if svg_text is not None else None
    return ReportPaths(
        markdown=write_markdown(review, out_dir / "review.md", top=top, image=image),
        json=write_json(review, out_dir / "review.json"),
        html=write_html(review, out_dir / "review.html", top=top, drawn=drawn),
        svg=svg_path if svg_text is not None else None,
    )
