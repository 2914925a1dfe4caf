"""The T2 core registered with ``shadow``, and the entry point the runner CLI calls.

Policies: ``summarize`` and ``evaluate_replay`` accept float drift within 64 ULPs or 1e-12
relative (or 1e-12 absolute, for values that should be 0 but come out as 1e-17 from a
different summation order); the design lets the Rust port differ from NumPy there. The other
four ops are deterministic integer/string work or a fixed IEEE order, so they must match
exactly. Severity: ``critical`` when something a later step decides on changes (candidate
order, a replay seed, a ranking order or count, a gate, the decision hint), else ``minor``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.backend import OPS, Backend
from runners.backends import get_backend
from runners.fuzz_t2 import FUZZ_SPECS, NumpyCodec
from runners.types import (
    BaselineRule,
    Candidate,
    CandidateTable,
    Decision,
    GateThresholds,
    Measurement,
    RankedCandidate,
    Ranking,
    ReplayEvaluation,
    ReplayPlan,
    ReplaySample,
    SearchSpace,
    Stats,
)
from shadow.compare import EXACT, ComparePolicy
from shadow.counters import RunCounters, format_counters
from shadow.dispatcher import MODES, Dispatcher
from shadow.registry import DivergenceContext, OpSpec, Severity, Target, load_target

CODEC = NumpyCodec(
    [
        SearchSpace,
        Candidate,
        CandidateTable,
        ReplayPlan,
        Stats,
        Measurement,
        BaselineRule,
        RankedCandidate,
        Ranking,
        ReplaySample,
        GateThresholds,
        ReplayEvaluation,
        Decision,
    ]
)

FLOAT_POLICY = ComparePolicy(float_ulps=64, float_rel=1e-12, float_abs=1e-12)
"""summarize / evaluate_replay: 64 ULPs, or 1e-12 relative, or 1e-12 absolute."""


def _critical_when(
    result_type: type, decisive: Callable[[Any], Any]
) -> Callable[[DivergenceContext], Severity | None]:
    """A severity classifier for one op: a value mismatch is ``critical`` when it changes
    what the runner decides from the result (``decisive`` of it), else ``minor``. Other
    kinds keep their default severity (None)."""

    def classify(ctx: DivergenceContext) -> Severity | None:
        if ctx.kind != "value_mismatch":
            return None
        p, s = ctx.primary.value, ctx.shadow.value
        if not isinstance(p, result_type) or not isinstance(s, result_type):
            return "critical"
        return "critical" if decisive(p) != decisive(s) else "minor"

    return classify


def _ranking_decisive(r: Ranking) -> tuple[Any, ...]:
    order = tuple((e.candidate_id, e.size, e.correctness_passed) for e in r.ranked)
    sizes = tuple(size for size, _ in r.baseline_by_size)
    counts = (r.valid_count, r.completed_count, r.failed_count, r.used_fallback_pool)
    return order, sizes, counts


def _gates(e: ReplayEvaluation) -> tuple[bool, bool, bool, bool]:
    return (
        e.correctness_passed,
        e.stability_passed,
        e.promotion_gate_passed,
        e.mean_delta_vs_baseline_percent is None,
    )


_SPECS: tuple[tuple[str, ComparePolicy, Callable[[DivergenceContext], Severity | None]], ...] = (
    # Order and ids drive what gets benchmarked; scores alone do not.
    (
        "enumerate_candidates",
        EXACT,
        _critical_when(CandidateTable, lambda t: (t.candidate_ids, t.total)),
    ),
    # Every field of a plan (ids, seeds, tags) drives execution.
    ("build_replay_plan", EXACT, _critical_when(ReplayPlan, lambda plan: plan)),
    ("summarize", FLOAT_POLICY, _critical_when(Stats, lambda st: (st.count, st.cv is None))),
    ("rank_candidates", EXACT, _critical_when(Ranking, _ranking_decisive)),
    ("evaluate_replay", FLOAT_POLICY, _critical_when(ReplayEvaluation, _gates)),
    ("decide", EXACT, _critical_when(Decision, lambda d: (d.hint, d.promoted))),
)
assert tuple(name for name, _, _ in _SPECS) == OPS


def make_target(
    import_spec: str = "runners.shadow_t2:TARGET",
    extra_implementations: Mapping[str, Callable[[], Any]] | None = None,
    strategies: Mapping[str, Any] | None = None,
) -> Target:
    """The T2 target; tests add deliberately wrong implementations via ``extra_implementations``.

    ``strategies`` (op -> fuzz strategy) defaults to :data:`runners.fuzz_t2.FUZZ_SPECS`."""
    implementations: dict[str, Callable[[], Any]] = {
        "python": lambda: get_backend("python"),
        "rust": lambda: get_backend("rust"),
    }
    implementations.update(extra_implementations or {})
    chosen = FUZZ_SPECS if strategies is None else strategies
    ops = [
        OpSpec(name, policy, CODEC, severity, chosen.get(name)) for name, policy, severity in _SPECS
    ]
    return Target(
        "t2", import_spec, implementations, ops, default_pair=("python", "rust"), codec=CODEC
    )


TARGET = make_target()


# ---------------------------------------------------------------------- runner entry point


DEFAULT_TARGET = "runners.shadow_t2:TARGET"


class ShadowUnavailableError(RuntimeError):
    """A backend asked for cannot be built (e.g. the Rust extension is not compiled)."""


@dataclass(frozen=True)
class ShadowOptions:
    primary: str = "python"
    shadow: str = "rust"
    mode: str = "sync"  # off | sync | async | strict
    sample_rate: float = 1.0
    timeout_s: float = 5.0
    log_path: Path = Path("reports/shadow.jsonl")
    run_id: str | None = None
    target: str = DEFAULT_TARGET
    """Import spec of the target whose implementations ``primary`` and ``shadow`` name."""


@dataclass(frozen=True)
class ShadowReport:
    """What a shadowed run found, for the runner to print and to pick an exit status."""

    counters: RunCounters
    log_path: Path | None
    mode: str

    @property
    def divergences(self) -> int:
        return self.counters.divergences

    @property
    def by_kind(self) -> dict[str, int]:
        return self.counters.by_kind

    def render(self) -> str:
        lines = [format_counters(self.counters)]
        if self.log_path is not None:
            verdict = (
                "no divergences" if not self.divergences else f"{self.divergences} divergence(s)"
            )
            lines.append(f"shadow ({self.mode}): {verdict}; events in {self.log_path}")
            if self.divergences:
                lines.append(f"review them with: shadow review {self.log_path}")
        return "\n".join(lines)


class ShadowSession:
    """A running shadow: use ``backend`` in place of the primary, then ``close()``."""

    def __init__(self, dispatcher: Dispatcher[Backend], options: ShadowOptions) -> None:
        self.dispatcher = dispatcher
        self.options = options
        self.backend: Backend = dispatcher.wrap()
        self._report: ShadowReport | None = None

    def close(self) -> ShadowReport:
        if self._report is None:
            counters = self.dispatcher.close()
            log_path = self.options.log_path if self.options.mode != "off" else None
            self._report = ShadowReport(counters, log_path, self.options.mode)
        return self._report

    def __enter__(self) -> ShadowSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _target(spec: str) -> Target:
    if spec == DEFAULT_TARGET:
        return TARGET
    try:
        target = load_target(spec)
    except Exception as exc:
        raise ShadowUnavailableError(f"cannot load shadow target {spec!r}: {exc}") from exc
    return target


def _build(target: Target, name: str) -> Backend:
    try:
        backend: Backend = target.make(name)
    except ImportError as exc:
        raise ShadowUnavailableError(f"backend {name!r} is not available: {exc}") from exc
    except KeyError:
        known = ", ".join(target.implementation_names)
        raise ShadowUnavailableError(
            f"no implementation {name!r} in target {target.import_spec!r} (known: {known})"
        ) from None
    return backend


def start_shadow(options: ShadowOptions) -> ShadowSession:
    """Build both backends and a dispatcher; in ``off`` mode nothing is logged or compared."""
    if options.mode not in MODES:
        raise ValueError(f"shadow mode must be one of {', '.join(MODES)}, got {options.mode!r}")
    target = _target(options.target)
    primary = _build(target, options.primary)
    if options.mode == "off":
        dispatcher: Dispatcher[Backend] = Dispatcher(
            target, primary=primary, shadow=primary, mode="off", run_id=options.run_id
        )
        return ShadowSession(dispatcher, options)
    shadow = _build(target, options.shadow)
    dispatcher = Dispatcher(
        target,
        primary=primary,
        shadow=shadow,
        mode=options.mode,
        sample_rate=options.sample_rate,
        timeout_s=options.timeout_s,
        log=options.log_path,
        run_id=options.run_id,
    )
    return ShadowSession(dispatcher, options)


_TRUE = {"1", "true", "yes", "on"}


def options_from_env(env: Mapping[str, str] = os.environ) -> ShadowOptions | None:
    """Shadow options from ``T2_SHADOW=1`` and ``T2_SHADOW_{MODE,PRIMARY,SHADOW,SAMPLE_RATE,
    TIMEOUT_S,LOG,RUN_ID}``; None when ``T2_SHADOW`` is unset/false or the mode is ``off``."""
    if env.get("T2_SHADOW", "").strip().lower() not in _TRUE:
        return None
    defaults = ShadowOptions()
    mode = env.get("T2_SHADOW_MODE", defaults.mode).strip().lower()
    if mode == "off":
        return None
    if mode not in MODES:
        raise ValueError(f"T2_SHADOW_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    rate = float(env.get("T2_SHADOW_SAMPLE_RATE", defaults.sample_rate))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"T2_SHADOW_SAMPLE_RATE must be within 0..1, got {rate}")
    return ShadowOptions(
        primary=env.get("T2_SHADOW_PRIMARY", defaults.primary),
        shadow=env.get("T2_SHADOW_SHADOW", defaults.shadow),
        mode=mode,
        sample_rate=rate,
        timeout_s=float(env.get("T2_SHADOW_TIMEOUT_S", defaults.timeout_s)),
        log_path=Path(env.get("T2_SHADOW_LOG", str(defaults.log_path))),
        run_id=env.get("T2_SHADOW_RUN_ID") or None,
        target=env.get("T2_SHADOW_TARGET") or DEFAULT_TARGET,
    )
