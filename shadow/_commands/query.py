"""``shadow query LOG... [--where EXPR | --sql QUERY]``: ad-hoc SQL over logs and recordings.

Every event of every log (divergences, run summaries, recorded calls, any event type) is a
row of the view ``events``, with typed columns (docs/review.md lists them).  ``--where``
filters it; ``--sql`` runs any DuckDB query that reads it.

Exit codes: 0 the query ran (whatever the number of rows); 2 could not run: a missing or
unreadable log, no readable event (unless ``--allow-empty``), or an invalid query.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_ERROR: Final = 2
DEFAULT_COLUMNS: Final = (
    "ts",
    "event",
    "op",
    "kind",
    "severity",
    "signature",
    "run_id",
    "call_id",
    "primary_name",
    "primary_version",
    "shadow_name",
    "shadow_version",
)

_EPILOG = """\
examples:
  shadow query logs/ --where "severity = 'critical'"
  shadow query 'logs/*.jsonl.gz' --where "op = 'summarize' AND severity = 'critical'
      AND shadow_version = '1.0.3' AND ts >= TIMESTAMP '2025-06-02'"
  shadow query logs/ --sql "SELECT op, kind, count(*) AS n FROM events
      WHERE event = 'divergence' GROUP BY ALL ORDER BY n DESC" --format csv

The view is named events; its columns are listed in docs/review.md (file, line, schema,
event, ts, run_id, call_id, op, kind, severity, signature, primary_*/shadow_* name,
version, duration_s, summary, input_digest, input_ref, input_size, diff_count, mode,
day, raw).

exit status: 0 the query ran; 2 could not run (missing or unreadable log, no readable
event unless --allow-empty, invalid query)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "query",
        help="ask SQL questions of logs and recordings (view: events)",
        description="Run a filter or a SQL query over the events of shadow logs, with DuckDB.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="log file, glob or directory")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--where", metavar="EXPR", help="SQL condition on the events view")
    what.add_argument("--sql", metavar="QUERY", help="a whole SQL query reading the view events")
    p.add_argument(
        "--columns",
        metavar="A,B",
        help="columns shown with --where or no filter (default: a compact set; '*' for all)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (Markdown when not a terminal), json (one object per line) or csv",
    )
    p.add_argument(
        "--allow-empty", action="store_true", help="logs with no readable event are fine"
    )
    return p


def _query(args: argparse.Namespace) -> str:
    query: str
    if args.sql:
        query = str(args.sql)
    else:
        if args.columns is None:
            columns = ", ".join(DEFAULT_COLUMNS)
        elif args.columns.strip() == "*":
            columns = "* EXCLUDE (raw)"
        else:
            columns = args.columns
        query = f"SELECT {columns} FROM events"
        if args.where:
            query += f" WHERE ({args.where})"
        query += " ORDER BY file, line"
    if args.limit is not None:
        query = f"SELECT * FROM ({query}) LIMIT {int(args.limit)}"
    return query


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def write_rows(fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if fmt == "json":
        import orjson

        for row in rows:
            sys.stdout.write(
                orjson.dumps(
                    dict(zip(headers, row, strict=True)),
                    default=str,
                    option=orjson.OPT_NON_STR_KEYS,
                ).decode()
                + "\n"
            )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([[_text(v) for v in row] for row in rows])
    else:
        from shadow._commands._tables import print_table

        print_table(list(headers), [[_text(v) for v in row] for row in rows])
        print(f"({len(rows):,} row{'s' if len(rows) != 1 else ''})")


def run(args: argparse.Namespace) -> int:
    import duckdb

    from shadow._commands._logs import CommandError, duckdb_message, opened_events

    if args.limit is not None and args.limit < 0:
        print("shadow query: --limit must be at least 0", file=sys.stderr)
        return EXIT_ERROR
    try:
        with opened_events(args.logs, "query", args.allow_empty) as logset:
            option = "--sql" if args.sql else ("--where" if args.where else "--columns")
            try:
                result = logset.con.execute(_query(args))
                headers = [d[0] for d in result.description or ()]
                rows = result.fetchall()
            except duckdb.Error as exc:
                raise CommandError(f"{option}: {duckdb_message(exc)}") from None
    except CommandError as exc:
        print(f"shadow query: {exc}", file=sys.stderr)
        return EXIT_ERROR
    write_rows(args.format, headers, rows)
    return EXIT_OK
