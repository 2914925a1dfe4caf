"""The one typed API of the T2 core that every backend implements (design §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

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

OPS: tuple[str, ...] = (
    "enumerate_candidates",
    "build_replay_plan",
    "summarize",
    "rank_candidates",
    "evaluate_replay",
    "decide",
)


@runtime_checkable
class Backend(Protocol):
    """A backend of the T2 core. Bad input raises ``t2_sidecar.InvalidInputError``."""

    name: str
    version: str

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable: ...

    def build_replay_plan(
        self, candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
    ) -> ReplayPlan: ...

    def summarize(self, samples: Sequence[float]) -> Stats: ...

    def rank_candidates(
        self,
        measurements: Sequence[Measurement],
        correctness_threshold: float,
        baseline_rule: BaselineRule,
        objective: RankingObjective = "delta",
    ) -> Ranking: ...

    def evaluate_replay(
        self,
        samples: Sequence[ReplaySample],
        baseline_gflops: float | None,
        thresholds: GateThresholds = ...,
    ) -> ReplayEvaluation: ...

    def decide(
        self,
        valid_count: int,
        replay_results: Sequence[ReplayEvaluation],
        thresholds: GateThresholds = ...,
        labels: Sequence[str] | None = None,
    ) -> Decision:
        """``thresholds``: those the results were evaluated with, quoted by the rationale;
        ``labels``: one name per result for the rationale (default ``#0``, ``#1``...)."""
        ...
