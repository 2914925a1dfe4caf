"""Serves measurements from a recorded T2 report instead of a device.

Both report schemas of ``../shared/fixtures/rx580`` are read: the new one identifies configs
by ``config_id`` (with family, vector width, unroll and local size), the old one by
``kernel`` name only. A recording also fixes how it must be ranked: the new schema ranks by
delta against the original baseline rule, the old one by raw GFLOPS with tile20/tile24 as
baselines. Replaying a recording gives back, per session, values whose statistics are the
recorded ones (see :func:`session_values`), so the gates recomputed from them are the
recorded gates.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.backend import Backend
from runners.executors.base import BadRecordingError, ExecResult
from runners.search import SearchConfig
from runners.types import (
    BaselineRule,
    Candidate,
    GateThresholds,
    RankingObjective,
    SearchSpace,
)
from shadow._terminal import describe_os_error

OLD_SCHEMA_RULE = BaselineRule(((0, "tile20"), (1800, "tile24")))
_CONFIG_TAIL = re.compile(r"_v\d+_u\d+_l\d+$")
"""Schedule suffix of the original runner's config ids (``t20_prod_v4_u10_l10``)."""
_OWN_ID_TAIL = re.compile(r"_vw\d+_u\d+_l\d+x\d+$")
"""Schedule suffix of this runner's candidate ids (``tile16_vw1_u0_l16x16``)."""


@dataclass(frozen=True)
class RecordedStats:
    mean: float
    std: float
    min: float
    p50: float
    p95: float
    max: float


@dataclass(frozen=True)
class RecordedReplay:
    gflops: RecordedStats
    avg_time_ms: RecordedStats
    max_error: RecordedStats


@dataclass(frozen=True)
class RecordedDefaults:
    """The run parameters a recording was made with: the defaults of a recorded search."""

    sizes: tuple[int, ...]
    runs: int
    warmup: int
    top_k: int
    sessions: int
    replay_runs: int
    correctness_threshold: float
    seed: int
    objective: RankingObjective
    baseline_rule: BaselineRule

    def to_config(self, max_cv: float = 0.03, min_delta_percent: float = 10.0) -> SearchConfig:
        """The search the recording describes: every recorded config benchmarked (no budget),
        its top-k replayed with its sessions and runs, ranked by its objective and rule."""
        return SearchConfig(
            space=None,
            sizes=self.sizes,
            runs=self.runs,
            warmup=self.warmup,
            budget=None,
            top_k=self.top_k,
            sessions=self.sessions,
            replay_runs=self.replay_runs,
            seed=self.seed,
            correctness_threshold=self.correctness_threshold,
            gates=GateThresholds(self.correctness_threshold, max_cv, min_delta_percent),
            objective=self.objective,
            baseline_rule=self.baseline_rule,
        )


@dataclass(frozen=True)
class RecordedReport:
    """A parsed recording: candidates, per-(config, size) results, replay aggregates."""

    path: Path
    schema: str
    candidates: tuple[Candidate, ...]
    results: dict[tuple[str, int], ExecResult]
    replays: dict[tuple[str, int], RecordedReplay]
    defaults: RecordedDefaults
    raw: dict[str, Any]

    @staticmethod
    def load(path: Path) -> RecordedReport:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BadRecordingError(f"recorded report not found: {path}") from exc
        except OSError as exc:
            raise BadRecordingError(
                f"cannot read recorded report {path}: {describe_os_error(exc)}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise BadRecordingError(
                f"cannot read recorded report {path}: not UTF-8 text (byte {exc.start})"
            ) from exc
        except json.JSONDecodeError as exc:
            raise BadRecordingError(f"recorded report {path} is not valid JSON: {exc}") from exc
        try:
            return _parse(Path(path), raw)
        except KeyError as exc:
            raise BadRecordingError(
                f"recorded report {path} is malformed: missing field {exc.args[0]!r}"
            ) from exc
        except (TypeError, ValueError, IndexError) as exc:
            raise BadRecordingError(f"recorded report {path} is malformed: {exc}") from exc


