"""``shadow fuzz``: hunt every distinct divergence of a target's ops (or of a ``--pair``).

Why a command of its own (the gate also fuzzes): developers want to fuzz longer, with other
seeds, one op at a time, or with an example database shared by a fleet, while the gate is
fixed. Each run prints its seed; findings are written as ``divergence`` events (``source:
"fuzz"``) to ``--log``, each with its ``shadow replay`` command, and ``shadow replay LOG
--call ID --save`` pins it in the corpus.

Exit status: 0 nothing diverged, 1 findings, 2 could not check (usage error, target not
loadable, fuzzing itself failed).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shadow.commands._common import add_target_options, chosen_ops, target_or_none
from shadow.terminal import make_console, print_table

DEFAULT_LOG = Path("reports/fuzz.jsonl")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "fuzz",
        help="fuzz every registered op on both implementations; log shrunk divergences",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=(
            "exit status: 0 nothing diverged, 1 divergences found, 2 could not check "
            "(usage, target not loadable, fuzzing failed)\n\n"
            "examples:\n"
            "  shadow fuzz --seconds 60                 # hunt every op for a minute\n"
            "  shadow fuzz --ops summarize --examples 2000 --seed 7\n"
            "  shadow fuzz --isolation thread           # faster, but a native crash ends the run\n"
            "  shadow replay reports/fuzz.jsonl --call ID --save   # pin a finding in the corpus"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(p)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--examples", type=int, default=None, metavar="N", help="examples per op (default 200)"
    )
    budget.add_argument(
        "--seconds",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock budget of the whole run, shared by the ops (instead of a count)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="search seed (default: random, printed and logged)"
    )
    p.add_argument(
        "--isolation",
        choices=("process", "thread"),
        default="process",
        help="where the shadow runs: process (default; a crash or hang is a finding) or thread",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="per-example limit for the shadow (default 10 s)",
    )
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
        default=None,
        metavar="DIR",
        help="an example database to read (earlier failures first) and write; the search "
        "then uses random seeds, since a fixed seed turns the database off",
    )
    db.add_argument("--no-database", action="store_true", help="no example database (the default)")
    return p


def run(args: argparse.Namespace) -> int:
    from hypothesis.database import DirectoryBasedExampleDatabase

    from shadow.fuzz import FuzzConfig, Fuzzer, FuzzSetupError, Pair
    from shadow.log import EventLog

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
    target = target_or_none(args, console, "fuzz")
    if target is None:
        return 2
    try:
        pair = Pair.of(target, args.primary, args.shadow)
    except KeyError as exc:
        console.print(f"shadow fuzz: {exc.args[0]}", highlight=False, markup=False)
        return 2
    ops = chosen_ops(args)
    if args.database is not None and args.seed is not None:
        console.print(
            "shadow fuzz: --seed and --database exclude each other (a fixed seed turns the "
            "example database off)",
            markup=False,
        )
        return 2
    database = None if args.database is None else DirectoryBasedExampleDatabase(args.database)
    config = FuzzConfig(
        max_examples=args.examples or (200 if args.seconds is None else 10**9),
        seconds=args.seconds,
        seed=args.seed,
        database=database,
        isolation=args.isolation,
        timeout_s=args.timeout,
    )
    from shadow.commands._progress import op_progress

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
        console.print(
            f"shadow fuzz: {target.import_spec} ({pair.primary_name} vs {pair.shadow_name}), "
            f"seed {fuzzer.seed if fuzzer.seed is not None else 'random (example database)'}, "
            f"isolation {config.isolation}, "
            + (f"{args.seconds:g} s" if args.seconds else f"{config.max_examples} examples/op"),
            highlight=False,
            markup=False,
        )
        total = None if args.seconds is not None else config.max_examples
        try:
            with op_progress(chosen, total, console) as update:
                fuzzer.progress = update
                report = fuzzer.run(chosen)
        except FuzzSetupError as exc:
            console.print(f"shadow fuzz: {exc}", highlight=False, markup=False)
            return 2
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
        f"shadow fuzz: {target.import_spec} ({pair.primary_name} vs {pair.shadow_name})",
        headers,
        rows,
    )
    for op in missing:
        console.print(f"{op}: not fuzzed (no strategy registered or derivable)", markup=False)
    from shadow.display import visible

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
        f"{sum(r.examples for r in report.results)} examples, "
        f"seed {report.seed if report.seed is not None else 'random'}; "
        f"events: {args.log}",
        highlight=False,
        markup=False,
    )
    if errors:
        return 2
    return 0 if report.ok else 1
