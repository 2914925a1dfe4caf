"""Signatures: one name per cause of divergence, so one bug is one problem.

Why not "op + kind + the set of diff paths" (the first rule): one cause shows many raw
shapes (a rounding bug moves a score, and sometimes the order too; a list of 3 or of 300
differs at 3 or 300 indices), while different causes shared one name ("Python returns a
value where Rust raises" was the same whatever the error). So a signature is built from:

* the op and the kind;
* for errors, each side's *identity*: qualified exception class plus the policy's error
  attributes (for T2, ``code`` and ``field``), with indexes in field names collapsed
  (``samples[3]`` -> ``samples[*]``); an error without such attributes is identified by its
  class and its message with numbers and quoted values blanked out;
* for a side that returned while the other raised, the returned type;
* for value differences, the set of ``path:change`` pairs with indexes and record keys
  collapsed (``root.scores[*]:value``, ``root.ids[*]:order``, ``root:type:int>float``), so
  "same elements, other order" and "other values" are different causes;
* for crashes, the signal or exit status; for unsendable results, the reason.

A target can replace the shape with its own key (``OpSpec.group_by``). The fuzzer computes
a finding's signature on its *shrunk* input, and :meth:`Signature.explains` lets it count a
raw example whose differences include a known problem's as that problem (a consequence),
instead of reporting it again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shadow._compare import DiffEntry
from shadow._outcome import Fault, Outcome, error_message, error_type, present_attrs

_INDEX = re.compile(r"\[\d+\]")
_KEYED = re.compile(r"\[([A-Za-z_][A-Za-z0-9_]*)=[^\]]*\]")
_DICT_KEY = re.compile(
    r"\[(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d*)?|[A-Za-z_(][^\]]*)\]"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|inf|nan)")
_SUBSUMABLE = frozenset({"value_mismatch", "mutated_input"})


def normalize_path(path: str) -> str:
    """``root.ranked[3].gflops`` -> ``root.ranked[*].gflops``; ``[id='x']`` -> ``[id=*]``;
    ``root['key']`` -> ``root[*]`` (a mapping's keys are data: a bug at one key is the same
    bug at another; named fields are attributes, ``.name``, and stay)."""
    keyed = _KEYED.sub(r"[\1=*]", path)
    return _DICT_KEY.sub(lambda m: m.group(0) if m.group(0).endswith("=*]") else "[*]", keyed)


def normalize_message(message: str, limit: int = 120) -> str:
    """An error message with the data blanked out: numbers -> ``#``, quoted values -> ``'…'``."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    text = _NUMBER.sub("#", _QUOTED.sub("'…'", first))
    return text[:limit]


def error_key(exc: BaseException, attrs: Sequence[str]) -> str:
    """An error's identity as text: ``pkg.InvalidInputError(code=range, field=space.w[*])``."""
    name = error_type(exc)
    values = [f"{a}={normalize_path(str(v))}" for a, v in present_attrs(exc, attrs)]
    if values:
        return f"{name}({', '.join(values)})"
    message = error_message(exc)
    return f"{name}: {normalize_message(message)}" if message else name


def _returned(outcome: Outcome) -> str:
    return f"returned {type(outcome.value).__qualname__}"


def _side(outcome: Outcome, attrs: Sequence[str]) -> str:
    if outcome.fault is not None:
        return fault_key(outcome.fault)
    if outcome.error is not None:
        return "raised " + error_key(outcome.error, attrs)
    return _returned(outcome)


def fault_key(fault: Fault) -> str:
    if fault.signal is not None:
        return f"{fault.kind}: signal {fault.signal}"
    if fault.exit_code is not None:
        return f"{fault.kind}: exit {fault.exit_code}"
    return f"{fault.kind}: {normalize_message(fault.detail, 60)}"


def _type_name(value: Any) -> str:
    """``int`` for builtins, ``numpy.bool`` otherwise: NumPy's bool is also called ``bool``."""
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def diff_part(entry: DiffEntry) -> str:
    path = normalize_path(entry.path)
    if entry.change == "type":
        return f"{path}:type:{_type_name(entry.primary)}>{_type_name(entry.shadow)}"
    return f"{path}:{entry.change}"


@dataclass(frozen=True, slots=True)
class Signature:
    """A cause of divergence: ``id`` (16 hex chars, what logs and baselines store) and the
    readable ``parts`` it hashes."""

    id: str
    op: str
    kind: str
    parts: tuple[str, ...]

    def explains(self, other: Signature) -> bool:
        """Would ``other`` (a raw example) be counted as this problem?

        Equal signatures, or, for value and input differences, when every difference of this
        problem also appears in ``other`` (the extra differences are its consequences).
        """
        if self.id == other.id:
            return True
        if self.op != other.op:
            return False
        if other.kind == "error_mismatch" and len(self.parts) == 2 == len(other.parts):
            # "The shadow does not raise what the primary raises" also shows as the shadow
            # raising something else when the input breaks a second rule; likewise the other
            # way round.
            if self.kind == "primary_error_only":
                return self.parts[0] == other.parts[0]
            if self.kind == "shadow_error_only":
                return self.parts[1] == other.parts[1]
        if self.kind != other.kind or self.kind not in _SUBSUMABLE:
            return False
        return bool(self.parts) and set(self.parts) <= set(other.parts)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "parts": list(self.parts)}


def make_signature(op: str, kind: str, parts: Iterable[str]) -> Signature:
    ordered = tuple(sorted(set(parts)))
    text = "\n".join([op, kind, *ordered])
    return Signature(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], op, kind, ordered)


def signature_of(
    op: str,
    kind: str,
    *,
    primary: Outcome,
    shadow: Outcome,
    diff: Sequence[DiffEntry],
    error_attrs: Sequence[str],
    group_key: str | None = None,
) -> Signature:
    """The signature of one divergence of ``kind`` between two outcomes."""
    if group_key is not None:
        return make_signature(op, kind, [f"key:{group_key}"])
    parts: list[str]
    if kind in ("error_mismatch", "primary_error_only", "shadow_error_only"):
        parts = ["primary " + _side(primary, error_attrs), "shadow " + _side(shadow, error_attrs)]
    elif kind == "shadow_error":
        parts = ["shadow " + _side(shadow, error_attrs)]
    elif shadow.fault is not None and kind == shadow.fault.kind:
        parts = [fault_key(shadow.fault)]
    else:
        parts = [diff_part(d) for d in diff]
    return make_signature(op, kind, parts)


def legacy_signature(op: str, kind: str, paths: Sequence[str]) -> str:
    """The first rule (op, kind, sorted normalized paths), kept to read old baselines."""
    normalized = sorted({_INDEX.sub("[*]", p) for p in paths})
    text = "\n".join([op, kind, *normalized])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


__all__ = [
    "Signature",
    "diff_part",
    "error_key",
    "legacy_signature",
    "make_signature",
    "normalize_message",
    "normalize_path",
    "signature_of",
]
