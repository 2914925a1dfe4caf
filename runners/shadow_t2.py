"""The T2 core registered with ``shadow``, and the entry point the runner CLI calls.

What each op's policy, classifier and grouping choose (they say what the search does with a
result, so a divergence is judged by what it would change downstream):

* ``enumerate_candidates`` (exact): the search benchmarks the candidates in this order, so
  the ids, their order, each candidate's parameters (kernel, width, unroll, local size), how
  many are kept and ``total`` are **critical**; scores alone only order candidates, so a
  score drift that leaves the order and the set unchanged is *minor*. Grouped by candidate
  id (the table is columnar, so ``key_by`` cannot see its rows): other parameters, other
  scores (their reorders are consequences), another count kept, equal scores in another
  order (a tie-break), other order, other ids.
* ``build_replay_plan`` (exact): every id, session, run, seed and tag drives a replay, so
  any value mismatch is **critical** (a wrapped seed among them).
* ``summarize`` (64 ULPs, 1e-12 relative or absolute): the search takes the mean (avg time
  and GFLOPS of a measurement) and the count, so those are **critical**; std, cv, min, max
  and the percentiles are only reported: *minor*. Grouped by the family of statistics that
  differ (count; mean/std/cv; p50/p95; min/max), so "another percentile method" is one
  problem whichever percentile shows it.
* ``rank_candidates`` (exact): the order of (candidate, size, correctness), the counts, the
  fallback flag and each size's baseline GFLOPS (the next step's ``baseline_gflops``) are
  **critical**; gflops/time/delta drift that changes none of them is *minor*. Grouped by
  (candidate_id, size): counts, baselines, a ranked field's values, the pool kept, equal
  sort keys in another order (a stable vs an unstable sort), other order.
* ``evaluate_replay`` (float tolerance): the three gates and whether there is a delta are
  **critical**; statistics drift that flips no gate is *minor*. Grouped by the earliest
  cause in the evaluation's own order: the samples' statistics, then cv_peak/delta, then
  the correctness/stability gates, then promotion (which follows from them).
* ``decide`` (exact): the hint and the promoted indexes are **critical**; a rationale that
  differs in its text only is *minor*.

Every other kind keeps the framework's default (``shadow._registry.DEFAULT_SEVERITY``): an
error on one side only, a different error, a crash or a mutated input is **critical**. So
"keep none vs keep all" (a ``top_k`` or cap of 0 taken as "no limit" while the contract
rejects it) and a wrapped seed (one side raises ``overflow``, the other returns a plan) fail
``shadow review --fail-on critical``. Two errors that differ are grouped by what differs:
the code alone ("``duplicate`` reported as ``invalid_value``", whatever the field), or the
field alone when it is the same field named with or without its parent (the contract dots
nested field names), else by both errors' identities.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from shadow._compare import EXACT, ComparePolicy, DiffEntry, strict_equal
from shadow._outcome import error_attr, error_type
from shadow._registry import DivergenceContext, GroupBy, OpSpec, Severity, Target
from shadow._session import (
    SessionOptions,
    SessionReport,
    SessionUnavailableError,
    ShadowSession,
)
from shadow._session import options_from_env as session_options_from_env

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

Classifier = Callable[[DivergenceContext], Severity | None]

# ---------------------------------------------------------------------- severity


def _critical_when(result_type: type, decisive: Callable[[Any], Any]) -> Classifier:
    """A severity classifier for one op: a value mismatch is ``critical`` when it changes
    what the runner decides from the result (``decisive`` of it), else ``minor``. Other
    kinds keep their default severity (None)."""

    def classify(ctx: DivergenceContext) -> Severity | None:
        if ctx.kind != "value_mismatch":
            return None
        p, s = ctx.primary.value, ctx.shadow.value
        if not isinstance(p, result_type) or not isinstance(s, result_type):
            return "critical"
        return "critical" if not strict_equal(decisive(p), decisive(s)) else "minor"

    return classify


def _critical_fields(result_type: type, decisive: Iterable[str]) -> Classifier:
    """For results compared with a float tolerance: ``critical`` when a difference (beyond
    the tolerance, as the diff holds it) touches one of the ``decisive`` top-level fields."""
    fields = frozenset(decisive)

    def classify(ctx: DivergenceContext) -> Severity | None:
        if ctx.kind != "value_mismatch":
            return None
        if not isinstance(ctx.primary.value, result_type) or not isinstance(
            ctx.shadow.value, result_type
        ):
            return "critical"
        return "critical" if _top_fields(ctx.diff) & fields else "minor"

    return classify


def _enumerate_decisive(t: CandidateTable) -> tuple[Any, ...]:
    return (
        t.candidate_ids,
        t.kernels,
        t.vector_widths,
        t.unroll_ks,
        t.local_xs,
        t.local_ys,
        t.total,
    )


def _ranking_decisive(r: Ranking) -> tuple[Any, ...]:
    order = tuple((e.candidate_id, e.size, e.correctness_passed) for e in r.ranked)
    counts = (r.valid_count, r.completed_count, r.failed_count, r.used_fallback_pool)
    return order, r.baseline_by_size, counts


def _gates(e: ReplayEvaluation) -> tuple[bool, bool, bool, bool]:
    return (
        e.correctness_passed,
        e.stability_passed,
        e.promotion_gate_passed,
        e.mean_delta_vs_baseline_percent is None,
    )


# ---------------------------------------------------------------------- grouping


def _top_fields(diff: Sequence[DiffEntry]) -> set[str]:
    """``root.p50`` -> ``p50``; ``root.gflops.mean`` -> ``gflops``; ``len(root.x)`` -> ``x``."""
    out = set()
    for d in diff:
        path = d.path
        if path.startswith("len(") and path.endswith(")"):
            path = path[4:-1]
        head = path.removeprefix("root").lstrip(".")
        out.add(head.split(".", 1)[0].split("[", 1)[0])
    return out


def _type_changes(diff: Sequence[DiffEntry]) -> set[str]:
    return {f for d in diff if d.change == "type" for f in _top_fields([d])}


def _error_group(ctx: DivergenceContext) -> str | None:
    """Two different T2 errors, at the grain of a cause (see the module docstring)."""
    pe, se = ctx.primary.error, ctx.shadow.error
    if ctx.kind != "error_mismatch" or pe is None or se is None:
        return None
    if error_type(pe) != error_type(se):
        return None
    pc, pf = error_attr(pe, "code"), error_attr(pe, "field")
    sc, sf = error_attr(se, "code"), error_attr(se, "field")
    if not all(isinstance(v, str) for v in (pc, pf, sc, sf)):
        return None
    if pc != sc and pf == sf:
        return f"error code {pc} reported as {sc}"
    if pc == sc and pf != sf and pf.rsplit(".", 1)[-1] == sf.rsplit(".", 1)[-1]:
        if "." in pf and "." not in sf:
            return "nested error field named without its parent"
        if "." in sf and "." not in pf:
            return "error field named with a parent"
        return "nested error field named under another parent"
    return None


def _grouped(values: Callable[[DivergenceContext], str | None]) -> GroupBy:
    """An op's grouping: its value rule for value mismatches, the error rule for errors."""

    def group(ctx: DivergenceContext) -> str | None:
        if ctx.kind == "value_mismatch":
            return values(ctx)
        return _error_group(ctx)

    return group


