"""Reads the recorded RX 580 reports into core inputs, independently of the runner code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.types import BaselineRule, Measurement, RankingObjective, ReplaySample

OLD_SCHEMA_RULE = BaselineRule(((0, "tile20"), (1800, "tile24")))


@dataclass(frozen=True)
class GoldenReport:
    name: str
    raw: dict[str, Any]
    measurements: tuple[Measurement, ...]
    rule: BaselineRule
    objective: RankingObjective
    threshold: float

    @property
    def new_schema(self) -> bool:
        return self.objective == "delta"


def candidate_key(row: dict[str, Any]) -> str:
    return str(row.get("config_id", row.get("kernel")))


def load_report(path: Path) -> GoldenReport:
    raw = json.loads(path.read_text())
    rows = raw["search"]["raw_candidates"]
    new_schema = "config_id" in rows[0]
    measurements = tuple(
        Measurement(
            candidate_key(r), r["size"], r["status"], r["gflops"], r["avg_time_ms"], r["max_error"]
        )
        for r in rows
    )
    return GoldenReport(
        name=path.name,
        raw=raw,
        measurements=measurements,
        rule=BaselineRule.original() if new_schema else OLD_SCHEMA_RULE,
        objective="delta" if new_schema else "gflops",
        threshold=float(raw["metadata"]["correctness_threshold"]),
    )


def recorded_sessions(candidate: dict[str, Any], sessions: int) -> list[ReplaySample]:
    """Each replay session replays the recorded aggregates, as the recorded executor does."""
    sample = ReplaySample(
        candidate["gflops"]["mean"], candidate["avg_time_ms"]["mean"], candidate["max_error"]["max"]
    )
    return [sample] * sessions
