"""JSON and Markdown reports of a search.

The JSON keeps the shape of the original T2 reports (new schema: ``metadata``,
``search.raw_candidates`` / ``ranked_candidates``, ``replay.candidates``, ``summary``), so a
report of this runner can itself be served back by the ``recorded`` executor. The Markdown
is what a person reads: ranking, replay, decision, parameters and every failure's reason.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runners.executors.base import ExecResult
from runners.search import SearchResult
from runners.types import Candidate, Stats

SCHEMA = "t2-search-report/1"


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    markdown: Path
    latest_json: Path
    latest_markdown: Path


def _stats(s: Stats) -> dict[str, Any]:
    return asdict(s)


def _candidate_fields(c: Candidate) -> dict[str, Any]:
    return {
        "config_id": c.candidate_id,
        "family": c.kernel,
        "vector_width": c.vector_width,
        "unroll_k": c.unroll_k,
        "local_size": [c.local_x, c.local_y],
        "score": c.score,
    }


def _seed(result: SearchResult, index: int, size: int) -> int:
    return result.config.seed + size + 1000 * index


def to_json(result: SearchResult, shadow: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = result.config
    by_id = {c.candidate_id: (i, c) for i, c in enumerate(result.benchmarked)}
    raw: list[dict[str, Any]] = []
    for m in result.measurements:
        index, c = by_id[m.candidate_id]
        raw.append(
            {**_candidate_fields(c), **_measurement(m), "seed": _seed(result, index, m.size)}
        )
    ranked = [
        {
            **_candidate_fields(by_id[r.candidate_id][1]),
            "size": r.size,
            "status": "completed",
            "gflops": r.gflops,
            "avg_time_ms": r.avg_time_ms,
            "max_error": r.max_error,
            "correctness_passed": r.correctness_passed,
            "delta_vs_baseline_percent": r.delta_vs_baseline_percent,
        }
        for r in result.ranking.ranked
    ]
    replay = []
    for o in result.replays:
        row: dict[str, Any] = {
            **_candidate_fields(by_id[o.candidate_id][1]),
            "size": o.size,
            "plan_id": o.plan_id,
            "status": "completed" if o.evaluation is not None else "failed",
            "baseline_gflops": o.baseline_gflops,
            "sessions": [_measurement(s) for s in o.sessions],
        }
        if o.evaluation is not None:
            e = o.evaluation
            row.update(
                gflops=_stats(e.gflops),
                avg_time_ms=_stats(e.avg_time_ms),
                max_error=_stats(e.max_error),
                cv_peak=e.cv_peak,
                mean_delta_vs_baseline_percent=e.mean_delta_vs_baseline_percent,
                correctness_passed=e.correctness_passed,
                stability_passed=e.stability_passed,
                promotion_gate_passed=e.promotion_gate_passed,
            )
        else:
            row["reason"] = o.reason
        replay.append(row)
    rule = {str(size): cid for size, cid in cfg.baseline_rule.thresholds}
    return {
        "schema": SCHEMA,
        "metadata": {
            "run_id": result.run_id,
            "timestamp_utc": result.started_at,
            "backend": result.backend,
            "backend_version": result.backend_version,
            "executor": result.executor,
            "kernels": sorted({c.kernel for c in result.benchmarked}),
            "sizes": list(cfg.sizes),
            "runs_per_config": cfg.runs,
            "warmup": cfg.warmup,
            "budget": cfg.budget,
            "replay_sessions": cfg.sessions,
            "replay_runs": cfg.replay_runs,
            "top_k": cfg.top_k,
            "correctness_threshold": cfg.correctness_threshold,
            "seed": cfg.seed,
            "input_distribution": "standard_normal",
            "objective": cfg.objective,
            "baseline_rule": [list(t) for t in cfg.baseline_rule.thresholds],
            "parameters": cfg.as_dict(),
            "phase_seconds": result.phase_seconds,
        },
        "search": {
            "space_total": result.space_total,
            "enumerated": len(result.enumerated),
            "invalid_for_device": [{"config_id": c, "reason": r} for c, r in result.invalid],
            "raw_candidates": raw,
            "baseline_rule_by_min_size": rule,
            "baseline_by_size": {str(s): g for s, g in result.ranking.baseline_by_size},
            "ranked_candidates": ranked,
            "valid_count": result.ranking.valid_count,
            "completed_count": result.ranking.completed_count,
            "failed_count": result.ranking.failed_count,
            "used_fallback_pool": result.ranking.used_fallback_pool,
        },
        "replay": {
            "plan_size": len(result.plan) if result.plan is not None else 0,
            "candidates": replay,
        },
        "summary": {
            "decision_hint": result.decision.hint,
            "decision_rationale": result.decision.rationale,
            "promoted": [result.replays[i].plan_id for i in _promoted(result)],
        },
        "shadow": shadow,
    }


def _promoted(result: SearchResult) -> list[int]:
    """Indexes into result.replays of the promoted (the decision indexes evaluations only)."""
    evaluated = [i for i, r in enumerate(result.replays) if r.evaluation is not None]
    return [evaluated[i] for i in result.decision.promoted]


def _measurement(m: ExecResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "size": m.size,
        "status": m.status,
        "gflops": m.gflops,
        "avg_time_ms": m.avg_time_ms,
        "max_error": m.max_error,
        "runs": m.runs,
    }
    if m.reason is not None:
        row["error"] = m.reason
    return row


# ---------------------------------------------------------------------------- markdown


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value != 0 and (abs(value) < 10**-digits or not math.isfinite(value)):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(result: SearchResult, shadow_text: str | None = None) -> str:
    cfg = result.config
    d = result.decision
    lines = [
        f"# T2 search report — run `{result.run_id}`",
        "",
        f"**Decision: `{d.hint}`** — {d.rationale}",
        "",
    ]
    promoted = _promoted(result)
    if promoted:
        names = ", ".join(f"`{result.replays[i].plan_id}`" for i in promoted)
        lines += [f"Promoted: {names}", ""]
    r = result.ranking
    lines += [
        f"Started {result.started_at}; backend `{result.backend}` {result.backend_version}; "
        f"executor `{result.executor.get('executor')}`.",
        "",
        "## Run parameters",
        "",
        "| parameter | value |",
        "| --- | --- |",
    ]
    for key, value in result.executor.items():
        lines.append(f"| {key} | {_cell(str(value))} |")
    params = cfg.as_dict()
    space = params.pop("space")
    for key, value in params.items():
        lines.append(f"| {key} | {_cell(json.dumps(value))} |")
    if space is not None:
        for key, value in space.items():
            lines.append(f"| space.{key} | {_cell(json.dumps(value))} |")
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.phase_seconds.items())
    lines += [f"| phase times | {timing} |", ""]

    lines += [
        "## Search",
        "",
        f"{result.space_total} candidates in the space, {len(result.enumerated)} enumerated, "
        f"{len(result.invalid)} not valid for the device, {len(result.benchmarked)} benchmarked "
        f"at {len(cfg.sizes)} size(s): {r.completed_count} measurements completed, "
        f"{r.failed_count} failed, {r.valid_count} passed correctness "
        f"(max error <= {cfg.correctness_threshold:g})"
        + (
            " — none did, so the ranking pool is every completed one."
            if r.used_fallback_pool
            else "."
        ),
        "",
        "Baseline per size: "
        + (", ".join(f"{s}: {g:.3f} GFLOPS" for s, g in r.baseline_by_size) or "none measured"),
        "",
        f"### Ranking (objective `{cfg.objective}`)",
        "",
        "| # | candidate | size | GFLOPS | time (ms) | max error | correct "
        "| delta vs baseline (%) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for i, e in enumerate(r.ranked, 1):
        mark = " ⟲" if i <= cfg.top_k else ""
        lines.append(
            f"| {i}{mark} | `{e.candidate_id}` | {e.size} | {_num(e.gflops)} "
            f"| {_num(e.avg_time_ms)} "
            f"| {_num(e.max_error, 6)} | {_yes(e.correctness_passed)} "
            f"| {_num(e.delta_vs_baseline_percent, 2)} |"
        )
    lines += ["", "⟲ = replayed (top-k).", ""]

    lines += [
        "## Replay",
        "",
        f"{cfg.sessions} session(s) x {cfg.replay_runs} run(s) per candidate, seeds from the "
        f"replay plan (base seed {cfg.seed}). Gates: correctness max error <= "
        f"{cfg.gates.max_error:g}, stability cv <= {cfg.gates.max_cv:g}, promotion delta >= "
        f"{cfg.gates.min_delta_percent:g} % and both.",
        "",
        "| # | candidate | size | mean GFLOPS | cv peak | mean delta (%) | max error "
        "| correct | stable | promote |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for o in result.replays:
        ev = o.evaluation
        if ev is None:
            lines.append(
                f"| {o.rank + 1} | `{o.candidate_id}` | {o.size} | failed: {_cell(o.reason or '')} "
                "| | | | | | |"
            )
            continue
        lines.append(
            f"| {o.rank + 1} | `{o.candidate_id}` | {o.size} | {_num(ev.gflops.mean)} "
            f"| {_num(ev.cv_peak, 4)} | {_num(ev.mean_delta_vs_baseline_percent, 2)} "
            f"| {_num(ev.max_error.max, 6)} | {_yes(ev.correctness_passed)} "
            f"| {_yes(ev.stability_passed)} | {_yes(ev.promotion_gate_passed)} |"
        )
    if not result.replays:
        lines.append("| | nothing to replay | | | | | | | | |")
    lines.append("")

    failures = [m for m in result.measurements if not m.ok]
    replay_failures = [o for o in result.replays if o.evaluation is None]
    lines += ["## Failures", ""]
    if not failures and not replay_failures:
        lines += ["None.", ""]
    else:
        lines += ["| candidate | size | phase | reason |", "| --- | ---: | --- | --- |"]
        lines += [
            f"| `{m.candidate_id}` | {m.size} | benchmark | {_cell(m.reason or '')} |"
            for m in failures
        ]
        lines += [
            f"| `{o.candidate_id}` | {o.size} | replay | {_cell(o.reason or '')} |"
            for o in replay_failures
        ]
        lines.append("")
    if result.invalid:
        reasons = Counter(_reason_class(reason) for _, reason in result.invalid)
        lines += [
            "## Candidates not valid for the device",
            "",
            "| reason | candidates |",
            "| --- | ---: |",
            *(f"| {_cell(k)} | {v} |" for k, v in reasons.most_common()),
            "",
        ]
    if shadow_text:
        lines += ["## Shadow mode", "", "```", shadow_text.rstrip(), "```", ""]
    return "\n".join(lines)


def _reason_class(reason: str) -> str:
    """Group validity reasons that differ only in numbers ("local size 8x8 ..." -> one row)."""
    words = ["N" if any(ch.isdigit() for ch in w) else w for w in reason.split()]
    return " ".join(words)


def write_reports(
    result: SearchResult,
    out_dir: Path,
    shadow: dict[str, Any] | None = None,
    shadow_text: str | None = None,
) -> ReportPaths:
    """Write ``t2_search_<run id>.{json,md}`` and copies named ``t2_search_latest.*``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"t2_search_{result.run_id}"
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    json_path.write_text(
        json.dumps(to_json(result, shadow), indent=2, allow_nan=True) + "\n", encoding="utf-8"
    )
    md_path.write_text(to_markdown(result, shadow_text), encoding="utf-8")
    latest_json = out_dir / "t2_search_latest.json"
    latest_md = out_dir / "t2_search_latest.md"
    shutil.copyfile(json_path, latest_json)
    shutil.copyfile(md_path, latest_md)
    return ReportPaths(json_path, md_path, latest_json, latest_md)
