"""Shared helpers of the fuzz/gate tests: a generic (non-T2) target and corpus cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docs.examples.intervals import TARGET as INTERVALS
from shadow._corpus import Case, input_digest, now_iso, save_case

INTERVALS_SPEC = INTERVALS.import_spec


def touching_case(corpus: Path) -> Path:
    """A corpus case on which the off-by-one merger diverges ((0, 1) and (1, 2) touch)."""
    encoded: Any = INTERVALS.codec_for("merge").encode(([(0, 1), (1, 2)],), {})
    case = Case(
        target=INTERVALS_SPEC,
        op="merge",
        input=encoded,
        input_digest=input_digest(encoded),
        kind="value_mismatch",
        signature=None,
        severity=None,
        note="touching intervals must merge",
        created=now_iso(),
        call_id="",
        diverged_when_saved=True,
    )
    return save_case(case, corpus)
