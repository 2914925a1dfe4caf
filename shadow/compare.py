"""Compare what two implementations did with one call: values, errors, and how they differ.

The common case is that both agree exactly, so :func:`compare_outcomes` tries ``is`` and
``==`` first (C-speed for tuples, strings and dataclasses of them). Only when that fails does
it build a structured diff: it walks matching dataclasses, dicts and equal-length sequences
itself (so a 1e6-row result with three bad rows costs one zip, not a deep recursion), checks
float leaves against the op's tolerance, and hands irregular subtrees (different lengths,
order-insensitive collections, foreign objects) to DeepDiff configured from the policy.
The verdict is ``match``, ``tolerated`` (differences all within policy: counted, not
logged) or ``diverged`` with a kind and a list of ``{path, primary, shadow}``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from deepdiff import DeepDiff
from deepdiff.operator import BaseOperator

Status = Literal["match", "tolerated", "diverged"]

MAX_DIFF_ENTRIES = 50
_DEEPDIFF_BUDGET = 200
"""Irregular subtrees handed to DeepDiff per comparison; the rest are counted, not detailed."""


@dataclass(frozen=True)
class ComparePolicy:
    """How strictly one op's outputs must agree.

    Floats agree when equal, both NaN, within ``float_ulps`` units in the last place, within
    ``float_rel`` relative difference, or within ``float_abs`` (any one suffices; all None
    means exact). ``ignore_paths`` are regexes matched (``re.search``) against diff paths
    such as ``root.rationale`` or ``root.ranked[3].gflops``: differences there are
    tolerated. ``unordered_paths`` (regexes) mark collections compared as multisets, and
    ``ignore_order`` makes every collection so. ``normalizers`` map an output to a
    comparable form (applied only after ``==`` failed, to both sides).
    """

    float_ulps: int | None = None
    float_rel: float | None = None
    float_abs: float | None = None
    ignore_paths: tuple[str, ...] = ()
    unordered_paths: tuple[str, ...] = ()
    ignore_order: bool = False
    normalizers: tuple[Callable[[Any], Any], ...] = ()
    compare_error_attrs: tuple[str, ...] = ("code", "field")

    @property
    def has_float_tolerance(self) -> bool:
        return (
            self.float_ulps is not None or self.float_rel is not None or self.float_abs is not None
        )

    def floats_agree(self, a: float, b: float) -> bool:
        if a == b or (a != a and b != b):
            return True
        if math.isinf(a) or math.isinf(b) or a != a or b != b:
            return False
        if self.float_abs is not None and abs(a - b) <= self.float_abs:
            return True
        if self.float_rel is not None and abs(a - b) <= self.float_rel * max(abs(a), abs(b)):
            return True
        return self.float_ulps is not None and ulp_distance(a, b) <= self.float_ulps


EXACT = ComparePolicy()


def ulp_distance(a: float, b: float) -> int:
    """Number of representable doubles between ``a`` and ``b`` (0.0 and -0.0 are 0 apart)."""
    return abs(_ordered(a) - _ordered(b))


def _ordered(x: float) -> int:
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


# ---------------------------------------------------------------------- outcomes & verdicts


@dataclass(slots=True)
class Outcome:
    """What one side did: returned ``value`` or raised ``error``, in ``duration_s``."""

    value: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class DiffEntry:
    path: str
    primary: Any
    shadow: Any


@dataclass(frozen=True)
class Verdict:
    status: Status
    kind: str | None = None
    diff: tuple[DiffEntry, ...] = field(default=())
    diff_count: int = 0


MATCH = Verdict("match")
TOLERATED = Verdict("tolerated")


def error_identity(exc: BaseException, attrs: Sequence[str]) -> tuple[Any, ...]:
    """What makes two errors "the same" for parity: type plus the policy's attributes."""
    return (type(exc), *(getattr(exc, a, None) for a in attrs))


def compare_outcomes(primary: Outcome, shadow: Outcome, policy: ComparePolicy = EXACT) -> Verdict:
    """Classify a pair of outcomes: match, tolerated, or a divergence of some kind."""
    pe, se = primary.error, shadow.error
    if pe is None and se is None:
        a, b = primary.value, shadow.value
        if a is b:
            return MATCH
        try:
            if (a == b) is True:
                return MATCH
        except Exception:  # e.g. NumPy arrays refuse a truth value; the slow path copes
            pass
        return compare_values(a, b, policy)
    if pe is not None and se is not None:
        attrs = policy.compare_error_attrs
        if error_identity(pe, attrs) == error_identity(se, attrs):
            return MATCH
        diff = [DiffEntry("error.type", type(pe).__qualname__, type(se).__qualname__)]
        diff += [
            DiffEntry(f"error.{a}", getattr(pe, a, None), getattr(se, a, None))
            for a in attrs
            if getattr(pe, a, None) != getattr(se, a, None)
        ]
        if type(pe) is type(se):
            diff = diff[1:]
        return Verdict("diverged", "error_mismatch", tuple(diff), len(diff))
    if pe is not None:
        entry = DiffEntry("error", error_summary(pe, policy.compare_error_attrs), None)
        return Verdict("diverged", "primary_error_only", (entry,), 1)
    assert se is not None
    entry = DiffEntry("error", None, error_summary(se, policy.compare_error_attrs))
    return Verdict("diverged", "shadow_error_only", (entry,), 1)


