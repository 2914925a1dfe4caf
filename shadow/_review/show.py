"""How the review reports show logged values and name the two sides.

Why one module for both reports: a diff line, an input and a message must read the same in
``review.md``, ``review.html`` and the CLI (``shadow replay``, ``shadow gate``), so a person
can match them.  Strings go through :func:`shadow._display.visible` (quoted, invisible
characters escaped: ``'a\\u200b'``), containers are laid out around them, and each diff
line names the implementations (``reference=1.5 faulty_port=1.25``).  ``review.json`` keeps
the exact values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from shadow._display import escape_invisible, visible
from shadow._review.model import Group, Reproducer, Review

#: A container whose one-line form fits in this many characters stays on one line.
_ONE_LINE: Final = 72
_MAX_DEPTH: Final = 64
_NO_LIMIT: Final = 1 << 30


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return visible(value, _NO_LIMIT)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int | float):
        return repr(value)
    return escape_invisible(repr(value))


def one_line(value: Any, limit: int = 200, _depth: int = 0) -> str:
    """A value on one line: strings as :func:`visible` shows them, JSON punctuation around."""
    if _depth > _MAX_DEPTH:
        text = "…"
    elif isinstance(value, Mapping):
        text = (
            "{"
            + ", ".join(
                f"{_scalar(str(k))}: {one_line(v, _NO_LIMIT, _depth + 1)}" for k, v in value.items()
            )
            + "}"
        )
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(one_line(v, _NO_LIMIT, _depth + 1) for v in value) + "]"
    else:
        text = _scalar(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def pretty(value: Any, limit: int = 4000) -> str:
    """A value laid out over lines (containers that fit stay on one line), cut to ``limit``."""
    lines: list[str] = []
    _pretty_into(value, "", "", "", lines, 0)
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit] + "\n… (cut: review.json has it all)"


def _pretty_into(
    value: Any, indent: str, prefix: str, suffix: str, out: list[str], depth: int
) -> None:
    flat = one_line(value, _NO_LIMIT)
    is_container = isinstance(value, Mapping | list | tuple) and len(value) > 0
    if not is_container or depth > _MAX_DEPTH or len(indent) + len(prefix) + len(flat) <= _ONE_LINE:
        out.append(f"{indent}{prefix}{flat}{suffix}")
        return
    opening, closing = ("{", "}") if isinstance(value, Mapping) else ("[", "]")
    out.append(f"{indent}{prefix}{opening}")
    items = list(value.items()) if isinstance(value, Mapping) else [(None, v) for v in value]
    for i, (key, item) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        key_prefix = "" if key is None else f"{_scalar(str(key))}: "
        _pretty_into(item, indent + "  ", key_prefix, comma, out, depth + 1)
    out.append(f"{indent}{closing}{suffix}")


def summary_text(text: str | None) -> str:
    """An outcome summary or message as logged: invisible characters escaped.

    The writer already escaped the summaries' strings (they hold ``\\u200b`` as text), so
    backslashes are left as they are here: escaping them again would double them.
    """
    if text is None:
        return "—"
    return "".join(ch if ch == "\\" else escape_invisible(ch) for ch in text)


@dataclass(frozen=True, slots=True)
class SideNames:
    """What to call the two sides of a group: the implementations' names from its events."""

    primary: str
    shadow: str


def side_names(group: Group) -> SideNames:
    """The implementations' names (versions added when the names alone are equal)."""
    r = group.reproducer
    p_name = _name(r.primary if r else None) or (
        group.sides[0].primary_name if group.sides else None
    )
    s_name = _name(r.shadow if r else None) or (group.sides[0].shadow_name if group.sides else None)
    if p_name and s_name and p_name != s_name:
        return SideNames(p_name, s_name)
    p_full = _full(r.primary if r else None)
    s_full = _full(r.shadow if r else None)
    if p_full and s_full and p_full != s_full:
        return SideNames(p_full, s_full)
    return SideNames("primary", "shadow")


def _name(info: Mapping[str, Any] | None) -> str | None:
    name = info.get("name") if info else None
    return summary_text(name) if isinstance(name, str) and name else None


def _full(info: Mapping[str, Any] | None) -> str | None:
    name = _name(info)
    version = info.get("version") if info else None
    if name and isinstance(version, str) and version:
        return f"{name} {summary_text(version)}"
    return name


def diff_lines(r: Reproducer, names: SideNames, limit: int = 200) -> list[str]:
    """``path: primary_name=value shadow_name=value``, one line per sampled diff entry."""
    return [
        f"{summary_text(str(e.get('path', '?')))}: "
        f"{names.primary}={one_line(e.get('primary'), limit)} "
        f"{names.shadow}={one_line(e.get('shadow'), limit)}"
        for e in r.diff
    ]


@dataclass(frozen=True, slots=True)
class Compared:
    """What a review compared, for the banner: from run summaries, else from the events."""

    pairs: tuple[tuple[str, str, int], ...]  # (primary, shadow, runs or events)
    pairs_from_runs: bool
    targets: tuple[str, ...]
    run_ids: tuple[str, ...]
    modes: tuple[tuple[str, int], ...]
    sources: tuple[tuple[str, int], ...]
    calls: int
    sampled: int
    ops_without_summary: tuple[str, ...]

    @property
    def sampled_share(self) -> float | None:
        return self.sampled / self.calls if self.calls else None


def compared(review: Review) -> Compared:
    runs = review.runs
    pair_counts: dict[tuple[str, str], int] = {}
    for r in runs:
        if r.primary_name is None and r.shadow_name is None:
            continue  # an older writer's summary: the events name the sides instead
        key = (summary_text(r.primary), summary_text(r.shadow))
        pair_counts[key] = pair_counts.get(key, 0) + 1
    from_runs = bool(pair_counts)
    if not from_runs:
        for g in review.groups:
            for side in g.sides:
                key = (summary_text(side.primary), summary_text(side.shadow))
                pair_counts[key] = pair_counts.get(key, 0) + side.count
    targets = {r.target for r in runs if r.target}
    targets |= {g.reproducer.target for g in review.groups if g.reproducer and g.reproducer.target}
    modes: dict[str, int] = {}
    sources: dict[str, int] = {}
    for r in runs:
        modes[r.mode or "unknown"] = modes.get(r.mode or "unknown", 0) + 1
        sources[r.source or "unknown"] = sources.get(r.source or "unknown", 0) + 1
    return Compared(
        pairs=tuple((p, s, n) for (p, s), n in sorted(pair_counts.items(), key=lambda kv: -kv[1])),
        pairs_from_runs=from_runs,
        targets=tuple(sorted(summary_text(t) for t in targets)),
        run_ids=tuple(summary_text(r.run_id or "?") for r in runs),
        modes=tuple(sorted(modes.items())),
        sources=tuple(sorted(sources.items())),
        calls=sum(o.calls or 0 for o in review.ops),
        sampled=sum(o.sampled or 0 for o in review.ops),
        ops_without_summary=tuple(o.op for o in review.ops if o.sampled is None),
    )


VERDICT_LABEL: Final[Mapping[str, str]] = {
    "critical": "Critical problems found",
    "minor": "Minor problems only",
    "clean": "Clean: no divergence",
}


def verdict_class(review: Review) -> str:
    """``critical``, ``minor`` (problems, none critical) or ``clean``: the banner's colour."""
    if not review.groups:
        return "clean"
    return "critical" if review.critical_groups else "minor"
