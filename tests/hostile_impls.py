"""Hostile shadow implementations for the fault matrix (tests/test_fault_matrix.py).

One target, one op per fault. Every op takes ``(x, items=None)``:

* the primary (:class:`Primary`) answers every call: for an even ``x`` it returns a fresh
  object (kept in ``last_value``, so a host can check it got *that* object back), for an
  odd ``x`` it raises a fresh :class:`PrimaryError` (kept in ``last_error``);
* the shadow (:class:`Hostile`) agrees with the primary everywhere except in the fault
  region ``x >= FAULT_FROM``, where it commits the op's fault. So the dispatcher sees the
  fault on the inputs it is given there, and a fuzzer (drawing ``x`` from 0..1000) sees it
  on about half of its input space and has to find and shrink it (to ``FAULT_FROM``).

The module is light on purpose (no T2, no numpy): worker processes import it once per
fork server, and a host child starts it many times.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from shadow._codec import TypedCodec
from shadow._fuzz import FuzzSpec
from shadow._registry import OpSpec, Target

FAULT_FROM = 500
HOG_LIMIT = 16 * 2**30
"""The memory hog stops (and returns) here: a missing cap then shows as a wrong value."""
HOG_CHUNK = 64 * 2**20
"""Above glibc's largest mmap threshold (32 MiB): every chunk is a fresh mapping of zero
pages, never touched (smaller chunks, once freed, would come back from the heap and be
zeroed page by page)."""
HUGE = 10**7
OVERSIZED = 100 * 2**20

RESERVED = mmap.mmap(-1, 2**30, flags=mmap.MAP_PRIVATE)
"""1 GiB of private writable address space reserved at import and never touched, as some
native libraries do (allocator arenas): it counts against ``RLIMIT_DATA`` without using
memory, so a worker's memory cap must be counted from what the worker holds at start."""


