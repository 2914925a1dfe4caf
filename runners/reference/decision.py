"""The promote / iterate / refine decision (design §3.6, fixture README).

The first three rationales are the texts the recorded reports hold, reproduced verbatim. The
others say which gate each replayed candidate failed, with the measured value and the
threshold, so that a reader does not have to open the report to learn why nothing was
promoted. Numbers in them use :func:`number_pair`, which the Rust port reproduces digit for
digit (``docs/contract.md``, "Numbers in rationales").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runners.reference import checks
from runners.reference.gates import validate_thresholds
from runners.types import Decision, GateThresholds, ReplayEvaluation, Stats
from t2_sidecar import errors

PROMOTE_RATIONALE = (
    "At least one replayed candidate passed performance, correctness and stability gates."
)
NO_CORRECT_RATIONALE = "No candidate passed strict correctness filter in search phase."
ITERATE_RATIONALE = "Correct/stable candidates exist but promotion uplift threshold is not met."
NOT_REPLAYED_RATIONALE = (
    "No candidate was replayed, although some passed the correctness filter in the search phase."
)
UNSTABLE_PREFIX = "No replayed candidate is both correct and stable: "

_DEFAULT_THRESHOLDS = GateThresholds()
_MIN_DIGITS, _MAX_DIGITS = 4, 17
_PLAIN_EXPONENTS = range(-5, 6)


def number(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits (round half to even on the exact
    binary value), trailing zeros dropped; plain decimal for exponents -5..5, else
    ``<mantissa>e<exponent>``. Zero (either sign) is ``0``."""
    if value == 0.0:
        return "0"
    mantissa, _, exp_text = f"{value:.{digits - 1}e}".partition("e")
    negative = mantissa.startswith("-")
    shown = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exp_text)
    if exponent in _PLAIN_EXPONENTS:
        if exponent >= 0:
            whole = shown[: exponent + 1].ljust(exponent + 1, "0")
            fraction = shown[exponent + 1 :]
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + shown
        text = whole + ("." + fraction if fraction else "")
    else:
        text = shown[0] + ("." + shown[1:] if len(shown) > 1 else "") + f"e{exponent}"
    return ("-" if negative else "") + text


def number_pair(value: float, limit: float) -> tuple[str, str]:
    """``value`` and ``limit`` with the same number of significant digits, the fewest from 4
    up that tells them apart (distinct doubles always differ at 17)."""
    for digits in range(_MIN_DIGITS, _MAX_DIGITS + 1):
        shown, limit_shown = number(value, digits), number(limit, digits)
        if shown != limit_shown or value == limit:
            return shown, limit_shown
    return shown, limit_shown


def _versus(name: str, value: float, limit: float) -> str:
    """``name value > limit`` when the value breaks the limit, else ``name value, limit L``
    (a result flagged as failed although its value is within the limit says so)."""
    shown, limit_shown = number_pair(value, limit)
    if value > limit:
        return f"{name} {shown} > {limit_shown}"
    return f"{name} {shown}, limit {limit_shown}"


@dataclass(frozen=True)
class _Replay:
    """What the decision reads of one validated replay result."""

    correct: bool
    stable: bool
    promoted: bool
    max_error: float
    cv_peak: float | None


def _failures(label: str, r: _Replay, limits: GateThresholds) -> str:
    failed = []
    if not r.correct:
        failed.append(f"correctness ({_versus('max_error', r.max_error, limits.max_error)})")
    if not r.stable:
        if r.cv_peak is None:
            limit_shown = number(limits.max_cv, _MIN_DIGITS)
            failed.append(f"stability (cv_peak undefined, limit {limit_shown})")
        else:
            failed.append(f"stability ({_versus('cv_peak', r.cv_peak, limits.max_cv)})")
    return f"{label} failed " + " and ".join(failed)


def _check_result(r: object) -> _Replay:
    """Type, gate flags, then the numbers the rationale may quote (finite reals)."""
    checks.instance(r, ReplayEvaluation, "replay_results")
    assert isinstance(r, ReplayEvaluation)
    flags = (r.correctness_passed, r.stability_passed, r.promotion_gate_passed)
    for flag in flags:
        if not isinstance(flag, bool):
            checks.fail("wrong_type", "replay_results", f"gate flags must be bools: {flag!r}")
    checks.instance(r.max_error, Stats, "replay_results.max_error")
    max_error = checks.finite_real(r.max_error.max, "replay_results.max_error.max")
    cv_peak = None if r.cv_peak is None else checks.finite_real(r.cv_peak, "replay_results.cv_peak")
    if r.mean_delta_vs_baseline_percent is not None:
        checks.finite_real(
            r.mean_delta_vs_baseline_percent, "replay_results.mean_delta_vs_baseline_percent"
        )
    return _Replay(*flags, max_error=max_error, cv_peak=cv_peak)


def _check_labels(labels: object, count: int) -> tuple[str, ...]:
    items = checks.sequence(labels, "labels")
    for label in items:
        checks.non_empty_str(label, "labels")
        try:
            label.encode("utf-8")
        except UnicodeEncodeError:
            checks.fail(errors.INVALID_VALUE, "labels", f"{label!r} is not valid Unicode text")
    if len(items) != count:
        checks.fail(
            errors.INVALID_VALUE,
            "labels",
            f"{len(items)} label(s) for {count} replay result(s): one per result",
        )
    return tuple(items)


def decide(
    valid_count: int,
    replay_results: Sequence[ReplayEvaluation],
    thresholds: GateThresholds = _DEFAULT_THRESHOLDS,
    labels: Sequence[str] | None = None,
) -> Decision:
    """``thresholds`` are the ones the results were evaluated with (the rationale quotes
    them); ``labels`` name the results in the rationale (default ``#0``, ``#1``...)."""
    checks.int_in(valid_count, "valid_count", 0)
    results = [_check_result(r) for r in checks.sequence(replay_results, "replay_results")]
    limits = validate_thresholds(thresholds)
    names = (
        tuple(f"#{i}" for i in range(len(results)))
        if labels is None
        else _check_labels(labels, len(results))
    )
    promoted = tuple(i for i, r in enumerate(results) if r.promoted)
    if promoted:
        return Decision("promote", PROMOTE_RATIONALE, promoted)
    if valid_count == 0:
        return Decision("refine", NO_CORRECT_RATIONALE)
    if any(r.correct and r.stable for r in results):
        return Decision("iterate", ITERATE_RATIONALE)
    if not results:
        return Decision("refine", NOT_REPLAYED_RATIONALE)
    details = "; ".join(_failures(n, r, limits) for n, r in zip(names, results, strict=True))
    return Decision("refine", UNSTABLE_PREFIX + details + ".")
