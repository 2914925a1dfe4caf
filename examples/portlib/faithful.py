"""A faithful port: written the way the Rust port is, and equal to the original on every input.

It does not lean on Python's conveniences where Rust has none: strings are walked char by
char, sorting is an explicit stable insertion, integers are i64 with explicit range checks
(products that may not fit are computed as i128, shifts are checked), and rounding is done
by hand on the fraction. Where the original's result depends on a Python quirk, the port
reproduces it on purpose and says so (``+ 0.0`` after rounding, NaN becoming the floor,
``log(0)`` raising, an ``int`` median for an odd count): that is what "faithful" costs.

The helpers are module-level so :mod:`examples.portlib.planted` can reuse the ones its
planted divergences do not touch.
"""

from __future__ import annotations

import math

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

name = "faithful"
version = "2.0.0"

I128_MAX = 2**127 - 1


# ---------------------------------------------------------------------- integer helpers


def mul_i128(a: int, b: int) -> int:
    """``a * b`` widened to i128, as the port does for products of two i64 values."""
    product = a * b
    if not -I128_MAX - 1 <= product <= I128_MAX:
        raise OverflowError("i128 multiplication overflowed")
    return product


def checked_add_i64(a: int, b: int) -> int | None:
    """``a + b``, or None when it leaves the i64 range (Rust's ``checked_add``)."""
    total = a + b
    return total if I64_MIN <= total <= I64_MAX else None


def checked_shl_i64(value: int, shift: int) -> int | None:
    """``value << shift`` for a positive i64, or None when the result exceeds i64::MAX."""
    if shift >= 63 or value > I64_MAX >> shift:
        return None
    return value << shift


# ---------------------------------------------------------------------- normalize_tag


def squeeze_separators(lowered: str) -> str:
    """Keep letters and digits; each run of anything else becomes one ``_``, none at the ends."""
    out: list[str] = []
    pending = False
    for ch in lowered:
        if ch.isalnum():
            if pending and out:
                out.append("_")
            out.append(ch)
            pending = False
        else:
            pending = True
    return "".join(out)


def truncate_tag(tag: str, max_len: int) -> str:
    """The first ``max_len`` chars, without trailing ``_``."""
    kept = list(tag[:max_len])
    while kept and kept[-1] == "_":
        kept.pop()
    return "".join(kept)


def normalize_tag(tag: str, max_len: int | None = None) -> str:
    # The whole string is lowered at once: lowering char by char would miss context rules
    # such as the final sigma.
    normalized = squeeze_separators(tag.lower())
    if not normalized:
        raise EmptyInputError("tag", "has no letters or digits")
    if max_len is not None:
        if max_len < 1:
            raise RangeError("max_len", "must be at least 1")
        normalized = truncate_tag(normalized, max_len)
    return normalized


# ---------------------------------------------------------------------- quantize


def check_quantize_args(value: float, step: float) -> float:
    """Validates both arguments and returns ``value / step``."""
    if not (math.isfinite(step) and step > 0):
        raise RangeError("step", "must be a positive finite number")
    if not math.isfinite(value):
        raise RangeError("value", "must be finite")
    scaled = value / step
    if math.isinf(scaled):
        # The original's round(inf) cannot make an int: keep its error.
        raise OverflowError("cannot convert float infinity to integer")
    return scaled


def round_half_even(x: float) -> float:
    """``x`` rounded to the nearest integer, ties to even, sign kept (so -0.2 gives -0.0).

    ``magnitude - whole`` is exact (the two are within a factor of two, or whole is 0).
    """
    magnitude = abs(x)
    whole = float(math.trunc(magnitude))
    frac = magnitude - whole
    if frac > 0.5 or (frac == 0.5 and whole % 2.0 == 1.0):
        whole += 1.0
    return math.copysign(whole, x)


def quantize(value: float, step: float = 1.0) -> float:
    scaled = check_quantize_args(value, step)
    # The original multiplies an int, so its zero is always +0.0: adding 0.0 turns -0.0
    # into +0.0 and changes nothing else.
    return round_half_even(scaled) * step + 0.0


