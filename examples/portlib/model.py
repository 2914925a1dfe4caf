"""Values shared by every implementation: the dataclasses and the limits of the contract."""

from __future__ import annotations

from dataclasses import dataclass

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
I32_MIN = -(2**31)
I32_MAX = 2**31 - 1
"""Job priorities are i32 in the port, so the original checks they fit."""
MAX_ATTEMPT = 1000
"""Retries stop long before: a larger attempt number is a caller's bug."""
MAX_LATENCY_MS = 86_400_000
"""A latency sample above a day is a broken clock, not a slow job."""
MAX_SAMPLES = 1_000_000
"""Samples per summary: keeps every sum exact in a double, so a port's mean matches."""


@dataclass(frozen=True)
class Job:
    """A queued job: higher ``priority`` runs first, then the earlier ``submitted_ms``."""

    id: str
    priority: int
    submitted_ms: int


@dataclass(frozen=True)
class LatencySummary:
    """What the dashboard shows for a batch of latency samples.

    ``median`` is an ``int`` (a sample) for an odd count and a ``float`` (the mean of the
    two middle samples) for an even one, as the original computed it.
    """

    count: int
    minimum: int
    maximum: int
    median: int | float
    mean: float
