"""Fitting an event into a capped JSON line: shrink what is big, keep what names the event.

Why here and not in the event builder: the builder bounds what it knows (diff entries, inline
inputs), but an event also carries what the code under test produced (messages, summaries,
extra fields), and a hostile or broken shadow must not be able to hide its own event by making
it huge, deep or unrenderable. So the writer has the last word, generically: any field but the
identity ones can be cut down, and the result always fits and always parses.

A value that is cut becomes a marker ``{"$truncated": <type>, "size": <len>, "head": <first
characters, or a short preview>}``; the line lists the fields it changed in
``$truncated_fields``.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any, Final

import orjson

__all__ = ["IDENTITY_FIELDS", "MIN_LINE_CAP", "fit_line", "render_lenient"]

#: Fields that name an event; shrinking never touches them (only the last resort trims a
#: pathologically long one).
IDENTITY_FIELDS: Final = frozenset(
    {"schema", "event", "run_id", "call_id", "op", "kind", "severity", "signature", "ts", "target"}
)
#: Smallest cap :func:`fit_line` is guaranteed to meet: the last resort (the identity fields,
#: trimmed, and the names of the others) always fits in it.
MIN_LINE_CAP: Final = 64 * 1024

_FAST_OPTIONS: Final = orjson.OPT_APPEND_NEWLINE
_LENIENT_OPTIONS: Final = (
    orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
)


def _safe_repr(value: Any) -> str:
    """``repr`` for the lenient renderer: a hostile ``__repr__`` must not lose the event."""
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def render_lenient(obj: Any) -> bytes | None:
    """``obj`` as a JSON line with NumPy values, non-string keys and other objects (as repr);
    None when even that fails (too deep, a cycle, an integer over 64 bits, a lone surrogate).
    """
    try:
        return orjson.dumps(obj, default=_safe_repr, option=_LENIENT_OPTIONS)
    except Exception:
        return None


def _render(obj: Any) -> bytes | None:
    try:
        return orjson.dumps(obj, option=_FAST_OPTIONS)
    except Exception:
        return render_lenient(obj)


# How a too-long line is shrunk: each trimming pass keeps strings up to ``chars`` characters
# and containers up to ``items`` entries, ``_MAX_DEPTH`` levels deep, and replaces the rest.
_TRIM_PASSES: Final = ((16_384, 1_024), (1_024, 64))
_MAX_DEPTH: Final = 32
_HEAD_CHARS: Final = 512
_IDENTITY_CHARS: Final = 512
_MARKER_BYTES: Final = 8 * _HEAD_CHARS  # a generous bound on a rendered marker
_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1
_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel = 3
_PREVIEW.maxstring = 80
_PREVIEW.maxother = 80


def _marker(value: Any) -> dict[str, Any]:
    """What replaces a value that does not fit: its type, its length and a short head."""
    if isinstance(value, str):
        head = _clean_text(value[:_HEAD_CHARS])
    else:
        try:
            head = _clean_text(_PREVIEW.repr(value)[:_HEAD_CHARS])
        except Exception:
            head = ""
    try:
        size: int | None = len(value)
    except Exception:
        size = None
    return {"$truncated": type(value).__name__, "size": size, "head": head}


def _clean_text(text: str) -> str:
    """``text`` made encodable (orjson refuses lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _trim(value: Any, chars: int, items: int, depth: int = 0) -> Any:
    """``value`` with long strings, big or deep containers and unrenderable leaves replaced.

    Returns the very same object when nothing had to change, so the parts of an event that
    were fine are neither copied nor reported as truncated.
    """
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if _I64_MIN <= value <= _U64_MAX else _marker(value)
    if isinstance(value, str):
        return _clean_text(value) if len(value) <= chars else _marker(value)
    if isinstance(value, list | tuple):
        if len(value) > items or depth >= _MAX_DEPTH:
            return _marker(value)
        trimmed = [_trim(v, chars, items, depth + 1) for v in value]
        unchanged = all(a is b for a, b in zip(trimmed, value, strict=True))
        return value if unchanged else trimmed
    if isinstance(value, dict):
        if len(value) > items or depth >= _MAX_DEPTH:
            return _marker(value)
        out: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            new_key = key if type(key) is str else _safe_repr(key)
            if len(new_key) > chars:
                new_key = new_key[:chars]
            new_key = _clean_text(new_key)
            new_item = _trim(item, chars, items, depth + 1)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    text = _safe_repr(value)  # anything else would be rendered as its repr anyway
    return _clean_text(text) if len(text) <= chars else _marker(text)


def fit_line(event: Mapping[str, Any], cap: int) -> bytes:
    """Render ``event`` in at most ``cap`` bytes, shrinking every field but the identity ones.

    Three steps, each only when the previous one is still too long: trim inside each field
    (long strings, big lists and objects become markers; the structure around them stays);
    replace whole fields by markers, largest first; as a last resort keep only the identity
    fields and the names of the others. ``$truncated_fields`` names the fields changed.
    """
    names = [k for k in event if k not in IDENTITY_FIELDS]
    fields: dict[str, Any] = dict(event)
    changed: list[str] = []
    for chars, items in _TRIM_PASSES:
        changed = []
        for name in names:
            try:
                value = _trim(event[name], chars, items)
            except Exception:  # a hostile container (its len or iteration raises)
                value = _marker(event[name])
            if value is not event[name]:
                changed.append(name)
            fields[name] = value
        line = _render({**fields, "$truncated_fields": changed})
        if line is not None and len(line) <= cap:
            return line
    # Whole fields, largest first. Only containers and longer strings can outweigh a marker,
    # so only those are measured (an event of a million small fields costs no million renders).
    total = len(line) if line is not None else cap + 1
    big = []
    for name in names:
        value = fields[name]
        if isinstance(value, list | tuple | dict) or (
            isinstance(value, str) and len(value) > _HEAD_CHARS
        ):
            size = _rendered_size(name, value, cap)
            if size > _MARKER_BYTES:
                big.append((size, name))
    seen = set(changed)
    for size, name in sorted(big, key=lambda item: item[0], reverse=True):
        if total <= cap:
            break
        fields[name] = _marker(event[name])
        total -= size - _MARKER_BYTES
        if name not in seen:
            seen.add(name)
            changed.append(name)
            total += len(str(name)) + 3
    line = _render({**fields, "$truncated_fields": changed})
    if line is not None and len(line) <= cap:
        return line
    return _identity_line(event)


def _rendered_size(name: object, value: Any, cap: int) -> int:
    """Bytes a field takes in the line (over the cap when it cannot be rendered at all)."""
    part = _render(value)
    return len(str(name)) + 4 + len(part) if part is not None else cap + 1


def _identity_line(event: Mapping[str, Any]) -> bytes:
    """The last resort: the identity fields (trimmed), and the names of the fields dropped."""
    kept: dict[str, Any] = {}
    for name, value in event.items():
        if name in IDENTITY_FIELDS:
            if isinstance(value, str):
                kept[name] = _clean_text(value[:_IDENTITY_CHARS])
            else:
                kept[name] = _trim(value, _IDENTITY_CHARS, 0)
    dropped = [_clean_text(str(k)[:64]) for k in event if k not in IDENTITY_FIELDS]
    kept["$truncated_fields"] = dropped[:32]
    kept["$dropped_fields"] = len(dropped)
    return orjson.dumps(kept, option=_FAST_OPTIONS)