def _key(row: dict[str, Any]) -> str:
    value = row["config_id"] if "config_id" in row else row["kernel"]
    if not isinstance(value, str) or not value:
        raise ValueError(f"config id must be a non-empty string, got {value!r}")
    return value


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _stats(block: dict[str, Any]) -> RecordedStats:
    return RecordedStats(*(float(block[k]) for k in ("mean", "std", "min", "p50", "p95", "max")))


def _candidate(row: dict[str, Any], new_schema: bool) -> Candidate:
    """A recorded config as a Candidate (score filled in later by the backend).

    The old schema records no schedule, only a kernel name: its schedule fields are 1/0/1x1
    placeholders, and only the id matters to the search.
    """
    cid = _key(row)
    if new_schema:
        local = row["local_size"]
        if _OWN_ID_TAIL.search(cid):
            kernel = str(row["family"])  # a report of this runner
        else:
            kernel = _CONFIG_TAIL.sub("", cid) or str(row["family"])
        return Candidate(
            cid,
            kernel,
            int(row["vector_width"]),
            int(row["unroll_k"]),
            int(local[0]),
            int(local[1]),
            0.0,
        )
    return Candidate(cid, cid, 1, 0, 1, 1, 0.0)


def _parse(path: Path, raw: dict[str, Any]) -> RecordedReport:
    meta = raw["metadata"]
    rows = raw["search"]["raw_candidates"]
    if not isinstance(rows, list) or not rows:
        raise ValueError("search.raw_candidates is empty")
    new_schema = "config_id" in rows[0]
    candidates: dict[str, Candidate] = {}
    results: dict[tuple[str, int], ExecResult] = {}
    for row in rows:
        cid = _key(row)
        candidates.setdefault(cid, _candidate(row, new_schema))
        size = int(row["size"])
        status = row["status"]
        if status not in ("completed", "failed"):
            raise ValueError(f"status {status!r} of {cid}@{size}")
        results[(cid, size)] = ExecResult(
            cid,
            size,
            status,
            _float_or_none(row.get("gflops")),
            _float_or_none(row.get("avg_time_ms")),
            _float_or_none(row.get("max_error")),
            int(row.get("runs", 0)),
            None if status == "completed" else str(row.get("error", "failed in the recording")),
        )
    replays = {
        (_key(c), int(c["size"])): RecordedReplay(
            _stats(c["gflops"]), _stats(c["avg_time_ms"]), _stats(c["max_error"])
        )
        for c in raw.get("replay", {}).get("candidates", [])
    }
    defaults = RecordedDefaults(
        sizes=tuple(int(s) for s in meta["sizes"]),
        runs=int(meta["runs_per_config"]),
        warmup=int(meta.get("warmup", 0)),
        top_k=int(meta["top_k"]),
        sessions=int(meta["replay_sessions"]),
        replay_runs=int(meta["replay_runs"]),
        correctness_threshold=float(meta["correctness_threshold"]),
        seed=int(meta["seed"]),
        objective=_objective(meta, new_schema),
        baseline_rule=_baseline_rule(meta, new_schema),
    )
    return RecordedReport(
        path=path,
        schema="new" if new_schema else "old",
        candidates=tuple(candidates.values()),
        results=results,
        replays=replays,
        defaults=defaults,
        raw=raw,
    )


def _objective(meta: dict[str, Any], new_schema: bool) -> RankingObjective:
    """A report of this runner says its objective; the originals imply it by their schema."""
    stated = meta.get("objective")
    if stated is not None:
        if stated not in ("delta", "gflops"):
            raise ValueError(f"metadata.objective {stated!r} is not delta/gflops")
        return "delta" if stated == "delta" else "gflops"
    return "delta" if new_schema else "gflops"


def _baseline_rule(meta: dict[str, Any], new_schema: bool) -> BaselineRule:
    stated = meta.get("baseline_rule")
    if stated is not None:
        return BaselineRule(tuple((int(size), str(cid)) for size, cid in stated))
    return BaselineRule.original() if new_schema else OLD_SCHEMA_RULE