def error_summary(exc: BaseException, attrs: Sequence[str] = ("code", "field")) -> str:
    """``Class(code, field)`` or ``Class: message`` when the error has no such attributes."""
    values = [str(getattr(exc, a)) for a in attrs if getattr(exc, a, None) is not None]
    if values:
        return f"{type(exc).__qualname__}({', '.join(values)})"
    message = str(exc)
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__


# ---------------------------------------------------------------------- value diff


def compare_values(a: Any, b: Any, policy: ComparePolicy = EXACT) -> Verdict:
    """The slow path: a structured diff of two values that are not ``==``."""
    for normalize in policy.normalizers:
        a, b = normalize(a), normalize(b)
    if policy.normalizers:
        try:
            if (a == b) is True:
                return TOLERATED
        except Exception:
            pass
    walker = _Walker(policy)
    walker.walk(a, b, "root")
    if not walker.entries and not walker.extra:
        return TOLERATED
    return Verdict(
        "diverged",
        "value_mismatch",
        tuple(walker.entries[:MAX_DIFF_ENTRIES]),
        len(walker.entries) + walker.extra,
    )


class _FloatTolerance(BaseOperator):  # type: ignore[misc]
    """DeepDiff operator: float pairs within the policy's tolerance are not reported."""

    def __init__(self, policy: ComparePolicy) -> None:
        super().__init__(types=[float])
        self.policy = policy

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return self.policy.floats_agree(level.t1, level.t2)

    def normalize_value_for_hashing(self, parent: Any, obj: Any) -> Any:
        return obj  # order-insensitive matching hashes exact values; pairs are then diffed


_REPORT_KEYS = (
    "values_changed",
    "type_changes",
    "iterable_item_added",
    "iterable_item_removed",
    "dictionary_item_added",
    "dictionary_item_removed",
    "attribute_added",
    "attribute_removed",
    "set_item_added",
    "set_item_removed",
    "repetition_change",
)
_MISSING = "<missing>"


class _Walker:
    """Finds the smallest differing subtrees; leaves the irregular ones to DeepDiff."""

    def __init__(self, policy: ComparePolicy) -> None:
        self.policy = policy
        self.ignore = [re.compile(p) for p in policy.ignore_paths]
        self.unordered = [re.compile(p) for p in policy.unordered_paths]
        self.entries: list[DiffEntry] = []
        self.extra = 0
        self.deepdiffs = 0

    def _ignored(self, path: str) -> bool:
        return any(p.search(path) for p in self.ignore)

    def _add(self, path: str, a: Any, b: Any) -> None:
        if not self._ignored(path):
            self.entries.append(DiffEntry(path, a, b))

    def walk(self, a: Any, b: Any, path: str) -> None:
        ta, tb = type(a), type(b)
        if ta is float and tb is float:
            if not self.policy.floats_agree(a, b):
                self._add(path, a, b)
            return
        if ta is not tb:
            self._add(path, a, b)
            return
        if a is b:
            return
        try:
            if (a == b) is True:
                return
        except Exception:
            pass
        ordered = not (self.policy.ignore_order or any(p.search(path) for p in self.unordered))
        if ta in (str, int, bool, bytes) or a is None:
            self._add(path, a, b)
        elif dataclasses.is_dataclass(a) and ordered:
            for f in dataclasses.fields(a):
                self.walk(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        elif ta is dict and ordered and a.keys() == b.keys():
            for k in a:
                self.walk(a[k], b[k], f"{path}[{k!r}]")
        elif ta in (list, tuple) and ordered:
            if len(a) != len(b):
                self._add(f"len({path})", len(a), len(b))
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                if x is y or (type(x) is type(y) is not float and _eq(x, y)):
                    continue
                self.walk(x, y, f"{path}[{i}]")
        else:
            self._deepdiff(a, b, path, ordered)

    def _deepdiff(self, a: Any, b: Any, path: str, ordered: bool) -> None:
        if self.deepdiffs >= _DEEPDIFF_BUDGET:
            self.extra += 1
            return
        self.deepdiffs += 1
        options: dict[str, Any] = {
            "view": "tree",
            "ignore_order": not ordered,
            "ignore_nan_inequality": True,
        }
        if self.policy.has_float_tolerance:
            options["custom_operators"] = [_FloatTolerance(self.policy)]
        tree = DeepDiff(a, b, **options)
        for key in _REPORT_KEYS:
            for level in tree.get(key, ()):
                sub = level.path(root=path)
                t1 = level.t1 if not _is_notpresent(level.t1) else _MISSING
                t2 = level.t2 if not _is_notpresent(level.t2) else _MISSING
                self._add(sub, t1, t2)


def _eq(x: Any, y: Any) -> bool:
    try:
        return (x == y) is True
    except Exception:
        return False


def _is_notpresent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"
