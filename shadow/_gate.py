"""The CI gate: corpus replay + a fixed, derandomized fuzz budget, judged against a baseline.

Why these three parts: the corpus holds every divergence ever pinned (they must stay fixed),
the fuzz budget looks for new ones, and the baseline lists the few that are known, explained
and time-limited. The gate passes only when nothing diverges that the baseline does not
accept, and no baseline entry has expired. It is a pure function of the code: the fuzz runs
with ``derandomize=True`` and no example database, so two runs on one commit agree.

Outputs: a JUnit XML file (one testcase per op and per corpus case, plus one per expired
baseline entry) for CI dashboards, a Markdown summary for people (each failure names the op,
the shrunk input and the replay command) and the divergence events in a shadow log, so
``shadow replay LOG --call ID`` and ``shadow review LOG`` work on what the gate found.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import orjson

from shadow._baseline import Baseline, BaselineError, load_baseline, today_utc
from shadow._codec import CodecError
from shadow._corpus import Case, CorpusError, iter_case_files, load_case
from shadow._dispatcher import new_run_id
from shadow._display import visible
from shadow._events import Reporter
from shadow._fuzz import (
    Finding,
    FuzzConfig,
    Fuzzer,
    FuzzReport,
    FuzzSetupError,
    OpResult,
    Pair,
)
from shadow._isolation import DEFAULT_MEMORY_LIMIT_MB
from shadow._isolation.thread import ShadowUnavailable
from shadow._judge import Differential
from shadow._log import EventLog
from shadow._registry import Target

Status = Literal["passed", "failed", "accepted", "skipped"]

GATE_PROFILES: dict[str, int] = {"dev": 100, "ci": 400, "nightly": 5000}
"""Examples per op for each ``HYPOTHESIS_PROFILE`` (the pytest profiles of the same names)."""
DEFAULT_PROFILE = "ci"


def profile_examples(env: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The gate's per-op budget from ``HYPOTHESIS_PROFILE`` (default ``ci``)."""
    name = env.get("HYPOTHESIS_PROFILE", DEFAULT_PROFILE)
    try:
        return GATE_PROFILES[name]
    except KeyError:
        known = ", ".join(GATE_PROFILES)
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r} is not one of {known}") from None


@dataclass(frozen=True)
class GateConfig:
    """What one gate run checks. ``corpus``/``baseline`` None mean "none" (an explicit path
    that does not exist is an error, reported as a setup problem). ``seed`` fixes the fuzz
    search (the gate is a pure function of the code and this seed)."""

    corpus: Path | None = Path("tests/corpus")
    baseline: Path | None = Path("shadow-baseline.json")
    examples: int = GATE_PROFILES[DEFAULT_PROFILE]
    ops: tuple[str, ...] | None = None
    log: Path | None = Path("reports/gate.jsonl")
    primary: str | None = None
    shadow: str | None = None
    today: date | None = None
    fuzz: bool = True
    seed: int = 0
    isolation: str = "process"
    timeout_s: float | None = 10.0
    memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB
    require_corpus: bool = False
    require_baseline: bool = False


@dataclass(frozen=True)
class GateItem:
    """One testcase of the gate: a corpus case, an op's fuzz run, or a baseline entry."""

    suite: Literal["corpus", "fuzz", "baseline"]
    name: str
    status: Status
    message: str = ""
    op: str | None = None
    kind: str | None = None
    severity: str | None = None
    signature: str | None = None
    input: Any = None
    replay: str | None = None
    elapsed_s: float = 0.0
    details: tuple[str, ...] = ()
    sides: tuple[str, str] = ("primary", "shadow")


@dataclass(frozen=True)
class GateResult:
    target: str
    primary: str
    shadow: str
    examples_per_op: int
    items: tuple[GateItem, ...]
    fuzz: FuzzReport | None
    elapsed_s: float
    log: Path | None
    problems: tuple[str, ...] = field(default=())
    seed: int | None = None

    @property
    def failures(self) -> tuple[GateItem, ...]:
        return tuple(i for i in self.items if i.status == "failed")

    @property
    def not_run(self) -> tuple[GateItem, ...]:
        return tuple(i for i in self.items if i.status == "skipped")

    @property
    def ok(self) -> bool:
        return not self.failures and not self.problems


