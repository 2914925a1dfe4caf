"""``shadow review LOG...``: group divergences into problems and write the reports.

Exit codes (docs/review.md), the same meanings as every ``shadow`` command:

* 0 — checked: nothing at or above the ``--fail-on`` severity
* 1 — at least one divergence at or above ``--fail-on`` (default: something critical)
* 2 — could not check: usage error, a missing path or unreadable file, a log with no
  readable event (unless ``--allow-empty``), or reports that cannot be written
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FOUND: Final = 1
EXIT_ERROR: Final = 2

_FAIL_ON: Final[dict[str, int]] = {"critical": 2, "minor": 1, "any": -10}

_EPILOG = """\
examples:
  shadow review logs/                       every *.jsonl and *.jsonl.gz under logs/
  shadow review 'fleet/*/shadow-*.jsonl.gz' --out reports/fleet --top 10
  shadow review run.jsonl --fail-on minor   fail on value drift too

exit status: 0 nothing at or above --fail-on; 1 something found; 2 could not check
(missing or unreadable log, no readable event unless --allow-empty, reports not written)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from pathlib import Path

    p: argparse.ArgumentParser = subparsers.add_parser(
        "review",
        help="group logged divergences and write Markdown, JSON and HTML reports",
        description=(
            "Read shadow logs (files, globs, directories, .gz) with DuckDB, group divergence "
            "events by signature and write review.md, review.json, review.html and review.svg."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="log file, glob or directory")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="report directory (default: reports/)",
    )
    p.add_argument(
        "--top",
        type=_positive,
        default=None,
        metavar="N",
        help="show only the N most important problems in md/html/console "
        "(review.json always lists all)",
    )
    p.add_argument(
        "--fail-on",
        choices=tuple(_FAIL_ON),
        default="critical",
        help="lowest severity that makes the exit status 1 (default: critical)",
    )
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="a log with no readable event is fine (exit 0) instead of an error (exit 2)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print only errors, and one line when something was found",
    )
    p.add_argument(
        "--engine",
        choices=("duckdb", "python"),
        default="duckdb",
        help="duckdb (default) or the slow pure-Python reference reader, for cross-checking",
    )
    return p


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _error(message: str) -> int:
    print(f"shadow review: {message}", file=sys.stderr)
    return EXIT_ERROR


def _print_summary(review: Any, paths: Any, top: int | None, seconds: float) -> None:
    from rich.console import Console

    from shadow._commands._tables import print_table
    from shadow._review import format as fmt

    console = Console(soft_wrap=True, highlight=False)
    shown = review.groups[: top or 10]
    if review.groups:
        print_table(
            ["#", "severity", "signature", "op", "kind", "events", "last seen"],
            [
                (
                    i,
                    g.severity,
                    g.signature,
                    g.op,
                    g.kind,
                    f"{g.count:,}",
                    (g.last_seen or "?")[:19],
                )
                for i, g in enumerate(shown, 1)
            ],
            title=f"Divergence review: {len(review.groups)} problem(s), "
            f"{review.divergences:,} event(s)",
            right=(0, 5),
        )
        # Replay commands on their own unwrapped lines, so they can be copied whole.
        for i, g in enumerate(shown[:5], 1):
            if g.reproducer:
                print(f"#{i} {g.reproducer.replay}")
        if len(review.groups) > len(shown):
            print(f"… {len(review.groups) - len(shown)} more in the reports")
    verdict = fmt.verdict(review.critical_groups, len(review.groups))
    style = "bold red" if review.critical_groups else ("yellow" if review.groups else "green")
    console.print(f"[{style}]{verdict}[/]")
    read = review.read
    if read.skipped_total:
        print(f"skipped {read.skipped_total:,} of {read.lines:,} lines: {fmt.counts(read.skipped)}")
    if read.field_problems:
        print("bad fields: " + fmt.field_problems(read.field_problems))
    for file, problem in read.file_problems:
        print(f"partly read: {file}: {problem}")
    print(
        f"read {read.lines:,} lines from {len(read.files)} file(s) in {seconds:.1f} s; "
        f"reports: {paths.markdown}, {paths.json}, {paths.html}"
    )


def run(args: argparse.Namespace) -> int:
    from shadow._review.inputs import ReviewInputError
    from shadow._review.model import severity_rank

    started = time.perf_counter()
    try:
        if args.engine == "python":
            from shadow._review.groups import review_logs_python
            from shadow._review.inputs import resolve_logs

            review = review_logs_python(resolve_logs(args.logs))
        else:
            import duckdb

            from shadow._review.groups import review_logs

            try:
                review = review_logs(args.logs)
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
                return _error(f"DuckDB could not read the logs: {first}")
    except ReviewInputError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot read {exc.filename or 'a log'}: {exc.strerror or 'read error'}")

    from shadow._review.report import write_reports

    try:
        paths = write_reports(review, args.out, top=args.top)
    except OSError as exc:
        return _error(f"cannot write reports to {args.out}: {exc.strerror or exc}")
    threshold = _FAIL_ON[args.fail_on]
    found = [g for g in review.groups if severity_rank(g.severity) >= threshold]
    if not args.quiet:
        _print_summary(review, paths, args.top, time.perf_counter() - started)
    elif found:
        from shadow._review import format as fmt

        print(
            f"shadow review: {fmt.verdict(review.critical_groups, len(review.groups))} "
            f"({len(found)} at or above --fail-on {args.fail_on}; reports in {args.out})"
        )
    if review.read.events_total == 0 and not args.allow_empty:
        from shadow._review import format as fmt

        read = review.read
        detail = f"{read.lines:,} lines"
        if read.skipped_total:
            detail += f", skipped: {fmt.counts(read.skipped)}"
        return _error(
            f"no readable event in {', '.join(read.files)} ({detail}); "
            "pass --allow-empty if an empty log is fine"
        )
    return EXIT_FOUND if found else EXIT_OK
