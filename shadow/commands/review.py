"""``shadow review LOG...``: group divergences into problems and write the reports.

Exit codes (documented in docs/review.md), chosen so CI can gate on the result and still
tell a bad invocation apart from a finding:

* 0 — nothing at or above the ``--fail-on`` severity (default: no critical divergence)
* 1 — at least one divergence at or above ``--fail-on`` (default: something critical)
* 2 — usage error (argparse)
* 3 — a log could not be read (missing, a directory, no permission) or reports not written
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FOUND: Final = 1
EXIT_USAGE: Final = 2
EXIT_IO: Final = 3

_FAIL_ON: Final[dict[str, int]] = {"critical": 2, "minor": 1, "any": -10}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "review",
        help="group logged divergences and write Markdown, JSON and HTML reports",
        description=(
            "Stream one or more shadow JSON Lines logs, group divergence events by signature "
            "and write review.md, review.json, review.html and review.png. Exit status: 0 no "
            "divergence at or above --fail-on, 1 some found, 2 usage error, 3 unreadable log."
        ),
    )
    p.add_argument("logs", nargs="+", metavar="LOG", type=Path, help="shadow log(s); .gz works")
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
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _print_summary(review: Any, paths: Any, top: int | None, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    from shadow.review import format as fmt

    console = Console()
    shown = review.groups[: top or 10]
    table = Table(
        title=f"Divergence review — {len(review.groups)} problem(s), "
        f"{review.divergences:,} event(s)"
    )
    columns: tuple[tuple[str, dict[str, Any]], ...] = (
        ("#", {"justify": "right"}),
        ("severity", {}),
        ("signature", {"no_wrap": True, "min_width": 16}),
        ("op", {}),
        ("kind", {}),
        ("events", {"justify": "right"}),
        ("last seen", {}),
    )
    for col, kw in columns:
        table.add_column(col, **kw)
    styles = {"critical": "bold red", "minor": "yellow"}
    for i, g in enumerate(shown, 1):
        table.add_row(
            str(i),
            f"[{styles.get(g.severity, 'dim')}]{g.severity}[/]",
            g.signature,
            g.op,
            g.kind,
            f"{g.count:,}",
            (g.last_seen or "?")[:19],
        )
    if review.groups:
        console.print(table)
        # Replay commands on their own unwrapped lines, so they can be copied whole.
        for i, g in enumerate(shown[:5], 1):
            if g.reproducer:
                console.print(f"#{i} {g.reproducer.replay}", soft_wrap=True, highlight=False)
        if len(review.groups) > len(shown):
            console.print(f"… {len(review.groups) - len(shown)} more in the reports")
    verdict = fmt.verdict(review.critical_groups, len(review.groups))
    style = "bold red" if review.critical_groups else ("yellow" if review.groups else "green")
    console.print(f"[{style}]{verdict}[/]", highlight=False)
    read = review.read
    if read.skipped_total:
        console.print(
            f"skipped {read.skipped_total:,} of {read.lines:,} lines: {fmt.counts(read.skipped)}",
            highlight=False,
        )
    console.print(
        f"read {read.lines:,} lines in {seconds:.1f} s; reports: {paths.markdown}, "
        f"{paths.json}, {paths.html}",
        highlight=False,
    )


def run(args: argparse.Namespace) -> int:
    from shadow.review.groups import review_logs
    from shadow.review.report import write_reports

    for log in args.logs:
        if not log.exists():
            print(f"shadow review: {log}: no such file", file=sys.stderr)
            return EXIT_IO
        if log.is_dir():
            print(f"shadow review: {log}: is a directory (pass the .jsonl files)", file=sys.stderr)
            return EXIT_IO
    started = time.perf_counter()
    try:
        review = review_logs(args.logs)
    except OSError as exc:
        print(
            f"shadow review: cannot read {exc.filename or 'log'}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_IO
    try:
        paths = write_reports(review, args.out, top=args.top)
    except OSError as exc:
        print(f"shadow review: cannot write reports to {args.out}: {exc}", file=sys.stderr)
        return EXIT_IO
    if not args.quiet:
        _print_summary(review, paths, args.top, time.perf_counter() - started)
    threshold = _FAIL_ON[args.fail_on]
    from shadow.review.groups import severity_rank

    found = any(severity_rank(g.severity) >= threshold for g in review.groups)
    return EXIT_FOUND if found else EXIT_OK
