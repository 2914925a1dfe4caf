"""The Rust backend: an adapter over the compiled ``t2_sidecar._native`` module.

The native module validates and computes; this adapter only passes the inputs through
(plus the dataclasses it must recognise or build, so that the native code imports nothing
of ours but ``t2_sidecar.errors``) and wraps the columns it returns into the same
``runners.types`` values the reference returns, so that results compare equal with ``==``.
Nothing crosses the boundary as a JSON string.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import t2_sidecar._native as _native
from runners.types import (
    BaselineRule,
    CandidateTable,
    Decision,
    GateThresholds,
    Measurement,
    RankedCandidate,
    Ranking,
    RankingObjective,
    ReplayEvaluation,
    ReplayPlan,
    ReplaySample,
    SearchSpace,
    Stats,
)
from t2_sidecar import errors
from t2_sidecar.errors import InvalidInputError

__all__ = ["RustBackend"]

_DEFAULT_THRESHOLDS = GateThresholds()


def _ndarray_samples(samples: np.ndarray, field: str) -> list[float]:
    """The reference's checks of a NumPy sample, in its order; returns plain floats."""
    if samples.ndim != 1 or samples.dtype.kind not in "fiu":
        raise InvalidInputError(
            errors.WRONG_TYPE, field, f"expected a 1-D numeric array, got {samples.dtype}"
        )
    if samples.size == 0:
        raise InvalidInputError(errors.EMPTY, field, "must not be empty")
    # Finiteness is checked by the native side, first offender first.
    result: list[float] = samples.astype(np.float64, copy=False).tolist()
    return result


class RustBackend:
    """The Rust port of the T2 core (``t2_sidecar._native``)."""

    name = "rust"
    version: str = _native.__version__

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        if not isinstance(space, SearchSpace):
            raise InvalidInputError(
                errors.WRONG_TYPE, "space", f"expected SearchSpace, got {type(space).__name__}"
            )
        columns = _native.enumerate_candidates(
            space.kernels,
            space.vector_widths,
            space.unroll_k_values,
            space.local_sizes,
            space.top_k,
            space.max_candidates,
        )
        return CandidateTable(*columns)

    def build_replay_plan(
        self, candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
    ) -> ReplayPlan:
        return ReplayPlan(*_native.build_replay_plan(candidate_ids, sessions, runs, base_seed))

    def summarize(self, samples: Sequence[float]) -> Stats:
        if isinstance(samples, np.ndarray):
            samples = _ndarray_samples(samples, "samples")
        return Stats(*_native.summarize(samples))

    def rank_candidates(
        self,
        measurements: Sequence[Measurement],
        correctness_threshold: float,
        baseline_rule: BaselineRule,
        objective: RankingObjective = "delta",
    ) -> Ranking:
        ranked, baseline, valid, completed, failed, fallback = _native.rank_candidates(
            measurements,
            correctness_threshold,
            baseline_rule,
            objective,
            Measurement,
            BaselineRule,
            RankedCandidate,
        )
        return Ranking(ranked, baseline, valid, completed, failed, fallback)

    def evaluate_replay(
        self,
        samples: Sequence[ReplaySample],
        baseline_gflops: float | None,
        thresholds: GateThresholds = _DEFAULT_THRESHOLDS,
    ) -> ReplayEvaluation:
        g, t, e, cv_peak, delta, correct, stable, promoted = _native.evaluate_replay(
            samples, baseline_gflops, thresholds, ReplaySample, GateThresholds
        )
        return ReplayEvaluation(
            Stats(*g), Stats(*t), Stats(*e), cv_peak, delta, correct, stable, promoted
        )

    def decide(
        self,
        valid_count: int,
        replay_results: Sequence[ReplayEvaluation],
        thresholds: GateThresholds = _DEFAULT_THRESHOLDS,
        labels: Sequence[str] | None = None,
    ) -> Decision:
        hint, rationale, promoted = _native.decide(
            valid_count,
            replay_results,
            thresholds,
            labels,
            ReplayEvaluation,
            Stats,
            GateThresholds,
        )
        return Decision(hint, rationale, promoted)
