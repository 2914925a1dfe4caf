"""Compare two values the way a port must be judged: type-strict, bounded, and explained.

Why type-strict by default: across a language boundary ``3`` vs ``3.0``, ``True`` vs ``1``,
``-0.0`` vs ``0.0`` and a tuple vs a list are real differences (the caller's next step can
branch on them), even though Python's ``==`` calls them equal. NaN equals NaN (both sides
agreeing that a value is undefined is agreement). A :class:`ComparePolicy` relaxes this per
op: float tolerances (ULPs, relative, absolute), ``strict_types=False``, ignored paths,
order-insensitive collections, lists of records matched by a key field (``key_by``), and
normalizers.

Cost: the common case is agreement, so :func:`strict_equal` answers it at C speed where it
can (``marshal`` bytes of plain data, which encode type, sign of zero and order). Only on a
mismatch does :class:`_Walker` build a structured diff, and it stops once it holds
``policy.max_diff_entries`` entries: a 10^7-element result that differs everywhere costs
one scan to the first few differences, not a 10^7-entry diff. Irregular subtrees (foreign
objects) go to DeepDiff. Each :class:`DiffEntry` carries a ``change`` class (value, type,
order, length, missing, extra, nan, zero_sign) so that signatures can tell "same elements,
other order" from "other values".
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from deepdiff import DeepDiff
from deepdiff.operator import BaseOperator

from shadow._outcome import Outcome as Outcome  # re-exported: older imports use compare.Outcome
from shadow._outcome import (
    error_attr,
    error_identity,
    error_message,
    error_type,
    present_attrs,
)

Status = Literal["match", "tolerated", "diverged"]
Change = Literal["value", "type", "order", "length", "missing", "extra", "nan", "zero_sign"]

MAX_DIFF_ENTRIES = 50
_DEEPDIFF_BUDGET = 20
"""Irregular subtrees handed to DeepDiff per comparison; the rest are counted, not detailed."""
_ORDER_CHECK_LIMIT = 200_000
"""Longest sequence checked for "same elements, other order" (a Counter of its items)."""
_CHUNK = 4096
_NONE_TYPE = type(None)
_SCALARS: frozenset[type] = frozenset({int, str, bytes, bool, _NONE_TYPE})


@dataclass(frozen=True)
class ComparePolicy:
    """How strictly one op's outputs must agree.

    Floats agree when strictly equal, both NaN, within ``float_ulps`` units in the last
    place, within ``float_rel`` relative difference, or within ``float_abs`` (any one
    suffices; all None means exact). ``strict_types`` (default) makes int vs float, bool vs
    int and tuple vs list differences, and -0.0 differ from 0.0 when no tolerance is set.
    ``ignore_paths`` are regexes matched (``re.search``) against diff paths such as
    ``root.rationale`` or ``root.ranked[3].gflops``: differences there are tolerated.
    ``unordered_paths`` (regexes) mark collections compared as multisets, and
    ``ignore_order`` makes every collection so. ``key_by`` maps a path regex to the field
    (attribute or dict key) that identifies a record, so lists of records are matched by key
    instead of by position (``{r"^root\\.ranked$": "candidate_id"}``). ``normalizers`` map an
    output to a comparable form (applied only after strict equality failed, to both sides).
    """

    float_ulps: int | None = None
    float_rel: float | None = None
    float_abs: float | None = None
    strict_types: bool = True
    ignore_paths: tuple[str, ...] = ()
    unordered_paths: tuple[str, ...] = ()
    ignore_order: bool = False
    key_by: Mapping[str, str] = field(default_factory=dict)
    normalizers: tuple[Callable[[Any], Any], ...] = ()
    compare_error_attrs: tuple[str, ...] = ("code", "field")
    max_diff_entries: int = MAX_DIFF_ENTRIES

    @property
    def has_float_tolerance(self) -> bool:
        return (
            self.float_ulps is not None or self.float_rel is not None or self.float_abs is not None
        )

    def floats_agree(self, a: float, b: float) -> bool:
        """Within tolerance (strict equality and NaN==NaN are checked by the caller first)."""
        if a == b:
            return self.has_float_tolerance or not self.strict_types or _same_sign(a, b)
        if a != a and b != b:
            return True
        if math.isinf(a) or math.isinf(b) or a != a or b != b:
            return False
        if self.float_abs is not None and abs(a - b) <= self.float_abs:
            return True
        if self.float_rel is not None and abs(a - b) <= self.float_rel * max(abs(a), abs(b)):
            return True
        return self.float_ulps is not None and ulp_distance(a, b) <= self.float_ulps


EXACT = ComparePolicy()
LOOSE_TYPES = ComparePolicy(strict_types=False)
"""Python's ``==`` semantics (3 == 3.0, True == 1, -0.0 == 0.0): for pairs where that is
the contract, declared explicitly."""


def ulp_distance(a: float, b: float) -> int:
    """Number of representable doubles between ``a`` and ``b`` (0.0 and -0.0 are 0 apart)."""
    return abs(_ordered(a) - _ordered(b))


def _ordered(x: float) -> int:
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _same_sign(a: float, b: float) -> bool:
    return math.copysign(1.0, a) == math.copysign(1.0, b)


# ---------------------------------------------------------------------- strict equality


def strict_equal(a: Any, b: Any) -> bool:
    """Type-strict deep equality: equal values of equal types, -0.0 != 0.0.

    A fast, sufficient test: True means strictly equal. False means "not shown equal here":
    NaN (equal to NaN under the policy) can still make two values match, which the walker
    of :func:`compare_values` decides. Homogeneous sequences are checked at C speed (``==``,
    the set of element types, and the count of zeros for the sign of zero).
    """
    if a is b:
        return True
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is float:
        return a == b and _same_sign(a, b)
    if ta in _SCALARS:
        return bool(a == b)
    if ta is tuple or ta is list:
        if len(a) != len(b) or not loose_equal(a, b):
            return False
        types = set(map(type, a))
        if len(types) == 1:
            (t,) = types
            if t in _SCALARS:
                return set(map(type, b)) == types
            if t is float:
                return set(map(type, b)) == types and _zero_signs_equal(a, b)
        return all(x is y or strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        if len(a) != len(b) or a.keys() != b.keys():
            return False
        return all(strict_equal(v, b[k]) for k, v in a.items())
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(
            strict_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    return loose_equal(a, b)


def _zero_signs_equal(a: Sequence[float], b: Sequence[float]) -> bool:
    """For two ``==`` float sequences: do their zeros carry the same signs?"""
    if a.count(0.0) == 0:
        return True
    return all(_same_sign(x, y) for x, y in zip(a, b, strict=True) if x == 0.0)


def loose_equal(a: Any, b: Any) -> bool:
    """Python's ``==`` (what ``strict_types=False`` means), never raising.

    A result that is not a plain bool counts only when it is a 0-d truth value (a NumPy
    ``bool_``); element-wise results (arrays) are not "equal"."""
    if a is b:
        return True
    try:
        r = a == b
        if r is True or r is False:
            return r
        return getattr(r, "shape", None) == () and bool(r)
    except Exception:
        return False


# ---------------------------------------------------------------------- verdicts


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One difference: where (``path``), what each side had, and what kind of change."""

    path: str
    primary: Any
    shadow: Any
    change: str = "value"


