"""Dispatcher costs, side by side in one process, printed as ratios against the targets.

Run: ``.venv/bin/python bench/bench_dispatcher.py [--quick]``. Numbers are medians of a few
repeats; the machine's noise is real, so read the ratios, not the last digit.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import laboratory

from bench.bench_log import bench_writer
from runners.reference import PythonBackend
from runners.types import SearchSpace
from shadow.codec import TypedCodec
from shadow.compare import Outcome, compare_outcomes
from shadow.dispatcher import Dispatcher
from shadow.registry import OpSpec, Target


class Noop:
    name = "noop"
    version = "0"

    def const(self, x: int) -> int:
        return 7

    def sleep(self, x: int) -> int:
        deadline = time.perf_counter() + 0.001
        while time.perf_counter() < deadline:
            time.sleep(0.0002)  # ~1 ms that releases the GIL, like a native backend call
        return 7


TOY = Target(
    "bench",
    "bench.bench_dispatcher:TOY",
    {"a": Noop, "b": Noop},
    [OpSpec("const", codec=TypedCodec()), OpSpec("sleep", codec=TypedCodec())],
)


def per_call(fn: Callable[[int], Any], n: int, repeats: int = 5) -> float:
    """Best-of-repeats seconds per call (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(3)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def bench_overhead(n: int) -> None:
    a, b = Noop(), Noop()
    direct = per_call(a.const, n)
    off = Dispatcher(TOY, primary=a, shadow=b, mode="off").wrap().const
    sync_d = Dispatcher(TOY, primary=a, shadow=b, mode="sync")
    sync = sync_d.wrap().const
    t_off = per_call(off, n)
    t_sync = per_call(sync, n)

    def lab(x: int) -> Any:
        exp = laboratory.Experiment()
        exp.control(a.const, args=[x])
        exp.candidate(b.const, args=[x])
        return exp.conduct(randomize=False)

    t_lab = per_call(lab, max(n // 20, 1000))
    # Overhead = time beyond running the backends themselves (primary, plus shadow when on).
    o_off = t_off - direct
    o_sync = t_sync - 2 * direct
    o_lab = t_lab - 2 * direct
    print(f"direct call                 {direct * 1e6:8.3f} us")
    print(
        f"off overhead                {o_off * 1e6:8.3f} us   target <= 0.1 us   {'OK' if o_off <= 1e-7 else 'MISS'}"
    )
    print(
        f"sync overhead               {o_sync * 1e6:8.3f} us   target <= 1 us     {'OK' if o_sync <= 1e-6 else 'MISS'}"
    )
    print(
        f"laboratory overhead         {o_lab * 1e6:8.3f} us   = {o_lab / o_sync:5.1f}x sync (target >= 8x) {'OK' if o_lab >= 8 * o_sync else 'MISS'}"
    )
    sync_d.close()


def bench_async(n: int) -> None:
    a, b = Noop(), Noop()

    def median_latency(fn: Callable[[int], Any]) -> float:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(3)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    off = median_latency(Dispatcher(TOY, primary=a, shadow=b, mode="off").wrap().sleep)
    d = Dispatcher(TOY, primary=a, shadow=b, mode="async", queue_size=64)
    on = median_latency(d.wrap().sleep)
    c = d.close().by_op["sleep"]
    ratio = on / off
    print(
        f"1 ms call median, async/off {ratio:8.3f}x   target <= 1.05x   {'OK' if ratio <= 1.05 else 'MISS'}"
        f"   ({off * 1e3:.3f} ms vs {on * 1e3:.3f} ms; shadowed {c.matched}, skipped {c.skipped})"
    )


def bench_compare(sizes: list[int]) -> None:
    backend = PythonBackend()
    for size in sizes:
        # kernels x widths x unrolls x locals = size
        kernels = [f"k{i}" for i in range(size // 1000)]
        space = SearchSpace(
            kernels,
            [1, 2, 4, 8, 16],
            list(range(0, 40, 2))[:10],
            [(x, 10) for x in range(1, 21)][:20],
        )
        t0 = time.perf_counter()
        first = backend.enumerate_candidates(space)
        t_enum = time.perf_counter() - t0
        second = backend.enumerate_candidates(space)  # equal, separately built objects
        assert len(first) == size and first is not second
        t0 = time.perf_counter()
        verdict = compare_outcomes(Outcome(first), Outcome(second))
        t_cmp = time.perf_counter() - t0
        assert verdict.status == "match"
        ratio = t_cmp / t_enum
        print(
            f"compare equal {size:>9,} rows {t_cmp * 1e3:8.1f} ms = {ratio:6.3f}x enumerate ({t_enum:.2f} s)"
            f"   target <= 0.3x   {'OK' if ratio <= 0.3 else 'MISS'}"
        )


def bench_log(n: int) -> None:
    """The event writer, with the previous design side by side (more in bench/bench_log.py)."""
    bench_writer(max(n // 20, 1_000), 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (no 1e6 compare)")
    args = parser.parse_args()
    n = 50_000 if args.quick else 300_000
    # Each section starts from a collected heap, so one section's garbage does not bill the next.
    sections: list[Callable[[], None]] = [
        partial(bench_overhead, n),
        partial(bench_async, 300 if args.quick else 1500),
        partial(bench_log, 20_000 if args.quick else 100_000),
        partial(bench_compare, [100_000] if args.quick else [100_000, 1_000_000]),
    ]
    for section in sections:
        gc.collect()
        section()


if __name__ == "__main__":
    main()
