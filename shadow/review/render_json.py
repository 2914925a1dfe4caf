"""``review.json``: the whole review, machine-readable, for dashboards and the CI gate.

Why every group (not just the top N): tools diff successive reviews by signature, and a
truncated list would make a problem look fixed.  The document is versioned like the events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson

from shadow.review.groups import Review

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
        "groups": [g.to_dict() for g in review.groups],
        "ops": [o.to_dict() for o in review.ops],
        "timeline": review.timeline.to_dict(),
    }


def render_json(review: Review) -> bytes:
    # OPT_NON_STR_KEYS: logged inputs may hold int-keyed maps after decoding; never crash.
    return orjson.dumps(
        review_to_dict(review),
        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE,
        default=str,
    )


def write_json(review: Review, path: Path) -> Path:
    path.write_bytes(render_json(review))
    return path
