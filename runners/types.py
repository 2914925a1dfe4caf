"""Typed values that cross the T2 core API, in and out, for both backends.

Inputs are plain frozen dataclasses that are *not* validated on construction: the backends
validate them (so that both can be shown to reject the same bad input the same way).
Outputs are frozen dataclasses too; large results are columnar (parallel tuples) because
building a million small objects costs more than the work that produced them, and tuples
compare fast when the shadow checks two results for equality.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

DEFAULT_MAX_CANDIDATES = 1_000_000
SEED_LIMIT = 2**63 - 1

RankingObjective = Literal["delta", "gflops"]
DecisionHint = Literal["promote", "iterate", "refine"]


# --------------------------------------------------------------------------- enumerate


@dataclass(frozen=True)
class SearchSpace:
    """The Cartesian search space of schedule candidates.

    ``local_sizes`` holds (x, y) work-group shapes. ``top_k`` of None keeps every
    candidate. ``max_candidates`` caps the product of the list lengths, checked before any
    candidate is built.
    """

    kernels: Sequence[str]
    vector_widths: Sequence[int]
    unroll_k_values: Sequence[int]
    local_sizes: Sequence[tuple[int, int]]
    top_k: int | None = None
    max_candidates: int = DEFAULT_MAX_CANDIDATES


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored schedule candidate (a row of :class:`CandidateTable`)."""

    candidate_id: str
    kernel: str
    vector_width: int
    unroll_k: int
    local_x: int
    local_y: int
    score: float

    @property
    def local_size(self) -> tuple[int, int]:
        return (self.local_x, self.local_y)


@dataclass(frozen=True)
class CandidateTable(Sequence[Candidate]):
    """Scored candidates, best first, stored column by column.

    ``total`` is the size of the whole space before ``top_k`` truncation.
    """

    candidate_ids: tuple[str, ...]
    kernels: tuple[str, ...]
    vector_widths: tuple[int, ...]
    unroll_ks: tuple[int, ...]
    local_xs: tuple[int, ...]
    local_ys: tuple[int, ...]
    scores: tuple[float, ...]
    total: int

    def __len__(self) -> int:
        return len(self.candidate_ids)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | Sequence[Candidate]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Candidate(
            self.candidate_ids[index],
            self.kernels[index],
            self.vector_widths[index],
            self.unroll_ks[index],
            self.local_xs[index],
            self.local_ys[index],
            self.scores[index],
        )

    def __iter__(self) -> Iterator[Candidate]:
        for i in range(len(self)):
            yield self[i]


# --------------------------------------------------------------------------- replay plan


@dataclass(frozen=True)
class ReplayPlan:
    """Seeded replay entries ordered by candidate, session, run (0-based), columnar."""

    candidate_ids: tuple[str, ...]
    sessions: tuple[int, ...]
    runs: tuple[int, ...]
    seeds: tuple[int, ...]
    execution_tags: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.seeds)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of a sample: population std, NumPy-default (linear) percentiles.

    ``cv`` is std/mean, None when the mean is exactly zero.
    """

    count: int
    mean: float
    std: float
    min: float
    p50: float
    p95: float
    max: float
    cv: float | None


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True, slots=True)
class Measurement:
    """One benchmark of a candidate at one matrix size.

    ``status`` is "completed" or "failed"; the metrics of a failed measurement are ignored
    (they may be None).
    """

    candidate_id: str
    size: int
    status: str
    gflops: float | None
    avg_time_ms: float | None
    max_error: float | None


@dataclass(frozen=True)
class BaselineRule:
    """Which candidate is the baseline at each size.

    ``thresholds`` are (min_size, candidate_id) pairs with strictly increasing min_size: a
    size uses the last pair whose min_size it reaches, and has no baseline below the first.
    """

    thresholds: Sequence[tuple[int, str]]

    @staticmethod
    def original() -> BaselineRule:
        """The rule of the original runner (new report schema)."""
        return BaselineRule(((0, "t20_prod_v4_u10_l10"), (1800, "t24_prod_v4_u0_l12")))


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    candidate_id: str
    size: int
    gflops: float
    avg_time_ms: float
    max_error: float
    correctness_passed: bool
    delta_vs_baseline_percent: float | None


@dataclass(frozen=True)
class Ranking:
    """Result of ranking: the pool, best first, and the counts the decision needs.

    ``valid_count`` counts completed measurements that passed correctness. The pool is
    those, or every completed measurement when none passed (``used_fallback_pool``).
    """

    ranked: tuple[RankedCandidate, ...]
    baseline_by_size: tuple[tuple[int, float], ...]
    valid_count: int
    completed_count: int
    failed_count: int
    used_fallback_pool: bool


# --------------------------------------------------------------------------- replay gates


@dataclass(frozen=True, slots=True)
class ReplaySample:
    """What one replay session measured for a candidate."""

    gflops: float
    avg_time_ms: float
    max_error: float


@dataclass(frozen=True)
class GateThresholds:
    max_error: float = 1e-3
    max_cv: float = 0.03
    min_delta_percent: float = 10.0


@dataclass(frozen=True)
class ReplayEvaluation:
    gflops: Stats
    avg_time_ms: Stats
    max_error: Stats
    cv_peak: float | None
    mean_delta_vs_baseline_percent: float | None
    correctness_passed: bool
    stability_passed: bool
    promotion_gate_passed: bool


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Decision:
    hint: DecisionHint
    rationale: str
    promoted: tuple[int, ...] = field(default=())
    """Indexes (into the replay results) of candidates that passed promotion."""