@dataclass(frozen=True)
class Verdict:
    status: Status
    kind: str | None = None
    diff: tuple[DiffEntry, ...] = ()
    diff_count: int = 0
    truncated: bool = False


MATCH = Verdict("match")
TOLERATED = Verdict("tolerated")


def values_equal(a: Any, b: Any, policy: ComparePolicy = EXACT) -> bool:
    """The fast path of :func:`compare_values`: does this pair need a diff at all?"""
    return strict_equal(a, b) if policy.strict_types else loose_equal(a, b)


def compare_values(a: Any, b: Any, policy: ComparePolicy = EXACT) -> Verdict:
    """Match, tolerated (all differences within policy) or a ``value_mismatch`` with a diff."""
    if values_equal(a, b, policy):
        return MATCH
    for normalize in policy.normalizers:
        a, b = normalize(a), normalize(b)
    if policy.normalizers and values_equal(a, b, policy):
        return TOLERATED
    walker = _Walker(policy)
    walker.walk(a, b, "root")
    if not walker.entries and not walker.truncated:
        return TOLERATED if walker.tolerated or policy.normalizers else MATCH
    return Verdict(
        "diverged",
        "value_mismatch",
        tuple(walker.entries),
        len(walker.entries) + walker.extra,
        walker.truncated,
    )


