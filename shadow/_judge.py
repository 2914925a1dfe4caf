"""The one run-and-judge primitive: what counts as a divergence, decided in one place.

Every tool that compares the two sides (the dispatcher at runtime, the fuzzer, the gate's
corpus replay, ``shadow replay`` and ``shadow verify`` against a recording) goes through
:class:`Judge` (two outcomes -> a :class:`Judgement`) and, when it runs the call itself,
:class:`Differential` (prepare the shadow's snapshot, run the primary in-process, run the
shadow through its isolation, judge, including whether the two sides left their input in
different states). So a rule (type-strictness, tolerance, error parity, how a crash or a
timeout is classified, severity, signature) holds everywhere or nowhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from shadow._compare import (
    MATCH,
    DiffEntry,
    Verdict,
    compare_errors,
    compare_values,
    error_summary,
    strict_equal,
)
from shadow._isolation import ShadowRunner
from shadow._outcome import Outcome, is_fatal
from shadow._registry import DivergenceContext, OpSpec, Severity
from shadow._signature import Signature, signature_of

Input = tuple[tuple[Any, ...], dict[str, Any]]
JudgementStatus = Literal["match", "tolerated", "diverged"]

_ATOMIC: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes, complex})
_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class Divergence:
    """One way a call diverged: its kind, how bad, the diff and the cause's signature."""

    kind: str
    severity: Severity
    diff: tuple[DiffEntry, ...]
    diff_count: int
    truncated: bool
    signature: Signature


@dataclass(frozen=True, slots=True)
class Judgement:
    """Both outcomes of one call and what they amount to."""

    op: str
    primary: Outcome
    shadow: Outcome
    status: JudgementStatus
    divergences: tuple[Divergence, ...] = ()

    @property
    def diverged(self) -> bool:
        return bool(self.divergences)

    @property
    def first(self) -> Divergence | None:
        return self.divergences[0] if self.divergences else None