def _input_text(encoded: Any, limit: int = 2000) -> str:
    text = orjson.dumps(encoded, default=repr).decode() if encoded is not None else "null"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_lines(event: Mapping[str, Any], sides: tuple[str, str], limit: int = 5) -> tuple[str, ...]:
    """``path: python=... rust=...`` for the first diff entries of an event."""
    p_name, s_name = sides
    return tuple(
        f"{d['path']}: {p_name}={visible(d['primary'])} {s_name}={visible(d['shadow'])}"
        for d in event.get("diff", [])[:limit]
    )


def _replay_corpus(
    target: Target,
    pair: Pair,
    fuzzer: Fuzzer,
    baseline: Baseline,
    today: date,
    corpus: Path,
) -> list[GateItem]:
    items: list[GateItem] = []
    active = baseline.active(today)
    sides = (pair.primary_name, pair.shadow_name)
    reporter = Reporter(
        target,
        run_id=f"{fuzzer.run_id}-corpus",
        source="corpus",
        primary=fuzzer.reporter.primary,
        shadow=fuzzer.reporter.shadow,
        log=fuzzer.log,
    )
    for path in iter_case_files(corpus):
        name = path.name
        t0 = time.perf_counter()
        try:
            case: Case = load_case(path)
        except CorpusError as exc:
            items.append(GateItem("corpus", name, "failed", f"unreadable case: {exc}"))
            continue
        if case.target != target.import_spec:
            items.append(
                GateItem(
                    "corpus",
                    name,
                    "skipped",
                    f"not run: recorded for target {case.target}, the gate checks "
                    f"{target.import_spec} (run `shadow gate --target {case.target}`)",
                    op=case.op,
                )
            )
            continue
        if case.op not in target.ops:
            items.append(
                GateItem("corpus", name, "failed", f"target has no op {case.op!r}", op=case.op)
            )
            continue
        try:
            args, kwargs = target.codec_for(case.op).decode(case.input)
        except (CodecError, TypeError, ValueError) as exc:
            items.append(
                GateItem("corpus", name, "failed", f"input does not decode: {exc}", op=case.op)
            )
            continue
        spec = target.op(case.op)
        differential = Differential(
            spec, getattr(pair.primary, case.op), fuzzer.runner, timeout_s=fuzzer.config.timeout_s
        )
        try:
            judgement = differential(args, kwargs)
        except ShadowUnavailable as exc:
            message = f"not checked: {exc} (thread isolation cannot kill hung calls)"
            items.append(GateItem("corpus", name, "failed", message, op=case.op))
            continue
        elapsed = time.perf_counter() - t0
        note = ""
        if case.shadow and case.shadow != pair.shadow_name:
            note = f" (saved against {case.shadow}; checked against {pair.shadow_name})"
        if not judgement.diverged:
            items.append(
                GateItem("corpus", name, "passed", note.strip(), op=case.op, elapsed_s=elapsed)
            )
            continue
        d = judgement.divergences[0]
        finding = fuzzer.record(judgement, d, (args, kwargs), reporter=reporter)
        accepted = active.get((case.op, finding.signature))
        items.append(
            GateItem(
                "corpus",
                name,
                "accepted" if accepted else "failed",
                (f"accepted until {accepted.expires}: {accepted.reason}" if accepted else "")
                or f"{finding.kind} ({finding.severity}) still diverges{note}",
                op=case.op,
                kind=finding.kind,
                severity=finding.severity,
                signature=finding.signature,
                input=case.input,
                replay=finding.replay,
                elapsed_s=elapsed,
                details=diff_lines(finding.event, sides),
                sides=sides,
            )
        )
    return items


def _fuzz_items(
    result: OpResult, baseline: Baseline, today: date, sides: tuple[str, str]
) -> list[GateItem]:
    """One item per new problem (each is a distinct failure), or one passing item."""
    active = baseline.active(today)
    name = result.op
    stats = f"{result.examples} examples in {result.elapsed_s:.1f}s, {result.rounds} round(s)"
    new = [f for f in result.findings if (f.op, f.signature) not in active]
    if result.errors:  # the problems found before fuzzing failed are still reported
        return [
            GateItem(
                "fuzz",
                name,
                "failed",
                "fuzzing failed: " + "; ".join(result.errors),
                op=name,
                elapsed_s=result.elapsed_s,
            ),
            *_finding_items(new, name, stats, result.elapsed_s, sides),
        ]
    if not new:
        note = f" ({result.accepted} accepted divergences)" if result.accepted else ""
        status: Status = "accepted" if result.accepted or result.findings else "passed"
        return [GateItem("fuzz", name, status, stats + note, op=name, elapsed_s=result.elapsed_s)]
    return _finding_items(new, name, stats, result.elapsed_s, sides)


