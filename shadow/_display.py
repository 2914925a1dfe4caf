"""How values are shown to people: one escaping rule for diffs, inputs and messages.

Why: an id with a zero-width space or a trailing NUL looks identical to a clean one when
printed raw, so a diff line would read ``a != a``. Every place that shows a value (CLI
lines, Markdown and HTML reports) goes through :func:`visible`, which keeps printable text
as it is and writes everything else as a Python-style escape (``\\u200b``, ``\\x00``).
The JSON in logs and corpus files is left exact (JSON keeps every character); only the
human view is escaped.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import orjson

_SHOWN_CATEGORIES = frozenset({"Zs"})


def escape_invisible(text: str) -> str:
    """``text`` with control, format, separator and unassigned characters escaped."""
    out: list[str] = []
    for ch in text:
        if ch == " ":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if (cat[0] in "CZ" and cat not in _SHOWN_CATEGORIES) or ch in "\\":
            if ch == "\\":
                out.append("\\\\")
            elif ord(ch) < 0x100:
                out.append(f"\\x{ord(ch):02x}")
            elif ord(ch) < 0x10000:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)


def visible(value: Any, limit: int = 200) -> str:
    """A one-line, escaped rendering of a value (strings quoted, JSON otherwise)."""
    if isinstance(value, str):
        text = "'" + escape_invisible(value) + "'"
    else:
        try:
            text = escape_invisible(orjson.dumps(value, default=repr).decode())
        except Exception:
            text = escape_invisible(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["escape_invisible", "visible"]
