"""``shadow export LOG... --parquet OUT``: the ``events`` view as Parquet, for a data lake.

The columns are those of ``shadow query``'s view (docs/review.md), so the same SQL runs on
DuckDB, Spark, Trino, pandas or anything that reads Parquet.  ``--partition-by`` writes a
Hive-partitioned directory (``OUT/op=rank/...``) instead of one file.

Exit codes: 0 written; 2 could not export: a missing or unreadable log, no readable event
(unless ``--allow-empty``), an existing OUT (unless ``--force``), a bad column or filter.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_ERROR: Final = 2

_EPILOG = """\
examples:
  shadow export logs/ --parquet lake/shadow.parquet
  shadow export 'fleet/*/*.jsonl.gz' --parquet lake/shadow --partition-by day,event
  duckdb -c "SELECT op, count(*) FROM 'lake/shadow/**/*.parquet' GROUP BY op"

exit status: 0 written; 2 could not export (missing or unreadable log, no readable event
unless --allow-empty, OUT exists without --force, bad --partition-by or --where)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="write the events of logs and recordings to Parquet",
        description="Write the events view of shadow logs to a Parquet file or directory.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="log file, glob or directory")
    p.add_argument("--parquet", required=True, type=Path, metavar="OUT", help="output path")
    p.add_argument(
        "--partition-by",
        metavar="A,B",
        help="write a Hive-partitioned directory by these columns (e.g. day,event or op)",
    )
    p.add_argument("--where", metavar="EXPR", help="export only the events matching this")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument(
        "--allow-empty", action="store_true", help="logs with no readable event are fine"
    )
    return p


def run(args: argparse.Namespace) -> int:
    import duckdb

    from shadow._commands._logs import CommandError, duckdb_message, opened_events
    from shadow._review.sql import quote

    out: Path = args.parquet
    try:
        if out.exists() and not args.force:
            raise CommandError(f"--parquet: {out} exists (pass --force to replace it)")
        columns: list[str] = []
        if args.partition_by:
            columns = [c.strip() for c in args.partition_by.split(",") if c.strip()]
            if not columns:
                raise CommandError("--partition-by: no column given")
        with opened_events(args.logs, "export", args.allow_empty) as logset:
            con = logset.con
            view_columns = {r[0] for r in con.execute("DESCRIBE events").fetchall()}
            unknown = [c for c in columns if c not in view_columns]
            if unknown:
                raise CommandError(
                    f"--partition-by: no column {', '.join(unknown)} in the events view"
                )
            select = "SELECT * FROM events"
            if args.where:
                select += f" WHERE ({args.where})"
            try:
                count = con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0]
            except duckdb.Error as exc:
                raise CommandError(f"--where: {duckdb_message(exc)}") from None
            if out.exists():
                if out.is_dir():
                    shutil.rmtree(out)
                else:
                    out.unlink()
            out.parent.mkdir(parents=True, exist_ok=True)
            options = "FORMAT parquet"
            if columns:
                options += ", PARTITION_BY (" + ", ".join(f'"{c}"' for c in columns) + ")"
            try:
                con.execute(f"COPY ({select} ORDER BY file, line) TO {quote(str(out))} ({options})")
            except duckdb.Error as exc:
                raise CommandError(f"cannot write {out}: {duckdb_message(exc)}") from None
    except CommandError as exc:
        print(f"shadow export: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"shadow export: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    layout = f"partitioned by {', '.join(columns)}" if columns else "one file"
    print(f"wrote {count:,} event(s) to {out} ({layout})")
    return EXIT_OK