def _finding_items(
    findings: Sequence[Finding],
    name: str,
    stats: str,
    elapsed_s: float,
    sides: tuple[str, str],
) -> list[GateItem]:
    return [
        GateItem(
            "fuzz",
            f"{name}/{f.signature}",
            "failed",
            f"{f.kind} ({f.severity}) after {f.examples_to_find} examples, "
            f"{f.hits} hit(s); {stats}",
            op=name,
            kind=f.kind,
            severity=f.severity,
            signature=f.signature,
            input=f.input if f.input is not None else f.input_repr,
            replay=f.replay,
            elapsed_s=elapsed_s,
            details=diff_lines(f.event, sides) + tuple(f"cause: {p}" for p in f.parts[:5]),
            sides=sides,
        )
        for f in findings
    ]


def run_gate(
    target: Target,
    config: GateConfig,
    *,
    progress: Any = None,
) -> GateResult:
    """Run the whole gate and return what it found (writing nothing but the event log)."""
    t0 = time.perf_counter()
    today = config.today or today_utc()
    problems: list[str] = []
    baseline = Baseline()
    if config.baseline is not None:
        if not config.baseline.exists() and config.require_baseline:
            problems.append(f"baseline: {config.baseline} does not exist")
        else:
            try:
                baseline = load_baseline(config.baseline)
            except BaselineError as exc:
                problems.append(f"baseline: {exc}")
    if config.corpus is not None and not config.corpus.is_dir() and config.require_corpus:
        problems.append(f"corpus: {config.corpus} is not a directory")
    pair = Pair.of(target, config.primary, config.shadow)
    sides = (pair.primary_name, pair.shadow_name)
    log = EventLog(config.log) if config.log is not None else None
    run_id = f"gate-{new_run_id()}"
    items: list[GateItem] = []
    report: FuzzReport | None = None
    fuzz_config = FuzzConfig(
        max_examples=config.examples,
        seed=config.seed,
        database=None,
        accepted_signatures=frozenset(sig for (_, sig) in baseline.active(today)),
        isolation=config.isolation,
        timeout_s=config.timeout_s,
        memory_limit_mb=config.memory_limit_mb,
    )
    fuzzer = Fuzzer(target, pair, fuzz_config, log=log, run_id=run_id, progress=progress)
    try:
        if config.corpus is not None:
            items += _replay_corpus(target, pair, fuzzer, baseline, today, config.corpus)
        for entry in baseline.expired(today):
            items.append(
                GateItem(
                    "baseline",
                    f"{entry.op}/{entry.signature}",
                    "failed",
                    f"accepted divergence expired on {entry.expires}: {entry.reason} "
                    "(fix it, or renew the entry with a new reason and date)",
                    op=entry.op,
                    signature=entry.signature,
                )
            )
        if config.fuzz:
            try:
                report = fuzzer.run(config.ops)
            except FuzzSetupError as exc:
                problems.append(f"fuzz: {exc}")
                report = None
        if report is not None:
            for r in report.results:
                items += _fuzz_items(r, baseline, today, sides)
            items += [
                GateItem(
                    "fuzz", op, "skipped", "not run: no strategy registered or derivable", op=op
                )
                for op in report.skipped_ops
            ]
    finally:
        fuzzer.close()
        if log is not None:
            log.close()
    return GateResult(
        target=target.import_spec,
        primary=pair.primary_name,
        shadow=pair.shadow_name,
        examples_per_op=config.examples,
        items=tuple(items),
        fuzz=report,
        elapsed_s=time.perf_counter() - t0,
        log=config.log,
        problems=tuple(problems),
        seed=config.seed,
    )


__all__: Sequence[str] = [
    "GATE_PROFILES",
    "GateConfig",
    "GateItem",
    "GateResult",
    "profile_examples",
    "run_gate",
]
