"""``shadow verify RECORDING...``: replay recorded calls on the shadow, compare with what the
primary answered when they were recorded.

Exit status: 0 every recorded call was checked and none diverged; 1 a call diverged; 2 could
not check (usage error, target or shadow not loadable, a recording missing, unreadable, of
another target, or with no call in it, or calls that could not be checked); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shadow._argtypes import positive_int, positive_seconds
from shadow._commands._common import add_isolation_options, add_report_options
from shadow._terminal import make_console

DEFAULT_SUMMARY = Path("reports/verify.md")
DEFAULT_JUNIT = Path("reports/verify-junit.xml")
DEFAULT_LOG = Path("reports/verify.jsonl")
DEFAULT_TIMEOUT_S = 10.0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "verify",
        help="replay recorded calls on the shadow and compare with the recorded answers",
        description=(
            "Replay every call of the RECORDING(s) (written by Dispatcher(record=...) or "
            "t2-search --shadow-record) on the shadow implementation, compare each with the "
            "outcome the primary recorded under the op's policy, and write divergence events "
            "(reviewable with shadow review). The target is --target or the project's "
            "(pyproject [tool.shadow] / $SHADOW_TARGET), never the recording's."
        ),
        epilog=(
            "exit status: 0 every call checked, none diverged; 1 a call diverged; 2 could not "
            "check (usage, target or shadow not loadable, recording missing, unreadable, of "
            "another target or without calls, calls that could not be checked)\n\n"
            "examples:\n"
            "  shadow verify reports/record.jsonl                 # the project's shadow\n"
            "  shadow verify rec/*.jsonl --workers 2              # in parallel\n"
            "  shadow verify rec.jsonl --shadow rust --isolation thread\n"
            "  shadow verify rec.jsonl --scheduler tcp://scheduler:8786 --workers 8"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recordings", nargs="+", type=Path, metavar="RECORDING")
    p.add_argument(
        "--target",
        metavar="MOD:ATTR",
        help="target to verify with (default: $SHADOW_TARGET or [tool.shadow] target); "
        "required when the calls were recorded for another target",
    )
    p.add_argument(
        "--shadow",
        default=None,
        metavar="NAME",
        help="implementation to verify (default: the target's shadow)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="worker processes, each with its own shadow (default 1)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="address of a Dask scheduler to run on (default: local processes); the "
        "recordings and the log must be on a filesystem the workers share",
    )
    add_isolation_options(p, timeout_s=DEFAULT_TIMEOUT_S, seconds=positive_seconds)
    p.add_argument(
        "--log",
        type=Path,
        default=DEFAULT_LOG,
        metavar="PATH",
        help=f"event log the divergences are appended to (default {DEFAULT_LOG})",
    )
    add_report_options(p, junit=DEFAULT_JUNIT, summary=DEFAULT_SUMMARY)
    return p


def _fail(message: str) -> int:
    print(f"shadow verify: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from shadow._commands._common import add_project_to_path, load_configured_target
    from shadow._config import configured_target, find_pyproject
    from shadow._distributed import DistributedError
    from shadow._verify import VerifyError, run_verify
    from shadow._verify_report import write_reports

    console = make_console()
    try:
        target = load_configured_target(args.target)
    except ValueError as exc:
        return _fail(str(exc))
    add_project_to_path()
    pyproject = find_pyproject()
    configured = configured_target()
    try:
        result = run_verify(
            args.recordings,
            target=target,
            explicit_target=bool(args.target),
            shadow=args.shadow,
            isolation=args.isolation,
            timeout_s=args.timeout,
            log=args.log,
            workers=args.workers,
            scheduler=args.scheduler,
            replay_target=None if configured == target.import_spec else target.import_spec,
            sys_path=(str(pyproject.parent),) if pyproject is not None else (),
        )
    except VerifyError as exc:
        return _fail(str(exc))
    except DistributedError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("shadow verify: interrupted; nothing was reported", file=sys.stderr)
        return 130
    except OSError as exc:
        return _fail(f"cannot run: {exc.strerror or exc}")
    except Exception as exc:  # a worker that could not start its shadow, a lost cluster
        return _fail(f"could not verify: {exc}")
    try:
        write_reports(result, args.junit, args.summary)
    except OSError as exc:
        return _fail(f"cannot write the reports: {exc.strerror or exc}")
    _print(console, result, args)
    return result.exit_code


def _print(console: Any, result: Any, args: argparse.Namespace) -> None:
    from shadow._verify import UNCHECKED_REASONS
    from shadow._verify_report import group_lines, op_message, recorded_by, verdict

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    by_op: dict[str, list[Any]] = {}
    for group in result.groups:
        by_op.setdefault(group.op, []).append(group)
    for op, t in result.tallies.items():
        label = "FAILED" if t.diverged_calls else ("unchecked" if t.unchecked else "ok")
        say(f"{label:>9} verify/{op}: {op_message(t)}")
        for group in by_op.get(op, []):
            for line in group_lines(group, result)[:6]:
                say(f"          {line}")
    for reason, n in sorted(result.unchecked.items()):
        example = next((u for u in result.examples if u.reason == reason), None)
        detail = ""
        if example is not None:
            which = example.recorded_call_id or f"#{example.index}"
            detail = f" (e.g. {which} in {example.recording}: {example.detail})"
        say(f"not checked: {n} call(s): {UNCHECKED_REASONS.get(reason, reason)}{detail}")
    skipped = result.skipped_lines
    if skipped:
        text = ", ".join(f"{why} {n}" for why, n in sorted(skipped.items()))
        say(f"lines skipped in the recordings (not call events): {text}")
    for scan in result.scans:
        if scan.summaries and scan.not_recorded_whole:
            say(
                f"{scan.path}: its recorder could not record {scan.not_recorded_whole} call(s) "
                "whole; those are not in it"
            )
    if result.events_lost:
        say(f"{result.events_lost} divergence event(s) could not be written to {result.log}")
    n_groups = len(result.groups)
    say(
        f"shadow verify {verdict(result)} in {result.elapsed_s:.1f}s: {result.calls} calls from "
        f"{len(result.scans)} recording(s) (recorded by {recorded_by(result)}) on "
        f"{result.shadow.name} {result.shadow.version}: {result.diverged_calls} diverged in "
        f"{n_groups} group(s), {result.unchecked_total} not checked; summary {args.summary}, "
        f"JUnit {args.junit}, events {args.log}"
    )
    passed = result.checked - result.diverged_calls
    # The plain closing line CI tools read.
    print(
        f"verify: {passed} passed, {result.diverged_calls} failed, {result.unchecked_total} not run"
    )
