"""The promote / iterate / refine decision (design §3.6, fixture README)."""

from __future__ import annotations

from collections.abc import Sequence

from runners.reference import checks
from runners.types import Decision, ReplayEvaluation

PROMOTE_RATIONALE = (
    "At least one replayed candidate passed performance, correctness and stability gates."
)
NO_CORRECT_RATIONALE = "No candidate passed strict correctness filter in search phase."
ITERATE_RATIONALE = "Correct/stable candidates exist but promotion uplift threshold is not met."
UNSTABLE_RATIONALE = "No replayed candidate passed both the correctness and stability gates."


def decide(valid_count: int, replay_results: Sequence[ReplayEvaluation]) -> Decision:
    checks.int_in(valid_count, "valid_count", 0)
    results = checks.sequence(replay_results, "replay_results")
    for r in results:
        checks.instance(r, ReplayEvaluation, "replay_results")
        for flag in (r.correctness_passed, r.stability_passed, r.promotion_gate_passed):
            if not isinstance(flag, bool):
                checks.fail("wrong_type", "replay_results", f"gate flags must be bools: {flag!r}")
    promoted = tuple(i for i, r in enumerate(results) if r.promotion_gate_passed)
    if promoted:
        return Decision("promote", PROMOTE_RATIONALE, promoted)
    if valid_count == 0:
        return Decision("refine", NO_CORRECT_RATIONALE)
    if any(r.correctness_passed and r.stability_passed for r in results):
        return Decision("iterate", ITERATE_RATIONALE)
    return Decision("refine", UNSTABLE_RATIONALE)
