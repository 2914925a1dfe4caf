"""Differential fuzzing throughput: examples per second, both backends on every example.

Runs the same fuzzer the gate runs (``shadow._fuzz.Fuzzer``, python vs rust, derandomized)
on each op with the gate's structured strategies, and on enumerate with small spaces drawn
compactly (``runners.fuzz_t2.small_space_calls``), and prints examples/s side by side.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runners.backend import OPS
from runners.fuzz_t2 import FuzzSpec, small_space_calls
from runners.shadow_t2 import make_target
from shadow._fuzz import FuzzConfig, Fuzzer, Pair
from shadow._registry import Target


def rate(target: Target, op: str, examples: int) -> tuple[int, float]:
    fuzzer = Fuzzer(target, Pair.of(target, "python", "rust"), FuzzConfig(examples, seed=0))
    start = time.perf_counter()
    result = fuzzer.run([op]).results[0]
    elapsed = time.perf_counter() - start
    return result.examples, result.examples / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=1000, help="examples per measurement")
    args = parser.parse_args()

    gate = make_target()
    small = make_target(strategies={"enumerate_candidates": FuzzSpec(small_space_calls)})
    print(f"{'op / strategy':<44}{'examples':>10}{'examples/s':>12}")
    n, r = rate(small, "enumerate_candidates", args.examples)
    print(f"{'enumerate_candidates / small spaces (<=16)':<44}{n:>10}{r:>12.0f}")
    for op in OPS:
        n, r = rate(gate, op, args.examples)
        print(f"{op + ' / gate strategy':<44}{n:>10}{r:>12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
