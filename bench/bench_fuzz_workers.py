"""Fuzzing on 1 and 2 workers: distinct findings and examples per second, same budget.

The target is the zero-code pair ``bench.planted_ref`` / ``bench.planted_port``: five
type-hinted integer functions, one planted bug each, from common (``midpoint``'s sign, a
missing range check) to rare (``to_base`` only for base 36 with a digit z). Three runs,
one after the other in this process, each with the same ``--seconds`` budget, its own
fresh example database and the same base seed:

* ``single process``: ``shadow fuzz`` as it runs without ``--workers`` (``Fuzzer.run``);
* ``dask, 1 worker`` and ``dask, 2 workers``: ``shadow fuzz --workers N``
  (``shadow._fuzz_workers.fuzz_on_workers`` on a local Dask cluster, started and torn down
  in the run).

Printed per run: distinct problems (and which ops), examples, examples per second of
search (examples / the search budget), and the wall time of the whole call (cluster and
worker start-up included). The machine has 2 cores, shared with whatever else runs:
2 workers can at best double the examples, and each worker's shadow runs in a process of
its own, so 4 busy processes share those 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

from shadow._fuzz import FuzzConfig, Fuzzer, FuzzReport, Pair  # noqa: E402
from shadow._fuzz_workers import fuzz_on_workers  # noqa: E402
from shadow._registry import load_target  # noqa: E402

SPEC = "pair:bench.planted_ref,bench.planted_port"


def run(workers: int | None, seconds: float, seed: int, folder: Path) -> tuple[FuzzReport, float]:
    target = load_target(SPEC)
    database = folder / "examples"
    config = FuzzConfig(max_examples=10**9, seconds=seconds, seed=seed)
    t0 = time.perf_counter()
    if workers is None:
        config = FuzzConfig(
            max_examples=10**9,
            seconds=seconds,
            seed=seed,
            database=DirectoryBasedExampleDatabase(str(database)),
        )
        report = Fuzzer(target, Pair.of(target), config).run()
    else:
        fuzzer = Fuzzer(target, Pair.of(target), config)
        ops, _ = fuzzer.fuzzable_ops()
        report = fuzz_on_workers(fuzzer, ops, workers=workers, database=str(database))
    return report, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="search budget per run")
    parser.add_argument("--seed", type=int, default=20261201, help="base seed of every run")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the three runs, each round in a rotated order",
    )
    args = parser.parse_args()
    configs = [("single process", None), ("dask, 1 worker", 1), ("dask, 2 workers", 2)]
    rates: dict[str, list[float]] = {label: [] for label, _ in configs}
    print(f"target {SPEC}, {args.seconds:g} s of search per run, base seed {args.seed}")
    print("machine: 2 shared cores (other work may be running: figures are noisy)")
    print(f"{'run':<18}{'problems':>9}{'examples':>10}{'examples/s':>12}{'wall s':>9}  ops found")
    for round_no in range(args.repeat):
        shift = round_no % len(configs)
        for label, workers in configs[shift:] + configs[:shift]:
            with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
                report, wall = run(workers, args.seconds, args.seed, Path(tmp))
            examples = sum(r.examples for r in report.results)
            ops = sorted({f.op for f in report.findings})
            errors = [e for r in report.results for e in r.errors]
            rate = examples / args.seconds
            rates[label].append(rate)
            print(
                f"{label:<18}{len(report.findings):>9}{examples:>10}{rate:>12.0f}{wall:>9.1f}  "
                + ", ".join(ops)
                + (f"  errors: {errors}" if errors else ""),
                flush=True,
            )
    single = statistics.median(rates["single process"])
    for label in ("dask, 1 worker", "dask, 2 workers"):
        ratio = statistics.median(rates[label]) / single
        print(f"examples/s, {label} / single process (medians): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