# ---------------------------------------------------------------------- scale_scores


def check_bounds(floor: float, ceiling: float) -> None:
    if not math.isfinite(floor):
        raise RangeError("floor", "must be finite")
    if not math.isfinite(ceiling):
        raise RangeError("ceiling", "must be finite")
    if floor > ceiling:
        raise RangeError("floor", "must not exceed ceiling", code="order")


def clamp_like_original(score: float, floor: float, ceiling: float) -> float:
    """``max(floor, min(score, ceiling))`` step by step: a NaN ends as ``floor``, and of two
    equal zeros the bound wins at the bottom and the score at the top, as in the original."""
    upper = ceiling if ceiling < score else score
    return upper if upper > floor else floor


def scale_scores(
    scores: dict[str, float], floor: float = 0.0, ceiling: float = 1.0
) -> dict[str, float]:
    check_bounds(floor, ceiling)
    out: dict[str, float] = {}
    for key in scores:
        out[key] = clamp_like_original(scores[key], floor, ceiling)
    return out


# ---------------------------------------------------------------------- rank_jobs


def check_jobs(jobs: list[Job], limit: int | None, *, lower_priority_bound: bool = True) -> None:
    """The original's validation, in its order. ``lower_priority_bound`` exists for the
    planted port, which forgets half of the priority check."""
    if limit is not None and limit < 0:
        raise RangeError("limit", "must be >= 0")
    for job in jobs:
        too_low = lower_priority_bound and job.priority < I32_MIN
        if too_low or job.priority > I32_MAX:
            raise RangeError("priority", "must fit in 32 bits")
        if job.submitted_ms < I64_MIN or job.submitted_ms > I64_MAX:
            raise RangeError("submitted_ms", "must fit in 64 bits")


def runs_before(a: Job, b: Job, *, newest_first: bool = False) -> bool:
    """Strictly ahead: higher priority, or the same priority submitted earlier.
    ``newest_first`` (the planted port) flips the tie-break on submission time."""
    if a.priority != b.priority:
        return a.priority > b.priority
    if newest_first:
        return a.submitted_ms > b.submitted_ms
    return a.submitted_ms < b.submitted_ms


def insertion_rank(jobs: list[Job], *, newest_first: bool = False) -> list[Job]:
    """Stable insertion sort by :func:`runs_before`: a job goes after every job it does not
    run strictly before, so full ties keep their input order."""
    ranked: list[Job] = []
    for job in jobs:
        pos = len(ranked)
        while pos > 0 and runs_before(job, ranked[pos - 1], newest_first=newest_first):
            pos -= 1
        ranked.insert(pos, job)
    return ranked


def rank_jobs(jobs: list[Job], limit: int | None = None) -> list[str]:
    check_jobs(jobs, limit)
    ids = [job.id for job in insertion_rank(jobs)]
    return ids if limit is None else ids[:limit]


# ---------------------------------------------------------------------- split_budget


def check_weights(total: int, weights: list[int]) -> int:
    """Validates the weights (total already checked, weights non-empty); returns their sum."""
    for w in weights:
        if w < 0 or w > I64_MAX:
            raise RangeError("weights", "each must be within 0..=2**63-1")
    weight_sum = 0
    for w in weights:
        added = checked_add_i64(weight_sum, w)
        if added is None:
            raise RangeError("weights", "their sum exceeds 2**63-1", code="overflow")
        weight_sum = added
    if weight_sum == 0 and total != 0:
        raise RangeError("weights", "all zero for a non-zero total", code="zero_sum")
    return weight_sum


