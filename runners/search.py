"""A T2 search (design §7): every deterministic step is a call to the core backend.

    enumerate & score  ->  keep device-valid  ->  benchmark the best `budget` (+ baselines)
    ->  rank_candidates  ->  build_replay_plan(top-k)  ->  replay sessions  ->  evaluate_replay
    ->  decide

The executor is the only impure part. Because the backend is passed in, the same search
runs on the Python reference, the Rust port, or a shadowed pair of them.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runners.backend import Backend
from runners.executors.base import CandidateProvider, ExecResult, Executor
from runners.types import (
    BaselineRule,
    Candidate,
    Decision,
    GateThresholds,
    Ranking,
    RankingObjective,
    ReplayEvaluation,
    ReplayPlan,
    SearchSpace,
)

# ---------------------------------------------------------------------------- the default

DEFAULT_KERNELS: tuple[str, ...] = ("tile16", "tile20", "tile24", "tile32")
DEFAULT_VECTOR_WIDTHS: tuple[int, ...] = (1, 2, 4, 8)
DEFAULT_UNROLLS: tuple[int, ...] = (0, 4, 8)
DEFAULT_LOCAL_SIZES: tuple[tuple[int, int], ...] = ((4, 4), (8, 8), (10, 10), (12, 12), (16, 16))
DEFAULT_BASELINE = BaselineRule(((0, "tile16_vw1_u0_l16x16"), (1024, "tile32_vw4_u0_l16x16")))
"""The textbook kernel (16x16 tile, one output per work-item, scalar loads, no unrolling) is
what a search must beat below 1024; from 1024 up a plain 32x32-tile kernel."""


def default_space(top_k: int | None = None) -> SearchSpace:
    """The embedded default search space (240 candidates before the device filter)."""
    return SearchSpace(
        kernels=DEFAULT_KERNELS,
        vector_widths=DEFAULT_VECTOR_WIDTHS,
        unroll_k_values=DEFAULT_UNROLLS,
        local_sizes=DEFAULT_LOCAL_SIZES,
        top_k=top_k,
    )


_CANDIDATE_ID = re.compile(r"(?P<k>[A-Za-z0-9_]+?)_vw(?P<w>\d+)_u(?P<u>\d+)_l(?P<x>\d+)x(?P<y>\d+)")


class SearchError(Exception):
    """A search that cannot be carried out as asked (reported to the user, no traceback)."""


@dataclass(frozen=True)
class SearchConfig:
    """Everything that parametrizes a search. ``space`` None: the executor brings candidates.

    ``budget`` is how many of the best-scored valid candidates are benchmarked (None: all);
    the baseline candidates are benchmarked on top of it.
    """

    space: SearchSpace | None
    sizes: tuple[int, ...]
    runs: int
    warmup: int
    budget: int | None
    top_k: int
    sessions: int
    replay_runs: int
    seed: int
    correctness_threshold: float
    gates: GateThresholds
    objective: RankingObjective
    baseline_rule: BaselineRule

    def as_dict(self) -> dict[str, Any]:
        space = None
        if self.space is not None:
            space = {
                "kernels": list(self.space.kernels),
                "vector_widths": list(self.space.vector_widths),
                "unroll_k_values": list(self.space.unroll_k_values),
                "local_sizes": [list(ls) for ls in self.space.local_sizes],
            }
        return {
            "space": space,
            "sizes": list(self.sizes),
            "runs": self.runs,
            "warmup": self.warmup,
            "budget": self.budget,
            "top_k": self.top_k,
            "sessions": self.sessions,
            "replay_runs": self.replay_runs,
            "seed": self.seed,
            "correctness_threshold": self.correctness_threshold,
            "gates": {
                "max_error": self.gates.max_error,
                "max_cv": self.gates.max_cv,
                "min_delta_percent": self.gates.min_delta_percent,
            },
            "objective": self.objective,
            "baseline_rule": [list(t) for t in self.baseline_rule.thresholds],
        }


@dataclass(frozen=True)
class ReplayOutcome:
    """The replay of one ranked (candidate, size): its sessions and their evaluation.

    ``evaluation`` is None when a session failed (``reason`` says why).
    """

    rank: int
    candidate_id: str
    size: int
    plan_id: str
    sessions: tuple[ExecResult, ...]
    evaluation: ReplayEvaluation | None
    baseline_gflops: float | None
    reason: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """Everything a search found, in the order it found it; rendered by runners.report."""

    run_id: str
    started_at: str
    config: SearchConfig
    backend: str
    backend_version: str
    executor: dict[str, Any]
    space_total: int
    enumerated: tuple[Candidate, ...]
    invalid: tuple[tuple[str, str], ...]
    benchmarked: tuple[Candidate, ...]
    measurements: tuple[ExecResult, ...]
    ranking: Ranking
    plan: ReplayPlan | None
    replays: tuple[ReplayOutcome, ...]
    decision: Decision
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[ExecResult, ...]:
        return tuple(m for m in self.measurements if not m.ok)

    @property
    def evaluations(self) -> tuple[ReplayEvaluation, ...]:
        return tuple(r.evaluation for r in self.replays if r.evaluation is not None)


Progress = Callable[[str, int, int, str], None]
"""progress(phase, done, total, label): called before the search starts each unit of work
(with done < total) and once at the end of a phase (done == total)."""


def _no_progress(phase: str, done: int, total: int, label: str) -> None:
    return None


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{uuid.uuid4().hex[:6]}"


def plan_id(candidate_id: str, size: int) -> str:
    """Replay-plan id of a ranked entry: a candidate may be replayed at several sizes."""
    return f"{candidate_id}@{size}"


def candidate_from_id(backend: Backend, candidate_id: str) -> Candidate | None:
    """Rebuild a candidate outside the enumerated space from its id (scored by the backend)."""
    match = _CANDIDATE_ID.fullmatch(candidate_id)
    if match is None:
        return None
    space = SearchSpace(
        [match["k"]], [int(match["w"])], [int(match["u"])], [(int(match["x"]), int(match["y"]))]
    )
    table = backend.enumerate_candidates(space)
    return table[0] if table.candidate_ids[0] == candidate_id else None


def _candidates(
    config: SearchConfig, backend: Backend, executor: Executor
) -> tuple[list[Candidate], int]:
    if config.space is None:
        if not isinstance(executor, CandidateProvider):
            raise SearchError(f"executor {executor.name!r} needs a search space")
        found = executor.candidates(backend)
        found.sort(key=lambda c: (-c.score, c.candidate_id))
        return found, len(found)
    table = backend.enumerate_candidates(config.space)
    return list(table), table.total


def _benchmark_set(
    config: SearchConfig,
    backend: Backend,
    executor: Executor,
    valid: list[Candidate],
    known: dict[str, Candidate],
) -> list[Candidate]:
    """The best-scored ``budget`` valid candidates, then the baselines not among them."""
    chosen = valid if config.budget is None else valid[: config.budget]
    ids = {c.candidate_id for c in chosen}
    extra: list[Candidate] = []
    for _, cid in config.baseline_rule.thresholds:
        if cid in ids:
            continue
        candidate = known.get(cid) or candidate_from_id(backend, cid)
        if candidate is None:
            raise SearchError(
                f"baseline candidate {cid!r} is neither in the search space nor a candidate id "
                "of the form KERNEL_vwW_uU_lXxY"
            )
        problem = executor.validity_problem(candidate)
        if problem is not None:
            raise SearchError(f"baseline candidate {cid!r} cannot run here: {problem}")
        ids.add(cid)
        extra.append(candidate)
    return [*chosen, *extra]


def run_search(
    config: SearchConfig,
    backend: Backend,
    executor: Executor,
    progress: Progress = _no_progress,
    run_id: str | None = None,
) -> SearchResult:
    """Run one search. Core input errors (``InvalidInputError``) propagate to the caller."""
    started = datetime.now(UTC).isoformat()
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    candidates, total = _candidates(config, backend, executor)
    known = {c.candidate_id: c for c in candidates}
    valid: list[Candidate] = []
    invalid: list[tuple[str, str]] = []
    for c in candidates:
        problem = executor.validity_problem(c)
        if problem is None:
            valid.append(c)
        else:
            invalid.append((c.candidate_id, problem))
    bench = _benchmark_set(config, backend, executor, valid, known)
    phases["enumerate"] = time.perf_counter() - clock

    # ---- benchmark: every chosen candidate at every size (seed as the original runner did)
    clock = time.perf_counter()
    results: list[ExecResult] = []
    total_units = len(bench) * len(config.sizes)
    for size in config.sizes:
        for index, c in enumerate(bench):
            progress("benchmark", len(results), total_units, f"{c.candidate_id} @ {size}")
            seed = config.seed + size + 1000 * index
            results.append(
                _core_timing(backend, executor.measure(c, size, config.runs, config.warmup, seed))
            )
    progress("benchmark", total_units, total_units, "done")
    phases["benchmark"] = time.perf_counter() - clock

    ranking = backend.rank_candidates(
        [r.to_measurement() for r in results],
        config.correctness_threshold,
        config.baseline_rule,
        config.objective,
    )
    baseline = dict(ranking.baseline_by_size)

    # ---- replay the top-k over the plan's seeded sessions
    clock = time.perf_counter()
    top = ranking.ranked[: config.top_k]
    plan: ReplayPlan | None = None
    replays: list[ReplayOutcome] = []
    if top:
        ids = [plan_id(r.candidate_id, r.size) for r in top]
        plan = backend.build_replay_plan(ids, config.sessions, config.replay_runs, config.seed)
        seeds: dict[tuple[str, int], list[int]] = {}
        for pid, session, seed in zip(plan.candidate_ids, plan.sessions, plan.seeds, strict=True):
            seeds.setdefault((pid, session), []).append(seed)
        by_id = {c.candidate_id: c for c in bench}
        total_sessions = len(top) * config.sessions
        done = 0
        for rank, (entry, pid) in enumerate(zip(top, ids, strict=True)):
            candidate = by_id[entry.candidate_id]
            sessions: list[ExecResult] = []
            for session in range(config.sessions):
                progress("replay", done, total_sessions, f"{pid} session {session}")
                result = executor.replay_session(
                    candidate,
                    entry.size,
                    session,
                    config.sessions,
                    seeds[(pid, session)],
                    config.warmup,
                )
                sessions.append(_core_timing(backend, result))
                done += 1
            replays.append(
                _evaluate(
                    backend,
                    config,
                    rank,
                    entry.size,
                    pid,
                    candidate,
                    sessions,
                    baseline.get(entry.size),
                )
            )
        progress("replay", total_sessions, total_sessions, "done")
    phases["replay"] = time.perf_counter() - clock

    evaluated = [r for r in replays if r.evaluation is not None]
    decision = backend.decide(
        ranking.valid_count,
        [r.evaluation for r in evaluated if r.evaluation is not None],
        config.gates,
        [r.plan_id for r in evaluated],
    )
    return SearchResult(
        run_id=run_id or new_run_id(),
        started_at=started,
        config=config,
        backend=backend.name,
        backend_version=backend.version,
        executor=executor.describe(),
        space_total=total,
        enumerated=tuple(candidates),
        invalid=tuple(invalid),
        benchmarked=tuple(bench),
        measurements=tuple(results),
        ranking=ranking,
        plan=plan,
        replays=tuple(replays),
        decision=decision,
        phase_seconds=phases,
    )


def _evaluate(
    backend: Backend,
    config: SearchConfig,
    rank: int,
    size: int,
    pid: str,
    candidate: Candidate,
    sessions: Sequence[ExecResult],
    base: float | None,
) -> ReplayOutcome:
    failed = [s for s in sessions if not s.ok]
    if failed:
        return ReplayOutcome(
            rank,
            candidate.candidate_id,
            size,
            pid,
            tuple(sessions),
            None,
            base,
            f"replay failed: {failed[0].reason}",
        )
    evaluation = backend.evaluate_replay(
        [s.to_replay_sample() for s in sessions], base, config.gates
    )
    return ReplayOutcome(rank, candidate.candidate_id, size, pid, tuple(sessions), evaluation, base)


def _core_timing(backend: Backend, result: ExecResult) -> ExecResult:
    """Time and GFLOPS of a measured result from the core's ``summarize`` of its launches."""
    if not result.ok or not result.times_ms:
        return result
    return result.with_time_stats(backend.summarize(result.times_ms))
