"""Input checks of the Python reference, one function per rule of the contract.

The Rust port applies the same rules in the same order; ``docs/contract.md`` lists them.
Every failure raises :class:`InvalidInputError` with the contract's code and field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from t2_sidecar import errors
from t2_sidecar.errors import InvalidInputError

_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def fail(code: str, field: str, message: str) -> NoReturn:
    raise InvalidInputError(code, field, message)


def is_int(value: object) -> bool:
    """Python ints only: bools and NumPy integers are rejected by both backends."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    return isinstance(value, float) or is_int(value)


def sequence(value: object, field: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        fail(errors.WRONG_TYPE, field, f"expected a list or tuple, got {type(value).__name__}")
    return value


def non_empty_sequence(value: object, field: str) -> Sequence[Any]:
    items = sequence(value, field)
    if not items:
        fail(errors.EMPTY, field, "must not be empty")
    return items


def int_in(value: object, field: str, low: int, high: int | None = None) -> int:
    if not is_int(value):
        fail(errors.WRONG_TYPE, field, f"expected an int, got {type(value).__name__}")
    assert isinstance(value, int)
    if value < low or (high is not None and value > high):
        bound = f"{low}..={high}" if high is not None else f">= {low}"
        fail(errors.OUT_OF_RANGE, field, f"{value} is outside {bound}")
    return value


def finite_real(value: object, field: str, low: float | None = None) -> float:
    if not is_real(value):
        fail(errors.WRONG_TYPE, field, f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        fail(errors.NOT_FINITE, field, "integer too large for a float")
    if not math.isfinite(number):
        fail(errors.NOT_FINITE, field, f"{number} is not finite")
    if low is not None and number < low:
        fail(errors.OUT_OF_RANGE, field, f"{number} is below {low}")
    return number


def name(value: object, field: str) -> str:
    if not isinstance(value, str):
        fail(errors.WRONG_TYPE, field, f"expected a str, got {type(value).__name__}")
    if not _NAME.fullmatch(value):
        fail(errors.INVALID_NAME, field, f"{value!r} is not 1-64 characters of [A-Za-z0-9_]")
    return value


def non_empty_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        fail(errors.WRONG_TYPE, field, f"expected a str, got {type(value).__name__}")
    if not value:
        fail(errors.EMPTY, field, "must not be an empty string")
    return value


def no_duplicates(items: Sequence[Any], field: str) -> None:
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            fail(errors.DUPLICATE, field, f"{item!r} appears more than once")
        seen.add(item)


def instance(value: object, cls: type, field: str) -> None:
    if not isinstance(value, cls):
        fail(errors.WRONG_TYPE, field, f"expected {cls.__name__}, got {type(value).__name__}")
