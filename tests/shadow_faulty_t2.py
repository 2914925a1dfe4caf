"""Deliberately wrong T2 backends for the shadow tests, registered on a test target."""

from __future__ import annotations

import dataclasses

from runners.reference import PythonBackend
from runners.shadow_t2 import make_target
from runners.types import CandidateTable, Decision, Ranking, ReplayEvaluation, SearchSpace


class SwappedRank(PythonBackend):
    """Swaps the first two ranked candidates (an ordering bug: critical)."""

    name = "swapped_rank"

    def rank_candidates(self, *args, **kwargs) -> Ranking:  # type: ignore[no-untyped-def]
        r = super().rank_candidates(*args, **kwargs)
        if len(r.ranked) < 2:
            return r
        ranked = (r.ranked[1], r.ranked[0], *r.ranked[2:])
        return dataclasses.replace(r, ranked=ranked)


class FlippedGate(PythonBackend):
    """Flips the stability gate (critical)."""

    name = "flipped_gate"

    def evaluate_replay(self, *args, **kwargs) -> ReplayEvaluation:  # type: ignore[no-untyped-def]
        e = super().evaluate_replay(*args, **kwargs)
        return dataclasses.replace(e, stability_passed=not e.stability_passed)


class DriftingScores(PythonBackend):
    """Adds 1e-9 to every score (value drift that keeps the order: minor)."""

    name = "drifting_scores"

    def enumerate_candidates(self, space: SearchSpace) -> CandidateTable:
        t = super().enumerate_candidates(space)
        return dataclasses.replace(t, scores=tuple(s + 1e-9 for s in t.scores))


class RewordedDecision(PythonBackend):
    name = "reworded_decision"

    def decide(self, *args, **kwargs) -> Decision:  # type: ignore[no-untyped-def]
        d = super().decide(*args, **kwargs)
        return dataclasses.replace(d, rationale=d.rationale.upper())


class PanickingRust:
    """The real Rust backend, except that ranking hits a Rust panic (PyO3 raises
    ``PanicException``, a ``BaseException``): the shadow must contain it."""

    name = "panicking_rust"

    def __init__(self) -> None:
        from runners.rust_backend import RustBackend

        self._inner = RustBackend()
        self.version = self._inner.version

    def __getattr__(self, op: str) -> object:
        return getattr(self._inner, op)

    def rank_candidates(self, *args, **kwargs) -> Ranking:  # type: ignore[no-untyped-def]
        import t2_sidecar._native as native

        native._panic_for_tests()
        raise AssertionError("unreachable: the call above panics")


TARGET = make_target(
    "tests.shadow_faulty_t2:TARGET",
    {
        "swapped_rank": SwappedRank,
        "flipped_gate": FlippedGate,
        "drifting_scores": DriftingScores,
        "reworded_decision": RewordedDecision,
        "panicking_rust": PanickingRust,
    },
)
