"""The Python reference backend of the T2 core: the behaviour the Rust port must match."""

from __future__ import annotations

from collections.abc import Sequence

from runners.reference.decision import decide as _decide
from runners.reference.enumerate import enumerate_candidates as _enumerate
from runners.reference.gates import evaluate_replay as _evaluate
from runners.reference.plan import build_replay_plan as _plan
from runners.reference.ranking import rank_candidates as _rank
from runners.reference.stats import summarize as _summarize
from runners.types import (
    BaselineRule,
    CandidateTable,
    Decision,
    GateThresholds,
    Measurement,
    Ranking,
    RankingObjective,
    ReplayEvaluation,
    ReplayPlan,
    ReplaySample,
    SearchSpace,
    Stats,
)

__all__ = ["PythonBackend"]

_DEFAULT_THRESHOLDS = GateThresholds()


class PythonBackend:
    """The reference implementation, written for clarity rather than speed."""

    name = "python"
    version = "1.0.0"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        return _enumerate(space)

    def build_replay_plan(
        self, candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
    ) -> ReplayPlan:
        return _plan(candidate_ids, sessions, runs, base_seed)

    def summarize(self, samples: Sequence[float]) -> Stats:
        return _summarize(samples)

    def rank_candidates(
        self,
        measurements: Sequence[Measurement],
        correctness_threshold: float,
        baseline_rule: BaselineRule,
        objective: RankingObjective = "delta",
    ) -> Ranking:
        return _rank(measurements, correctness_threshold, baseline_rule, objective)

    def evaluate_replay(
        self,
        samples: Sequence[ReplaySample],
        baseline_gflops: float | None,
        thresholds: GateThresholds = _DEFAULT_THRESHOLDS,
    ) -> ReplayEvaluation:
        return _evaluate(samples, baseline_gflops, thresholds)

    def decide(
        self,
        valid_count: int,
        replay_results: Sequence[ReplayEvaluation],
        thresholds: GateThresholds = _DEFAULT_THRESHOLDS,
        labels: Sequence[str] | None = None,
    ) -> Decision:
        return _decide(valid_count, replay_results, thresholds, labels)
