"""Every op's differential property as an ordinary Hypothesis test, for any test runner.

Why: the fuzzer and the gate drive Hypothesis themselves, but a team also wants the same
properties in its own test suite (run by pytest, by a Hypothesis-aware fuzzing runner, in
an IDE). :func:`differential_tests` returns one ``@given`` test function per op; put them
in a test module's namespace::

    from shadow._testing import differential_tests
    globals().update(differential_tests(TARGET, primary="python", shadow="rust"))

Each test runs an input through the same run-and-judge path as everything else
(:class:`shadow._judge.Differential`) and fails with the divergence's kind, signature and
diff. Strategies are the op's registered ones, or derived from type hints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings

from shadow._display import visible
from shadow._fuzz import FuzzConfig, Fuzzer, Pair, ScopedDatabase
from shadow._judge import Differential
from shadow._registry import Target


class DivergenceFound(AssertionError):
    """A differential test found the two implementations disagreeing."""


def differential_tests(
    target: Target,
    *,
    primary: str | None = None,
    shadow: str | None = None,
    ops: Iterable[str] | None = None,
    isolation: str = "thread",
    timeout_s: float | None = 10.0,
    prefix: str = "test_differential_",
) -> dict[str, Callable[[], None]]:
    """``{"test_differential_<op>": test}`` for every fuzzable op of ``target``."""
    pair = Pair.of(target, primary, shadow)
    fuzzer = Fuzzer(target, pair, FuzzConfig(isolation=isolation, timeout_s=timeout_s))
    chosen, _ = fuzzer.fuzzable_ops(ops)
    tests: dict[str, Callable[[], None]] = {}
    for op in chosen:
        spec = fuzzer.strategy_for(op)
        assert spec is not None
        tests[f"{prefix}{op}"] = _make_test(target, pair, op, spec.strategy, fuzzer)
    return tests


def _make_test(
    target: Target, pair: Pair, op: str, strategy: Any, fuzzer: Fuzzer
) -> Callable[[], None]:
    differential = Differential(
        target.op(op), getattr(pair.primary, op), fuzzer.runner, timeout_s=fuzzer.config.timeout_s
    )

    database = settings.default.database if settings.default is not None else None
    if database is not None:  # the ops share this function's source: one key each
        database = ScopedDatabase(database, f"{target.import_spec}|{op}|{pair.shadow_name}")

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=database)
    @given(strategy)
    def test(call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        args, kwargs = call
        judgement = differential(args, dict(kwargs))
        if judgement.diverged:
            d = judgement.divergences[0]
            lines = [f"{op}: {d.kind} ({d.severity}), signature {d.signature.id}"]
            lines += [
                f"  {e.path}: {pair.primary_name}={visible(e.primary)} "
                f"{pair.shadow_name}={visible(e.shadow)}"
                for e in d.diff[:5]
            ]
            raise DivergenceFound("\n".join(lines))

    test.__name__ = f"test_differential_{op}"
    test.__qualname__ = test.__name__
    result: Callable[[], None] = test
    return result


__all__ = ["DivergenceFound", "differential_tests"]