def compare_errors(pe: BaseException, se: BaseException, policy: ComparePolicy) -> Verdict:
    """Both sides raised: the same error when qualified type and the policy's attributes agree."""
    attrs = policy.compare_error_attrs
    if error_identity(pe, attrs) == error_identity(se, attrs):
        return MATCH
    diff: list[DiffEntry] = []
    if error_type(pe) != error_type(se):
        diff.append(DiffEntry("error.type", error_type(pe), error_type(se), "type"))
    for a in attrs:
        pv, sv = error_attr(pe, a), error_attr(se, a)
        if pv != sv:
            diff.append(DiffEntry(f"error.{a}", pv, sv))
    return Verdict("diverged", "error_mismatch", tuple(diff), len(diff))


def error_summary(exc: BaseException, attrs: Sequence[str] = ("code", "field")) -> str:
    """``Class(code, field)`` or ``Class: message`` when the error has no such attributes."""
    name = error_type(exc).rsplit(".", 1)[-1]
    values = [str(v) for _, v in present_attrs(exc, attrs)]
    if values:
        return f"{name}({', '.join(values)})"
    message = error_message(exc)
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{name}: {message}" if message else name


# ---------------------------------------------------------------------- the walker


class _FloatTolerance(BaseOperator):  # type: ignore[misc]
    """DeepDiff operator: float pairs within the policy's tolerance are not reported."""

    def __init__(self, policy: ComparePolicy) -> None:
        super().__init__(types=[float])
        self.policy = policy

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return self.policy.floats_agree(level.t1, level.t2)

    def normalize_value_for_hashing(self, parent: Any, obj: Any) -> Any:
        return obj


_REPORT_KEYS: dict[str, str] = {
    "values_changed": "value",
    "type_changes": "type",
    "iterable_item_added": "extra",
    "iterable_item_removed": "missing",
    "dictionary_item_added": "extra",
    "dictionary_item_removed": "missing",
    "attribute_added": "extra",
    "attribute_removed": "missing",
    "set_item_added": "extra",
    "set_item_removed": "missing",
    "repetition_change": "value",
}
MISSING = "<missing>"


