"""The Python original: idiomatic Python, big ints and all, as the team first wrote it.

Its behaviour is the contract, quirks included: ``round`` ties to even and returns an int
(so a small negative quantizes to ``0.0``, never ``-0.0``), ``max(floor, min(x, ceiling))``
turns a NaN score into the floor, ``math.log(0.0)`` raises a plain ``ValueError``, and a
median of an odd count is one of the samples (an ``int``).
"""

from __future__ import annotations

import math
import re

from examples.portlib.errors import EmptyInputError, RangeError
from examples.portlib.model import (
    I32_MAX,
    I32_MIN,
    I64_MAX,
    I64_MIN,
    MAX_ATTEMPT,
    MAX_LATENCY_MS,
    MAX_SAMPLES,
    Job,
    LatencySummary,
)

name = "reference"
version = "1.4.2"

_SEPARATORS = re.compile(r"[\W_]+")


def normalize_tag(tag: str, max_len: int | None = None) -> str:
    """Lowercase, runs of anything but letters and digits become one ``_``, trimmed."""
    normalized = _SEPARATORS.sub("_", tag.lower()).strip("_")
    if not normalized:
        raise EmptyInputError("tag", "has no letters or digits")
    if max_len is not None:
        if max_len < 1:
            raise RangeError("max_len", "must be at least 1")
        normalized = normalized[:max_len].rstrip("_")
    return normalized


def quantize(value: float, step: float = 1.0) -> float:
    """The multiple of ``step`` nearest to ``value`` (ties to even)."""
    if not (math.isfinite(step) and step > 0):
        raise RangeError("step", "must be a positive finite number")
    if not math.isfinite(value):
        raise RangeError("value", "must be finite")
    return round(value / step) * step


def scale_scores(
    scores: dict[str, float], floor: float = 0.0, ceiling: float = 1.0
) -> dict[str, float]:
    """Every score clamped into ``[floor, ceiling]``."""
    if not math.isfinite(floor):
        raise RangeError("floor", "must be finite")
    if not math.isfinite(ceiling):
        raise RangeError("ceiling", "must be finite")
    if floor > ceiling:
        raise RangeError("floor", "must not exceed ceiling", code="order")
    return {key: max(floor, min(score, ceiling)) for key, score in scores.items()}


def rank_jobs(jobs: list[Job], limit: int | None = None) -> list[str]:
    """Ids by priority (highest first), then submission time (earliest first); full ties keep
    their input order."""
    if limit is not None and limit < 0:
        raise RangeError("limit", "must be >= 0")
    for job in jobs:
        if not I32_MIN <= job.priority <= I32_MAX:
            raise RangeError("priority", "must fit in 32 bits")
        if not I64_MIN <= job.submitted_ms <= I64_MAX:
            raise RangeError("submitted_ms", "must fit in 64 bits")
    ordered = sorted(jobs, key=lambda job: (-job.priority, job.submitted_ms))
    ids = [job.id for job in ordered]
    return ids if limit is None else ids[:limit]


def split_budget(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder, ties to lower index)."""
    if not 0 <= total <= I64_MAX:
        raise RangeError("total", "must be within 0..=2**63-1")
    if not weights:
        if total == 0:
            return []
        raise EmptyInputError("weights", "nothing to split a non-zero total over")
    for w in weights:
        if not 0 <= w <= I64_MAX:
            raise RangeError("weights", "each must be within 0..=2**63-1")
    weight_sum = sum(weights)
    if weight_sum > I64_MAX:
        raise RangeError("weights", "their sum exceeds 2**63-1", code="overflow")
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise RangeError("weights", "all zero for a non-zero total", code="zero_sum")
    shares = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def backoff_delay(attempt: int, base_delay_ms: int, max_delay_ms: int | None = None) -> int:
    """The delay before retry number ``attempt``: ``base * 2**attempt``, capped."""
    if not 0 <= attempt <= MAX_ATTEMPT:
        raise RangeError("attempt", f"must be within 0..={MAX_ATTEMPT}")
    if not 1 <= base_delay_ms <= I64_MAX:
        raise RangeError("base_delay_ms", "must be within 1..=2**63-1")
    if max_delay_ms is not None and not 1 <= max_delay_ms <= I64_MAX:
        raise RangeError("max_delay_ms", "must be within 1..=2**63-1")
    delay: int = base_delay_ms * 2**attempt
    if max_delay_ms is not None:
        delay = min(delay, max_delay_ms)
    if delay > I64_MAX:
        raise RangeError("attempt", "the delay exceeds 2**63-1 ms", code="overflow")
    return delay


def log_histogram(values: list[float], base: float = 2.0) -> dict[int, int]:
    """How many values fall in each bucket ``floor(log_base(v))``, in first-seen order."""
    if not (math.isfinite(base) and base > 1):
        raise RangeError("base", "must be finite and > 1")
    counts: dict[int, int] = {}
    for v in values:
        if not (math.isfinite(v) and v >= 0):
            raise RangeError("values", "must be finite and >= 0")
        bucket = math.floor(math.log(v, base))
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts


def summarize_latencies(samples_ms: list[int]) -> LatencySummary:
    """Count, min, max, median and mean of latency samples in milliseconds."""
    if not samples_ms:
        raise EmptyInputError("samples_ms", "no samples")
    if len(samples_ms) > MAX_SAMPLES:
        raise RangeError("samples_ms", f"at most {MAX_SAMPLES} samples", code="too_many")
    for s in samples_ms:
        if not 0 <= s <= MAX_LATENCY_MS:
            raise RangeError("samples_ms", f"each must be within 0..={MAX_LATENCY_MS}")
    ordered = sorted(samples_ms)
    n = len(ordered)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return LatencySummary(n, ordered[0], ordered[-1], median, sum(ordered) / n)
