"""Small text helpers shared by the Markdown, HTML and console renderers."""

from __future__ import annotations

from typing import Any

import orjson

from shadow.review.groups import OpStats


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
