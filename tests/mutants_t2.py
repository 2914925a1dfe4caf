"""Deliberately wrong variants of the Python reference: the gate's self-check.

Each mutant is the kind of slip a port makes (a boundary off by one, a falsy 0 taken as "no
limit", a different rounding or summation order, a tie broken the other way, an unstable sort,
an overflow check that is off or missing, a wrong error field/code, accepting bools, another
percentile method, ``<`` instead of ``<=`` in a gate, decision branches in another order, a
rationale that ignores the thresholds it was given), and only that slip: a mutant otherwise
returns what the reference returns, with the same types. ``tests/test_gate_mutants.py``
puts each in place of the shadow implementation and asserts that the gate's fuzz (same code
path, CI budget) catches it as one problem; ``bench/bench_mutants.py`` measures how many
random seeds catch each. A mutant that survives means the strategies miss an edge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from runners.reference import PythonBackend
from runners.reference.enumerate import kernel_bias, vector_bonus
from runners.shadow_t2 import make_target
from runners.types import (
    SEED_LIMIT,
    CandidateTable,
    Decision,
    GateThresholds,
    Measurement,
    Ranking,
    ReplayEvaluation,
    ReplayPlan,
    SearchSpace,
    Stats,
)
from t2_sidecar.errors import InvalidInputError

_DEFAULT = GateThresholds()


class Mutant(PythonBackend):
    """A reference backend with one op made wrong; ``op`` says which."""

    op: ClassVar[str]
    category: ClassVar[str]


def _reorder(t: CandidateTable, order: Sequence[int], scores: Sequence[float]) -> CandidateTable:
    return CandidateTable(
        tuple(t.candidate_ids[i] for i in order),
        tuple(t.kernels[i] for i in order),
        tuple(t.vector_widths[i] for i in order),
        tuple(t.unroll_ks[i] for i in order),
        tuple(t.local_xs[i] for i in order),
        tuple(t.local_ys[i] for i in order),
        tuple(scores[i] for i in order),
        t.total,
    )


class WidthLimitOffByOne(Mutant):
    """Boundary: vector width 16 rejected (``w >= 16`` instead of ``w > 16``)."""

    name = "width_off_by_one"
    op = "enumerate_candidates"
    category = "boundary"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        table = super().enumerate_candidates(space)
        if any(type(w) is int and w == 16 for w in space.vector_widths):
            raise InvalidInputError("out_of_range", "vector_widths", "16 is outside 1..=15")
        return table


class TopKZeroKeepsAll(Mutant):
    """Falsy boundary: ``top_k=0`` taken as "no limit" (``if top_k:``), keeping every
    candidate where the contract rejects it."""

    name = "top_k_zero_keeps_all"
    op = "enumerate_candidates"
    category = "falsy boundary"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        if isinstance(space, SearchSpace) and type(space.top_k) is int and not space.top_k:
            space = dataclasses.replace(space, top_k=None)
        return super().enumerate_candidates(space)


class ScoreReassociated(Mutant):
    """Rounding: the score summed in another order (``bias + vec + (0.12u - 0.015|t-100|)``)."""

    name = "score_reassociated"
    op = "enumerate_candidates"
    category = "rounding"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        super().enumerate_candidates(space)  # validation as the reference
        full = super().enumerate_candidates(dataclasses.replace(space, top_k=None))
        scores = []
        for k, w, u, x, y in zip(
            full.kernels,
            full.vector_widths,
            full.unroll_ks,
            full.local_xs,
            full.local_ys,
            strict=True,
        ):
            t = x * y
            penalty = 0.01 * (t - 256) if t > 256 else 0.0
            scores.append(
                kernel_bias(k) + vector_bonus(w) + (0.12 * u - 0.015 * abs(t - 100)) - penalty
            )
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], full.candidate_ids[i]))
        if space.top_k is not None:
            order = order[: space.top_k]
        return _reorder(full, order, scores)


class TieBreakDescending(Mutant):
    """Ordering: equal scores ordered by candidate_id descending."""

    name = "tie_break_descending"
    op = "enumerate_candidates"
    category = "ordering"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        super().enumerate_candidates(space)
        full = super().enumerate_candidates(dataclasses.replace(space, top_k=None))
        ids = full.candidate_ids
        order = sorted(range(len(ids)), key=lambda i: ids[i], reverse=True)
        order.sort(key=lambda i: -full.scores[i])
        if space.top_k is not None:
            order = order[: space.top_k]
        return _reorder(full, order, full.scores)


class SeedLimitExclusive(Mutant):
    """Overflow: a last seed of exactly 2**63-1 rejected (``>=`` instead of ``>``)."""

    name = "seed_limit_exclusive"
    op = "build_replay_plan"
    category = "overflow"

    def build_replay_plan(
        self, candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
    ) -> ReplayPlan:
        plan = super().build_replay_plan(candidate_ids, sessions, runs, base_seed)
        if plan.seeds and max(plan.seeds) >= SEED_LIMIT:
            raise InvalidInputError("overflow", "base_seed", "last seed reaches 2**63-1")
        return plan


class SeedWrapsAround(Mutant):
    """Overflow: no overflow check; seeds wrap modulo 2**63 like an unchecked u63."""

    name = "seed_wraps"
    op = "build_replay_plan"
    category = "overflow"

    def build_replay_plan(
        self, candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
    ) -> ReplayPlan:
        try:
            return super().build_replay_plan(candidate_ids, sessions, runs, base_seed)
        except InvalidInputError as exc:
            if exc.code != "overflow":
                raise
        plan = super().build_replay_plan(candidate_ids, sessions, runs, 0)
        seeds = tuple((base_seed + s) % 2**63 for s in plan.seeds)
        return dataclasses.replace(plan, seeds=seeds)


class AcceptsBools(Mutant):
    """Error handling: bools taken as numbers (``True`` is 1.0) instead of ``wrong_type``."""

    name = "accepts_bools"
    op = "summarize"
    category = "error handling"

    def summarize(self, samples: Sequence[float]) -> Stats:
        if isinstance(samples, list | tuple):
            samples = [float(s) if isinstance(s, bool) else s for s in samples]
        return super().summarize(samples)


class PercentileLower(Mutant):
    """Percentile method: ``lower`` instead of NumPy's default ``linear``."""

    name = "percentile_lower"
    op = "summarize"
    category = "percentile"

    def summarize(self, samples: Sequence[float]) -> Stats:
        stats = super().summarize(samples)
        values = np.asarray(samples, dtype=np.float64)
        p50, p95 = np.percentile(values, [50.0, 95.0], method="lower")
        return dataclasses.replace(stats, p50=float(p50), p95=float(p95))


