"""The reference side of the planted-bug pair fuzzed by ``bench/bench_fuzz_workers.py``.

Five small integer functions, type-hinted, no strategy written: ``shadow fuzz --pair
bench.planted_ref bench.planted_port`` derives everything from the hints.
"""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def midpoint(a: int, b: int) -> int:
    """Rounded down (towards minus infinity)."""
    return (a + b) // 2


def clamp(x: int, lo: int, hi: int) -> int:
    if lo > hi:
        raise ValueError("empty range")
    return max(lo, min(x, hi))


def best_window(xs: list[int], k: int) -> int:
    """The largest sum of ``k`` consecutive values."""
    if k <= 0 or k > len(xs):
        raise ValueError("no such window")
    return max(sum(xs[i : i + k]) for i in range(len(xs) - k + 1))


def count_runs(xs: list[int]) -> int:
    """How many maximal runs of equal values."""
    return sum(1 for i, x in enumerate(xs) if i == 0 or xs[i - 1] != x)


def to_base(n: int, base: int) -> str:
    if not 2 <= base <= 36:
        raise ValueError("base must be in 2..36")
    if n == 0:
        return "0"
    sign, n, out = "-" if n < 0 else "", abs(n), []
    while n:
        n, d = divmod(n, base)
        out.append(DIGITS[d])
    return sign + "".join(reversed(out))
