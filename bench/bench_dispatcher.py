"""Dispatcher costs, side by side in one process, printed as ratios against the targets.

Run: ``.venv/bin/python bench/bench_dispatcher.py [--quick] [--only SECTION ...]``. Numbers
are medians or bests of a few repeats; the machine's noise is real, so read the ratios, not
the last digit.

Sections: ``overhead`` (off/sync in-process), ``async`` (thread isolation, a 1 ms call),
``process`` (sync process isolation through the Dispatcher: a small call against a bare
``multiprocessing`` pipe round trip, and a 1e5-element input next to thread isolation),
``async-process`` (the primary's latency with the shadow in a worker process, and how many
small calls per second the shadow side absorbs), ``load`` (20,000 calls with a 10,000-element
list input and a shadow slower than the primary: the primary's latency, the peak RSS and the
skipped share), ``log``, ``compare``.

The process sections need the main-module guard at the bottom: process isolation starts its
fork server with multiprocessing's ``spawn``, which imports this module again.
"""

from __future__ import annotations

import argparse
import gc
import pickle
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
from shadow._codec import TypedCodec
from shadow._compare import compare_values
from shadow._dispatcher import Dispatcher
from shadow._registry import OpSpec, Target


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

    def total(self, xs: list[int]) -> int:
        return sum(xs)


class SlowTotal(Noop):
    """A shadow slower than the primary: the same sum, then as long again in native code."""

    name = "slow"

    def total(self, xs: list[int]) -> int:
        t0 = time.perf_counter()
        result = sum(xs)
        time.sleep(max(time.perf_counter() - t0, 1e-4))
        return result


