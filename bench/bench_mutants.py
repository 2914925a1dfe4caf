"""Seed rate of the gate's mutation self-check: how many random seeds catch each T2 mutant.

The CI gate runs with one fixed seed, so "the gate catches mutant X" says little about the
strategies: a seed can be lucky. This bench runs the gate's own code path (``run_gate`` with
no corpus, no baseline, the mutant's op only, the mutant as the shadow, the CI budget of
examples per op) once per mutant and per seed, the seeds drawn at random and printed (pass
``--seed-list`` to rerun exactly), and prints per mutant: seeds that caught it, the largest
and the median number of distinct problems (signatures) a run reported (one cause should be
one problem), the median number of examples before the first divergence and the median
seconds of a run.

Run: ``.venv/bin/python bench/bench_mutants.py [--seeds 20] [--isolation thread] [--jobs 2]``.
``--check-isolation MUTANT`` runs one mutant on the same seeds in both isolations and says
whether detection and signatures agree (the thread isolation is the faster one to measure
with; the gate's CI default is the process one). The machine's cores are shared: the
seconds are indicative, the rates and signature counts are not timing-dependent.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shadow._gate import GATE_PROFILES, GateConfig, run_gate
from tests.mutants_t2 import MUTANTS, TARGET, Mutant


@dataclass(frozen=True)
class Run:
    """One gate run on one mutant with one seed."""

    mutant: str
    seed: int
    isolation: str
    caught: bool
    signatures: tuple[str, ...]
    parts: tuple[tuple[str, ...], ...]
    severities: tuple[str, ...]
    first_divergence_at: int | None
    examples: int
    rounds: int
    seconds: float
    errors: tuple[str, ...]


def _mutant(name: str) -> type[Mutant]:
    for m in MUTANTS:
        if m.name == name:
            return m
    known = ", ".join(m.name for m in MUTANTS)
    raise SystemExit(f"bench_mutants: no mutant {name!r} (known: {known})")


def run_one(name: str, seed: int, isolation: str, budget: int) -> Run:
    """The gate exactly as CI runs it, for one mutant's op, with ``seed``."""
    mutant = _mutant(name)
    config = GateConfig(
        corpus=None,
        baseline=None,
        examples=budget,
        ops=(mutant.op,),
        log=None,
        primary="python",
        shadow=mutant.name,
        seed=seed,
        isolation=isolation,
    )
    t0 = time.perf_counter()
    result = run_gate(TARGET, config)
    seconds = time.perf_counter() - t0
    assert result.fuzz is not None
    (op_result,) = result.fuzz.results
    findings = op_result.findings
    return Run(
        mutant=name,
        seed=seed,
        isolation=isolation,
        caught=not result.ok,
        signatures=tuple(f.signature for f in findings),
        parts=tuple(f.parts for f in findings),
        severities=tuple(f.severity for f in findings),
        first_divergence_at=op_result.first_divergence_at,
        examples=op_result.examples,
        rounds=op_result.rounds,
        seconds=seconds,
        errors=tuple(op_result.errors) + result.problems,
    )


def _run_args(args: tuple[str, int, str, int]) -> Run:
    return run_one(*args)


def _median(values: list[int] | list[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def table(runs: list[Run], names: list[str], n_seeds: int) -> str:
    lines = [
        "| mutant | op | seeds caught | max signatures | median signatures "
        "| median examples to first divergence | median s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        mine = [r for r in runs if r.mutant == name]
        caught = sum(r.caught for r in mine)
        sigs = [len(r.signatures) for r in mine]
        firsts = [r.first_divergence_at for r in mine if r.first_divergence_at is not None]
        lines.append(
            f"| {name} | {_mutant(name).op} | {caught}/{n_seeds} | {max(sigs, default=0)} "
            f"| {_fmt(_median(sigs), 1)} | {_fmt(_median(firsts))} "
            f"| {_fmt(_median([r.seconds for r in mine]), 1)} |"
        )
    return "\n".join(lines)


def _describe(run: Run) -> str:
    status = "caught" if run.caught else "MISSED"
    causes = "; ".join(" & ".join(p) for p in run.parts) or "-"
    extra = f" errors={list(run.errors)}" if run.errors else ""
    return (
        f"{run.mutant:<26} seed={run.seed:<11} {run.isolation:<7} {status} "
        f"sigs={len(run.signatures)} first={run.first_divergence_at} ex={run.examples} "
        f"rounds={run.rounds} {run.seconds:.1f}s [{','.join(run.severities)}] {causes}{extra}"
    )


def _execute(jobs: list[tuple[str, int, str, int]], workers: int) -> list[Run]:
    runs: list[Run] = []
    if workers <= 1:
        for job in jobs:
            run = _run_args(job)
            print(_describe(run), file=sys.stderr, flush=True)
            runs.append(run)
        return runs
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for run in pool.map(_run_args, jobs):
            print(_describe(run), file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def check_isolation(name: str, seeds: list[int], budget: int, workers: int) -> int:
    """Same mutant, same seeds, thread vs process: do detection and signatures agree?"""
    jobs = [(name, s, iso, budget) for s in seeds for iso in ("thread", "process")]
    runs = _execute(jobs, workers)
    by = {(r.seed, r.isolation): r for r in runs}
    differ = 0
    for s in seeds:
        t, p = by[(s, "thread")], by[(s, "process")]
        same = t.caught == p.caught and set(t.signatures) == set(p.signatures)
        differ += not same
        print(
            f"seed {s}: thread caught={t.caught} sigs={sorted(t.signatures)} {t.seconds:.1f}s | "
            f"process caught={p.caught} sigs={sorted(p.signatures)} {p.seconds:.1f}s"
            f"{'' if same else '  <- DIFFERENT'}"
        )
    print(
        f"{name}: thread and process isolation "
        + ("agree on every seed" if not differ else f"differ on {differ} of {len(seeds)} seeds")
    )
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="random seeds per mutant")
    parser.add_argument("--seed-list", help="comma-separated seeds instead of random ones")
    parser.add_argument("--isolation", choices=("thread", "process"), default="thread")
    parser.add_argument("--budget", type=int, default=GATE_PROFILES["ci"], help="examples/op")
    parser.add_argument("--mutants", help="comma-separated mutant names (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="gate runs in parallel")
    parser.add_argument("--check-isolation", metavar="MUTANT", help="thread vs process")
    args = parser.parse_args()

    if args.seed_list:
        seeds = [int(s) for s in args.seed_list.split(",") if s.strip()]
    else:
        rng = random.SystemRandom()
        seeds = [rng.getrandbits(32) for _ in range(args.seeds)]
    print(f"seeds: {','.join(map(str, seeds))}", flush=True)
    t0 = time.perf_counter()
    if args.check_isolation:
        _mutant(args.check_isolation)
        return check_isolation(args.check_isolation, seeds, args.budget, args.jobs)
    names = [m.name for m in MUTANTS]
    if args.mutants:
        names = [_mutant(n.strip()).name for n in args.mutants.split(",") if n.strip()]
    jobs = [(name, s, args.isolation, args.budget) for name in names for s in seeds]
    runs = _execute(jobs, args.jobs)
    print(
        f"\nCI budget {args.budget} examples/op, {args.isolation} isolation, "
        f"{len(seeds)} seeds, {len(runs)} gate runs in {time.perf_counter() - t0:.0f}s\n"
    )
    print(table(runs, names, len(seeds)))
    missed = sum(not r.caught for r in runs)
    over = sum(len(r.signatures) > 2 for r in runs)
    print(f"\nmissed runs: {missed}; runs with more than 2 signatures: {over}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
