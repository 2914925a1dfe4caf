"""Which planted divergence(s) an input triggers, by running the planted port one bug at a time.

The benchmark maps each fuzz finding to planted ids with :func:`attribute`, so it can say
which bugs were found, which were split over several groups and which groups mix bugs. The
comparison is deliberately stricter than any policy: types must match exactly (``3`` is
not ``3.0``, ``True`` is not ``1``), ``-0.0`` is not ``0.0``, NaN equals NaN, dicts must
also agree on key order, and errors agree when their type, ``code`` and ``field`` do (the
message is a port's own).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from examples.portlib import reference
from examples.portlib.planted import BUG_IDS, make

ERROR_ATTRS: tuple[str, ...] = ("code", "field")


@dataclass(frozen=True)
class Result:
    """What one call did: returned ``value`` or raised ``error`` (an ordinary Exception)."""

    value: Any = None
    error: Exception | None = None


def run(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Result:
    """Call ``fn`` on a private copy of the input (so no call can affect the next)."""
    a, k = copy.deepcopy((args, dict(kwargs)))
    try:
        return Result(value=fn(*a, **k))
    except Exception as exc:
        return Result(error=exc)


def same_value(a: Any, b: Any) -> bool:
    """Strict, recursive equality (see the module docstring)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same_value(ka, kb) and same_value(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(
            same_value(getattr(a, fld.name), getattr(b, fld.name)) for fld in dataclasses.fields(a)
        )
    return bool(a == b)


def same_error(a: Exception, b: Exception) -> bool:
    return type(a) is type(b) and all(
        getattr(a, attr, None) == getattr(b, attr, None) for attr in ERROR_ATTRS
    )


def divergence_kind(primary: Result, shadow: Result) -> str | None:
    """None when the results agree strictly, else the shadow divergence kind they show."""
    if primary.error is None and shadow.error is None:
        return None if same_value(primary.value, shadow.value) else "value_mismatch"
    if primary.error is not None and shadow.error is not None:
        return None if same_error(primary.error, shadow.error) else "error_mismatch"
    return "primary_error_only" if primary.error is not None else "shadow_error_only"


def attribute(op: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> frozenset[str]:
    """The planted ids whose port, with that bug alone switched on, diverges from the
    reference on this input. Empty when none does (the finding is no planted bug's)."""
    expected = run(getattr(reference, op), args, kwargs)
    hits = set()
    for bug in sorted(BUG_IDS):
        got = run(getattr(make({bug}), op), args, kwargs)
        if divergence_kind(expected, got) is not None:
            hits.add(bug)
    return frozenset(hits)