class ErrorFieldUndotted(Mutant):
    """Error handling: nested field names without their parent (``gflops`` for
    ``measurements.gflops``)."""

    name = "error_field_undotted"
    op = "rank_candidates"
    category = "error handling"

    def rank_candidates(self, *args: Any, **kwargs: Any) -> Ranking:
        try:
            return super().rank_candidates(*args, **kwargs)
        except InvalidInputError as exc:
            raise InvalidInputError(exc.code, exc.field.rsplit(".", 1)[-1], exc.detail) from None


class UnstableRankSort(Mutant):
    """Ordering: ties in the ranking key broken by candidate_id, not by input order."""

    name = "unstable_rank_sort"
    op = "rank_candidates"
    category = "ordering"

    def rank_candidates(
        self,
        measurements: Sequence[Measurement],
        correctness_threshold: float,
        baseline_rule: Any,
        objective: Any = "delta",
    ) -> Ranking:
        r = super().rank_candidates(measurements, correctness_threshold, baseline_rule, objective)

        def key(e: Any) -> tuple[float, ...]:
            d = e.delta_vs_baseline_percent
            if objective == "gflops":
                return (e.gflops,)
            return (d if d is not None else -1e9, e.gflops)

        by_id = sorted(r.ranked, key=lambda e: (e.candidate_id, e.size), reverse=True)
        return dataclasses.replace(r, ranked=tuple(sorted(by_id, key=key, reverse=True)))


class DuplicateWrongCode(Mutant):
    """Error handling: a duplicate measurement reported as ``invalid_value``."""

    name = "duplicate_wrong_code"
    op = "rank_candidates"
    category = "error handling"

    def rank_candidates(self, *args: Any, **kwargs: Any) -> Ranking:
        try:
            return super().rank_candidates(*args, **kwargs)
        except InvalidInputError as exc:
            code = "invalid_value" if exc.code == "duplicate" else exc.code
            raise InvalidInputError(code, exc.field, exc.detail) from None


