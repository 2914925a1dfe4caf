"""The T2 core registered with ``shadow``, and the entry point the runner CLI calls.

Policies: ``summarize`` and ``evaluate_replay`` accept float drift within 64 ULPs or 1e-12
relative (or 1e-12 absolute, for values that should be 0 but come out as 1e-17 from a
different summation order); the design lets the Rust port differ from NumPy there. The other
four ops are deterministic integer/string work or a fixed IEEE order, so they must match
exactly. Severity: ``critical`` when something a later step decides on changes (candidate
order, a replay seed, a ranking order or count, a gate, the decision hint), else ``minor``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

from runners.backend import OPS
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
from shadow.registry import DivergenceContext, OpSpec, Severity, Target
from shadow.session import (
    SessionOptions,
    SessionReport,
    SessionUnavailableError,
    ShadowSession,
)
from shadow.session import options_from_env as session_options_from_env

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

# The generic session (options, environment switches, summary) is ``shadow.session``; what
# follows is only its T2 configuration: the target, the default pair and the prefix.

DEFAULT_TARGET = "runners.shadow_t2:TARGET"
ENV_PREFIX = "T2_SHADOW"
"""``T2_SHADOW=1`` switches shadow mode on; ``T2_SHADOW_*`` set the options."""

ShadowUnavailableError = SessionUnavailableError
ShadowReport = SessionReport


def ShadowOptions(**changes: Any) -> SessionOptions:
    """Session options with the T2 defaults: the T2 target, Python primary, Rust shadow,
    ``reports/shadow.jsonl``."""
    values: dict[str, Any] = {"target": DEFAULT_TARGET, "primary": "python", "shadow": "rust"}
    values.update(changes)
    return SessionOptions(**values)


def _resolve(options: SessionOptions) -> SessionOptions:
    """The default target is this module's object itself (no re-import by name)."""
    if options.target == DEFAULT_TARGET:
        return dataclasses.replace(options, target=TARGET)
    return options


def start_shadow(options: SessionOptions) -> ShadowSession:
    """Start a shadow session of the T2 core; ``session.backend`` is the shadowed backend."""
    return ShadowSession.start(_resolve(options))


def options_from_env(
    env: Mapping[str, str] = os.environ, defaults: SessionOptions | None = None
) -> SessionOptions | None:
    """Options from ``T2_SHADOW`` and ``T2_SHADOW_*`` (see :mod:`shadow.session`); None when
    shadow mode is off."""
    return session_options_from_env(ENV_PREFIX, env, defaults or ShadowOptions())
