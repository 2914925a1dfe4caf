"""Seeded replay plans (design §3.2)."""

from __future__ import annotations

from collections.abc import Sequence

from runners.reference import checks
from runners.types import SEED_LIMIT, ReplayPlan
from t2_sidecar import errors

SEED_STRIDE_CANDIDATE = 100_000
SEED_STRIDE_SESSION = 1_000


def build_replay_plan(
    candidate_ids: Sequence[str], sessions: int, runs: int, base_seed: int
) -> ReplayPlan:
    ids = [
        checks.non_empty_str(c, "candidate_ids")
        for c in checks.non_empty_sequence(candidate_ids, "candidate_ids")
    ]
    checks.no_duplicates(ids, "candidate_ids")
    sessions = checks.int_in(sessions, "sessions", 1, 99)
    runs = checks.int_in(runs, "runs", 1, 999)
    base_seed = checks.int_in(base_seed, "base_seed", 0)
    last_seed = (
        base_seed
        + (len(ids) - 1) * SEED_STRIDE_CANDIDATE
        + (sessions - 1) * SEED_STRIDE_SESSION
        + (runs - 1)
    )
    if last_seed > SEED_LIMIT:
        checks.fail(
            errors.OVERFLOW, "base_seed", f"the plan's last seed {last_seed} exceeds 2**63-1"
        )

    out_ids: list[str] = []
    out_sessions: list[int] = []
    out_runs: list[int] = []
    seeds: list[int] = []
    tags: list[str] = []
    for idx, cid in enumerate(ids):
        for session in range(sessions):
            for run in range(runs):
                out_ids.append(cid)
                out_sessions.append(session)
                out_runs.append(run)
                seeds.append(
                    base_seed + idx * SEED_STRIDE_CANDIDATE + session * SEED_STRIDE_SESSION + run
                )
                tags.append(f"{cid}_s{session}_r{run}")
    return ReplayPlan(
        tuple(out_ids), tuple(out_sessions), tuple(out_runs), tuple(seeds), tuple(tags)
    )
