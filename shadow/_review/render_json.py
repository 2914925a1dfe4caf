"""``review.json``: the whole review, machine-readable, for dashboards and the CI gate.

Why every group (not just the top N): tools diff successive reviews by signature, and a
truncated list would make a problem look fixed.  The document is versioned like the events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import orjson

from shadow._review.model import Review

REVIEW_SCHEMA: Final = "shadow.review/1"


def review_to_dict(review: Review) -> dict[str, Any]:
    return {
        "schema": REVIEW_SCHEMA,
        "generated_at": review.generated_at,
        "read": review.read.to_dict(),
        "totals": {
            "divergences": review.divergences,
            "groups": len(review.groups),
            "critical_groups": review.critical_groups,
            "by_severity": dict(review.by_severity),
            "duplicate_run_summaries": review.duplicate_summaries,
        },
        "engine": review.engine,
        "runs": [r.to_dict() for r in review.runs],
        "groups": [g.to_dict() for g in review.groups],
        "ops": [o.to_dict() for o in review.ops],
        "timeline": review.timeline.to_dict(),
    }


def render_json(review: Review) -> bytes:
    """The document as bytes; never fails on hostile logged values.

    orjson first; the standard library when a value is beyond orjson (nested deeper than
    255 levels, an integer beyond 64 bits), with anything unrenderable as a string.
    """
    doc = review_to_dict(review)
    try:
        # OPT_NON_STR_KEYS: logged inputs may hold int-keyed maps after decoding.
        return orjson.dumps(
            doc,
            option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE,
            default=str,
        )
    except (orjson.JSONEncodeError, TypeError):
        return (json.dumps(doc, indent=2, default=str) + "\n").encode("utf-8")


def write_json(review: Review, path: Path) -> Path:
    path.write_bytes(render_json(review))
    return path
