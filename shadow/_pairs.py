"""Function pairs as first-class targets, and the decorator that shadows one at runtime.

Why: a port is usually "the same functions, twice" (two modules, two callables, or two
objects), not two classes whose method names match a registry. :func:`pair` builds a
:class:`~shadow._registry.Target` from what the user already has: the ops are the function
names both sides define, implementation names and versions come from the modules, the
codec knows the dataclasses in the type hints, and fuzz strategies are derived from the
primary's type hints when the fuzzer needs them. No adapter classes.

A pair of importable implementations gets an import spec of the form
``pair:MODULE[:ATTR],MODULE[:ATTR]`` (what ``shadow fuzz --pair A B`` builds and what
:func:`shadow._registry.load_target` understands), so a worker process or ``shadow replay``
can rebuild it from the spec alone.

:func:`experiment` is the runtime case, in the style of a scientist's experiment: decorate
the primary, name the shadow, call the decorated function as before::

    @shadow.experiment(shadow=port.score)
    def score(xs: list[float]) -> float: ...
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from shadow._codec import Codec, TypedCodec
from shadow._compare import EXACT, ComparePolicy
from shadow._registry import OpSpec, Target

PAIR_PREFIX = "pair:"
Params = ParamSpec("Params")
R = TypeVar("R")


class PairError(ValueError):
    """The two sides cannot be paired (nothing in common, or not importable where needed)."""


@dataclasses.dataclass(frozen=True)
class FunctionSet:
    """An implementation made of plain functions: ``set.op(*args)`` calls ``functions[op]``.

    Picklable when its functions are (module-level functions pickle by reference), which is
    what process isolation needs.
    """

    name: str
    version: str
    functions: Mapping[str, Callable[..., Any]]

    def __getattr__(self, op: str) -> Callable[..., Any]:
        if op.startswith("__"):
            raise AttributeError(op)
        try:
            return self.functions[op]
        except KeyError:
            raise AttributeError(op) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionSet, (self.name, self.version, dict(self.functions)))


# ---------------------------------------------------------------------- what a side is


def _version_of(obj: Any) -> str:
    module = inspect.getmodule(obj) if not isinstance(obj, types.ModuleType) else obj
    candidates = [module]
    if module is not None:
        top = module.__name__.split(".")[0]
        candidates.append(importlib.import_module(top))
    for m in candidates:
        v = getattr(m, "__version__", None)
        if isinstance(v, str):
            return v
    if module is not None:
        try:
            from importlib.metadata import PackageNotFoundError, version

            return version(module.__name__.split(".")[0])
        except (PackageNotFoundError, ValueError):
            pass
    return "unknown"


def _public_functions(obj: Any) -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        if isinstance(obj, types.ModuleType):
            if not (inspect.isfunction(value) or inspect.isbuiltin(value)):
                continue
            if getattr(value, "__module__", None) != obj.__name__:
                continue  # imported from elsewhere, not this module's own
        elif not callable(value) or inspect.isclass(value):
            continue
        out[name] = value
    return out


def _side_name(obj: Any, fallback: str) -> str:
    name = getattr(obj, "name", None)
    if isinstance(name, str) and not isinstance(obj, types.ModuleType):
        return name
    module = obj if isinstance(obj, types.ModuleType) else inspect.getmodule(obj)
    if module is not None:
        return module.__name__.rsplit(".", 1)[-1]
    return fallback


def _spec_of(obj: Any) -> str | None:
    """``module`` or ``module:qualname`` when ``obj`` can be re-imported by that name."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return None
    return f"{module}:{qualname}" if found is obj else None


def resolve(spec: str) -> Any:
    """Import ``module`` or ``module:attr.path``."""
    module_name, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _dataclasses_in(hints: Iterable[Any]) -> list[type]:
    found: list[type] = []

    def visit(tp: Any, depth: int) -> None:
        if depth > 8:
            return
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in found:
            found.append(tp)
            try:
                inner = typing.get_type_hints(tp)
            except Exception:
                inner = {}
            for v in inner.values():
                visit(v, depth + 1)
        for arg in typing.get_args(tp):
            visit(arg, depth + 1)

    for h in hints:
        visit(h, 0)
    return found


def _hints(fn: Callable[..., Any]) -> list[Any]:
    try:
        return list(typing.get_type_hints(fn).values())
    except Exception:
        return []


# ---------------------------------------------------------------------- pair()