class PrimaryError(ValueError):
    """What the primary raises on odd inputs (and the shadow too, outside the fault region)."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


class Meltdown(BaseException):
    """A fatal error that is not an Exception (stands in for PyO3's PanicException)."""


class HostileValue:
    """A result whose comparison, text and hash all raise a fatal BaseException."""

    def __eq__(self, other: object) -> bool:
        raise Meltdown("__eq__")

    def __ne__(self, other: object) -> bool:
        raise Meltdown("__ne__")

    def __repr__(self) -> str:
        raise Meltdown("__repr__")

    def __str__(self) -> str:
        raise Meltdown("__str__")

    def __hash__(self) -> int:
        raise Meltdown("__hash__")

    def __bool__(self) -> bool:
        raise Meltdown("__bool__")

    def __len__(self) -> int:
        raise Meltdown("__len__")


# ---------------------------------------------------------------------- the faults


def _raise_exception() -> Any:
    raise RuntimeError("shadow bug")


def _raise_base() -> Any:
    raise Meltdown("core meltdown")


def _rust_panic() -> Any:
    from t2_sidecar import _native

    _native._panic_for_tests()
    raise AssertionError("unreachable: the call above panics")


def _system_exit() -> Any:
    sys.exit(0)


def _keyboard_interrupt() -> Any:
    raise KeyboardInterrupt


def _os_exit() -> Any:
    os._exit(3)


def _sigsegv() -> Any:
    ctypes.string_at(0)


def _abort() -> Any:
    os.abort()


def _stack_overflow() -> Any:
    """C-level recursion (the JSON encoder) with Python's recursion guard lifted: overflows
    the native stack of whichever thread runs it (main thread capped at 2 MiB, or a
    thread's default 8 MiB stack)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    resource.setrlimit(resource.RLIMIT_STACK, (2 * 2**20, hard))
    sys.setrecursionlimit(10**8)
    nested: list[Any] = []
    for _ in range(2 * 10**5):  # overflows 8 MiB (a thread's stack) several times over
        nested = [nested]
    return json.dumps(nested)


def _hang() -> Any:
    threading.Event().wait()  # a deadlock: never set


def _memory_blowup() -> Any:
    """Allocates without bound (up to ``HOG_LIMIT``). ``bytes(n)`` maps zeroed pages it
    never touches: the cap (on mappings) stops it as it would a real hog, without the
    machine paying for the pages."""
    hoard = []
    total = 0
    while total < HOG_LIMIT:
        hoard.append(bytes(HOG_CHUNK))
        total += HOG_CHUNK
    return total


def _oversized_result() -> Any:
    return bytes(OVERSIZED)  # zeroed pages, never touched: cheap to build, not to send


def _unpicklable_result() -> Any:
    return threading.Lock()


def _hostile_value() -> Any:
    return HostileValue()


@dataclass(frozen=True)
class Fault:
    """One row of the matrix. In the fault region the shadow runs ``commit`` (raise, die,
    hang, return something hostile), or, for a value fault, returns ``shadow_value()`` where
    the primary returns ``primary_value()`` (even inputs); ``mutates`` faults change their
    list input and otherwise agree. Elsewhere both sides return ``[x, name]``."""

    name: str
    label: str
    commit: Callable[[], Any] | None = None
    primary_value: Callable[[], Any] | None = None
    shadow_value: Callable[[], Any] | None = None
    mutates: bool = False


FAULTS: tuple[Fault, ...] = (
    Fault("exception", "exception (RuntimeError)", _raise_exception),
    Fault("base_exception", "BaseException subclass", _raise_base),
    Fault("rust_panic", "Rust panic (PanicException)", _rust_panic),
    Fault("system_exit", "SystemExit (sys.exit(0))", _system_exit),
    Fault("keyboard_interrupt", "KeyboardInterrupt", _keyboard_interrupt),
    Fault("os_exit", "os._exit(3)", _os_exit),
    Fault("sigsegv", "SIGSEGV (ctypes)", _sigsegv),
    Fault("abort", "abort()", _abort),
    Fault("stack_overflow", "native stack overflow", _stack_overflow),
    Fault("hang", "hang (waits forever)", _hang),
    Fault("memory_blowup", "memory blow-up under a cap", _memory_blowup),
    Fault(
        "huge_result",
        "huge result (10^7 elements, all differ)",
        primary_value=lambda: [0] * HUGE,
        shadow_value=lambda: [1] * HUGE,
    ),
    Fault("oversized_result", "result over the size cap (100 MiB)", _oversized_result),
    Fault("unpicklable_result", "unpicklable result (a lock)", _unpicklable_result),
    Fault("mutate_input", "input mutation", mutates=True),
    Fault("hostile_value", "hostile __eq__/__repr__/__hash__", _hostile_value),
    Fault("nan", "NaN vs NaN (must match)", None, lambda: float("nan"), lambda: float("nan")),
    Fault("negative_zero", "-0.0 vs 0.0", None, lambda: float("0.0"), lambda: -0.0),
    Fault("int_vs_float", "3.0 vs 3", None, lambda: 3, lambda: 3.0),
    Fault("bool_vs_int", "True vs 1", None, lambda: 1, lambda: True),
)
BY_NAME: dict[str, Fault] = {f.name: f for f in FAULTS}


def in_region(x: int) -> bool:
    return x >= FAULT_FROM


# ---------------------------------------------------------------------- implementations


def _answer(fault: Fault, x: int) -> Any:
    """The right answer to an even input."""
    if fault.primary_value is not None and in_region(x):
        return fault.primary_value()
    return [x, fault.name]


def _primary_op(fault: Fault) -> Callable[..., Any]:
    def op(self: Primary, x: int, items: list[int] | None = None) -> Any:
        if x % 2:
            self.last_error = PrimaryError("odd", "x")
            raise self.last_error
        self.last_value = _answer(fault, x)
        return self.last_value

    op.__name__ = fault.name
    return op


def _shadow_op(fault: Fault) -> Callable[..., Any]:
    def op(self: Hostile, x: int, items: list[int] | None = None) -> Any:
        if in_region(x):
            if fault.mutates and items is not None:
                items.append(99)
            elif fault.commit is not None:
                return fault.commit()
            elif fault.shadow_value is not None and not x % 2:
                return fault.shadow_value()
        if x % 2:
            raise PrimaryError("odd", "x")
        return _answer(fault, x)

    op.__name__ = fault.name
    return op


class Primary:
    """The trusted side: answers every call (see the module docstring)."""

    name = "primary"
    version = "1"

    def __init__(self) -> None:
        self.last_value: Any = None
        self.last_error: BaseException | None = None

    def fine(self, x: int, items: list[int] | None = None) -> Any:
        return [x, "fine"]


class Hostile:
    """The port under test: commits each op's fault in the fault region."""

    name = "hostile"
    version = "1"

    def fine(self, x: int, items: list[int] | None = None) -> Any:
        return [x, "fine"]


for _fault in FAULTS:
    setattr(Primary, _fault.name, _primary_op(_fault))
    setattr(Hostile, _fault.name, _shadow_op(_fault))

_CALLS = st.tuples(st.integers(0, 1000)).map(lambda args: (args, {}))
_CALLS_WITH_ITEMS = st.tuples(st.integers(0, 1000), st.lists(st.integers(0, 9), max_size=3)).map(
    lambda args: (args, {})
)

TARGET = Target(
    "hostile",
    "tests.hostile_impls:TARGET",
    {"primary": Primary, "hostile": Hostile},
    [
        OpSpec(
            f.name,
            strategies=FuzzSpec(_CALLS_WITH_ITEMS if f.mutates else _CALLS),
        )
        for f in FAULTS
    ]
    + [OpSpec("fine", strategies=FuzzSpec(_CALLS))],
    default_pair=("primary", "hostile"),
    codec=TypedCodec(),
)


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.005) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` passes; whether it held."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)
    return True