def _both(ctx: DivergenceContext, cls: type) -> tuple[Any, Any] | None:
    p, s = ctx.primary.value, ctx.shadow.value
    if type(p) is cls and type(s) is cls:
        return p, s
    return None


def _enumerate_group(ctx: DivergenceContext) -> str | None:
    pair = _both(ctx, CandidateTable)
    if pair is None:
        return None
    p, s = pair
    if p.total != s.total:
        return "total differs"
    if (
        len(p) == len(s)
        and p.candidate_ids != s.candidate_ids
        and strict_equal(_enumerate_decisive(p)[1:-1], _enumerate_decisive(s)[1:-1])
        and strict_equal(p.scores, s.scores)
    ):
        return "candidate ids differ"  # the same candidates in the same order, named otherwise
    rows_p = {c.candidate_id: c for c in p}
    rows_s = {c.candidate_id: c for c in s}
    common = rows_p.keys() & rows_s.keys()
    if any(
        dataclasses.replace(rows_p[c], score=0.0) != dataclasses.replace(rows_s[c], score=0.0)
        for c in common
    ):
        return "candidate parameters differ"
    if any(not strict_equal(rows_p[c].score, rows_s[c].score) for c in common):
        return "scores differ"
    if len(p) != len(s):
        return "number of candidates kept differs"
    if p.scores == s.scores:
        # the same scores position by position (equal as the sort sees them): candidates
        # of equal score (a tie) swapped, or, past top_k, another of the tied kept
        return "equal scores ordered differently"
    return "candidates ordered differently"


_STAT_FAMILIES = (
    ("count", "count"),
    ("mean", "mean/std/cv"),
    ("std", "mean/std/cv"),
    ("cv", "mean/std/cv"),
    ("p50", "percentiles"),
    ("p95", "percentiles"),
    ("min", "min/max"),
    ("max", "min/max"),
)


def _summarize_group(ctx: DivergenceContext) -> str | None:
    if _both(ctx, Stats) is None:
        return None
    fields = _top_fields(ctx.diff)
    families = sorted({family for name, family in _STAT_FAMILIES if name in fields})
    typed = sorted(_type_changes(ctx.diff))
    if not families:
        return None
    return "statistics differ: " + ", ".join(families) + (f" (type: {typed})" if typed else "")


