"""Write every report of a review into one directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shadow.review.model import Review
from shadow.review.plot import render_png
from shadow.review.render_html import write_html
from shadow.review.render_json import write_json
from shadow.review.render_md import write_markdown

DEFAULT_OUT = Path("reports")


@dataclass(frozen=True, slots=True)
class ReportPaths:
    markdown: Path
    json: Path
    html: Path
    png: Path


def write_reports(
    review: Review, out_dir: Path = DEFAULT_OUT, *, top: int | None = None
) -> ReportPaths:
    """Write review.md, review.json, review.html (self-contained) and review.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = render_png(review)
    png_path = out_dir / "review.png"
    png_path.write_bytes(png)
    return ReportPaths(
        markdown=write_markdown(review, out_dir / "review.md", top=top, image=png_path.name),
        json=write_json(review, out_dir / "review.json"),
        html=write_html(review, out_dir / "review.html", png=png, top=top),
        png=png_path,
    )
