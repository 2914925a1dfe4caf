"""Small text helpers shared by the Markdown, HTML and console renderers."""

from __future__ import annotations

from typing import Any

import orjson

from shadow._review.model import OpStats


def compact(value: Any, limit: int = 80) -> str:
    """One-line JSON of a value, cut to ``limit`` characters so a table stays readable."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pretty(value: Any, limit: int = 4000) -> str:
    """Indented JSON for a code block, cut to ``limit`` characters."""
    text = orjson.dumps(
        value,
        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS,
        default=str,
    ).decode()
    return text if len(text) <= limit else text[:limit] + "\n… (truncated)"


def num(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def rate(stats: OpStats) -> str:
    r = stats.rate
    if r is None:
        return "unknown" if stats.sampled is None else "n/a (0 sampled)"
    return f"{r:.4%}"


def size(n: int) -> str:
    if n >= 1 << 61:
        return "not logged"
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB"


def counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in pairs) if pairs else "none"


def verdict(critical_groups: int, groups: int) -> str:
    if groups == 0:
        return "No divergence found."
    if critical_groups:
        return f"CRITICAL: {critical_groups} of {groups} problems change a decision."
    return f"{groups} problems found, none critical (value drift only)."


def field_problems(problems: tuple[tuple[str, str, int], ...]) -> str:
    return "; ".join(f"{field}: {problem} ({n:,})" for field, problem, n in problems)


def seconds(value: float | None) -> str:
    """A duration with a unit that keeps three significant digits."""
    if value is None:
        return "—"
    if value == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}x"