def is_atomic_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Inputs made only of immutable scalars cannot be mutated (nothing to copy or check)."""
    for a in args:  # (a plain loop: on the async hot path, twice as fast as all())
        if type(a) not in _ATOMIC:
            return False
    if kwargs:
        for v in kwargs.values():
            if type(v) not in _ATOMIC:
                return False
    return True


class Judge:
    """The verdict rules of one op, resolved once (policy, severity, grouping)."""

    __slots__ = ("_attrs", "op", "policy", "spec")

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        self.op = spec.name
        self.policy = spec.policy
        self._attrs = spec.policy.compare_error_attrs

    def judge(
        self,
        primary: Outcome,
        shadow: Outcome,
        *,
        primary_input: Input | None = None,
        shadow_input: Input | None = None,
    ) -> Judgement:
        """Classify a pair of outcomes; ``*_input`` are each side's input *after* its call
        (None: not checked). A call can diverge twice: in its result and in its input."""
        found: list[Divergence] = []
        verdict = self._verdict(primary, shadow)
        if verdict.status == "diverged":
            kind = verdict.kind or "value_mismatch"
            found.append(self._divergence(kind, verdict, primary, shadow))
        if primary_input is not None and shadow_input is not None:
            mutated = self._mutation(primary_input, shadow_input)
            if mutated is not None:
                found.append(self._divergence("mutated_input", mutated, primary, shadow))
        if found:
            return Judgement(self.op, primary, shadow, "diverged", tuple(found))
        status: JudgementStatus = "tolerated" if verdict.status == "tolerated" else "match"
        return Judgement(self.op, primary, shadow, status)

    def _verdict(self, p: Outcome, s: Outcome) -> Verdict:
        if s.fault is not None:
            entry = DiffEntry("shadow", _side_text(p, self._attrs), s.fault.detail, "fault")
            return Verdict("diverged", s.fault.kind, (entry,), 1)
        pe, se = p.error, s.error
        if se is not None and is_fatal(se) and not (pe is not None and is_fatal(pe)):
            entry = DiffEntry(
                "error", _side_text(p, self._attrs), error_summary(se, self._attrs), "crash"
            )
            return Verdict("diverged", "shadow_error", (entry,), 1)
        if pe is None and se is None:
            return compare_values(p.value, s.value, self.policy)
        if pe is not None and se is not None:
            return compare_errors(pe, se, self.policy)
        if pe is not None:
            entry = DiffEntry(
                "error", error_summary(pe, self._attrs), _side_text(s, self._attrs), "raised"
            )
            return Verdict("diverged", "primary_error_only", (entry,), 1)
        assert se is not None
        entry = DiffEntry(
            "error", _side_text(p, self._attrs), error_summary(se, self._attrs), "raised"
        )
        return Verdict("diverged", "shadow_error_only", (entry,), 1)

    def _mutation(self, primary_input: Input, shadow_input: Input) -> Verdict | None:
        if strict_equal(primary_input, shadow_input):
            return None
        p_args, p_kwargs = primary_input
        s_args, s_kwargs = shadow_input
        v = compare_values(
            {"args": list(p_args), "kwargs": p_kwargs},
            {"args": list(s_args), "kwargs": s_kwargs},
            self.policy,
        )
        if v.status != "diverged":
            return None
        diff = tuple(
            DiffEntry(d.path.replace("root", "input", 1), d.primary, d.shadow, d.change)
            for d in v.diff
        )
        return Verdict("diverged", "mutated_input", diff, v.diff_count, v.truncated)

    def _divergence(self, kind: str, verdict: Verdict, p: Outcome, s: Outcome) -> Divergence:
        spec = self.spec
        ctx = DivergenceContext(self.op, kind, p, s, verdict.diff)
        group_key = spec.group_key(ctx)
        sig = signature_of(
            self.op,
            kind,
            primary=p,
            shadow=s,
            diff=verdict.diff,
            error_attrs=self._attrs,
            group_key=group_key,
        )
        return Divergence(
            kind,
            spec.severity(ctx),
            verdict.diff,
            verdict.diff_count or len(verdict.diff),
            verdict.truncated,
            sig,
        )


def _side_text(outcome: Outcome, attrs: tuple[str, ...]) -> str:
    if outcome.fault is not None:
        return outcome.fault.detail
    if outcome.error is not None:
        return error_summary(outcome.error, attrs)
    return f"returned {type(outcome.value).__qualname__}"


# ---------------------------------------------------------------------- running a call


def run_primary(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    """Run the primary in the caller's thread, capturing what it returns or raises.

    ``KeyboardInterrupt`` and ``SystemExit`` from the primary are the user (or the program)
    stopping: they propagate at once, unshadowed.
    """
    t0 = _perf()
    try:
        value = fn(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return Outcome(None, exc, _perf() - t0)
    return Outcome(value, None, _perf() - t0)


class Differential:
    """Run one op on both sides and judge it: the shared path of fuzz, gate, replay.

    The shadow's input is snapshotted *before* the primary runs (so nothing the primary does
    to its input reaches the shadow); after both ran, their inputs are compared too.
    """

    def __init__(
        self,
        spec: OpSpec,
        primary_fn: Callable[..., Any],
        runner: ShadowRunner,
        *,
        timeout_s: float | None = None,
    ) -> None:
        self.judge = Judge(spec)
        self.op = spec.name
        self.primary_fn = primary_fn
        self.runner = runner
        self.timeout_s = timeout_s

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Judgement:
        atomic = is_atomic_input(args, kwargs)
        prepared = self.runner.prepare(self.op, args, kwargs)
        p = run_primary(self.primary_fn, args, kwargs)
        s = self.runner.run(prepared, self.timeout_s)
        if atomic:
            return self.judge.judge(p, s)
        shadow_input = s.input_after
        if shadow_input is None:
            shadow_input = self.runner.snapshot(prepared)
        return self.judge.judge(p, s, primary_input=(args, kwargs), shadow_input=shadow_input)


__all__ = [
    "MATCH",
    "Differential",
    "Divergence",
    "Input",
    "Judge",
    "Judgement",
    "is_atomic_input",
    "run_primary",
]
