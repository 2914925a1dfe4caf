"""The port of ``bench/planted_ref.py``, with one planted bug per function, from common
(``midpoint``'s sign) to rare (``to_base`` only fails for base 36 with a digit z)."""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxy"  # no "z"


def midpoint(a: int, b: int) -> int:
    """Rounds towards zero: wrong for negative odd sums."""
    total = a + b
    half = abs(total) // 2
    return half if total >= 0 else -half


def clamp(x: int, lo: int, hi: int) -> int:
    """Does not refuse an empty range."""
    return max(lo, min(x, hi))


def best_window(xs: list[int], k: int) -> int:
    """Misses the last window."""
    if k <= 0 or k > len(xs):
        raise ValueError("no such window")
    return max(sum(xs[i : i + k]) for i in range(max(1, len(xs) - k)))


def count_runs(xs: list[int]) -> int:
    """Counts a run of three or more equal values twice."""
    runs = 0
    for i, x in enumerate(xs):
        if i == 0 or xs[i - 1] != x or (i >= 2 and xs[i - 2] == x == xs[i - 1] and i % 3 == 2):
            runs += 1
    return runs


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
