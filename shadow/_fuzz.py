"""Differential fuzzing that hunts for every distinct problem of a port, for the whole budget.

Why hunt: the simplest input often already diverges (an empty list, a zero), and a fuzzer
that stops at its first finding reports one bug of ten. Here each op is fuzzed in *rounds*.
In a round, Hypothesis draws inputs; every input runs through the shared run-and-judge path
(:class:`shadow._judge.Differential`: primary in-process, shadow isolated, in a worker
process by default, with a per-example timeout, so a crash or a hang is a finding like any
other). A divergence whose signature is already known (found in an earlier round, or
accepted by the gate's baseline) is *counted* against that problem and the search goes on;
only an unexplained one fails the example. Hypothesis then shrinks it, the signature is
computed on the shrunk input, and it joins the known set for the next round. Rounds go on
until the op's budget (examples, or the run's seconds) is spent.

How problems are kept apart: Hypothesis tells failures apart by exception type and origin,
so the property raises one exception class per *coarse* cause (the kind, and for errors
the identities of both sides' errors). Several error causes are shrunk in one round; value
mismatches of one op are shrunk one per round, each to its minimal input, whose full
signature (paths and change classes) then names the problem. Each new problem gets its own
shrink budget. A raw example whose differences include a known problem's (a consequence,
such as a reorder that follows a changed score) counts as that problem
(:meth:`shadow._signature.Signature.explains`).

Ops opt in through ``OpSpec.strategies`` (a strategy of ``(args, kwargs)`` or a
:class:`FuzzSpec`); an op without one is fuzzed with a strategy derived from the primary's
type hints (:mod:`shadow._strategies`).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import math
import random
import threading
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

from shadow._codec import JSON
from shadow._dispatcher import new_run_id
from shadow._events import Implementation, Reporter, implementation_of
from shadow._isolation import DEFAULT_MEMORY_LIMIT_MB, ShadowRunner
from shadow._isolation.thread import ShadowUnavailable
from shadow._judge import Differential, Divergence, Judgement
from shadow._log import EventLog
from shadow._registry import OpSpec, Target
from shadow._signature import Signature

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
    """Budget, determinism and isolation of one fuzz run.

    ``max_examples`` is each op's budget of generated examples (shrinking not counted);
    ``seconds`` instead bounds the whole run (shared by the ops still hunting). ``seed``
    makes the search reproducible (None: one is drawn and reported); an example ``database``
    (None: off) is read first (earlier failures, this run's or another worker's) and written.
    ``accepted_signatures`` (the
    gate's baseline) are known problems: counted, never reported. ``shrink_budget`` bounds
    the property calls spent shrinking each new problem. ``isolation`` is where the shadow
    runs (``process`` by default: a crashing port is a finding, not the end of the run),
    with ``timeout_s`` per example.
    """

    max_examples: int = 200
    seconds: float | None = None
    seed: int | None = None
    database: ExampleDatabase | None = None
    shrink: bool = True
    shrink_budget: int = 300
    accepted_signatures: frozenset[str] = frozenset()
    isolation: str = "process"
    timeout_s: float | None = 10.0
    memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB
    max_rounds: int = 64
    round_examples: int = 300

    def hypothesis_settings(
        self, max_examples: int, database: ExampleDatabase | None = None
    ) -> hyp_settings:
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        if self.shrink:
            phases.append(Phase.shrink)
        return hyp_settings(
            max_examples=max(1, max_examples),
            deadline=None,
            database=database,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            phases=phases,
            print_blob=False,
            report_multiple_bugs=True,
        )


class ScopedDatabase(ExampleDatabase):
    """An example database seen through a key prefix, so many properties can share one
    directory (or Redis) without replaying each other's examples.

    ``keep=True`` (the fuzzer's choice) never deletes: once a problem is known, the hunt
    counts its examples as passing, and Hypothesis would then drop them from the database as
    "fixed"; kept, they are tried first by the next run and by other workers."""

    def __init__(self, inner: ExampleDatabase, scope: str, *, keep: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.keep = keep
        self.prefix = hashlib.sha256(scope.encode()).digest()[:16]

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        if not self.keep:
            self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        if self.keep:
            self.inner.save(self.prefix + dest, value)
        else:
            self.inner.move(self.prefix + src, self.prefix + dest, value)


class _KeepKnown(ExampleDatabase):
    """The database as one round sees it: a saved failure that reproduces a *known* problem
    stays saved.

    Why: Hypothesis replays the saved failures first and deletes those that no longer fail.
    In a later round (or another worker's) a known problem does not fail the property (it
    is counted, and the hunt goes on), so without this every finding would be deleted from
    the database by the next round, and the next run (or the other workers sharing the
    database) could not replay it. An example that passes because the bug is gone is still
    deleted. ``state.reproduced_known`` says what the example just run did; a delete from
    the primary corpus (not the ``.secondary`` or ``.pareto`` ones) right after it is kept.
    """

    def __init__(self, inner: ExampleDatabase, state: _OpState) -> None:
        super().__init__()
        self.inner = inner
        self.state = state

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.inner.fetch(key)

    def delete(self, key: bytes, value: bytes) -> None:
        if self.state.reproduced_known and not key.endswith((b".secondary", b".pareto")):
            return
        self.inner.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(src, dest, value)


# ---------------------------------------------------------------------- findings & results


@dataclass(frozen=True)
class Finding:
    """A distinct problem: its shrunk input, the event logged for it, and how it was found."""

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
    seconds_to_find: float | None = None
    hits: int = 1
    parts: tuple[str, ...] = ()


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
    rounds: int = 0
    strategy: str = "registered"

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
    seed: int | None = None
    isolation: str = "process"

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


class FuzzSetupError(RuntimeError):
    """The fuzz run cannot start (the shadow implementation cannot be built)."""


class FuzzDivergence(AssertionError):
    """Raised inside the property for an unexplained divergence; one subclass per coarse
    cause so Hypothesis keeps different causes apart while shrinking."""

    def __init__(self, judgement: Judgement, divergence: Divergence, call: Call) -> None:
        super().__init__(f"{judgement.op}: {divergence.kind} {divergence.signature.id}")
        self.judgement = judgement
        self.divergence = divergence
        self.call = call


_DIVERGENCE_TYPES: dict[str, type[FuzzDivergence]] = {}


def _divergence_type(key: str) -> type[FuzzDivergence]:
    cls = _DIVERGENCE_TYPES.get(key)
    if cls is None:
        name = "FuzzDivergence_" + hashlib.sha256(key.encode()).hexdigest()[:12]
        cls = type(name, (FuzzDivergence,), {})
        _DIVERGENCE_TYPES[key] = cls
    return cls


def coarse_key(d: Divergence) -> str:
    """The cause as Hypothesis should see it while shrinking (see the module docstring)."""
    if d.kind in ("value_mismatch", "mutated_input", "shadow_timeout"):
        return f"{d.signature.op}|{d.kind}"
    return f"{d.signature.op}|{d.kind}|{'|'.join(d.signature.parts)}"


class _RoundOver(BaseException):
    """The round's time is up with no failure pending. A BaseException, because Hypothesis
    takes only an ``Exception`` for a failure of the property: this one ends the run at
    once, where returning early would let Hypothesis go on drawing up to ``max_examples``."""


def _flatten(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_flatten(inner))
        return out
    return [exc]


@dataclass
class _Problem:
    """A distinct problem found in this run: its shrunk failure, kept until the op is done
    (an event is written per problem once merges are settled)."""

    signature: Signature
    failure: FuzzDivergence
    examples_to_find: int | None
    seconds_to_find: float
    hits: int = 1


@dataclass
class _OpState:
    examples: int = 0
    matched: int = 0
    tolerated: int = 0
    diverged: dict[str, int] = field(default_factory=dict)
    first_divergence_at: int | None = None
    accepted: int = 0
    problems: dict[str, _Problem] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    round_first_failure: int | None = None
    round_classes: set[str] = field(default_factory=set)
    round_calls: int = 0
    reproduced_known: bool = False


@dataclass(frozen=True)
class Pair:
    """The two implementations under comparison, by the names events record."""

    primary_name: str
    shadow_name: str
    primary: Any
    shadow: Any

    @staticmethod
    def of(target: Target, primary: str | None = None, shadow: str | None = None) -> Pair:
        p_name = primary or target.default_pair[0]
        s_name = shadow or target.default_pair[1]
        return Pair(p_name, s_name, target.make(p_name), target.make(s_name))


def make_runner(target: Target, pair: Pair, config: FuzzConfig) -> ShadowRunner:
    """The shadow side of a fuzz run, in the configured isolation."""
    if config.isolation == "process":
        from shadow._dispatcher import _Given
        from shadow._isolation.process import ProcessIsolation, TargetImplementation

        factory: Callable[[], Any] = (
            TargetImplementation(target.import_spec, pair.shadow_name)
            if target.importable
            else _Given(pair.shadow)
        )
        return ProcessIsolation(
            factory,
            timeout_s=config.timeout_s,
            memory_limit_mb=config.memory_limit_mb,
        )
    from shadow._isolation.thread import ThreadIsolation

    return ThreadIsolation(pair.shadow, timeout_s=config.timeout_s)


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
        runner: ShadowRunner | None = None,
    ) -> None:
        self.target = target
        self.pair = pair
        self.config = config
        self.log = log
        self.run_id = run_id or f"fuzz-{new_run_id()}"
        self.source = source
        self.progress = progress
        self.seed: int = config.seed if config.seed is not None else random.getrandbits(32)
        self._runner = runner
        self._own_runner = runner is None
        self.reporter = Reporter(
            target,
            run_id=self.run_id,
            source=source,
            primary=_impl(pair.primary, pair.primary_name),
            shadow=_impl(pair.shadow, pair.shadow_name),
            log=log,
        )
        self._deadline: float | None = None
        self._round_deadline: float | None = None
        self._stopped: str | None = None  # why no shadow call can run any more
        self._t0 = time.perf_counter()

    @property
    def runner(self) -> ShadowRunner:
        if self._runner is None:
            self._runner = make_runner(self.target, self.pair, self.config)
        return self._runner

    def close(self) -> None:
        if self._own_runner and self._runner is not None:
            self._runner.close()
            self._runner = None

    # ------------------------------------------------------------------ events

    def record(
        self,
        judgement: Judgement,
        divergence: Divergence,
        call: Call,
        *,
        reporter: Reporter | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Finding:
        """Write one divergence as an event and return it as a :class:`Finding`."""
        fields = (reporter or self.reporter).divergence(judgement, divergence, call, extra=extra)
        return Finding(
            op=judgement.op,
            kind=divergence.kind,
            severity=divergence.severity,
            signature=divergence.signature.id,
            call_id=str(fields["call_id"]),
            replay=str(fields["replay"]),
            input=fields.get("input"),
            input_repr=_short_repr(call),
            event=fields,
            parts=divergence.signature.parts,
        )

    def write_summary(self, results: Sequence[OpResult]) -> None:
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
        self.reporter.summary(
            counters,
            mode="fuzz",
            extra={"seed": self.seed, "isolation": self.config.isolation},
        )

    # ------------------------------------------------------------------ fuzzing

    def fuzzable_ops(self, only: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
        """(ops that can be fuzzed, ops that cannot), in registration order.

        An op without a registered strategy is fuzzable when one can be derived from the
        primary's type hints."""
        wanted = list(only) if only is not None else list(self.target.ops)
        have: list[str] = []
        missing: list[str] = []
        for name in wanted:
            self.target.op(name)  # KeyError with a clear message for unknown ops
            if self._strategy(name) is not None:
                have.append(name)
            else:
                missing.append(name)
        return have, missing

    def strategy_for(self, op: str) -> FuzzSpec | None:
        """The op's fuzz spec: registered, or derived from the primary's type hints."""
        return self._strategy(op)

    def _strategy(self, op: str) -> FuzzSpec | None:
        fz = as_fuzz_spec(self.target.op(op).strategies)
        if fz is not None:
            return fz
        from shadow._strategies import StrategyError, call_strategy

        fn = getattr(self.pair.primary, op, None)
        if fn is None:
            return None
        try:
            return FuzzSpec(call_strategy(fn))
        except StrategyError:
            return None

    def run(self, ops: Iterable[str] | None = None) -> FuzzReport:
        have, missing = self.fuzzable_ops(ops)
        start = getattr(self.runner, "start", None)
        if callable(start):  # a worker's start-up is not the search's time
            self._start_while_warming_up(start, have)
        self._t0 = time.perf_counter()
        self._deadline = self._t0 + self.config.seconds if self.config.seconds is not None else None
        try:
            results = self._hunt(have)
        finally:
            self.close()
        self.write_summary(results)
        return FuzzReport(
            self.run_id,
            self.target.import_spec,
            self.pair.primary_name,
            self.pair.shadow_name,
            tuple(results),
            tuple(missing),
            self.seed,
            self.config.isolation,
        )

    def _start_while_warming_up(self, start: Callable[[], object], ops: list[str]) -> None:
        """Start the shadow's worker and, meanwhile, let Hypothesis generate (nothing run).

        Why: spawning the worker leaves this process waiting a second or so, and Hypothesis
        has once-per-process costs of its own, some paid at a random moment of the search
        (seeding its PRNG registry, building the strategy, and, the first time it wants a
        constant, reading the source of every local module it mines for values: a few
        tenths of a second with the project installed in place). Generating while the
        worker starts pays them then, and neither is on the search's clock.
        """
        failed: list[BaseException] = []

        def starting() -> None:
            try:
                start()
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=starting, name="shadow-fuzz-start", daemon=True)
        thread.start()
        try:
            for op in ops:
                _warm_up(self._strategy(op), until=lambda: not thread.is_alive())
        finally:
            thread.join()
        if failed:
            if not isinstance(failed[0], Exception):
                raise failed[0]
            raise FuzzSetupError(f"the shadow implementation cannot start: {failed[0]}")

    def _hunt(self, ops: list[str]) -> list[OpResult]:
        """Every op gets rounds until its budget is spent; with a time budget, ops take
        turns, so a slow op cannot starve the others."""
        states = {op: _OpState() for op in ops}
        errors: dict[str, list[str]] = {op: [] for op in ops}
        elapsed = {op: 0.0 for op in ops}
        rounds = {op: 0 for op in ops}
        remaining = {op: self.config.max_examples for op in ops}
        active = list(ops)
        while active:
            for op in list(active):
                if self._out_of_time():
                    active.clear()
                    break
                if self._deadline is not None:
                    # A fair share of what is left, so one op's round cannot starve the rest.
                    now = time.perf_counter()
                    self._round_deadline = now + (self._deadline - now) / len(active)
                t0 = time.perf_counter()
                before = states[op].examples
                budget = remaining[op]
                if self._deadline is not None:
                    # With a time budget a round is short, so the clock is checked often:
                    # after the deadline an example costs only its generation.
                    budget = min(budget, self.config.round_examples)
                new = self._round(op, states[op], rounds[op], budget, errors[op])
                rounds[op] += 1
                elapsed[op] += time.perf_counter() - t0
                if self._stopped is not None:  # every op still hunting is cut short
                    for cut in active:
                        errors[cut].append(self._stopped)
                    active.clear()
                    break
                used = states[op].examples - before
                if self._deadline is None:
                    first = states[op].round_first_failure
                    remaining[op] -= first if (new and first is not None) else used
                    done = remaining[op] <= 0 or not new
                else:
                    done = False  # with a time budget, hunt until the time is spent
                if done or errors[op] or rounds[op] >= self.config.max_rounds:
                    active.remove(op)
        return [self._result(op, states[op], elapsed[op], rounds[op], errors[op]) for op in ops]

    def _out_of_time(self) -> bool:
        if self._stopped is not None:
            return True
        return self._deadline is not None and time.perf_counter() >= self._deadline

    def _round_over(self) -> bool:
        return self._round_deadline is not None and time.perf_counter() >= self._round_deadline

    def _round(
        self, op: str, state: _OpState, round_no: int, budget: int, errors: list[str]
    ) -> bool:
        """One Hypothesis run for ``op``; True when it found a new problem."""
        spec = self.target.op(op)
        fz = self._strategy(op)
        assert fz is not None
        differential = Differential(
            spec, getattr(self.pair.primary, op), self.runner, timeout_s=self.config.timeout_s
        )
        state.round_first_failure = None
        state.round_classes = set()
        state.round_calls = 0
        prop = self._property(op, spec, fz, differential, state)
        failures = self._run_hypothesis(prop, fz.strategy, op, round_no, budget, state)
        found = False
        # Simplest first: a bigger failure of the same round may be the same bug in
        # another shape, and is recognised as such only once the simple one is known.
        divergences = sorted(
            (e for e in failures if isinstance(e, FuzzDivergence)),
            key=lambda e: len(_short_repr(e.call, 100_000)),
        )
        for exc in divergences:
            found |= self._new_problem(op, state, exc, differential)
        errors.extend(_describe(e) for e in failures if not isinstance(e, FuzzDivergence))
        if self.progress is not None:
            self.progress(op, state.examples)
        return found

    def _property(
        self,
        op: str,
        spec: OpSpec,
        fz: FuzzSpec,
        differential: Differential,
        state: _OpState,
    ) -> Callable[[Call], None]:
        observe = fz.observe
        progress = self.progress
        budget = self.config.shrink_budget
        accepted = self.config.accepted_signatures

        def differential_property(call: Call) -> None:
            args, kwargs = call
            state.reproduced_known = False
            key = None
            if state.round_first_failure is not None:
                key = _short_repr(call, 4000)
                spent = state.round_calls - state.round_first_failure >= budget * max(
                    1, len(state.round_classes)
                )
                if (spent or self._round_over()) and key not in state.failing:
                    return  # shrink budget spent: only inputs known to fail still fail
            elif self._round_over():
                raise _RoundOver  # nothing pending: end Hypothesis' run now
            state.examples += 1
            state.round_calls += 1
            if progress is not None and state.examples % 25 == 0:
                progress(op, state.examples)
            if observe is not None:
                for label, score in observe(args, kwargs).items():
                    hypothesis.target(float(score), label=label)
            try:
                judgement = differential(args, dict(kwargs))
            except ShadowUnavailable as exc:
                # Thread isolation cannot kill hung calls; once too many hang, no call can
                # run. The problems found so far are kept (a shrink step that cannot run
                # counts as passing) and the run ends, saying why.
                self._stopped = (
                    f"stopped: {exc} (a thread cannot be killed; process isolation replaces "
                    "a hung worker)"
                )
                return
            if not judgement.diverged:
                if judgement.status == "tolerated":
                    state.tolerated += 1
                else:
                    state.matched += 1
                return
            for d in judgement.divergences:
                state.diverged[d.kind] = state.diverged.get(d.kind, 0) + 1
            if state.first_divergence_at is None:
                state.first_divergence_at = state.examples
            unexplained = []
            for d in judgement.divergences:
                if d.signature.id in accepted:
                    state.accepted += 1
                    continue
                known = self._explained_by(state, d.signature)
                if known is not None:
                    known.hits += 1
                    continue
                unexplained.append(d)
            if not unexplained:
                state.reproduced_known = True
                return
            d = unexplained[0]
            if state.round_first_failure is None:
                state.round_first_failure = state.round_calls
            cls_key = coarse_key(d)
            state.round_classes.add(cls_key)
            state.failing.add(key if key is not None else _short_repr(call, 4000))
            raise _divergence_type(cls_key)(judgement, d, (args, dict(kwargs)))

        return differential_property

    def _explained_by(self, state: _OpState, sig: Signature) -> _Problem | None:
        alias = state.aliases.get(sig.id)
        if alias is not None:
            return state.problems[alias]
        for problem in state.problems.values():
            if problem.signature.explains(sig):
                state.aliases[sig.id] = problem.signature.id
                return problem
        return None

    def _new_problem(
        self, op: str, state: _OpState, exc: FuzzDivergence, differential: Differential
    ) -> bool:
        """Keep the shrunk failure as a problem, unless it is a known one in another shape.

        Known when its shrunk signature is explained by a found problem, or when the same
        input without an optional argument diverges as a found problem does (a limit or a
        cap only changes how that bug shows: a reorder becomes other values once the list
        is cut, an error becomes a clamped value). The other way round too: a problem found
        earlier whose input, without its optional arguments, diverges as this one does, was
        this bug in another shape and is merged into it."""
        sig = exc.divergence.signature
        known = self._explained_by(state, sig)
        if known is None:
            known = self._known_relative(state, exc.call, differential)
            if known is not None:
                state.aliases[sig.id] = known.signature.id
        if known is not None:
            known.hits += 1
            return False
        new = _Problem(
            sig,
            exc,
            state.first_divergence_at,
            round(time.perf_counter() - self._t0, 3),
        )
        for old in list(state.problems.values()):
            if self._relative_shows(old.failure.call, differential, {sig.id}):
                del state.problems[old.signature.id]
                state.aliases[old.signature.id] = sig.id
                for raw, target in list(state.aliases.items()):
                    if target == old.signature.id:
                        state.aliases[raw] = sig.id
                new.hits += old.hits
                if old.examples_to_find is not None:
                    new.examples_to_find = min(
                        new.examples_to_find or 1 << 62, old.examples_to_find
                    )
                new.seconds_to_find = min(new.seconds_to_find, old.seconds_to_find)
        state.problems[sig.id] = new
        return True

    def _relative_shows(self, call: Call, differential: Differential, ids: set[str]) -> bool:
        for args, kwargs in _without_optionals(self.pair.primary, differential.op, call):
            try:
                judgement = differential(args, kwargs)
            except Exception:
                continue
            if any(d.signature.id in ids for d in judgement.divergences):
                return True
        return False

    def _known_relative(
        self, state: _OpState, call: Call, differential: Differential
    ) -> _Problem | None:
        if not state.problems:
            return None
        for args, kwargs in _without_optionals(self.pair.primary, differential.op, call):
            try:
                judgement = differential(args, kwargs)
            except Exception:
                continue
            for d in judgement.divergences:
                alias = state.aliases.get(d.signature.id)
                if alias is not None:
                    return state.problems[alias]
                if d.signature.id in state.problems:
                    return state.problems[d.signature.id]
        return None

    def _result(
        self, op: str, state: _OpState, elapsed: float, rounds: int, errors: list[str]
    ) -> OpResult:
        findings = []
        for p in state.problems.values():
            f = p.failure
            how = {
                "seed": self.seed,
                "examples_to_find": p.examples_to_find,
                "seconds_to_find": p.seconds_to_find,
                "hits": p.hits,
            }
            finding = self.record(f.judgement, f.divergence, f.call, extra={"fuzz": how})
            findings.append(
                _replace(
                    finding,
                    examples_to_find=p.examples_to_find,
                    seconds_to_find=p.seconds_to_find,
                    hits=p.hits,
                )
            )
        strategy = "registered" if self.target.op(op).strategies is not None else "type hints"
        if state.examples == 0 and not errors:
            errors = [*errors, "no example was run (the budget ended before the first one)"]
        return OpResult(
            op=op,
            examples=state.examples,
            elapsed_s=elapsed,
            matched=state.matched,
            tolerated=state.tolerated,
            diverged=dict(state.diverged),
            findings=tuple(findings),
            first_divergence_at=state.first_divergence_at,
            errors=tuple(errors),
            accepted=state.accepted,
            rounds=rounds,
            strategy=strategy,
        )

    def _run_hypothesis(
        self,
        prop: Callable[[Call], None],
        strategy: SearchStrategy[Call],
        op: str,
        round_no: int,
        budget: int,
        state: _OpState,
    ) -> list[BaseException]:
        test = given(strategy)(prop)
        database = self.config.database
        if database is not None:
            # Ops share ``prop``'s source, so their examples would share one key: give each
            # (target, op, shadow) its own corner of the database.
            scope = f"{self.target.import_spec}|{op}|{self.pair.shadow_name}"
            database = _KeepKnown(ScopedDatabase(database, scope), state)
        # The seed first, the settings over it: ``@seed`` alone turns the database off (a
        # seeded test is meant to be repeatable), and here both are wanted: the seed makes
        # each round (and each worker of a fleet) search differently, the database replays
        # what any earlier round, run or worker found. Settings applied last are the ones
        # Hypothesis uses, so ``database`` (None when none is configured) is ours.
        test = hypothesis.seed(self.seed + 7919 * round_no)(test)
        test = self.config.hypothesis_settings(budget, database)(test)
        try:
            with warnings.catch_warnings():
                # Implementations' RuntimeWarnings (overflow on an extreme input) are noise
                # here: what they return or raise is what gets compared.
                warnings.simplefilter("ignore")
                test()
        except _RoundOver:
            return []
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            return _flatten(exc)
        return []


def _without_optionals(impl: Any, op: str, call: Call) -> list[Call]:
    """The call with one keyword argument left out, or its trailing positional arguments
    that have defaults left out: the same input, with the optional part at its default."""
    args, kwargs = call
    out: list[Call] = [(args, {k: v for k, v in kwargs.items() if k != key}) for key in kwargs]
    try:
        params = list(inspect.signature(getattr(impl, op)).parameters.values())
    except (TypeError, ValueError, AttributeError):
        return out
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    cut = len(args)
    while (
        cut > 0
        and cut <= len(positional)
        and positional[cut - 1].default is not positional[cut - 1].empty
    ):
        cut -= 1
        out.append((args[:cut], dict(kwargs)))
    return out


#: At most this many throwaway examples per op while the shadow's worker starts.
WARM_UP_EXAMPLES = 500


def _warm_up(fz: FuzzSpec | None, until: Callable[[], bool]) -> None:
    """Draw throwaway examples of ``fz``'s strategy (at least one) until ``until()``."""
    if fz is None:
        return

    @hyp_settings(
        max_examples=WARM_UP_EXAMPLES,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(fz.strategy)
    def warm_up(call: Call) -> None:
        if until():
            raise _RoundOver

    # A strategy that cannot draw fails the real round too, where it is reported.
    with warnings.catch_warnings(), contextlib.suppress(Exception, _RoundOver):
        warnings.simplefilter("ignore")
        warm_up()


def _impl(obj: Any, name: str) -> Implementation:
    found = implementation_of(obj, name)
    return Implementation(name, found.version)


def _replace(finding: Finding, **changes: Any) -> Finding:
    import dataclasses

    return dataclasses.replace(finding, **changes)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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
    """Fuzz every fuzzable op of ``target`` (or ``ops``) with its default pair."""
    fuzzer = Fuzzer(target, Pair.of(target, primary, shadow), config, log=log, progress=progress)
    return fuzzer.run(ops)