def session_values(stats: RecordedStats, sessions: int) -> list[float]:
    """``sessions`` values whose mean and population std are the recorded ones.

    With the recorded number of sessions (5 in the fixtures) the five order statistics are
    recovered exactly from min, p50, p95 (linear interpolation: p95 = x3 + 0.8 (x4 - x3)),
    max and the mean, so every recorded statistic is reproduced to rounding. Otherwise the
    values are mean + std * z with a fixed zero-mean, unit-variance pattern z: mean, std and
    cv (the stability gate) are kept, min/max/percentiles are not.
    """
    if sessions == 5:
        x0, x2, x4 = stats.min, stats.p50, stats.max
        x3 = (stats.p95 - 0.8 * x4) / 0.2
        x1 = 5.0 * stats.mean - x0 - x2 - x3 - x4
        values = sorted(min(max(v, x0), x4) for v in (x0, x1, x2, x3, x4))
        return values
    if sessions == 1 or stats.std == 0.0:
        return [stats.mean] * sessions
    pattern = [(-1.0) ** i for i in range(sessions)]
    if sessions % 2:  # odd: 1, -1, ..., 0-centred and rescaled to unit variance
        pattern[-1] = 0.0
    mean_p = sum(pattern) / sessions
    centred = [p - mean_p for p in pattern]
    scale = math.sqrt(sum(c * c for c in centred) / sessions)
    return [stats.mean + stats.std * c / scale for c in centred]


class RecordedExecutor:
    """Replays a recording: the recorded configs are the candidates, nothing is run."""

    name = "recorded"

    def __init__(self, path: Path) -> None:
        self.report = RecordedReport.load(path)

    @property
    def defaults(self) -> RecordedDefaults:
        return self.report.defaults

    def describe(self) -> dict[str, Any]:
        meta = self.report.raw.get("metadata", {})
        return {
            "executor": self.name,
            "recording": str(self.report.path),
            "schema": self.report.schema,
            "recorded_at": meta.get("timestamp_utc"),
            "configs": len(self.report.candidates),
        }

    def candidates(self, backend: Backend) -> list[Candidate]:
        """The recorded configs, scored by the backend like any enumerated candidate."""
        out = []
        for c in self.report.candidates:
            space = SearchSpace([c.kernel], [c.vector_width], [c.unroll_k], [c.local_size])
            score = backend.enumerate_candidates(space).scores[0]
            out.append(
                Candidate(
                    c.candidate_id,
                    c.kernel,
                    c.vector_width,
                    c.unroll_k,
                    c.local_x,
                    c.local_y,
                    score,
                )
            )
        return out

    def validity_problem(self, candidate: Candidate) -> str | None:
        return None

    def measure(
        self, candidate: Candidate, size: int, runs: int, warmup: int, seed: int
    ) -> ExecResult:
        result = self.report.results.get((candidate.candidate_id, size))
        if result is None:
            return ExecResult.failed(
                candidate.candidate_id, size, f"not in the recording at size {size}"
            )
        return result

    def replay_session(
        self,
        candidate: Candidate,
        size: int,
        session: int,
        sessions: int,
        seeds: Sequence[int],
        warmup: int,
    ) -> ExecResult:
        """Session ``session`` of ``sessions``: values whose statistics are the recorded ones.

        Which GFLOPS went with which time in a session was not recorded; the fastest time is
        paired with the highest GFLOPS.
        """
        cid = candidate.candidate_id
        recorded = self.report.replays.get((cid, size))
        if recorded is None:
            return ExecResult.failed(cid, size, f"no recorded replay of {cid} at size {size}")
        g = session_values(recorded.gflops, sessions)[session]
        t = session_values(recorded.avg_time_ms, sessions)[sessions - 1 - session]
        errors = session_values(recorded.max_error, sessions)
        error = errors[session] if sessions == 5 else recorded.max_error.max
        return ExecResult(cid, size, "completed", g, t, error, len(seeds))

    def close(self) -> None:
        return None
