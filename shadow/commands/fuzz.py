"""``shadow fuzz``: differential fuzzing of a target's ops, with a summary table by op.

Why a command of its own (the gate also fuzzes): developers want to fuzz longer, with a
random seed and Hypothesis' example database (so a failure found once is tried first next
time), one op at a time, while the gate must be fixed and derandomized. Findings are
written as ``divergence`` events (``source: "fuzz"``) to ``--log``; each comes with its
``shadow replay`` command, and ``shadow replay LOG --call ID --save`` pins it in the corpus.

Exit status: 0 nothing diverged, 1 findings, 2 usage error, 3 target could not be loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shadow.commands._common import add_target_options, chosen_ops, target_or_none

DEFAULT_LOG = Path("reports/fuzz.jsonl")
DEFAULT_DATABASE = Path(".hypothesis/shadow-fuzz")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "fuzz",
        help="fuzz every registered op on both implementations; log shrunk divergences",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_target_options(p)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--examples", type=int, default=None, metavar="N", help="examples per op (default 200)"
    )
    budget.add_argument(
        "--seconds", type=float, default=None, metavar="S", help="time per op instead of a count"
    )
    p.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    p.add_argument("--derandomize", action="store_true", help="fixed search, as in the gate")
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
        type=Path,
        default=DEFAULT_DATABASE,
        metavar="DIR",
        help=f"example database (default {DEFAULT_DATABASE})",
    )
    db.add_argument("--no-database", action="store_true", help="do not save or replay examples")
    return p


def run(args: argparse.Namespace) -> int:
    from hypothesis.database import DirectoryBasedExampleDatabase

    from shadow.fuzz import FuzzConfig, Fuzzer, Pair
    from shadow.log import EventLog

    console = Console(stderr=False)
    target = target_or_none(args, console, "fuzz")
    if target is None:
        return 3
    try:
        pair = Pair.of(target, args.primary, args.shadow)
    except KeyError as exc:
        console.print(f"[red]shadow fuzz: {exc.args[0]}[/]", highlight=False)
        return 3
    ops = chosen_ops(args)
    if args.examples is not None and args.examples < 1:
        console.print("[red]shadow fuzz: --examples must be >= 1[/]")
        return 2
    database = (
        None
        if args.no_database or args.derandomize
        else DirectoryBasedExampleDatabase(args.database)
    )
    config = FuzzConfig(
        max_examples=args.examples or (200 if args.seconds is None else 100),
        seconds=args.seconds,
        seed=args.seed,
        derandomize=args.derandomize,
        database=database,
    )
    from shadow.commands._progress import op_progress

    with EventLog(args.log) as log:
        fuzzer = Fuzzer(target, pair, config, log=log)
        try:
            chosen, missing = fuzzer.fuzzable_ops(ops)
        except KeyError as exc:
            console.print(f"[red]shadow fuzz: {exc.args[0]}[/]", highlight=False)
            return 2
        total = None if args.seconds is not None else config.max_examples
        with op_progress(chosen, total, console) as update:
            fuzzer.progress = update
            report = fuzzer.run(chosen)
    table = Table(
        title=f"shadow fuzz: {target.import_spec} ({pair.primary_name} vs {pair.shadow_name})"
    )
    for col in (
        "op",
        "examples",
        "seconds",
        "examples/s",
        "matched",
        "tolerated",
        "diverged",
        "findings",
    ):
        if col == "op":  # op names are what a reader scans for: never cut them
            table.add_column(col, no_wrap=True, min_width=max(len(r.op) for r in report.results))
        else:
            table.add_column(col, justify="right")
    for r in report.results:
        table.add_row(
            r.op,
            str(r.examples),
            f"{r.elapsed_s:.2f}",
            f"{r.examples_per_s:.0f}",
            str(r.matched),
            str(r.tolerated),
            str(sum(r.diverged.values())),
            f"[red]{len(r.findings)}[/]" if r.findings else "0",
        )
    console.print(table)
    for op in missing:
        console.print(f"[yellow]{op}: no fuzz strategy registered, skipped[/]")
    for r in report.results:
        for e in r.errors:
            console.print(f"[red]{r.op}: fuzzing failed: {e}[/]", highlight=False)
        for f in r.findings:
            console.print(
                f"[bold red]{f.op}[/]: {f.kind} ({f.severity}), signature {f.signature}, "
                f"found after {f.examples_to_find} examples\n  input: {f.input_repr}\n"
                f"  replay: {f.replay}\n  pin:    {f.replay} --save",
                highlight=False,
            )
    console.print(f"events: {args.log}", highlight=False)
    return 0 if report.ok else 1
