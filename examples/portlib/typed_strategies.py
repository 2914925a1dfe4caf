"""STAND-IN: call strategies derived from a function's type hints, until ``shadow`` has its own.

Issue 12 gives ``shadow`` strategies derived from the primary's annotations
(``st.from_type`` / ``st.builds``, boundary values mixed in). Until that lands, the portlib
target uses this helper so that no strategy is written by hand for the benchmark; once the
framework derives them, :mod:`examples.portlib.target` drops ``strategies=`` and this
module goes away.

``call_strategy(fn)`` draws ``(args, kwargs)``: every parameter without a default as a
positional argument, every parameter with one as a keyword that is sometimes left out.
Plain mode is ``st.from_type`` of each annotation (dataclasses through ``st.builds``).
``boundaries=True`` also mixes in each type's edge values (0, +-1, the i64 and f64
extremes, NaN, -0.0, empty strings), which is what a good generic fuzzer does; the
benchmark's per-bug check uses it to show each planted bug is findable that way.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Call = tuple[tuple[Any, ...], dict[str, Any]]

INT_EDGES: tuple[int, ...] = (
    0,
    1,
    -1,
    2,
    -2,
    2**31 - 1,
    -(2**31),
    2**32,
    2**63 - 1,
    2**63 - 2,
    -(2**63),
    2**63,
    2**64 - 1,
)
FLOAT_EDGES: tuple[float, ...] = (
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    float("nan"),
    float("inf"),
    float("-inf"),
    sys.float_info.max,
    -sys.float_info.max,
    sys.float_info.min,
    5e-324,
)
STR_EDGES: tuple[str, ...] = ("", " ", "_", "a", "A", "\u00c9", "\x00")


def value_strategy(hint: Any, *, boundaries: bool = False) -> st.SearchStrategy[Any]:
    """A strategy for values of type ``hint``."""
    if not boundaries:
        return st.from_type(hint)
    origin = typing.get_origin(hint)
    targs = typing.get_args(hint)
    if hint is int:
        return st.one_of(st.sampled_from(INT_EDGES), st.integers())
    if hint is float:
        return st.one_of(st.sampled_from(FLOAT_EDGES), st.floats())
    if hint is str:
        return st.one_of(st.sampled_from(STR_EDGES), st.text())
    if origin is list:
        return st.lists(value_strategy(targs[0], boundaries=True))
    if origin is dict:
        return st.dictionaries(
            value_strategy(targs[0], boundaries=True), value_strategy(targs[1], boundaries=True)
        )
    if origin in (typing.Union, types.UnionType):
        return st.one_of(
            *(st.none() if a is type(None) else value_strategy(a, boundaries=True) for a in targs)
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = typing.get_type_hints(hint)
        return st.builds(
            hint, **{name: value_strategy(t, boundaries=True) for name, t in fields.items()}
        )
    return st.from_type(hint)


def call_strategy(fn: Callable[..., Any], *, boundaries: bool = False) -> st.SearchStrategy[Call]:
    """``(args, kwargs)`` for ``fn`` from its signature and type hints."""
    hints = typing.get_type_hints(fn)
    positional: list[st.SearchStrategy[Any]] = []
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, param in inspect.signature(fn).parameters.items():
        strategy = value_strategy(hints[name], boundaries=boundaries)
        if param.default is inspect.Parameter.empty:
            positional.append(strategy)
        else:
            optional[name] = strategy
    return st.tuples(st.tuples(*positional), st.fixed_dictionaries({}, optional=optional))