def _delta_key(e: RankedCandidate) -> tuple[float, float]:
    d = e.delta_vs_baseline_percent
    return (d if d is not None else -1e9, e.gflops)


def _gflops_key(e: RankedCandidate) -> tuple[float, float]:
    return (e.gflops, 0.0)


_RANK_KEYS = (_delta_key, _gflops_key)
"""The sort keys of the two objectives (docs/contract.md), descending."""


def _sorted_by(ranked: Sequence[RankedCandidate], key: Callable[[RankedCandidate], Any]) -> bool:
    keys = [key(e) for e in ranked]
    return all(a >= b for a, b in itertools.pairwise(keys))


def _rank_group(ctx: DivergenceContext) -> str | None:
    pair = _both(ctx, Ranking)
    if pair is None:
        return None
    p, s = pair
    counts = [
        name
        for name in ("valid_count", "completed_count", "failed_count", "used_fallback_pool")
        if getattr(p, name) != getattr(s, name)
        or type(getattr(p, name)) is not type(getattr(s, name))
    ]
    if counts:
        return "counts differ: " + ", ".join(counts)
    if not strict_equal(p.baseline_by_size, s.baseline_by_size):
        return "baselines differ"
    rows_p = {(e.candidate_id, e.size): e for e in p.ranked}
    rows_s = {(e.candidate_id, e.size): e for e in s.ranked}
    if len(rows_p) != len(p.ranked) or len(rows_s) != len(s.ranked):
        return None  # repeated keys: positions are the only identity
    changed = sorted(
        {
            f.name
            for k in rows_p.keys() & rows_s.keys()
            for f in dataclasses.fields(RankedCandidate)
            if not strict_equal(getattr(rows_p[k], f.name), getattr(rows_s[k], f.name))
        }
    )
    if changed:
        return "ranked values differ: " + ", ".join(changed)
    if rows_p.keys() != rows_s.keys():
        return "ranked pool differs"
    if any(
        [key(e) for e in p.ranked] == [key(e) for e in s.ranked]
        for key in _RANK_KEYS
        if _sorted_by(p.ranked, key)
    ):
        # the same sort key position by position (equal as the sort sees it: -0.0 ties
        # with 0.0), for an objective the primary's order follows: entries that tie
        # swapped (a stable vs an unstable sort)
        return "tied entries ordered differently"
    return "ranked order differs"


_EVALUATION_LEVELS = (
    ("gflops", "avg_time_ms", "max_error"),
    ("cv_peak", "mean_delta_vs_baseline_percent"),
    ("correctness_passed", "stability_passed"),
    ("promotion_gate_passed",),
)
"""Each level follows from the ones above it: statistics -> cv/delta -> gates -> promotion."""


def _evaluate_group(ctx: DivergenceContext) -> str | None:
    if _both(ctx, ReplayEvaluation) is None:
        return None
    fields = _top_fields(ctx.diff)
    typed = _type_changes(ctx.diff)
    for level in _EVALUATION_LEVELS:
        hit = [f + (" (type)" if f in typed else "") for f in level if f in fields]
        if hit:
            return "evaluation differs: " + ", ".join(hit)
    return None


_SPECS: tuple[tuple[str, ComparePolicy, Classifier, GroupBy | None], ...] = (
    (
        "enumerate_candidates",
        EXACT,
        _critical_when(CandidateTable, _enumerate_decisive),
        _grouped(_enumerate_group),
    ),
    ("build_replay_plan", EXACT, _critical_when(ReplayPlan, lambda plan: plan), _error_group),
    (
        "summarize",
        FLOAT_POLICY,
        _critical_fields(Stats, ("count", "mean")),
        _grouped(_summarize_group),
    ),
    ("rank_candidates", EXACT, _critical_when(Ranking, _ranking_decisive), _grouped(_rank_group)),
    (
        "evaluate_replay",
        FLOAT_POLICY,
        _critical_when(ReplayEvaluation, _gates),
        _grouped(_evaluate_group),
    ),
    ("decide", EXACT, _critical_when(Decision, lambda d: (d.hint, d.promoted)), _error_group),
)
assert tuple(spec[0] for spec in _SPECS) == OPS


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
        OpSpec(name, policy, CODEC, severity, chosen.get(name), group_by=group)
        for name, policy, severity, group in _SPECS
    ]
    return Target(
        "t2", import_spec, implementations, ops, default_pair=("python", "rust"), codec=CODEC
    )


TARGET = make_target()


# ---------------------------------------------------------------------- runner entry point

# The generic session (options, environment switches, summary) is ``shadow._session``; what
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
    """Options from ``T2_SHADOW`` and ``T2_SHADOW_*`` (see :mod:`shadow._session`); None when
    shadow mode is off."""
    return session_options_from_env(ENV_PREFIX, env, defaults or ShadowOptions())
