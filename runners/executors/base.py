"""What the search needs from an executor: measure a candidate, replay a session.

An executor is the only impure part of a search (it touches a device or a recording); the
search itself is a sequence of deterministic backend calls around it. Failures are values,
not exceptions: a candidate that does not build or run comes back as a ``failed`` result with
the reason, so one bad kernel never ends a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, runtime_checkable

from runners.backend import Backend
from runners.types import Candidate, Measurement, ReplaySample, Stats

Status = Literal["completed", "failed"]


class ExecutorError(Exception):
    """The executor cannot run at all (no device, unreadable recording...): ends the run."""


class BadRecordingError(ExecutorError):
    """A recorded report that is missing or malformed: the user's input is wrong."""


@dataclass(frozen=True)
class ExecResult:
    """One benchmark (or one replay session) of a candidate at one size.

    ``reason`` says why a failed result failed; metrics of a failed result are None.
    ``runs`` is how many timed launches the numbers aggregate.
    """

    candidate_id: str
    size: int
    status: Status
    gflops: float | None = None
    avg_time_ms: float | None = None
    max_error: float | None = None
    runs: int = 0
    reason: str | None = None
    times_ms: tuple[float, ...] = ()
    """Raw per-launch times when the executor measured them (the recorded one has none)."""

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def with_time_stats(self, stats: Stats) -> ExecResult:
        """This result with its time and GFLOPS taken from the core's summary of its runs.

        The search asks the backend (``summarize``) for the statistics of the raw launch
        times, so that this step, like every deterministic one, is shadowed too.
        """
        if not self.ok or stats.mean <= 0.0:
            return self
        return replace(self, avg_time_ms=stats.mean, gflops=gflops_of(self.size, stats.mean))

    @staticmethod
    def failed(candidate_id: str, size: int, reason: str) -> ExecResult:
        return ExecResult(candidate_id, size, "failed", reason=reason)

    def to_measurement(self) -> Measurement:
        """The core's view of this result (what rank_candidates consumes)."""
        return Measurement(
            self.candidate_id, self.size, self.status, self.gflops, self.avg_time_ms, self.max_error
        )

    def to_replay_sample(self) -> ReplaySample:
        if not self.ok or self.gflops is None or self.avg_time_ms is None or self.max_error is None:
            raise ValueError(f"a failed session is not a replay sample: {self.reason}")
        return ReplaySample(self.gflops, self.avg_time_ms, self.max_error)


@runtime_checkable
class Executor(Protocol):
    """Runs candidates. ``measure`` is the search phase, ``replay_session`` the replay phase."""

    name: str

    def describe(self) -> dict[str, Any]:
        """What it runs on (device, driver, recording path...), for the report."""
        ...

    def validity_problem(self, candidate: Candidate) -> str | None:
        """Why the candidate cannot run here (checked before any build), or None."""
        ...

    def measure(
        self, candidate: Candidate, size: int, runs: int, warmup: int, seed: int
    ) -> ExecResult:
        """Benchmark ``runs`` timed launches after ``warmup`` untimed ones, inputs from ``seed``."""
        ...

    def replay_session(
        self,
        candidate: Candidate,
        size: int,
        session: int,
        sessions: int,
        seeds: Sequence[int],
        warmup: int,
    ) -> ExecResult:
        """Session ``session`` (0-based) of ``sessions``: one timed run per plan seed, aggregated.

        The aggregate is the mean time of the runs, GFLOPS of that mean time, and the largest
        error of any run.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class CandidateProvider(Protocol):
    """An executor that brings its own candidates (a recording) instead of a search space."""

    def candidates(self, backend: Backend) -> list[Candidate]: ...


def gflops_of(size: int, time_ms: float) -> float:
    """2 n^3 floating-point operations of a square GEMM over the time taken."""
    return 2.0 * float(size) ** 3 / (time_ms * 1e-3) / 1e9