class _Walker:
    """Finds the smallest differing subtrees, stopping once it has enough of them."""

    def __init__(self, policy: ComparePolicy) -> None:
        self.policy = policy
        self.limit = max(1, policy.max_diff_entries)
        self.ignore = [re.compile(p) for p in policy.ignore_paths]
        self.unordered = [re.compile(p) for p in policy.unordered_paths]
        self.keys = [(re.compile(p), k) for p, k in policy.key_by.items()]
        self.equal = strict_equal if policy.strict_types else loose_equal
        self.entries: list[DiffEntry] = []
        self.extra = 0
        self.truncated = False
        self.tolerated = False  # some difference was within policy (not a strict match)
        self.deepdiffs = 0

    @property
    def full(self) -> bool:
        return len(self.entries) >= self.limit

    def _add(self, path: str, a: Any, b: Any, change: str = "value") -> None:
        if any(p.search(path) for p in self.ignore):
            self.tolerated = True
            return
        if self.full:
            self.truncated = True
            return
        self.entries.append(DiffEntry(path, a, b, change))

    def walk(self, a: Any, b: Any, path: str) -> None:
        if self.full:
            self.truncated = True
            return
        ta, tb = type(a), type(b)
        if ta is float and tb is float:
            self._floats(a, b, path)
            return
        if ta is not tb:
            if not self.policy.strict_types and loose_equal(a, b):
                self.tolerated = True
                return
            if ta in (int, bool, float) and tb in (int, bool, float) and loose_equal(a, b):
                self._add(path, a, b, "type")
                return
            self._add(path, a, b, "type")
            return
        if a is b or self.equal(a, b):
            return
        if ta in _SCALARS:
            self._add(path, a, b)
            return
        ordered = not (self.policy.ignore_order or any(p.search(path) for p in self.unordered))
        if dataclasses.is_dataclass(a) and not isinstance(a, type):
            if ordered and self._rows_reordered(a, b, path):
                return
            for f in dataclasses.fields(a):
                self.walk(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        elif ta is dict:
            self._dicts(a, b, path)
        elif ta in (list, tuple):
            key = next((k for p, k in self.keys if p.search(path)), None)
            if key is not None:
                self._keyed(a, b, path, key)
            elif ordered:
                self._sequences(a, b, path)
            else:
                self._deepdiff(a, b, path, ordered=False)
        else:
            self._deepdiff(a, b, path, ordered)

    def _floats(self, a: float, b: float, path: str) -> None:
        if a == b:
            if _same_sign(a, b):
                return
            if self.policy.has_float_tolerance or not self.policy.strict_types:
                self.tolerated = True
                return
            self._add(path, a, b, "zero_sign")
            return
        if a != a and b != b:
            return
        if self.policy.floats_agree(a, b):
            self.tolerated = True
            return
        self._add(path, a, b, "nan" if (a != a) != (b != b) else "value")

    def _dicts(self, a: dict[Any, Any], b: dict[Any, Any], path: str) -> None:
        for k, v in a.items():
            if k in b:
                self.walk(v, b[k], f"{path}[{k!r}]")
            else:
                self._add(f"{path}[{k!r}]", v, MISSING, "missing")
        for k, v in b.items():
            if k not in a:
                self._add(f"{path}[{k!r}]", MISSING, v, "extra")

    def _sequences(self, a: Sequence[Any], b: Sequence[Any], path: str) -> None:
        n = min(len(a), len(b))
        if len(a) != len(b):
            self._add(f"len({path})", len(a), len(b), "length")
        elif n > 1:
            first = next((i for i in range(n) if not self._same(a[i], b[i])), None)
            if first is None:
                return
            if self._reordered(a, b):
                self._add(f"{path}[{first}]", a[first], b[first], "order")
                return
        equal = self.equal
        start = 0
        while start < n and not self.full:
            stop = min(start + _CHUNK, n)
            if not equal(a[start:stop], b[start:stop]):
                for i in range(start, stop):
                    x, y = a[i], b[i]
                    if x is y or (type(x) is type(y) and type(x) is not float and equal(x, y)):
                        continue
                    self.walk(x, y, f"{path}[{i}]")
                    if self.full:
                        break
            start = stop
        if self.full and start < n:
            self.truncated = True

    def _rows_reordered(self, a: Any, b: Any, path: str) -> bool:
        """A columnar record (several parallel sequence fields of one length) whose rows are
        the same but in another order: one ``order`` difference at the record, not one per
        column (which columns show it depends only on which rows were swapped)."""
        names = [f.name for f in dataclasses.fields(a)]
        cols_a = [getattr(a, n) for n in names]
        cols_b = [getattr(b, n) for n in names]
        seq = [i for i, c in enumerate(cols_a) if type(c) in (list, tuple)]
        if len(seq) < 2:
            return False
        n = len(cols_a[seq[0]])
        if n < 2 or any(len(cols_a[i]) != n or len(cols_b[i]) != n for i in seq):
            return False
        if any(type(cols_b[i]) is not type(cols_a[i]) for i in seq):
            return False
        others = [i for i in range(len(names)) if i not in seq]
        if not all(self._same(cols_a[i], cols_b[i]) for i in others):
            return False
        rows_a = list(zip(*(cols_a[i] for i in seq), strict=True))
        rows_b = list(zip(*(cols_b[i] for i in seq), strict=True))
        if not self._reordered(rows_a, rows_b):
            return False
        first = next((k for k in range(n) if not self._same(rows_a[k], rows_b[k])), None)
        if first is None:
            return False
        self._add(f"{path}[{first}]", rows_a[first], rows_b[first], "order")
        return True

    def _same(self, x: Any, y: Any) -> bool:
        if x is y or self.equal(x, y):
            return True
        return type(x) is float and type(y) is float and x != x and y != y

    def _reordered(self, a: Sequence[Any], b: Sequence[Any]) -> bool:
        """Same elements in another order (only for hashable items, up to a size)."""
        if len(a) > _ORDER_CHECK_LIMIT:
            return False
        try:
            return Counter(map(_order_key, a)) == Counter(map(_order_key, b))
        except TypeError:
            return False

    def _keyed(self, a: Sequence[Any], b: Sequence[Any], path: str, key: str) -> None:
        def index(seq: Sequence[Any]) -> dict[Any, tuple[int, Any]] | None:
            out: dict[Any, tuple[int, Any]] = {}
            for i, item in enumerate(seq):
                k = item.get(key) if isinstance(item, dict) else getattr(item, key, MISSING)
                try:
                    if k in out:
                        return None  # duplicate keys: positions are the only identity
                    out[k] = (i, item)
                except TypeError:
                    return None
            return out

        ia, ib = index(a), index(b)
        if ia is None or ib is None:
            self._sequences(a, b, path)
            return
        before = len(self.entries)
        for k, (_, item) in ia.items():
            other = ib.get(k)
            if other is None:
                self._add(f"{path}[{key}={k!r}]", item, MISSING, "missing")
            else:
                self.walk(item, other[1], f"{path}[{key}={k!r}]")
        for k, (_, item) in ib.items():
            if k not in ia:
                self._add(f"{path}[{key}={k!r}]", MISSING, item, "extra")
        if len(self.entries) == before:
            order_a = [k for k in ia if k in ib]
            order_b = [k for k in ib if k in ia]
            if order_a != order_b:
                first = next(
                    i for i, (x, y) in enumerate(zip(order_a, order_b, strict=False)) if x != y
                )
                self._add(f"{path}[{first}]", order_a[first], order_b[first], "order")

    def _deepdiff(self, a: Any, b: Any, path: str, ordered: bool) -> None:
        if self.deepdiffs >= _DEEPDIFF_BUDGET:
            self.extra += 1
            self.truncated = True
            return
        self.deepdiffs += 1
        options: dict[str, Any] = {
            "view": "tree",
            "ignore_order": not ordered,
            "ignore_nan_inequality": True,
            "ignore_numeric_type_changes": not self.policy.strict_types,
        }
        if self.policy.has_float_tolerance:
            options["custom_operators"] = [_FloatTolerance(self.policy)]
        try:
            tree = DeepDiff(a, b, **options)
        except Exception:
            # DeepDiff's NaN check calls isnan on every array (a NumPy array of strings
            # raises): retry without it. Anything else (a hostile __eq__/__hash__) reports
            # the subtree as a whole.
            options["ignore_nan_inequality"] = False
            try:
                tree = DeepDiff(a, b, **options)
            except Exception:
                self._add(path, a, b)
                return
        before = len(self.entries)
        for key, change in _REPORT_KEYS.items():
            for level in tree.get(key, ()):
                t1 = level.t1 if not _is_notpresent(level.t1) else MISSING
                t2 = level.t2 if not _is_notpresent(level.t2) else MISSING
                self._add(level.path(root=path), t1, t2, change)
        if len(self.entries) == before:
            self.tolerated = True  # not strictly equal, yet equal under the policy


def _order_key(x: Any) -> Any:
    """Hashable, type-strict identity of an item for the reorder check."""
    t = type(x)
    if t is float:
        return (t, x if x == x else "nan", math.copysign(1.0, x))
    if t is tuple:
        return (t, tuple(_order_key(v) for v in x))
    hash(x)
    return (t, x)


def _is_notpresent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


__all__ = [
    "EXACT",
    "LOOSE_TYPES",
    "MATCH",
    "MISSING",
    "TOLERATED",
    "ComparePolicy",
    "DiffEntry",
    "Outcome",
    "Verdict",
    "compare_errors",
    "compare_values",
    "error_summary",
    "strict_equal",
    "ulp_distance",
    "values_equal",
]