def _thresholds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> GateThresholds:
    """The thresholds of a call the reference accepted, as the floats it compared with."""
    t = args[2] if len(args) > 2 else kwargs.get("thresholds", _DEFAULT)
    assert isinstance(t, GateThresholds)
    return GateThresholds(float(t.max_error), float(t.max_cv), float(t.min_delta_percent))


class CorrectnessGateStrict(Mutant):
    """Gate: ``max_error < threshold`` instead of ``<=``."""

    name = "correctness_gate_strict"
    op = "evaluate_replay"
    category = "gate"

    def evaluate_replay(self, *args: Any, **kwargs: Any) -> ReplayEvaluation:
        e = super().evaluate_replay(*args, **kwargs)
        limits = _thresholds(args, kwargs)
        correct = e.max_error.max < limits.max_error
        promoted = e.promotion_gate_passed and correct
        return dataclasses.replace(e, correctness_passed=correct, promotion_gate_passed=promoted)


class StabilityGateStrict(Mutant):
    """Gate: ``cv_peak < max_cv`` instead of ``<=``."""

    name = "stability_gate_strict"
    op = "evaluate_replay"
    category = "gate"

    def evaluate_replay(self, *args: Any, **kwargs: Any) -> ReplayEvaluation:
        e = super().evaluate_replay(*args, **kwargs)
        limits = _thresholds(args, kwargs)
        stable = e.cv_peak is not None and e.cv_peak < limits.max_cv
        promoted = e.promotion_gate_passed and stable
        return dataclasses.replace(e, stability_passed=stable, promotion_gate_passed=promoted)


class PromotionGateStrict(Mutant):
    """Gate: ``delta > min_delta`` instead of ``>=``."""

    name = "promotion_gate_strict"
    op = "evaluate_replay"
    category = "gate"

    def evaluate_replay(self, *args: Any, **kwargs: Any) -> ReplayEvaluation:
        e = super().evaluate_replay(*args, **kwargs)
        limits = _thresholds(args, kwargs)
        d = e.mean_delta_vs_baseline_percent
        promoted = e.promotion_gate_passed and d is not None and d > limits.min_delta_percent
        return dataclasses.replace(e, promotion_gate_passed=promoted)


class DecisionBranchOrder(Mutant):
    """Decision: ``valid_count == 0`` checked before promotion."""

    name = "decision_branch_order"
    op = "decide"
    category = "decision"

    def decide(
        self,
        valid_count: int,
        replay_results: Sequence[ReplayEvaluation],
        *args: Any,
        **kwargs: Any,
    ) -> Decision:
        d = super().decide(valid_count, replay_results, *args, **kwargs)
        if valid_count == 0 and d.hint == "promote":
            return self.decide(
                valid_count,
                [dataclasses.replace(r, promotion_gate_passed=False) for r in replay_results],
                *args,
                **kwargs,
            )
        return d


class RationaleDefaultThresholds(Mutant):
    """Decision: the rationale quotes the default thresholds, not the ones passed in."""

    name = "rationale_default_thresholds"
    op = "decide"
    category = "decision"

    def decide(
        self,
        valid_count: int,
        replay_results: Sequence[ReplayEvaluation],
        thresholds: GateThresholds = _DEFAULT,
        labels: Sequence[str] | None = None,
    ) -> Decision:
        super().decide(valid_count, replay_results, thresholds, labels)  # the same checks
        return super().decide(valid_count, replay_results, _DEFAULT, labels)


MUTANTS: tuple[type[Mutant], ...] = (
    WidthLimitOffByOne,
    TopKZeroKeepsAll,
    ScoreReassociated,
    TieBreakDescending,
    SeedLimitExclusive,
    SeedWrapsAround,
    AcceptsBools,
    PercentileLower,
    ErrorFieldUndotted,
    UnstableRankSort,
    DuplicateWrongCode,
    CorrectnessGateStrict,
    StabilityGateStrict,
    PromotionGateStrict,
    DecisionBranchOrder,
    RationaleDefaultThresholds,
)

TARGET = make_target("tests.mutants_t2:TARGET", {m.name: m for m in MUTANTS})