TOY = Target(
    "bench",
    "bench.bench_dispatcher:TOY",
    {"a": Noop, "b": Noop, "slow": SlowTotal},
    [
        OpSpec("const", codec=TypedCodec()),
        OpSpec("sleep", codec=TypedCodec()),
        OpSpec("total", codec=TypedCodec()),
    ],
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
    # Inline (no timeout): the shadow in the caller's thread, the cheapest sync path.
    sync_d = Dispatcher(TOY, primary=a, shadow=b, mode="sync", timeout_s=None)
    sync = sync_d.wrap().const
    # The default: a hard timeout, so the shadow runs on a runner thread (a hand-off a call).
    timed_d = Dispatcher(TOY, primary=a, shadow=b, mode="sync")
    timed = timed_d.wrap().const
    t_off = per_call(off, n)
    t_sync = per_call(sync, n)
    t_timed = per_call(timed, max(n // 20, 1000))

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
    o_timed = t_timed - 2 * direct
    print(
        f"sync overhead, inline       {o_sync * 1e6:8.3f} us   target <= 1 us     {'OK' if o_sync <= 1e-6 else 'MISS'}"
    )
    print(
        f"sync overhead, hard timeout {o_timed * 1e6:8.3f} us   (runner-thread hand-off: the price of never stalling)"
    )
    print(
        f"laboratory overhead         {o_lab * 1e6:8.3f} us   = {o_lab / o_sync:5.1f}x sync (target >= 8x) {'OK' if o_lab >= 8 * o_sync else 'MISS'}"
    )
    sync_d.close()
    timed_d.close()


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
        verdict = compare_values(first, second)
        t_cmp = time.perf_counter() - t0
        assert verdict.status == "match"
        ratio = t_cmp / t_enum
        print(
            f"compare equal {size:>9,} rows {t_cmp * 1e3:8.1f} ms = {ratio:6.3f}x enumerate ({t_enum:.2f} s)"
            f"   target <= 0.3x   {'OK' if ratio <= 0.3 else 'MISS'}"
        )


def ok_or_miss(ok: bool) -> str:
    return "OK" if ok else "MISS"


def rss_mb() -> float:
    """Resident memory of this process now, MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def bench_process(n_small: int, n_big: int, repeats: int) -> None:
    """Sync process isolation through the Dispatcher, side by side with its floors."""
    from bench.bench_isolation import BarePipe, echo, interleaved

    a = Noop()
    thread_d = Dispatcher(TOY, primary=a, shadow="b", mode="sync", isolation="thread")
    proc_d = Dispatcher(TOY, primary=a, shadow="b", mode="sync", isolation="process")
    thread, proc = thread_d.wrap(), proc_d.wrap()
    pipe = BarePipe(echo)
    small = pickle.dumps(((1, 2), {}), protocol=pickle.HIGHEST_PROTOCOL)
    assert proc.const(3) == 7  # the worker is up before the clock starts
    t = interleaved(
        {
            "direct": lambda: a.const(3),
            "pipe": lambda: pipe.trip(small),
            "process": lambda: proc.const(3),
            "thread": lambda: thread.const(3),
        },
        n_small,
        repeats,
    )
    overhead = t["process"] - t["direct"]
    ratio = overhead / t["pipe"]
    print(f"bare multiprocessing pipe round trip    {t['pipe'] * 1e6:9.1f} us")
    print(
        f"sync, process isolation, small call     {overhead * 1e6:9.1f} us overhead"
        f" = {ratio:5.2f}x the pipe   target <= 3x     {ok_or_miss(ratio <= 3)}"
    )
    print(f"sync, thread isolation, small call      {(t['thread'] - t['direct']) * 1e6:9.1f} us")
    xs = list(range(100_000))
    t = interleaved(
        {
            "direct": lambda: a.total(xs),
            "thread": lambda: thread.total(xs),
            "process": lambda: proc.total(xs),
        },
        n_big,
        repeats,
    )
    print(
        f"1e5-element list input: direct {t['direct'] * 1e6:,.0f} us, thread isolation"
        f" {t['thread'] * 1e6:,.0f} us, process isolation {t['process'] * 1e6:,.0f} us"
        f" = {t['process'] / t['thread']:.2f}x thread"
    )
    for d in (thread_d, proc_d):
        c = d.close().by_op
        assert not c["const"].divergences and not c["total"].divergences
    pipe.close()


def bench_async_process(n_latency: int, n_rate: int) -> None:
    """Async with the shadow in a worker process: the primary's latency, the shadow's rate."""
    a = Noop()

    def median_latency(fn: Callable[[int], Any], n: int) -> float:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(3)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    off = Dispatcher(TOY, primary=a, shadow="b", mode="off").wrap()
    d = Dispatcher(TOY, primary=a, shadow="b", mode="async", isolation="process")
    on = d.wrap()
    on.const(3)
    d_off = median_latency(off.sleep, 50)  # warm both up
    median_latency(on.sleep, 50)
    t_off, t_on = [], []
    for _ in range(5):  # in turns, so load from other work hits both alike
        t_off.append(median_latency(off.sleep, n_latency // 5))
        t_on.append(median_latency(on.sleep, n_latency // 5))
    d_off, d_on = statistics.median(t_off), statistics.median(t_on)
    ratio = d_on / d_off
    c = d.close().by_op["sleep"]
    print(
        f"1 ms call median, async+process/off      {ratio:6.3f}x   target <= 1.05x  "
        f"{ok_or_miss(ratio <= 1.05)}   ({d_off * 1e3:.3f} ms vs {d_on * 1e3:.3f} ms;"
        f" shadowed {c.matched}, skipped {c.skipped})"
    )
    rates = []
    for _ in range(3):
        d = Dispatcher(
            TOY, primary=a, shadow="b", mode="async", isolation="process", queue_size=n_rate
        )
        call = d.wrap().const
        call(3)
        d.close()  # (a fresh dispatcher per try; its worker started before the clock)
        d = Dispatcher(
            TOY, primary=a, shadow="b", mode="async", isolation="process", queue_size=n_rate
        )
        call = d.wrap().const
        assert d.runner is not None
        start = getattr(d.runner, "start", None)
        if callable(start):
            start()
        t0 = time.perf_counter()
        for _ in range(n_rate):
            call(3)
        c = d.close(timeout_s=120.0).by_op["const"]
        elapsed = time.perf_counter() - t0
        rates.append((c.matched / elapsed, c.matched, c.skipped))
    rate, matched, skipped = max(rates)
    print(
        f"shadowed small calls/s, async+process   {rate:9,.0f}/s   target >= 20,000/s "
        f"{ok_or_miss(rate >= 20_000)}   (best of 3: {matched:,} of {n_rate:,} judged, "
        f"{skipped} skipped)"
    )


def bench_load(n: int, isolations: tuple[str, ...], repeats: int = 3) -> None:
    """20,000 calls with a 10,000-element list input and a slower shadow, async.

    Phases alternate (shadow off, then async with a fresh dispatcher), ``repeats`` times, so
    drift on the machine hits both alike; the ratio is of the medians of the phases'
    medians. The RSS growth is the largest seen during an async phase."""
    xs = list(range(10_000))
    a = Noop()
    off = Dispatcher(TOY, primary=a, shadow="b", mode="off").wrap().total

    def run(fn: Callable[[list[int]], int]) -> tuple[float, float]:
        samples = []
        base = rss_mb()
        peak = base
        for i in range(n):
            t0 = time.perf_counter()
            fn(xs)
            samples.append(time.perf_counter() - t0)
            if i % 500 == 0:
                peak = max(peak, rss_mb())
        return statistics.median(samples), peak - base

    for isolation in isolations:
        t_off: list[float] = []
        t_on: list[float] = []
        grew = 0.0
        skipped = sampled = shadowed = 0
        for _ in range(repeats):
            gc.collect()
            t_off.append(run(off)[0])
            d = Dispatcher(TOY, primary=a, shadow="slow", mode="async", isolation=isolation)
            on = d.wrap().total
            on(xs)  # the worker is up before the clock starts
            median, rss = run(on)
            t_on.append(median)
            grew = max(grew, rss)
            c = d.close().by_op["total"]
            skipped += c.skipped
            sampled += c.sampled
            shadowed += c.matched + c.divergences
        base, loaded = statistics.median(t_off), statistics.median(t_on)
        ratio = loaded / base
        print(
            f"load, async+{isolation:<7} primary median {ratio:6.3f}x off   target <= 1.2x "
            f"{ok_or_miss(ratio <= 1.2)}   ({base * 1e6:,.0f} us vs {loaded * 1e6:,.0f} us,"
            f" medians of {repeats} phases of {n:,} calls); RSS +{grew:,.0f} MiB at most;"
            f" shadowed {shadowed:,}, skipped {skipped:,} ({skipped / max(sampled, 1):.0%})"
        )


def bench_log(n: int) -> None:
    """The event writer, with the previous design side by side (more in bench/bench_log.py)."""
    bench_writer(max(n // 20, 1_000), 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (no 1e6 compare)")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, metavar="SECTION", help="run these sections only"
    )
    args = parser.parse_args()
    quick = args.quick
    n = 50_000 if quick else 300_000
    sections: dict[str, Callable[[], None]] = {
        "overhead": partial(bench_overhead, n),
        "async": partial(bench_async, 300 if quick else 1500),
        "process": partial(bench_process, 500 if quick else 2000, 5 if quick else 20, 5),
        "async-process": partial(bench_async_process, 300 if quick else 1500, 50_000),
        "load": partial(bench_load, 5_000 if quick else 20_000, ("thread", "process")),
        "log": partial(bench_log, 20_000 if quick else 100_000),
        "compare": partial(bench_compare, [100_000] if quick else [100_000, 1_000_000]),
    }
    for name, section in sections.items():
        if args.only and name not in args.only:
            continue
        # Each section starts from a collected heap: one section's garbage does not bill the next.
        gc.collect()
        section()


SECTIONS = ("overhead", "async", "process", "async-process", "load", "log", "compare")


if __name__ == "__main__":
    main()
