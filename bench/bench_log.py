"""Event log costs, side by side in one process, printed as ratios.

Run: ``.venv/bin/python bench/bench_log.py [--quick]``. The variants take turns in short
rounds (so a burst of load from other work on the machine hits them all alike); each figure
is the best and the median round. Read the ratios, not the last digit.

- the writer: this design (structlog's public API: a ``BoundLogger`` over our processor chain
  and our ``write(2)`` logger, with failure counting and the line cap) against the previous
  one, whose hot path is reproduced below (a bound-logger subclass that read structlog's
  private attributes to skip two copies of the event dict), and the ``flock`` mode;
- the shrinking of an event over the cap (rare: what a hostile event costs);
- the reader's per-line primitive, :func:`shadow._log.parse_line`, against a bare
  ``orjson.loads`` on intact lines, and on a torn line glued to a whole one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from shadow._log import LINE_CAP, SCHEMA, EventLog, parse_line

EVENT: dict[str, Any] = {
    "ts": "2026-01-01T00:00:00.000000Z",
    "run_id": "r",
    "call_id": "r-000001",
    "target": "m:T",
    "op": "rank_candidates",
    "kind": "value_mismatch",
    "severity": "critical",
    "source": "runtime",
    "primary": {"name": "python", "version": "1", "duration_s": 1e-4, "summary": "Ranking(...)"},
    "shadow": {"name": "rust", "version": "1", "duration_s": 1e-5, "summary": "Ranking(...)"},
    "input_digest": "sha256:" + "0" * 64,
    "input": {"args": [1, 2], "kwargs": {}},
    "input_ref": None,
    "diff": [{"path": "root.ranked[0].candidate_id", "primary": "a", "shadow": "b"}],
    "diff_count": 1,
    "signature": "0" * 16,
    "replay": "shadow replay reports/shadow.jsonl --call r-000001",
}


class PreviousDesign:
    """The previous writer's hot path, step for step: one merged dict, one rendering
    processor, one ``write(2)``, an unlocked counter; no failure handling, no cap."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._context = {"schema": SCHEMA}
        self._processors = [self._render]
        self.events_written = 0

    @staticmethod
    def _render(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> bytes:
        return orjson.dumps(event_dict, option=orjson.OPT_APPEND_NEWLINE)

    def emit(self, event: str, fields: dict[str, Any]) -> None:
        event_dict: Any = {**self._context, "event": event, **fields}
        for processor in self._processors:
            event_dict = processor(self, "msg", event_dict)
        written = os.write(self._fd, event_dict)
        if written < len(event_dict):
            raise OSError("short write")
        self.events_written += 1

    def close(self) -> None:
        os.close(self._fd)


class Rates:
    """Calls per second of one variant, per round: by the wall clock, and by the CPU time of
    the calling thread (less disturbed by other work preempting this process)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def describe(self, unit: str = "/s") -> str:
        return (
            f"wall best {max(self.wall):>10,.0f}{unit} median {statistics.median(self.wall):>10,.0f}"
            f"{unit}   cpu best {max(self.cpu):>10,.0f}{unit}"
        )

    def ratio(self, other: Rates) -> str:
        """This variant against ``other``: CPU best, and wall-clock median."""
        cpu = max(self.cpu) / max(other.cpu)
        wall = statistics.median(self.wall) / statistics.median(other.wall)
        return f"{cpu:.2f}x (cpu best), {wall:.2f}x (wall median)"


def interleaved(
    variants: dict[str, Callable[[], object]], per_round: int, rounds: int
) -> dict[str, Rates]:
    """The rates of each variant; the variants take turns every round."""
    rates = {name: Rates() for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            w0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(per_round):
                fn()
            c1, w1 = time.thread_time(), time.perf_counter()
            rates[name].wall.append(per_round / (w1 - w0))
            rates[name].cpu.append(per_round / max(c1 - c0, 1e-9))
    return rates


def bench_writer(per_round: int, rounds: int) -> dict[str, Rates]:
    """Events/s of the previous writer, this one, and this one under flock; prints ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        previous = PreviousDesign(Path(tmp) / "previous.jsonl")
        current = EventLog(Path(tmp) / "current.jsonl")
        locked = EventLog(Path(tmp) / "locked.jsonl", lock=True)
        rates = interleaved(
            {
                "previous": lambda: previous.emit("divergence", EVENT),
                "current": lambda: current.emit("divergence", EVENT),
                "flock": lambda: locked.emit("divergence", EVENT),
            },
            per_round,
            rounds,
        )
        size = current.path.stat().st_size / current.events_written
        assert current.path.read_bytes() == (Path(tmp) / "previous.jsonl").read_bytes()
        assert current.events_lost == 0
        for log in (previous, current, locked):
            log.close()
    best = max(rates["current"].wall)
    print(f"events logged, previous design   {rates['previous'].describe()}")
    print(
        f"events logged, this design       {rates['current'].describe()}"
        f"   = {rates['current'].ratio(rates['previous'])} previous"
        f"   ({size:.0f} B/event, one write(2) each)"
        f"   target >= 150k/s {'OK' if best >= 150_000 else 'MISS'}"
    )
    print(
        f"events logged, flock mode        {rates['flock'].describe()}"
        f"   = {rates['flock'].ratio(rates['current'])} single-write (network filesystems)"
    )
    return rates


def bench_oversized(per_round: int, rounds: int) -> None:
    """The cost of an event over the cap (a 4 MiB message): rendered, shrunk, re-rendered."""
    big = {**EVENT, "message": "m" * (4 * LINE_CAP)}
    with tempfile.TemporaryDirectory() as tmp:
        log = EventLog(Path(tmp) / "big.jsonl")
        rates = interleaved({"big": lambda: log.emit("divergence", big)}, per_round, rounds)
        assert log.events_truncated == log.events_written
        log.close()
    print(f"events over the cap (4 MiB)      {rates['big'].describe()}")


def bench_reader(per_round: int, rounds: int) -> None:
    """``parse_line`` against a bare ``orjson.loads``: what every reader pays per line."""
    whole = orjson.dumps({"schema": SCHEMA, "event": "divergence", **EVENT}) + b"\n"
    torn = whole[: len(whole) // 2] + whole
    rates = interleaved(
        {
            "loads": lambda: orjson.loads(whole),
            "parse_line": lambda: parse_line(whole),
            "torn": lambda: parse_line(torn),
        },
        per_round,
        rounds,
    )
    loads = rates["loads"]
    print(f"intact line, bare orjson.loads   {loads.describe()}")
    print(f"intact line, parse_line          {rates['parse_line'].describe()}", end="")
    print(f"   = {rates['parse_line'].ratio(loads)} loads")
    print(f"torn + whole line, parse_line    {rates['torn'].describe()}", end="")
    print(f"   = {rates['torn'].ratio(loads)} loads")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    rounds = 7 if args.quick else 21
    bench_writer(2_000 if args.quick else 5_000, rounds)
    bench_oversized(5 if args.quick else 20, rounds)
    bench_reader(20_000 if args.quick else 50_000, rounds)


if __name__ == "__main__":
    main()