def pair(
    primary: Any,
    shadow: Any,
    *,
    name: str | None = None,
    ops: Iterable[str] | None = None,
    policy: ComparePolicy = EXACT,
    policies: Mapping[str, ComparePolicy] | None = None,
    codec: Codec | None = None,
    names: tuple[str, str] | None = None,
    import_spec: str | None = None,
) -> Target:
    """A target from two callables, two modules or two objects (see the module docstring).

    ``ops`` restricts the shadowed functions (default: every public function both sides
    define; for two callables, the primary's name). ``policies`` gives an op its own
    comparison policy. ``names`` overrides the implementation names (default: the modules'
    last names, or ``primary``/``shadow`` when those are equal).
    """
    if (
        callable(primary)
        and callable(shadow)
        and not isinstance(primary, types.ModuleType)
        and (inspect.isfunction(primary) or inspect.isbuiltin(primary) or inspect.ismethod(primary))
    ):
        op = getattr(primary, "__name__", "call")
        p_funcs: dict[str, Callable[..., Any]] = {op: primary}
        s_funcs: dict[str, Callable[..., Any]] = {op: shadow}
    else:
        p_funcs = _public_functions(primary)
        s_funcs = _public_functions(shadow)
    common = [op for op in p_funcs if op in s_funcs]
    chosen = list(ops) if ops is not None else common
    missing = [op for op in chosen if op not in p_funcs or op not in s_funcs]
    if missing:
        raise PairError(f"not defined on both sides: {', '.join(missing)}")
    if not chosen:
        raise PairError("the two sides have no function in common to compare")
    p_name, s_name = names or (_side_name(primary, "primary"), _side_name(shadow, "shadow"))
    if p_name == s_name:
        p_name, s_name = "primary", "shadow"
    p_set = FunctionSet(p_name, _version_of(primary), {op: p_funcs[op] for op in chosen})
    s_set = FunctionSet(s_name, _version_of(shadow), {op: s_funcs[op] for op in chosen})
    if codec is None:
        hints = [h for op in chosen for h in _hints(p_funcs[op])]
        codec = TypedCodec(_dataclasses_in(hints))
    if import_spec is None:
        specs = (_spec_of(primary), _spec_of(shadow))
        if specs[0] is not None and specs[1] is not None:
            import_spec = f"{PAIR_PREFIX}{specs[0]},{specs[1]}"
            if ops is not None:
                import_spec += "?ops=" + "+".join(chosen)
    target = Target(
        name or f"{p_name}-vs-{s_name}",
        import_spec or "__main__:<in-process pair>",
        {p_name: lambda: p_set, s_name: lambda: s_set},
        [OpSpec(op, (policies or {}).get(op, policy), codec) for op in chosen],
        default_pair=(p_name, s_name),
        codec=codec,
    )
    return target


def load_pair(spec: str) -> Target:
    """The target of a ``pair:A,B[?ops=x+y]`` import spec."""
    body = spec.removeprefix(PAIR_PREFIX)
    body, _, query = body.partition("?")
    first, sep, second = body.partition(",")
    if not sep or not first or not second:
        raise PairError(f"a pair spec is 'pair:MODULE[:ATTR],MODULE[:ATTR]', got {spec!r}")
    ops = None
    if query.startswith("ops="):
        ops = [o for o in query.removeprefix("ops=").split("+") if o]
    return pair(resolve(first), resolve(second), ops=ops, import_spec=spec)


# ---------------------------------------------------------------------- experiment()


def experiment(
    shadow: Callable[..., Any],
    *,
    mode: str = "sync",
    log: str | None = None,
    sample_rate: float = 1.0,
    isolation: str = "thread",
    timeout_s: float | None = 5.0,
    policy: ComparePolicy = EXACT,
    strict: bool = False,
) -> Callable[[Callable[Params, R]], Callable[Params, R]]:
    """Decorate the primary; every call also runs ``shadow`` and is judged (see module doc).

    The decorated function returns and raises exactly what the primary does. Its
    ``dispatcher`` attribute holds the counters; the run summary is written at exit.
    """
    from shadow._dispatcher import Dispatcher

    def decorate(fn: Callable[Params, R]) -> Callable[Params, R]:
        target = pair(fn, shadow, policy=policy)
        op = next(iter(target.ops))
        dispatcher: Dispatcher[Any] = Dispatcher(
            target,
            mode=mode,
            log=log,
            sample_rate=sample_rate,
            isolation=isolation,
            timeout_s=timeout_s,
            strict=strict,
        )
        atexit.register(dispatcher.close)
        call = dispatcher.call

        @functools.wraps(fn)
        def shadowed(*args: Params.args, **kwargs: Params.kwargs) -> R:
            result: R = call(op, *args, **kwargs)
            return result

        shadowed.dispatcher = dispatcher  # type: ignore[attr-defined]
        return shadowed

    return decorate


__all__ = ["FunctionSet", "PairError", "experiment", "load_pair", "pair", "resolve"]
