"""Time the Python reference and the Rust port side by side, in one process.

Usage: ``python bench/bench_backends.py [--quick] [--repeat N]``

Every timing is end to end: from the backend call in Python to the returned
``runners.types`` value (for the Rust backend that includes converting the inputs and
building the output tuples and dataclasses). Each op is checked for equal results once.
"""

from __future__ import annotations

import argparse
import gc
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runners.reference import PythonBackend
from runners.rust_backend import RustBackend
from runners.types import BaselineRule, GateThresholds, Measurement, ReplaySample, SearchSpace


def space_of(n: int) -> SearchSpace:
    """A space of exactly ``n`` candidates (n in 1e4, 1e5, 1e6; 1e6 is the issue's space)."""
    kernels = {10_000: 2, 100_000: 20, 1_000_000: 20}[n]
    unrolls = {10_000: 50, 100_000: 50, 1_000_000: 50}[n]
    widths = {10_000: 1, 100_000: 1, 1_000_000: 10}[n]
    return SearchSpace(
        kernels=[f"tile{i}" for i in range(kernels)],
        vector_widths=list(range(1, widths + 1)),
        unroll_k_values=list(range(unrolls)),
        local_sizes=[(x, y) for x in range(1, 11) for y in range(1, 11)],
    )


def measurements_of(n: int, seed: int = 7) -> list[Measurement]:
    rng = random.Random(seed)
    sizes = (512, 1024, 2048, 4096)
    per_size = n // len(sizes)
    out: list[Measurement] = []
    for size in sizes:
        baseline = "t20_prod_v4_u10_l10" if size < 1800 else "t24_prod_v4_u0_l12"
        out.append(Measurement(baseline, size, "completed", 500.0, 1.0, 1e-5))
        for i in range(per_size - 1):
            if rng.random() < 0.05:
                out.append(Measurement(f"cand{i}", size, "failed", None, None, None))
            else:
                out.append(
                    Measurement(
                        f"cand{i}",
                        size,
                        "completed",
                        round(rng.uniform(100.0, 900.0), 2),
                        rng.uniform(0.5, 5.0),
                        rng.choice((1e-5, 2e-4, 5e-3)),
                    )
                )
    return out


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        del result
    result = fn()
    return best, result


@dataclass
class Row:
    op: str
    python_s: float
    rust_s: float
    equal: bool

    @property
    def ratio(self) -> float:
        return self.python_s / self.rust_s if self.rust_s > 0 else float("inf")


_MEMORY_PROBE = """
import gc, resource, sys, tracemalloc
sys.path[:0] = [{bench!r}, {root!r}]
from bench_backends import space_of
from runners.reference import PythonBackend
space = space_of({n})
gc.collect()
if {traced}:
    tracemalloc.start()
table = PythonBackend().enumerate_candidates(space)
if {traced}:
    print(tracemalloc.get_traced_memory()[1] / 2**20)
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_memory_of_reference_enumerate(n: int) -> tuple[float, float]:
    """(tracemalloc peak MiB, max RSS MiB) of the reference's enumerate of n candidates.

    Each figure comes from a fresh interpreter that does only that (tracemalloc's own
    bookkeeping would inflate the RSS, so the two are measured in separate processes).
    """
    here = Path(__file__).resolve().parent

    def probe(traced: bool) -> float:
        code = _MEMORY_PROBE.format(bench=str(here), root=str(here.parent), n=n, traced=traced)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        run.check_returncode()
        return float(run.stdout)

    return probe(True), probe(False)


def run_enumerate(space: SearchSpace, backend: Any) -> Any:
    return backend.enumerate_candidates(space)


def run_plan(ids: list[str], backend: Any) -> Any:
    return backend.build_replay_plan(ids, 10, 100, 42)


def run_summarize(samples: list[float], backend: Any) -> Any:
    return backend.summarize(samples)


def run_rank(measurements: list[Measurement], backend: Any) -> Any:
    return backend.rank_candidates(measurements, 1e-3, BaselineRule.original(), "delta")


def run_evaluate(samples: list[ReplaySample], backend: Any) -> Any:
    return backend.evaluate_replay(samples, 480.0, GateThresholds())


def run_decide(results: list[Any], backend: Any) -> Any:
    return backend.decide(1, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (best is kept)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)

    py, rs = PythonBackend(), RustBackend()
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    plan_n = 10_000 if args.quick else 100_000
    sample_n = 100_000 if args.quick else 1_000_000
    rank_n = 10_000 if args.quick else 100_000

    cases: list[tuple[str, Callable[[Any], Any]]] = []
    for n in sizes:
        cases.append((f"enumerate {n:.0e}", partial(run_enumerate, space_of(n))))
    ids = [f"cand{i}" for i in range(plan_n // (10 * 100))]
    cases.append((f"replay plan {plan_n:.0e}", partial(run_plan, ids)))
    rng = random.Random(3)
    samples = [rng.gauss(500.0, 25.0) for _ in range(sample_n)]
    cases.append((f"summarize {sample_n:.0e}", partial(run_summarize, samples)))
    if sample_n != rank_n:
        cases.append((f"summarize {rank_n:.0e}", partial(run_summarize, samples[:rank_n])))
    cases.append((f"rank {rank_n:.0e}", partial(run_rank, measurements_of(rank_n))))
    replay = [
        ReplaySample(rng.gauss(500.0, 5.0), rng.gauss(2.0, 0.01), rng.uniform(0.0, 1e-3))
        for _ in range(rank_n)
    ]
    cases.append((f"evaluate_replay {rank_n:.0e}", partial(run_evaluate, replay)))
    evaluation = py.evaluate_replay(replay[:10], 480.0)
    results = [evaluation] * rank_n
    cases.append((f"decide {rank_n:.0e}", partial(run_decide, results)))

    rows: list[Row] = []
    for label, call in cases:
        t_py, r_py = best_of(partial(call, py), repeat)
        t_rs, r_rs = best_of(partial(call, rs), repeat)
        rows.append(Row(label, t_py, t_rs, r_py == r_rs))
        del r_py, r_rs

    mem_n = sizes[-1]
    tm_peak, rss = peak_memory_of_reference_enumerate(mem_n)

    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"T2 core: Python reference vs Rust port ({rs.version}), best of {repeat}",
        )
        for col in ("op", "python (s)", "rust (s)", "speed-up", "equal"):
            table.add_column(col, justify="left" if col == "op" else "right")
        for r in rows:
            table.add_row(
                r.op, f"{r.python_s:.4f}", f"{r.rust_s:.4f}", f"{r.ratio:.1f}x", str(r.equal)
            )
        console = Console()
        console.print(table)
        console.print(
            f"reference enumerate {mem_n:.0e}: tracemalloc peak {tm_peak:.1f} MiB, "
            f"max RSS of a process doing only that {rss:.1f} MiB"
        )
    except ImportError:
        print(f"{'op':<22}{'python (s)':>12}{'rust (s)':>12}{'speed-up':>10}  equal")
        for r in rows:
            print(f"{r.op:<22}{r.python_s:>12.4f}{r.rust_s:>12.4f}{r.ratio:>9.1f}x  {r.equal}")
        print(
            f"reference enumerate {mem_n:.0e}: tracemalloc peak {tm_peak:.1f} MiB,"
            f" RSS {rss:.1f} MiB"
        )
    return 0 if all(r.equal for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
