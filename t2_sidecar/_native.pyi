"""Typed stubs of the compiled T2 core (``sidecar_rs``, built by maturin).

Use it through ``runners.rust_backend.RustBackend``, which passes the ``runners.types``
classes in and wraps the returned columns into those dataclasses. Every function raises
``t2_sidecar.errors.InvalidInputError`` for bad input, like the Python reference.
"""

from collections.abc import Sequence
from typing import Any, Literal

__version__: str

_StatsFields = tuple[int, float, float, float, float, float, float, float | None]

def enumerate_candidates(
    kernels: Sequence[str],
    vector_widths: Sequence[int],
    unroll_k_values: Sequence[int],
    local_sizes: Sequence[tuple[int, int]],
    top_k: int | None,
    max_candidates: int,
) -> tuple[
    tuple[str, ...],
    tuple[str, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[float, ...],
    int,
]:
    """CandidateTable columns: ids, kernels, widths, unrolls, local xs, local ys, scores, total."""

def build_replay_plan(
    candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    """ReplayPlan columns: candidate ids, sessions, runs, seeds, execution tags."""

def summarize(samples: Sequence[float]) -> _StatsFields:
    """Stats fields: count, mean, std, min, p50, p95, max, cv."""

def rank_candidates(
    measurements: Sequence[Any],
    correctness_threshold: float,
    baseline_rule: Any,
    objective: str,
    measurement_cls: type,
    rule_cls: type,
    ranked_cls: type,
) -> tuple[tuple[Any, ...], tuple[tuple[int, float], ...], int, int, int, bool]:
    """Ranking fields; ``ranked`` holds ``ranked_cls`` instances."""

def evaluate_replay(
    samples: Sequence[Any],
    baseline_gflops: float | None,
    thresholds: Any,
    sample_cls: type,
    thresholds_cls: type,
) -> tuple[_StatsFields, _StatsFields, _StatsFields, float | None, float | None, bool, bool, bool]:
    """ReplayEvaluation fields, the three stats as Stats fields."""

def decide(
    valid_count: int,
    replay_results: Sequence[Any],
    thresholds: Any,
    labels: Sequence[str] | None,
    evaluation_cls: type,
    stats_cls: type,
    thresholds_cls: type,
) -> tuple[Literal["promote", "iterate", "refine"], str, tuple[int, ...]]:
    """Decision fields: hint, rationale, promoted indexes."""

def _panic_for_tests() -> None:
    """Panics on purpose (tests check it surfaces as ``PanicException``)."""
