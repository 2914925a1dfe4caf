"""Differential fuzzing: Hypothesis draws inputs for an op, both implementations run, any
disagreement is shrunk to a minimal input and logged as a ``divergence`` event.

Why here and generic: the dispatcher only sees inputs that real runs happen to produce; the
fuzzer goes looking for the edges (boundaries, ties, invalid values) where ports drift. It
uses exactly the dispatcher's pieces, so a fuzz finding means what a runtime divergence
means: :func:`shadow.dispatcher.run_side` to run a side (exceptions, Rust panics and all
become an :class:`~shadow.compare.Outcome`), :func:`shadow.compare.compare_outcomes` under
the op's policy, the op's severity classifier, and :func:`shadow.events.divergence_event`
for the event (``source: "fuzz"``), so ``shadow review`` and ``shadow replay`` work on
fuzz logs unchanged.

An op opts in by putting a strategy in ``OpSpec.strategies``: either a Hypothesis strategy
of ``(args, kwargs)`` or a :class:`FuzzSpec` that also names quantities to steer towards
with ``hypothesis.target()`` (distance to a boundary, say).

Each distinct divergence signature raises its own exception class, so Hypothesis treats
two different bugs of one op as two failures and shrinks each separately.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import settings as hyp_settings
from hypothesis.database import ExampleDatabase
from hypothesis.strategies import SearchStrategy

from shadow.codec import JSON, protect
from shadow.compare import Outcome, Verdict, compare_outcomes
from shadow.dispatcher import new_run_id, run_side
from shadow.events import divergence_event, encode_call, side, signature, utc_timestamp
from shadow.log import EventLog
from shadow.registry import DivergenceContext, OpSpec, Target

Call = tuple[tuple[Any, ...], dict[str, Any]]
Observer = Callable[[tuple[Any, ...], dict[str, Any]], Mapping[str, float]]


@dataclass(frozen=True)
class FuzzSpec:
    """What an op puts in ``OpSpec.strategies`` to be fuzzed.

    ``strategy`` draws ``(args, kwargs)``. ``observe`` (optional) maps a drawn call to
    ``{label: score}``; each score is passed to ``hypothesis.target`` so the search climbs
    towards high scores (for example ``-abs(max_error - threshold)`` to hit a gate exactly).
    """

    strategy: SearchStrategy[Call]
    observe: Observer | None = None


def as_fuzz_spec(strategies: Any) -> FuzzSpec | None:
    """Accept a :class:`FuzzSpec`, a bare strategy of ``(args, kwargs)``, or None."""
    if strategies is None or isinstance(strategies, FuzzSpec):
        return strategies
    if isinstance(strategies, SearchStrategy):
        return FuzzSpec(strategies)
    raise TypeError(f"OpSpec.strategies must be a FuzzSpec or a SearchStrategy, got {strategies!r}")


@dataclass(frozen=True)
class FuzzConfig:
    """The budget and determinism of one fuzz run (per op).

    ``max_examples`` bounds each op; with ``seconds`` the op instead runs batches of
    ``max_examples`` (seeds ``seed``, ``seed+1``, ...) until the time is spent or something
    diverges. ``derandomize`` (the gate) makes a run a pure function of the code under test;
    ``database`` None disables Hypothesis' example database (so do an explicit ``seed`` and
    ``derandomize``: Hypothesis only reads and writes it on randomly seeded runs).
    Divergences whose signature is in ``accepted_signatures`` (the gate's baseline) are
    counted but do not stop the search,
    so a known problem cannot hide a new one in the same op. ``shrink_budget`` bounds the
    property calls spent after the first divergence: beyond it, inputs not already seen to
    fail are treated as passing, so the shrinker settles on the smallest failure found so
    far instead of running for minutes (a failing gate must still finish in CI time).
    """

    max_examples: int = 200
    seconds: float | None = None
    seed: int | None = None
    derandomize: bool = False
    database: ExampleDatabase | None = None
    shrink: bool = True
    shrink_budget: int = 300
    accepted_signatures: frozenset[str] = frozenset()

    def hypothesis_settings(self, max_examples: int | None = None) -> hyp_settings:
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        if self.shrink:
            phases.append(Phase.shrink)
        return hyp_settings(
            max_examples=max_examples or self.max_examples,
            deadline=None,
            derandomize=self.derandomize,
            database=self.database,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            phases=phases,
            print_blob=False,
            report_multiple_bugs=True,
        )


# ---------------------------------------------------------------------- one differential call


@dataclass(frozen=True)
class CallCheck:
    """Both outcomes of one input and what :func:`compare_outcomes` made of them."""

    op: str
    primary: Outcome
    shadow: Outcome
    verdict: Verdict
    kind: str | None
    severity: str | None

    @property
    def diverged(self) -> bool:
        return self.kind is not None

    @property
    def signature(self) -> str | None:
        if self.kind is None:
            return None
        return signature(self.op, self.kind, [d.path for d in self.verdict.diff])


def check_call(
    spec: OpSpec,
    primary_fn: Callable[..., Any],
    shadow_fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> CallCheck:
    """Run one input on both sides, as the dispatcher's sync path does, and classify it.

    The shadow gets a protected copy of the input so a primary that mutates it cannot
    make the shadow look wrong.
    """
    s_args: tuple[Any, ...] = protect(args)
    s_kwargs: dict[str, Any] = protect(dict(kwargs))
    p = run_side(primary_fn, args, dict(kwargs))
    s = run_side(shadow_fn, s_args, s_kwargs)
    verdict = compare_outcomes(p, s, spec.policy)
    if verdict.status != "diverged":
        return CallCheck(spec.name, p, s, verdict, None, None)
    kind = verdict.kind or "value_mismatch"
    if s.error is not None and not isinstance(s.error, Exception):
        kind = "shadow_error"  # a crash (e.g. a Rust panic), not error parity
    severity = spec.severity(DivergenceContext(spec.name, kind, p, s, verdict.diff))
    return CallCheck(spec.name, p, s, verdict, kind, severity)


# ---------------------------------------------------------------------- findings & results


@dataclass(frozen=True)
class Finding:
    """A shrunk divergence: the minimal input Hypothesis found and the event logged for it."""

    op: str
    kind: str
    severity: str
    signature: str
    call_id: str
    replay: str
    input: JSON | None
    input_repr: str
    event: Mapping[str, Any]
    examples_to_find: int | None = None


@dataclass(frozen=True)
class OpResult:
    """Per-op statistics of a fuzz run."""

    op: str
    examples: int
    elapsed_s: float
    matched: int
    tolerated: int
    diverged: Mapping[str, int]
    findings: tuple[Finding, ...]
    first_divergence_at: int | None
    errors: tuple[str, ...] = ()
    accepted: int = 0

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.elapsed_s if self.elapsed_s > 0 else math.inf

    @property
    def ok(self) -> bool:
        return not self.findings and not self.errors


@dataclass(frozen=True)
class FuzzReport:
    run_id: str
    target: str
    primary: str
    shadow: str
    results: tuple[OpResult, ...]
    skipped_ops: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


class FuzzDivergence(AssertionError):
    """Raised inside the property; one subclass per signature so Hypothesis keeps them apart."""

    def __init__(self, check: CallCheck, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(f"{check.op}: {check.kind} ({check.severity}) {check.signature}")
        self.check = check
        self.args_ = args
        self.kwargs_ = kwargs


_DIVERGENCE_TYPES: dict[str, type[FuzzDivergence]] = {}


def _divergence_type(sig: str) -> type[FuzzDivergence]:
    cls = _DIVERGENCE_TYPES.get(sig)
    if cls is None:
        cls = type(f"FuzzDivergence_{sig}", (FuzzDivergence,), {})
        _DIVERGENCE_TYPES[sig] = cls
    return cls


def _flatten(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_flatten(inner))
        return out
    return [exc]


@dataclass
class _OpState:
    examples: int = 0
    matched: int = 0
    tolerated: int = 0
    diverged: dict[str, int] = field(default_factory=dict)
    first_divergence_at: int | None = None
    accepted: int = 0
    failing: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Pair:
    """The two implementations under comparison, with the names replay rebuilds them by."""

    primary_name: str
    shadow_name: str
    primary: Any
    shadow: Any

    @staticmethod
    def of(target: Target, primary: str | None = None, shadow: str | None = None) -> Pair:
        p_name = primary or target.default_pair[0]
        s_name = shadow or target.default_pair[1]
        return Pair(p_name, s_name, target.make(p_name), target.make(s_name))


def _version(impl: Any) -> str:
    version = getattr(impl, "version", None)
    return version if isinstance(version, str) else "unknown"


class Fuzzer:
    """Fuzzes the ops of one target with one pair of implementations, logging findings.

    ``progress(op, examples_so_far)`` is called every few examples (for a progress bar).
    """

    def __init__(
        self,
        target: Target,
        pair: Pair,
        config: FuzzConfig,
        *,
        log: EventLog | None = None,
        run_id: str | None = None,
        source: str = "fuzz",
        progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.target = target
        self.pair = pair
        self.config = config
        self.log = log
        self.run_id = run_id or f"fuzz-{new_run_id()}"
        self.source = source
        self.progress = progress
        self._seq = 0

    # ------------------------------------------------------------------ events

    def record(self, check: CallCheck, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Finding:
        """Write ``check`` (a divergence) as an event and return it as a :class:`Finding`."""
        assert check.kind is not None and check.severity is not None
        spec = self.target.op(check.op)
        codec = self.target.codec_for(check.op)
        self._seq += 1
        call_id = f"{self.run_id}-{self._seq:06d}"
        encoded, extra = encode_call(codec, args, kwargs)
        attrs = spec.policy.compare_error_attrs
        fields = divergence_event(
            run_id=self.run_id,
            call_id=call_id,
            target=self.target.import_spec,
            op=check.op,
            kind=check.kind,
            severity=check.severity,
            source=self.source,
            primary=side(self.pair.primary_name, _version(self.pair.primary), check.primary, attrs),
            shadow=side(self.pair.shadow_name, _version(self.pair.shadow), check.shadow, attrs),
            diff=check.verdict.diff,
            diff_count=check.verdict.diff_count,
            codec=codec,
            encoded_input=encoded,
            log=self.log,
            extra=extra,
        )
        if self.log is not None:
            self.log.emit("divergence", fields)
        return Finding(
            op=check.op,
            kind=check.kind,
            severity=check.severity,
            signature=str(fields["signature"]),
            call_id=call_id,
            replay=str(fields["replay"]),
            input=fields.get("input") if fields.get("input") is not None else encoded,
            input_repr=_short_repr((args, dict(kwargs))),
            event=fields,
        )

    def write_summary(self, results: Sequence[OpResult]) -> None:
        if self.log is None:
            return
        counters = {
            r.op: {
                "calls": r.examples,
                "sampled": r.examples,
                "matched": r.matched,
                "tolerated": r.tolerated,
                "diverged": dict(r.diverged),
                "skipped": 0,
                "errors": len(r.errors),
            }
            for r in results
        }
        self.log.emit(
            "run_summary",
            {
                "run_id": self.run_id,
                "ts": utc_timestamp(),
                "target": self.target.import_spec,
                "source": self.source,
                "mode": "fuzz",
                "primary": {"name": self.pair.primary_name, "version": _version(self.pair.primary)},
                "shadow": {"name": self.pair.shadow_name, "version": _version(self.pair.shadow)},
                "counters": counters,
            },
        )

    # ------------------------------------------------------------------ fuzzing

    def fuzzable_ops(self, only: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
        """(ops with a strategy, ops without one), in registration order."""
        wanted = list(only) if only is not None else list(self.target.ops)
        for name in wanted:
            self.target.op(name)  # KeyError with a clear message for unknown ops
        have = [n for n in wanted if as_fuzz_spec(self.target.op(n).strategies) is not None]
        return have, [n for n in wanted if n not in have]

    def run(self, ops: Iterable[str] | None = None) -> FuzzReport:
        have, missing = self.fuzzable_ops(ops)
        results = [self.fuzz_op(op) for op in have]
        self.write_summary(results)
        return FuzzReport(
            self.run_id,
            self.target.import_spec,
            self.pair.primary_name,
            self.pair.shadow_name,
            tuple(results),
            tuple(missing),
        )

    def fuzz_op(self, op: str) -> OpResult:
        spec = self.target.op(op)
        fz = as_fuzz_spec(spec.strategies)
        if fz is None:
            raise ValueError(f"op {op!r} of target {self.target.name!r} has no fuzz strategy")
        primary_fn = getattr(self.pair.primary, op)
        shadow_fn = getattr(self.pair.shadow, op)
        state = _OpState()
        observe = fz.observe
        progress = self.progress
        accepted = self.config.accepted_signatures
        shrink_budget = self.config.shrink_budget

        def differential(call: Call) -> None:
            args, kwargs = call
            key = None
            if state.first_divergence_at is not None:
                key = repr(call)
                spent = state.examples - state.first_divergence_at >= shrink_budget
                if spent and key not in state.failing:
                    return  # shrink budget spent: only known failures still fail
            state.examples += 1
            if progress is not None and state.examples % 25 == 0:
                progress(op, state.examples)
            if observe is not None:
                for label, score in observe(args, kwargs).items():
                    hypothesis.target(float(score), label=label)
            check = check_call(spec, primary_fn, shadow_fn, args, kwargs)
            if check.kind is None:
                if check.verdict.status == "tolerated":
                    state.tolerated += 1
                else:
                    state.matched += 1
                return
            if check.signature in accepted:
                state.accepted += 1
                return
            state.diverged[check.kind] = state.diverged.get(check.kind, 0) + 1
            if state.first_divergence_at is None:
                state.first_divergence_at = state.examples
            state.failing.add(key if key is not None else repr(call))
            raise _divergence_type(check.signature or "")(check, args, kwargs)

        findings: dict[str, Finding] = {}
        errors: list[str] = []
        t0 = time.perf_counter()
        batch = 0
        while True:
            seed = None if self.config.seed is None else self.config.seed + batch
            failures = self._run_hypothesis(differential, fz.strategy, op, seed)
            for exc in failures:
                if isinstance(exc, FuzzDivergence):
                    sig = exc.check.signature or ""
                    if sig not in findings:
                        finding = self.record(exc.check, exc.args_, exc.kwargs_)
                        findings[sig] = _with_examples(finding, state.first_divergence_at)
                else:
                    errors.append(f"{type(exc).__name__}: {exc}")
            batch += 1
            if (
                self.config.seconds is None
                or findings
                or errors
                or time.perf_counter() - t0 >= self.config.seconds
            ):
                break
            if self.config.seed is None and self.config.derandomize:
                break  # a derandomized batch would only repeat itself
        elapsed = time.perf_counter() - t0
        if progress is not None:
            progress(op, state.examples)
        return OpResult(
            op=op,
            examples=state.examples,
            elapsed_s=elapsed,
            matched=state.matched,
            tolerated=state.tolerated,
            diverged=dict(state.diverged),
            findings=tuple(findings.values()),
            first_divergence_at=state.first_divergence_at,
            errors=tuple(errors),
            accepted=state.accepted,
        )

    def _run_hypothesis(
        self,
        prop: Callable[[Call], None],
        strategy: SearchStrategy[Call],
        op: str,
        seed: int | None,
    ) -> list[BaseException]:
        test = given(strategy)(prop)
        test = self.config.hypothesis_settings()(test)
        if seed is not None and not self.config.derandomize:
            test = hypothesis.seed(seed)(test)
        # Every op shares ``prop``'s source: give each its own database key and derandomized
        # seed, or the ops would replay each other's saved examples.
        test.hypothesis.inner_test._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
            f"{self.target.import_spec}|{op}|{self.pair.shadow_name}".encode()
        )
        try:
            with warnings.catch_warnings():
                # Implementations' RuntimeWarnings (overflow in an extreme input) are noise
                # here: what they return or raise is what gets compared.
                warnings.simplefilter("ignore")
                test()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            return _flatten(exc)
        return []


def _with_examples(finding: Finding, n: int | None) -> Finding:
    return dataclasses.replace(finding, examples_to_find=n)


def _short_repr(value: Any, limit: int = 600) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fuzz_target(
    target: Target,
    config: FuzzConfig,
    *,
    ops: Iterable[str] | None = None,
    primary: str | None = None,
    shadow: str | None = None,
    log: EventLog | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> FuzzReport:
    """Fuzz every op of ``target`` that has a strategy (or ``ops``) with its default pair."""
    fuzzer = Fuzzer(target, Pair.of(target, primary, shadow), config, log=log, progress=progress)
    return fuzzer.run(ops)
