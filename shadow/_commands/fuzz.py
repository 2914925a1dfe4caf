"""``shadow fuzz``: hunt every distinct divergence of a target's ops (or of a ``--pair``).

Why a command of its own (the gate also fuzzes): developers want to fuzz longer, with other
seeds, one op at a time, or with an example database shared by a fleet, while the gate is
fixed. Each run prints its seed; findings are written as ``divergence`` events (``source:
"fuzz"``) to ``--log``, each with its ``shadow replay`` command, and ``shadow replay LOG
--call ID --save`` pins it in the corpus.

``--workers N`` fuzzes on N Dask workers (a local cluster, or ``--scheduler ADDRESS``'s),
each with its own seed, sharing the example database (``--database DIR`` or
``redis://HOST:PORT/DB``); their findings come back to this process, which writes the one
log and prints the one report (:mod:`shadow._fuzz_workers`).

Exit status: 0 nothing diverged, 1 findings, 2 could not check (usage error, target not
loadable, fuzzing itself failed).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from shadow._commands._common import (
    add_isolation_options,
    add_target_options,
    chosen_ops,
    description,
    target_or_none,
)
from shadow._terminal import make_console, print_table

if TYPE_CHECKING:
    from shadow._fuzz import Fuzzer, FuzzReport

DEFAULT_LOG = Path("reports/fuzz.jsonl")
DEFAULT_DATABASE = Path(".hypothesis/shadow-fuzz")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "fuzz",
        help="fuzz every registered op on both implementations; log shrunk divergences",
        description=description(__doc__),
        epilog=(
            "exit status: 0 nothing diverged, 1 divergences found, 2 could not check "
            "(usage, target not loadable, fuzzing failed)\n\n"
            "examples:\n"
            "  shadow fuzz --seconds 60                 # hunt every op for a minute\n"
            "  shadow fuzz --ops summarize --examples 2000 --seed 7\n"
            "  shadow fuzz --isolation thread           # faster, but a native crash ends the run\n"
            "  shadow fuzz --workers 2 --seconds 600    # two processes, one shared database\n"
            "  shadow fuzz --scheduler tcp://HOST:8786 --database redis://HOST:6379/0 --seconds 3600\n"
            "  shadow replay reports/fuzz.jsonl --call ID --save   # pin a finding in the corpus"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(p)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help="examples per op (default 200; with --workers, shared out between them)",
    )
    budget.add_argument(
        "--seconds",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock budget of the whole run, shared by the ops (instead of a count; "
        "with --workers, every worker searches that long, side by side)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="search seed (default: random, printed and logged)"
    )
    add_isolation_options(p, memory=True)
    p.add_argument(
        "--log",
        type=Path,
        default=DEFAULT_LOG,
        metavar="PATH",
        help=f"event log (default {DEFAULT_LOG})",
    )
    db = p.add_mutually_exclusive_group()
    db.add_argument(
        "--database",
        default=str(DEFAULT_DATABASE),
        metavar="DIR|redis://HOST:PORT/DB",
        help=f"example database shared by runs and workers: a directory (default "
        f"{DEFAULT_DATABASE}) or a Redis URL (across machines)",
    )
    db.add_argument("--no-database", action="store_true", help="do not save or replay examples")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="fuzz on N Dask workers, each with its own seed (base seed + index), sharing the "
        "example database; one log, one report (default 1: in this process; with "
        "--scheduler: one per thread of the cluster)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the workers on an existing Dask cluster (tcp://HOST:8786) instead of a "
        "local one started for the run",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from shadow._distributed import DistributedError
    from shadow._fuzz import FuzzConfig, Fuzzer, FuzzSetupError, Pair
    from shadow._fuzz_workers import DatabaseError, check_database, open_database
    from shadow._log import EventLog

    console = make_console()
    if args.examples is not None and args.examples < 1:
        console.print("shadow fuzz: --examples must be at least 1", markup=False)
        return 2
    if args.seconds is not None and not args.seconds > 0:
        console.print(f"shadow fuzz: --seconds must be > 0, got {args.seconds:g}", markup=False)
        return 2
    if not args.timeout > 0:
        console.print(f"shadow fuzz: --timeout must be > 0, got {args.timeout:g}", markup=False)
        return 2
    if args.workers is not None and args.workers < 1:
        console.print(
            f"shadow fuzz: --workers must be at least 1, got {args.workers}", markup=False
        )
        return 2
    distributed = args.scheduler is not None or (args.workers or 1) > 1
    db_spec = None if args.no_database else str(args.database)
    database = None
    if db_spec is not None:
        try:
            check_database(db_spec)
            database = None if distributed else open_database(db_spec)
        except DatabaseError as exc:
            console.print(f"shadow fuzz: {exc}", highlight=False, markup=False)
            return 2
    target = target_or_none(args, console, "fuzz")
    if target is None:
        return 2
    try:
        pair = Pair.of(target, args.primary, args.shadow)
    except KeyError as exc:
        console.print(f"shadow fuzz: {exc.args[0]}", highlight=False, markup=False)
        return 2
    ops = chosen_ops(args)
    config = FuzzConfig(
        max_examples=args.examples or (200 if args.seconds is None else 10**9),
        seconds=args.seconds,
        seed=args.seed,
        database=database,
        isolation=args.isolation,
        timeout_s=args.timeout,
        memory_limit_mb=args.memory_limit or None,
    )
    from shadow._commands._progress import op_progress

    try:
        log = EventLog(args.log)
    except OSError as exc:
        console.print(
            f"shadow fuzz: cannot write the log {args.log}: {exc.strerror or exc}", markup=False
        )
        return 2
    with log:
        fuzzer = Fuzzer(target, pair, config, log=log)
        try:
            chosen, missing = fuzzer.fuzzable_ops(ops)
        except KeyError as exc:
            console.print(f"shadow fuzz: {exc.args[0]}", highlight=False, markup=False)
            return 2
        if not chosen:
            console.print(
                "shadow fuzz: no op can be fuzzed (no strategy registered or derivable from "
                f"type hints): {', '.join(missing) or 'the target has no ops'}",
                markup=False,
            )
            return 2
        budget = f"{args.seconds:g} s" if args.seconds else f"{config.max_examples} examples/op"
        headline = (
            f"shadow fuzz: {target.import_spec} ({pair.primary_name} vs {pair.shadow_name}), "
            f"seed {fuzzer.seed}, isolation {config.isolation}, {budget}"
        )
        try:
            if distributed:
                report = _on_workers(args, console, fuzzer, chosen, headline, db_spec)
            else:
                console.print(headline, highlight=False, markup=False)
                total = None if args.seconds is not None else config.max_examples
                with op_progress(chosen, total, console) as update:
                    fuzzer.progress = update
                    report = fuzzer.run(chosen)
        except (FuzzSetupError, DistributedError) as exc:
            console.print(f"shadow fuzz: {exc}", highlight=False, markup=False)
            return 2
    return _print_report(console, report, missing, args.log)


def _on_workers(
    args: argparse.Namespace,
    console: Console,
    fuzzer: Fuzzer,
    ops: list[str],
    headline: str,
    db_spec: str | None,
) -> FuzzReport:
    from shadow._fuzz_workers import fuzz_on_workers, is_redis

    def announce(where: str, n: int) -> None:
        seeds = f"seeds {fuzzer.seed}..{fuzzer.seed + n - 1}" if n > 1 else f"seed {fuzzer.seed}"
        if db_spec is None:
            share = "no example database (--no-database)"
        elif is_redis(db_spec) or args.scheduler is None:
            share = f"the example database {db_spec}"
        else:
            share = f"the example database {db_spec} (a directory: shared only where it is seen)"
        console.print(
            f"{headline}; {n} worker(s) on {where} ({seeds}), sharing {share}",
            highlight=False,
            markup=False,
        )

    return fuzz_on_workers(
        fuzzer,
        ops,
        workers=args.workers,
        scheduler=args.scheduler,
        database=db_spec,
        announce=announce,
    )


def _print_report(console: Console, report: FuzzReport, missing: list[str], log: Path) -> int:
    """The table, each finding with its replay and pin commands, the closing line; the
    exit status."""
    headers = ["op", "strategy", "examples", "rounds", "seconds", "examples/s", "matched",
               "tolerated", "diverged", "problems"]  # fmt: skip
    rows = [
        [
            r.op,
            r.strategy,
            str(r.examples),
            str(r.rounds),
            f"{r.elapsed_s:.2f}",
            f"{r.examples_per_s:.0f}",
            str(r.matched),
            str(r.tolerated),
            str(sum(r.diverged.values())),
            str(len(r.findings)),
        ]
        for r in report.results
    ]
    print_table(
        console,
        f"shadow fuzz: {report.target} ({report.primary} vs {report.shadow})",
        headers,
        rows,
    )
    for op in missing:
        console.print(f"{op}: not fuzzed (no strategy registered or derivable)", markup=False)
    from shadow._display import visible

    for r in report.results:
        for e in r.errors:
            console.print(f"{r.op}: fuzzing failed: {e}", highlight=False, markup=False)
        for f in r.findings:
            lines = [
                f"{f.op}: {f.kind} ({f.severity}), signature {f.signature}, "
                f"first seen after {f.examples_to_find} examples ({f.seconds_to_find} s), "
                f"{f.hits} hit(s)",
                f"  cause:  {'; '.join(f.parts[:4])}",
                f"  input:  {visible(f.input if f.input is not None else f.input_repr, 400)}",
            ]
            lines += [
                f"  diff:   {d['path']}: {report.primary}={visible(d['primary'], 80)} "
                f"{report.shadow}={visible(d['shadow'], 80)}"
                for d in f.event.get("diff", [])[:3]
            ]
            lines += [f"  replay: {f.replay}", f"  pin:    {f.replay} --save"]
            console.print("\n".join(lines), highlight=False, markup=False)
    problems = len(report.findings)
    errors = sum(len(r.errors) for r in report.results)
    console.print(
        f"shadow fuzz: {problems} distinct problem(s), {errors} error(s), "
        f"{sum(r.examples for r in report.results)} examples, seed {report.seed}; "
        f"events: {log}",
        highlight=False,
        markup=False,
    )
    if errors:
        return 2
    return 0 if report.ok else 1
