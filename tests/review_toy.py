"""A toy target with a deliberately wrong port, to give the review page something to show.

Two ops, three kinds of problem: an id cleaner whose port also drops zero-width spaces (an
invisible character in the diff: critical), and a mean whose port rounds (a declared, minor
drift) and raises on an empty list where the reference returns 0.0 (critical).
"""

from __future__ import annotations

from shadow._codec import TypedCodec
from shadow._compare import ComparePolicy
from shadow._registry import DivergenceContext, OpSpec, Severity, Target

ZWSP = "\u200b"


class Reference:
    name = "reference"
    version = "1.0"

    def normalize_ids(self, ids: list[str]) -> list[str]:
        return [i.strip() for i in ids]

    def mean(self, xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else 0.0


class FaultyPort(Reference):
    name = "faulty_port"
    version = "0.3.1"

    def normalize_ids(self, ids: list[str]) -> list[str]:
        return [i.strip().replace(ZWSP, "") for i in ids]

    def mean(self, xs: list[float]) -> float:
        if not xs:
            raise ValueError("mean of an empty list")
        return round(sum(xs) / len(xs), 3)


def _rounding_is_minor(ctx: DivergenceContext) -> Severity | None:
    """Rounding to 3 decimals changes nothing downstream: declared minor."""
    if ctx.kind != "value_mismatch":
        return None
    close = all(
        isinstance(e.primary, float)
        and isinstance(e.shadow, float)
        and abs(e.primary - e.shadow) < 1e-3
        for e in ctx.diff
    )
    return "minor" if close else None


CODEC = TypedCodec()
TARGET = Target(
    "review-toy",
    "tests.review_toy:TARGET",
    {"reference": Reference, "faulty_port": FaultyPort},
    [
        OpSpec("normalize_ids", ComparePolicy(), CODEC),
        OpSpec("mean", ComparePolicy(), CODEC, severity_classifier=_rounding_is_minor),
    ],
)
