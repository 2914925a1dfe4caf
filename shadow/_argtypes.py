"""Command-line number types: one rule and one message for each kind of number.

``shadow verify --timeout``, ``t2-search --shadow-timeout`` and the others refuse the same
input with the same words (argparse puts the option's name in front), instead of each
command keeping its own copy of the check.
"""

from __future__ import annotations

import argparse
import math


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def positive_seconds(text: str) -> float:
    """A finite number of seconds above zero."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A rate within 0..1 (a sample rate, a record rate)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number within 0..1, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (workers, examples)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def megabytes(text: str) -> int:
    """A whole number of MB, 0 meaning no limit."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of MB >= 0, got {text!r}")
    return value
