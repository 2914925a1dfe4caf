"""``shadow gate``: the CI gate (corpus replay + a fixed, seeded fuzz budget + baseline).

Exit status: 0 nothing new or expired diverges; 1 the gate failed (see the Markdown summary
and the JUnit XML); 2 could not check (usage error, target not loadable, a corpus or
baseline given explicitly that does not exist or is broken).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shadow._commands._common import (
    add_isolation_options,
    add_report_options,
    add_target_options,
    chosen_ops,
    description,
    target_or_none,
)
from shadow._config import configured_path
from shadow._terminal import make_console

DEFAULT_SUMMARY = Path("reports/gate.md")
DEFAULT_JUNIT = Path("reports/gate-junit.xml")
DEFAULT_LOG = Path("reports/gate.jsonl")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "gate",
        help="CI gate: replay the corpus, fuzz a fixed budget, compare with the baseline",
        description=description(__doc__),
        epilog=(
            "exit status: 0 passed, 1 failed (new or expired divergences), 2 could not check "
            "(usage, target not loadable, missing or broken corpus/baseline given explicitly)\n\n"
            "examples:\n"
            "  shadow gate                              # what CI runs\n"
            "  HYPOTHESIS_PROFILE=nightly shadow gate   # a bigger budget\n"
            "  shadow gate --seed 123 --ops summarize   # another search, one op\n"
            "  shadow gate --shadow my_port --no-fuzz   # replay the corpus only"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(p)
    p.add_argument(
        "--corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="regression corpus (default tests/corpus)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="accepted divergences (default shadow-baseline.json)",
    )
    p.add_argument(
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help="fuzz examples per op (default: from HYPOTHESIS_PROFILE, ci=400)",
    )
    p.add_argument("--no-fuzz", action="store_true", help="corpus and baseline only")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the fuzz search (default 0: reproducible)"
    )
    add_isolation_options(p, memory=True)
    add_report_options(p, junit=DEFAULT_JUNIT, summary=DEFAULT_SUMMARY)
    p.add_argument(
        "--log",
        type=Path,
        default=DEFAULT_LOG,
        metavar="PATH",
        help=f"event log (default {DEFAULT_LOG})",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from shadow._gate import GateConfig, profile_examples, run_gate
    from shadow._gate_report import write_reports

    console = make_console()
    try:
        examples = args.examples if args.examples is not None else profile_examples()
    except ValueError as exc:
        console.print(f"shadow gate: {exc}", highlight=False, markup=False)
        return 2
    if examples < 1:
        console.print("shadow gate: --examples must be at least 1", markup=False)
        return 2
    if not args.timeout > 0:
        console.print(f"shadow gate: --timeout must be > 0, got {args.timeout:g}", markup=False)
        return 2
    for option, path in (("--corpus", args.corpus), ("--baseline", args.baseline)):
        if path is not None and not path.exists():
            console.print(f"shadow gate: {option} {path}: no such file or directory", markup=False)
            return 2
    if args.corpus is not None and not args.corpus.is_dir():
        console.print(f"shadow gate: --corpus {args.corpus}: not a directory", markup=False)
        return 2
    target = target_or_none(args, console, "gate")
    if target is None:
        return 2
    config = GateConfig(
        corpus=args.corpus or configured_path("corpus", "tests/corpus"),
        baseline=args.baseline or configured_path("baseline", "shadow-baseline.json"),
        examples=examples,
        ops=chosen_ops(args),
        log=args.log,
        primary=args.primary,
        shadow=args.shadow,
        fuzz=not args.no_fuzz,
        seed=args.seed,
        isolation=args.isolation,
        timeout_s=args.timeout,
        memory_limit_mb=args.memory_limit or None,
        require_corpus=args.corpus is not None,
        require_baseline=args.baseline is not None,
    )
    from shadow._commands._progress import op_progress

    ops = list(config.ops or list(target.ops))
    try:
        with op_progress(ops if config.fuzz else [], examples, console) as update:
            result = run_gate(target, config, progress=update)
    except KeyError as exc:
        console.print(f"shadow gate: {exc.args[0]}", highlight=False, markup=False)
        return 2
    write_reports(result, args.junit, args.summary)
    for item in result.items:
        detail = f": {item.message}" if item.message else ""
        label = "not run" if item.status == "skipped" else item.status
        console.print(f"{label:>8} {item.suite}/{item.name}{detail}", highlight=False, markup=False)
        if item.status == "failed":
            for line in item.details[:3]:
                console.print(f"         {line}", highlight=False, markup=False)
            if item.replay:
                console.print(f"         replay: {item.replay}", highlight=False, markup=False)
    for problem in result.problems:
        console.print(f"  failed setup: {problem}", highlight=False, markup=False)
    not_run = len(result.not_run)
    failed = len(result.failures) + len(result.problems)
    passed = len(result.items) - len(result.failures) - not_run
    verdict = "PASSED" if result.ok else "FAILED"
    console.print(
        f"shadow gate {verdict} in {result.elapsed_s:.1f}s (seed {result.seed}): {passed} passed, "
        f"{failed} failed, {not_run} not run; summary {args.summary}, JUnit {args.junit}, "
        f"events {args.log}",
        highlight=False,
        markup=False,
    )
    # The plain closing line CI tools read: accepted divergences count as passed.
    print(f"gate: {passed} passed, {failed} failed, {not_run} not run")
    if result.problems and not result.failures and not result.items:
        return 2
    return 0 if result.ok else 1
