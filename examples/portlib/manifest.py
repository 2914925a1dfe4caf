"""The planted divergences of :mod:`examples.portlib.planted`, one entry each.

``kind`` is the class of port mistake (each entry a different one); ``shows`` is the
divergence kind its minimal input produces (reference as primary, planted as shadow), and
``also`` notes other shapes the same bug can take on other inputs: a fuzzer that groups by
cause should still report each bug as one problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from examples.portlib.model import Job


@dataclass(frozen=True)
class PlantedBug:
    id: str
    kind: str
    function: str
    description: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    shows: str = "value_mismatch"
    also: str = ""


MANIFEST: tuple[PlantedBug, ...] = (
    PlantedBug(
        "ascii_lowercase",
        "unicode_case",
        "normalize_tag",
        "lowercases ASCII only, so a non-ASCII capital letter stays a capital",
        ("É",),
    ),
    PlantedBug(
        "falsy_max_len",
        "falsy_boundary",
        "normalize_tag",
        "max_len=0 reads as 'no limit' and returns the whole tag; the original rejects it",
        ("a",),
        {"max_len": 0},
        shows="primary_error_only",
    ),
    PlantedBug(
        "ties_away",
        "rounding",
        "quantize",
        "rounds ties away from zero (0.5 -> 1) where the original rounds them to even (0)",
        (0.5,),
    ),
    PlantedBug(
        "negative_zero",
        "signed_zero",
        "quantize",
        "returns -0.0 for a value in (-step/2, 0]; the original's int 0 gives +0.0",
        (-0.0,),
    ),
    PlantedBug(
        "nan_passthrough",
        "nan",
        "scale_scores",
        "a NaN score comes back NaN (f64::clamp); the original's max(floor, min(...)) gives floor",
        ({"": float("nan")},),
        also="the diff path names the dict key, so grouping by raw path splits it by key",
    ),
    PlantedBug(
        "tie_order",
        "tie_break",
        "rank_jobs",
        "the tie-break on submission time is flipped: equal priorities run newest first",
        ([Job("a", 0, 0), Job("b", 0, 1)],),
    ),
    PlantedBug(
        "priority_upper_only",
        "range_check_one_side",
        "rank_jobs",
        "checks priority <= i32::MAX but not >= i32::MIN: a priority below -2**31 is ranked",
        ([Job("a", -(2**31) - 1, 0)],),
        shows="primary_error_only",
        also="error_mismatch (field priority vs submitted_ms) when a later job is invalid too",
    ),
    PlantedBug(
        "saturating_share",
        "saturation",
        "split_budget",
        "total * weight saturates at i64::MAX instead of being exact, so big shares come out small",
        (2**32, [2**32]),
    ),
    PlantedBug(
        "empty_weights",
        "empty_input",
        "split_budget",
        "empty weights give [] for any total; the original raises unless the total is 0",
        (1, []),
        shows="primary_error_only",
    ),
    PlantedBug(
        "shift_wrap",
        "overflow_wrap",
        "backoff_delay",
        "base << attempt wraps around in i64 (shift masked to 6 bits) instead of overflowing",
        (63, 1),
        shows="primary_error_only",
        also="value_mismatch when max_delay_ms caps the delay, e.g. (63, 1, max_delay_ms=1)",
    ),
    PlantedBug(
        "log_zero",
        "error_vs_value",
        "log_histogram",
        "a 0.0 value lands in bucket i64::MIN (ln 0 = -inf, saturating cast); the original raises",
        ([0.0],),
        shows="primary_error_only",
    ),
    PlantedBug(
        "median_float",
        "int_vs_float",
        "summarize_latencies",
        "the median of an odd count is a float (3.0) where the original returns the sample (3)",
        ([0],),
    ),
)

BY_ID: Mapping[str, PlantedBug] = {bug.id: bug for bug in MANIFEST}
