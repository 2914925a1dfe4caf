"""The faithful port with planted divergences, each switched on or off by its id.

Each divergence is a mistake a real port makes (Rust idioms that differ from Python's at an
edge), reachable only on part of the input space, and several share a function so that
grouping findings by cause is put to a real test. :mod:`examples.portlib.manifest`
describes each one with a minimal input that triggers it; with every id switched off the
port is :mod:`examples.portlib.faithful` again.

``make()`` builds the port with every divergence on (what the benchmark target uses);
``make({"ties_away"})`` builds it with one, as attribution does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from examples.portlib import faithful as f
from examples.portlib.errors import EmptyInputError, RangeError
from examples.portlib.model import I64_MAX, I64_MIN, Job, LatencySummary

BUG_IDS: frozenset[str] = frozenset(
    {
        "ascii_lowercase",
        "falsy_max_len",
        "ties_away",
        "negative_zero",
        "nan_passthrough",
        "tie_order",
        "priority_upper_only",
        "saturating_share",
        "empty_weights",
        "shift_wrap",
        "log_zero",
        "median_float",
    }
)


def wrap_i64(value: int) -> int:
    """Two's complement wrap-around into i64, as Rust's release-mode arithmetic does."""
    return (value + 2**63) % 2**64 - 2**63


def round_half_away(x: float) -> float:
    """``x`` rounded to the nearest integer, ties away from zero (Rust's ``f64::round``)."""
    magnitude = abs(x)
    whole = float(math.trunc(magnitude))
    if magnitude - whole >= 0.5:
        whole += 1.0
    return math.copysign(whole, x)


class PlantedPort:
    """The port's eight functions, with the divergences in ``enabled`` switched on."""

    name = "planted"
    version = "2.0.0-planted"

    def __init__(self, enabled: Iterable[str] | None = None) -> None:
        chosen = BUG_IDS if enabled is None else frozenset(enabled)
        unknown = sorted(chosen - BUG_IDS)
        if unknown:
            raise ValueError(f"unknown planted divergence id(s): {', '.join(unknown)}")
        self.enabled: frozenset[str] = chosen

    def __repr__(self) -> str:
        return f"PlantedPort(enabled={sorted(self.enabled)!r})"

    def _on(self, bug: str) -> bool:
        return bug in self.enabled

    # ------------------------------------------------------------------ normalize_tag

    def normalize_tag(self, tag: str, max_len: int | None = None) -> str:
        if self._on("ascii_lowercase"):
            # to_ascii_lowercase: "Émile" keeps its "É", which is a letter, so it stays.
            lowered = "".join(ch.lower() if ch.isascii() else ch for ch in tag)
        else:
            lowered = tag.lower()
        normalized = f.squeeze_separators(lowered)
        if not normalized:
            raise EmptyInputError("tag", "has no letters or digits")
        if self._on("falsy_max_len"):
            # `if let Some(n) = max_len.filter(|&n| n != 0)`: 0 reads as "no limit".
            if max_len:
                if max_len < 1:
                    raise RangeError("max_len", "must be at least 1")
                normalized = f.truncate_tag(normalized, max_len)
        elif max_len is not None:
            if max_len < 1:
                raise RangeError("max_len", "must be at least 1")
            normalized = f.truncate_tag(normalized, max_len)
        return normalized

    # ------------------------------------------------------------------ quantize

    def quantize(self, value: float, step: float = 1.0) -> float:
        scaled = f.check_quantize_args(value, step)
        # f64::round rounds ties away from zero (2.5 -> 3), Python's round to even (2).
        round_ = round_half_away if self._on("ties_away") else f.round_half_even
        rounded = round_(scaled)
        if self._on("negative_zero"):
            return rounded * step  # -0.2 rounds to -0.0 and stays there
        return rounded * step + 0.0

    # ------------------------------------------------------------------ scale_scores

    def scale_scores(
        self, scores: dict[str, float], floor: float = 0.0, ceiling: float = 1.0
    ) -> dict[str, float]:
        f.check_bounds(floor, ceiling)
        out: dict[str, float] = {}
        for key in scores:
            score = scores[key]
            if self._on("nan_passthrough") and math.isnan(score):
                out[key] = score  # f64::clamp returns NaN for NaN
            else:
                out[key] = f.clamp_like_original(score, floor, ceiling)
        return out

    # ------------------------------------------------------------------ rank_jobs

    def rank_jobs(self, jobs: list[Job], limit: int | None = None) -> list[str]:
        # Only `priority > LIMIT` is checked: a priority of -5000 slips through.
        f.check_jobs(jobs, limit, lower_priority_bound=not self._on("priority_upper_only"))
        # The tie-break comparison is flipped: equal priorities run newest first.
        ranked = f.insertion_rank(jobs, newest_first=self._on("tie_order"))
        ids = [job.id for job in ranked]
        return ids if limit is None else ids[:limit]

    # ------------------------------------------------------------------ split_budget

    def split_budget(self, total: int, weights: list[int]) -> list[int]:
        if total < 0 or total > I64_MAX:
            raise RangeError("total", "must be within 0..=2**63-1")
        if len(weights) == 0:
            if total == 0 or self._on("empty_weights"):
                return []  # "nothing to split": the original raises for a non-zero total
            raise EmptyInputError("weights", "nothing to split a non-zero total over")
        weight_sum = f.check_weights(total, weights)
        if weight_sum == 0:
            return [0 for _ in weights]
        if self._on("saturating_share"):
            # i64::saturating_mul instead of widening to i128: big products stop at i64::MAX.
            products = [min(total * w, I64_MAX) for w in weights]
        else:
            products = [f.mul_i128(total, w) for w in weights]
        return f.apportion(total, products, weight_sum)

    # ------------------------------------------------------------------ backoff_delay

    def backoff_delay(
        self, attempt: int, base_delay_ms: int, max_delay_ms: int | None = None
    ) -> int:
        f.check_backoff_args(attempt, base_delay_ms, max_delay_ms)
        if self._on("shift_wrap"):
            # `base << attempt` in a release build: the shift amount is masked to 6 bits and
            # the bits shifted out are lost, so a late attempt's delay wraps (even negative).
            return f.cap_delay(wrap_i64(base_delay_ms << (attempt & 63)), max_delay_ms)
        return f.cap_delay(f.checked_shl_i64(base_delay_ms, attempt), max_delay_ms)

    # ------------------------------------------------------------------ log_histogram

    def log_histogram(self, values: list[float], base: float = 2.0) -> dict[int, int]:
        ln_base = f.check_log_args(base)
        counts: dict[int, int] = {}
        for v in values:
            f.check_log_value(v)
            if v == 0.0:
                if not self._on("log_zero"):
                    raise ValueError("math domain error")
                # ln(0) = -inf, and `(-inf).floor() as i64` saturates to i64::MIN.
                bucket = I64_MIN
            else:
                bucket = math.floor(math.log(v) / ln_base)
            counts[bucket] = counts.get(bucket, 0) + 1
        return counts

    # ------------------------------------------------------------------ summarize_latencies

    def summarize_latencies(self, samples_ms: list[int]) -> LatencySummary:
        f.check_samples(samples_ms)
        return f.latency_summary(samples_ms, float_median=self._on("median_float"))


def make(enabled: Iterable[str] | None = None) -> PlantedPort:
    """The planted port: every divergence on by default, or exactly those in ``enabled``."""
    return PlantedPort(enabled)
