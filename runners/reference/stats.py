"""Summary statistics (design §3.3).

Means and variances use exactly rounded sums (``math.fsum``) so that the result does not
depend on summation order; percentiles are NumPy's default (linear interpolation). The Rust
port follows the same recipe, which lets the shadow compare with a tight tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from runners.reference import checks
from runners.types import Stats
from t2_sidecar import errors


def validate_samples(samples: object, field: str = "samples") -> npt.NDArray[np.float64]:
    if isinstance(samples, np.ndarray):
        if samples.ndim != 1 or samples.dtype.kind not in "fiu":
            checks.fail(
                errors.WRONG_TYPE, field, f"expected a 1-D numeric array, got {samples.dtype}"
            )
        if samples.size == 0:
            checks.fail(errors.EMPTY, field, "must not be empty")
        array = samples.astype(np.float64, copy=False)
        if not np.isfinite(array).all():
            bad = array[~np.isfinite(array)][0]
            checks.fail(errors.NOT_FINITE, field, f"{bad} is not finite")
        return array
    items = checks.non_empty_sequence(samples, field)
    kinds = set(map(type, items))
    if kinds <= {float, int}:
        try:
            fast = np.array(items, dtype=np.float64)
        except OverflowError:
            pass  # an int too large for a double: the slow path names it
        else:
            if np.isfinite(fast).all():
                return fast
    # Slow path: find the first offending element, in order, as the Rust port does.
    for item in items:
        checks.finite_real(item, field)
    return np.array(items, dtype=np.float64)


def stats_of(array: npt.NDArray[np.float64], field: str = "samples") -> Stats:
    """Statistics of an already validated, non-empty sample.

    Finite samples can still be too large for their statistics (a sum or a squared
    deviation past the largest double): that is reported as ``overflow`` on ``field``.
    """
    count = int(array.size)
    try:
        mean = math.fsum(array.tolist()) / count
        with np.errstate(over="ignore"):
            deviations = array - mean
            squares = deviations * deviations
        std = math.sqrt(math.fsum(squares.tolist()) / count)
    except OverflowError:
        mean = std = math.inf
    if not (math.isfinite(mean) and math.isfinite(std)):
        checks.fail(errors.OVERFLOW, field, "the statistics of these samples overflow a double")
    p50, p95 = np.percentile(array, [50.0, 95.0])
    return Stats(
        count=count,
        mean=mean,
        std=std,
        min=float(array.min()),
        p50=float(p50),
        p95=float(p95),
        max=float(array.max()),
        cv=std / mean if mean != 0.0 else None,
    )


def summarize(samples: Sequence[float]) -> Stats:
    return stats_of(validate_samples(samples))
