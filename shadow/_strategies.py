"""Strategies derived from type hints, with the boundaries a port gets wrong mixed in.

Why not plain ``st.from_type``: it draws from the whole range of a type, where the values
ports disagree on (0, -1, the edges of i32/i64/u64, 2**53, -0.0, NaN, infinities, the empty
string and list, equal elements that make ties) are needles in a haystack. Here every
scalar draws, with real probability, from a list of such edges; lists are often empty,
short, or built from a small pool (ties, duplicates); ``Annotated`` bounds (``ge``/``gt``/
``le``/``lt`` metadata, as ``annotated_types`` writes them) add the limit, limit - 1 and
limit + 1. Everything shrinks towards small inputs. Types this module does not know fall
back to ``st.from_type``.

:func:`call_strategy` turns a function's signature into a strategy of ``(args, kwargs)``:
what ``shadow fuzz --pair`` uses when the user wrote no strategy at all.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

Call = tuple[tuple[Any, ...], dict[str, Any]]

INT_EDGES: tuple[int, ...] = (
    0, 1, -1, 2, -2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 1000, 1024,
    2**15 - 1, 2**16, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1,
    2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64,
)  # fmt: skip
FLOAT_EDGES: tuple[float, ...] = (
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, 0.1, 0.3, 1e-9, 1e9, 2.0**53, 2.0**63,
    5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
    math.inf, -math.inf, math.nan,
)  # fmt: skip
TEXT_EDGES: tuple[str, ...] = ("", " ", "a", "A", "0", "-1", "a b", "é", "\u200b", "\x00", "😀")


class StrategyError(TypeError):
    """No strategy can be derived (a parameter without a type hint, say)."""


def for_type(tp: Any) -> SearchStrategy[Any]:
    """A strategy for values of the annotation ``tp``, boundaries mixed in."""
    return _for(tp, depth=0)


def _bounds(metadata: Sequence[Any]) -> list[Any]:
    edges: list[Any] = []
    for m in metadata:
        for name, delta in (("ge", 0), ("gt", 1), ("le", 0), ("lt", -1)):
            limit = getattr(m, name, None)
            if isinstance(limit, int | float) and not isinstance(limit, bool):
                edges += [limit, limit - 1, limit + 1, limit + delta]
    return edges


def _with_edges(base: SearchStrategy[Any], edges: Iterable[Any]) -> SearchStrategy[Any]:
    pool = list(dict.fromkeys(edges))
    if not pool:
        return base
    return st.one_of(st.sampled_from(pool), base)


def _for(tp: Any, depth: int) -> SearchStrategy[Any]:
    if depth > 6:
        return st.none()
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        inner, *metadata = args
        base = _for(inner, depth)
        return _with_edges(base, _bounds(metadata))
    if tp is Any or tp is object:
        return st.one_of(st.none(), st.booleans(), _ints(), _floats(), _texts())
    if tp is type(None) or tp is None:
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return _ints()
    if tp is float:
        return _floats()
    if tp is str:
        return _texts()
    if tp is bytes:
        return st.one_of(st.just(b""), st.binary(max_size=16))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_for(a, depth + 1) for a in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, depth)
    if origin in (list, Sequence, Iterable, typing.Sequence, typing.Iterable) or tp in (
        list,
        Sequence,
    ):
        item = _for(args[0], depth + 1) if args else _scalars()
        return _lists(item, args[0] if args else None, depth)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _lists(_for(args[0], depth + 1), args[0], depth).map(tuple)
        if args == ((),):
            return st.just(())
        return st.tuples(*(_for(a, depth + 1) for a in args))
    if origin in (set, frozenset):
        item = _for(args[0], depth + 1) if args else _scalars()
        build = set if origin is set else frozenset
        return st.sets(item, max_size=6).map(build)
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        key = _for(args[0], depth + 1) if args else _texts()
        value = _for(args[1], depth + 1) if args else _scalars()
        return st.one_of(st.just({}), st.dictionaries(key, value, max_size=5))
    try:
        return st.from_type(tp)
    except Exception as exc:
        raise StrategyError(f"no strategy for type {tp!r}: {exc}") from None


def _ints() -> SearchStrategy[int]:
    return st.one_of(
        st.sampled_from(INT_EDGES),
        st.integers(min_value=-4, max_value=4),
        st.integers(min_value=-(2**16), max_value=2**16),
        st.integers(),
    )


def _floats() -> SearchStrategy[float]:
    return st.one_of(
        st.sampled_from(FLOAT_EDGES),
        st.sampled_from((-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0)),
        st.floats(min_value=-1e6, max_value=1e6),
        st.floats(),
    )


def _texts() -> SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(TEXT_EDGES),
        st.text(alphabet="ab_01", max_size=6),
        st.text(max_size=12),
    )


def _scalars() -> SearchStrategy[Any]:
    return st.one_of(_ints(), _floats(), _texts(), st.booleans(), st.none())


def _lists(item: SearchStrategy[Any], item_type: Any, depth: int) -> SearchStrategy[list[Any]]:
    """Empty, short, or drawn from a small pool (ties and duplicates), shrinking to []."""
    pooled = st.lists(item, min_size=1, max_size=3).flatmap(
        lambda pool: st.lists(st.sampled_from(pool), max_size=8)
    )
    return st.one_of(st.just([]), st.lists(item, max_size=6), pooled)


def _dataclass(cls: type, depth: int) -> SearchStrategy[Any]:
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise StrategyError(f"cannot read the type hints of {cls.__qualname__}: {exc}") from None
    fields = {
        f.name: _for(hints.get(f.name, Any), depth + 1) for f in dataclasses.fields(cls) if f.init
    }
    return st.builds(cls, **fields)


def call_strategy(fn: Callable[..., Any]) -> SearchStrategy[Call]:
    """A strategy of ``(args, kwargs)`` for ``fn`` from its signature and type hints.

    Positional parameters are drawn positionally, keyword-only ones as keywords; a
    parameter with a default is sometimes left out (the default is part of the contract).
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise StrategyError(f"cannot read the signature of {fn!r}: {exc}") from None
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise StrategyError(f"cannot read the type hints of {fn!r}: {exc}") from None
    positional: list[tuple[str, SearchStrategy[Any], bool]] = []
    keywords: list[tuple[str, SearchStrategy[Any], bool]] = []
    for name, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(name)
        if hint is None:
            if param.default is not param.empty:
                continue  # no hint, but a default: leave it to the default
            raise StrategyError(
                f"parameter {name!r} of {getattr(fn, '__qualname__', fn)} has no type hint"
            )
        optional = param.default is not param.empty
        entry = (name, for_type(hint), optional)
        (keywords if param.kind is param.KEYWORD_ONLY else positional).append(entry)

    @st.composite
    def calls(draw: st.DrawFn) -> Call:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name, strategy, optional in positional:
            if optional and draw(st.booleans()):
                kwargs.update({})  # left to its default; later ones go by keyword
                continue
            if (
                len(args) + len(kwargs) == positional.index((name, strategy, optional))
                and not kwargs
            ):
                args.append(draw(strategy))
            else:
                kwargs[name] = draw(strategy)
        for name, strategy, optional in keywords:
            if optional and draw(st.booleans()):
                continue
            kwargs[name] = draw(strategy)
        return tuple(args), kwargs

    return calls()


__all__ = ["FLOAT_EDGES", "INT_EDGES", "StrategyError", "call_strategy", "for_type"]
