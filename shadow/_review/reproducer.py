"""Build a group's :class:`Reproducer` from the logged event, safely.

Why a module of its own: both engines pick the smallest event of a group their own way but
must present it identically, and a logged event is hostile data.  An input nested 300
levels deep parses but cannot be rendered back (orjson stops at 255 levels); an integer
beyond 64 bits cannot be rendered either.  Such parts are left out with a note saying why,
so the reports are always written.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from shadow._review.model import Reproducer

SAMPLE_DIFF_ENTRIES: Final = 10
#: The divergence kinds whose replay needs an isolation option (``shadow._events``'s
#: ``replay_isolation`` adds nothing for any other kind; a test holds them equal).
ISOLATED_KINDS: Final = frozenset({"shadow_crash"})
_OPTIONS: Final = orjson.OPT_NON_STR_KEYS


def replay_command(log_path: Path | str, call_id: str, target: Any = None, kind: Any = None) -> str:
    """The one-line command that replays a call from the log file that was reviewed; it names
    ``--target`` when the event's target is not the project's configured one (a log never
    chooses what replay imports, so the reader sees what would be imported), and process
    isolation when the shadow crashed on that call."""
    from shadow._config import configured_target

    extra = ""
    if isinstance(target, str) and "\x00" not in target and target != configured_target():
        extra = f" --target {shlex.quote(target)}"
    if kind in ISOLATED_KINDS:
        # Imported only here: shadow._events brings the comparison engine (a third of a
        # second of imports) that a review otherwise never needs.
        from shadow._events import replay_isolation

        extra += replay_isolation(kind)
    return f"shadow replay {shlex.quote(str(log_path))} --call {shlex.quote(call_id)}{extra}"


def renderable(value: Any) -> bool:
    """True when the reports can render the value (depth and integer range allow it)."""
    try:
        orjson.dumps(value, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return True


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _side(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) and renderable(value) else None


def build_reproducer(
    data: Mapping[str, Any] | None,
    *,
    call_id: str,
    log_path: Path | str,
    line_no: int,
    size: int,
    sample_diff: int = SAMPLE_DIFF_ENTRIES,
) -> Reproducer:
    """The reproducer of one logged divergence (``data`` None: the line could not be parsed
    again in Python, e.g. nested deeper than its parser allows)."""
    notes: list[str] = []
    d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    if data is None:
        notes.append("the event is too deeply nested to show here; replay it")
    value = d.get("input")
    if value is not None and not renderable(value):
        value = None
        notes.append("input not shown: nested too deep (or numbers too large) to render")
    diff = d.get("diff")
    entries = [e for e in (diff if isinstance(diff, list) else [])[:sample_diff]]
    shown = tuple(e for e in entries if isinstance(e, dict) and renderable(e))
    if len(shown) < len(entries):
        notes.append(f"{len(entries) - len(shown)} diff entries not shown (not renderable)")
    count = d.get("diff_count")
    if not (isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 1 << 63):
        count = len(diff) if isinstance(diff, list) else 0
    ref = d.get("input_ref")
    return Reproducer(
        call_id=call_id,
        log_path=str(log_path),
        line_no=line_no,
        size=size,
        input=value,
        input_ref=ref if isinstance(ref, str) and "\x00" not in ref else None,
        input_digest=_str_or_none(d.get("input_digest")),
        target=_str_or_none(d.get("target")),
        run_id=_str_or_none(d.get("run_id")),
        replay=replay_command(log_path, call_id, d.get("target"), d.get("kind")),
        logged_replay=_str_or_none(d.get("replay")),
        diff=shown,
        diff_count=count,
        primary=_side(d.get("primary")),
        shadow=_side(d.get("shadow")),
        note="; ".join(notes) or None,
    )
