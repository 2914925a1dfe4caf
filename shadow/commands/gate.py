"""``shadow gate``: the CI gate (corpus replay + derandomized fuzz budget + baseline).

Exit status: 0 nothing new or expired diverges; 1 the gate failed (see the Markdown summary
and the JUnit XML); 2 usage error; 3 the target could not be loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from shadow.commands._common import add_target_options, chosen_ops, target_or_none
from shadow.config import configured_path

DEFAULT_SUMMARY = Path("reports/gate.md")
DEFAULT_JUNIT = Path("reports/gate-junit.xml")
DEFAULT_LOG = Path("reports/gate.jsonl")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "gate",
        help="CI gate: replay the corpus, fuzz a fixed budget, compare with the baseline",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
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
        "--junit",
        type=Path,
        default=DEFAULT_JUNIT,
        metavar="PATH",
        help=f"JUnit XML (default {DEFAULT_JUNIT})",
    )
    p.add_argument(
        "--summary",
        type=Path,
        default=DEFAULT_SUMMARY,
        metavar="PATH",
        help=f"Markdown summary (default {DEFAULT_SUMMARY})",
    )
    p.add_argument(
        "--log",
        type=Path,
        default=DEFAULT_LOG,
        metavar="PATH",
        help=f"event log (default {DEFAULT_LOG})",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from shadow.gate import GateConfig, profile_examples, run_gate
    from shadow.gate_report import write_reports

    console = Console()
    target = target_or_none(args, console, "gate")
    if target is None:
        return 3
    try:
        examples = args.examples if args.examples is not None else profile_examples()
    except ValueError as exc:
        console.print(f"[red]shadow gate: {exc}[/]", highlight=False)
        return 2
    if examples < 1:
        console.print("[red]shadow gate: --examples must be >= 1[/]")
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
    )
    from shadow.commands._progress import op_progress

    ops = list(config.ops or [n for n, s in target.ops.items() if s.strategies is not None])
    try:
        with op_progress(ops if config.fuzz else [], examples, console) as update:
            result = run_gate(target, config, progress=update)
    except KeyError as exc:
        console.print(f"[red]shadow gate: {exc.args[0]}[/]", highlight=False)
        return 2
    write_reports(result, args.junit, args.summary)
    for item in result.items:
        colour = {"passed": "green", "failed": "bold red", "accepted": "yellow", "skipped": "dim"}[
            item.status
        ]
        detail = f": {item.message}" if item.message else ""
        console.print(
            f"[{colour}]{item.status:>8}[/] {item.suite}/{item.name}{detail}", highlight=False
        )
        if item.status == "failed" and item.replay:
            console.print(f"         replay: {item.replay}", highlight=False)
    for problem in result.problems:
        console.print(f"[bold red]  failed[/] setup: {problem}", highlight=False)
    verdict = "[green]PASSED[/]" if result.ok else "[bold red]FAILED[/]"
    console.print(
        f"shadow gate {verdict} in {result.elapsed_s:.1f}s: {len(result.failures)} failure(s); "
        f"summary {args.summary}, JUnit {args.junit}, events {args.log}",
        highlight=False,
    )
    # The plain closing line CI tools read: accepted divergences count as passed.
    skipped = sum(1 for item in result.items if item.status == "skipped")
    failed = len(result.failures) + len(result.problems)
    passed = len(result.items) - len(result.failures) - skipped
    print(f"gate: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if result.ok else 1