def apportion(total: int, products: list[int], weight_sum: int) -> list[int]:
    """Largest remainder: floor shares, then one more to the largest remainders (lower index
    first) until ``total`` is reached. ``products[i]`` is ``total * weights[i]``."""
    shares = [p // weight_sum for p in products]
    remainders = [p % weight_sum for p in products]
    left = total
    for s in shares:
        left -= s
    order = list(range(len(products)))
    order.sort(key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def split_budget(total: int, weights: list[int]) -> list[int]:
    if total < 0 or total > I64_MAX:
        raise RangeError("total", "must be within 0..=2**63-1")
    if len(weights) == 0:
        if total == 0:
            return []
        raise EmptyInputError("weights", "nothing to split a non-zero total over")
    weight_sum = check_weights(total, weights)
    if weight_sum == 0:
        return [0 for _ in weights]
    return apportion(total, [mul_i128(total, w) for w in weights], weight_sum)


# ---------------------------------------------------------------------- backoff_delay


def check_backoff_args(attempt: int, base_delay_ms: int, max_delay_ms: int | None) -> None:
    if attempt < 0 or attempt > MAX_ATTEMPT:
        raise RangeError("attempt", f"must be within 0..={MAX_ATTEMPT}")
    if base_delay_ms < 1 or base_delay_ms > I64_MAX:
        raise RangeError("base_delay_ms", "must be within 1..=2**63-1")
    if max_delay_ms is not None and (max_delay_ms < 1 or max_delay_ms > I64_MAX):
        raise RangeError("max_delay_ms", "must be within 1..=2**63-1")


def cap_delay(delay: int | None, max_delay_ms: int | None) -> int:
    """``delay`` (None: past i64::MAX) capped by ``max_delay_ms``; an uncapped overflow is
    the original's error."""
    if max_delay_ms is not None:
        return max_delay_ms if delay is None else min(delay, max_delay_ms)
    if delay is None:
        raise RangeError("attempt", "the delay exceeds 2**63-1 ms", code="overflow")
    return delay


def backoff_delay(attempt: int, base_delay_ms: int, max_delay_ms: int | None = None) -> int:
    check_backoff_args(attempt, base_delay_ms, max_delay_ms)
    return cap_delay(checked_shl_i64(base_delay_ms, attempt), max_delay_ms)


# ---------------------------------------------------------------------- log_histogram


def check_log_args(base: float) -> float:
    """Validates ``base``; returns its natural log (the divisor of every bucket)."""
    if not (math.isfinite(base) and base > 1):
        raise RangeError("base", "must be finite and > 1")
    return math.log(base)


def check_log_value(v: float) -> None:
    if not (math.isfinite(v) and v >= 0):
        raise RangeError("values", "must be finite and >= 0")


def log_histogram(values: list[float], base: float = 2.0) -> dict[int, int]:
    ln_base = check_log_args(base)
    counts: dict[int, int] = {}
    for v in values:
        check_log_value(v)
        if v == 0.0:
            # ln(0) is -inf here, but the original's math.log raised: keep its error.
            raise ValueError("math domain error")
        bucket = math.floor(math.log(v) / ln_base)
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts


# ---------------------------------------------------------------------- summarize_latencies


def check_samples(samples_ms: list[int]) -> None:
    if len(samples_ms) == 0:
        raise EmptyInputError("samples_ms", "no samples")
    if len(samples_ms) > MAX_SAMPLES:
        raise RangeError("samples_ms", f"at most {MAX_SAMPLES} samples", code="too_many")
    for s in samples_ms:
        if s < 0 or s > MAX_LATENCY_MS:
            raise RangeError("samples_ms", f"each must be within 0..={MAX_LATENCY_MS}")


def latency_summary(samples_ms: list[int], *, float_median: bool = False) -> LatencySummary:
    """The summary of validated samples. ``float_median`` (the planted port) returns the
    median of an odd count as a float, as an f64-typed port would."""
    ordered = sorted(samples_ms)
    total = 0
    for s in ordered:
        total += s
    n = len(ordered)
    mid = n // 2
    median: int | float
    if n % 2 == 1:
        median = float(ordered[mid]) if float_median else ordered[mid]
    else:
        median = float(ordered[mid - 1] + ordered[mid]) / 2.0
    # Both sums are below 2**53 (MAX_SAMPLES * MAX_LATENCY_MS), so the f64 division is the
    # original's correctly rounded int / int.
    return LatencySummary(n, ordered[0], ordered[-1], median, float(total) / float(n))


def summarize_latencies(samples_ms: list[int]) -> LatencySummary:
    check_samples(samples_ms)
    return latency_summary(samples_ms)
