"""Turn a call's input into JSON and back, so a logged call can be replayed later.

A divergence event must carry the input that produced it, in a form a different process
(``shadow replay``) can rebuild exactly. :class:`TypedCodec` does that for the values most
APIs are made of: primitives, lists, tuples, dicts, bytes, non-finite floats and the
dataclasses a target lists. Tuples, dicts and dataclasses are tagged (``{"$tuple": ...}``,
``{"$type": "Name", ...}``) so decoding restores the exact Python types, which matters
because implementations may validate types (a tuple is not a list to everyone).

The module also holds the digest (sha256 of canonical JSON) used for deterministic sampling,
blob names and the ``input_digest`` field, and :func:`protect`, the structural copy the
dispatcher hands to the shadow.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import orjson

JSON = Any
"""A value orjson can serialize: None, bool, int (64-bit), float, str, list, dict[str, ...]."""

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
_ATOMIC: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes, complex})


class CodecError(ValueError):
    """A value the codec cannot encode or decode (the call is then logged without input)."""


@runtime_checkable
class Codec(Protocol):
    """Encodes a call input ``(args, kwargs)`` to JSON-able data and back."""

    def encode(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> JSON: ...

    def decode(self, data: JSON) -> tuple[tuple[Any, ...], dict[str, Any]]: ...

    def encode_value(self, value: Any, *, lenient: bool = False) -> JSON: ...


class TypedCodec:
    """The generic codec: primitives, containers and the dataclasses given as ``types``.

    ``lenient=True`` (used for outputs in summaries and diffs, never for replayable input)
    falls back to ``repr`` instead of raising on unknown types.
    """

    def __init__(self, types: Iterable[type] = ()) -> None:
        self._by_name: dict[str, type] = {}
        for cls in types:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{cls!r} is not a dataclass")
            self._by_name[cls.__name__] = cls
        self._names = {cls: name for name, cls in self._by_name.items()}

    # ------------------------------------------------------------------ encode

    def encode(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> JSON:
        return {
            "args": [self.encode_value(a) for a in args],
            "kwargs": {k: self.encode_value(v) for k, v in kwargs.items()},
        }

    def encode_value(self, value: Any, *, lenient: bool = False) -> JSON:
        t = type(value)
        if t is str:
            return value if _utf8(value) else {"$str": value.encode("unicode_escape").decode()}
        if t is bool or value is None:
            return value
        if t is int:
            return value if _INT_MIN <= value <= _INT_MAX else {"$int": str(value)}
        if t is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if t is list:
            return [self.encode_value(v, lenient=lenient) for v in value]
        if t is tuple:
            return {"$tuple": [self.encode_value(v, lenient=lenient) for v in value]}
        if t is dict:
            return {
                "$dict": [
                    [self.encode_value(k, lenient=lenient), self.encode_value(v, lenient=lenient)]
                    for k, v in value.items()
                ]
            }
        if t is bytes:
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        name = self._names.get(t)
        if name is not None:
            out: dict[str, JSON] = {"$type": name}
            for field_name in _field_names(t):
                out[field_name] = self.encode_value(getattr(value, field_name), lenient=lenient)
            return out
        if lenient:
            return {"$repr": _short_repr(value)}
        raise CodecError(f"cannot encode a {t.__qualname__}; register its type with the codec")

    # ------------------------------------------------------------------ decode

    def decode(self, data: JSON) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if not isinstance(data, dict) or "args" not in data:
            raise CodecError("an encoded call input is {'args': [...], 'kwargs': {...}}")
        args = tuple(self.decode_value(a) for a in data["args"])
        kwargs = {k: self.decode_value(v) for k, v in data.get("kwargs", {}).items()}
        return args, kwargs

    def decode_value(self, data: JSON) -> Any:
        if isinstance(data, list):
            return [self.decode_value(v) for v in data]
        if not isinstance(data, dict):
            return data
        if "$tuple" in data:
            return tuple(self.decode_value(v) for v in data["$tuple"])
        if "$type" in data:
            cls = self._by_name.get(data["$type"])
            if cls is None:
                raise CodecError(f"unknown type {data['$type']!r} in encoded input")
            return _build(cls, {k: self.decode_value(v) for k, v in data.items() if k != "$type"})
        if "$float" in data:
            return float(data["$float"])
        if "$int" in data:
            return int(data["$int"])
        if "$dict" in data:
            return {self.decode_value(k): self.decode_value(v) for k, v in data["$dict"]}
        if "$bytes" in data:
            return base64.b64decode(data["$bytes"])
        if "$str" in data:
            return str(data["$str"]).encode("ascii").decode("unicode_escape")
        raise CodecError(f"cannot decode {sorted(data)!r}")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_INIT_SPLIT: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once per class (``dataclasses.fields`` builds a
    new tuple on every call, a large share of encoding and decoding a record)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _init_split(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Field names passed to ``__init__``, and those set after (``init=False``)."""
    split = _INIT_SPLIT.get(cls)
    if split is None:
        fields = dataclasses.fields(cls)
        split = _INIT_SPLIT[cls] = (
            tuple(f.name for f in fields if f.init),
            tuple(f.name for f in fields if not f.init),
        )
    return split


def _utf8(text: str) -> bool:
    """Can JSON hold ``text`` as it is? Not with a lone surrogate (``"\\ud800"``), which
    Python strings allow and UTF-8 does not: such a string is written escaped, as ``$str``."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _build(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a dataclass; fields with ``init=False`` are set after construction."""
    init_names, later = _init_split(cls)
    obj = cls(**{n: values[n] for n in init_names if n in values})
    for n in later:
        if n in values:
            object.__setattr__(obj, n, values[n])
    return obj


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a broken __repr__ (even a panic) must not break logging
        text = f"<{type(value).__qualname__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------- digests


def canonical_json(data: JSON) -> bytes:
    """Sorted-key compact JSON: the same data always gives the same bytes."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def digest_hex(data: JSON) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


# ---------------------------------------------------------------------- input protection


def protect(value: Any) -> Any:
    """A deep copy that shares immutable parts, returning ``value`` itself when all of it is.

    Immutable means primitives, tuples of immutables and frozen dataclasses of immutables.
    The dispatcher gives the shadow ``protect(args)`` before the primary runs: when the input
    is immutable this costs one walk and no allocation, otherwise the shadow gets its own
    copy that nothing the primary does can reach. ``protect(x) is x`` tells the caller
    whether a copy was made (and so whether mutation has to be checked at all).
    """
    t = type(value)
    if t in _ATOMIC:
        return value
    if t is tuple:
        items = [protect(v) for v in value]
        for a, b in zip(items, value, strict=True):
            if a is not b:
                return tuple(items)
        return value
    if t is list:
        return [protect(v) for v in value]
    if t is dict:
        return {protect(k): protect(v) for k, v in value.items()}
    params = getattr(t, "__dataclass_params__", None)
    if params is not None:
        changed: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = protect(old)
            if new is not old:
                changed[f.name] = new
        if not changed and params.frozen:
            return value
        clone = copy.copy(value)
        for name, new in changed.items():
            object.__setattr__(clone, name, new)
        return clone
    return copy.deepcopy(value)
