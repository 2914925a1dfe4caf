"""Opening logs for the DuckDB-backed commands (query, export), with their error messages."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class CommandError(Exception):
    """A one-line error for ``shadow <command>: ...`` (exit 2: could not check)."""


def duckdb_message(exc: BaseException) -> str:
    """The first line of a DuckDB error, without its class name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else "error"


@contextmanager
def opened_events(logs: Sequence[str], command: str, allow_empty: bool) -> Iterator[Any]:
    """A :class:`~shadow._review.duck.LogSet` with the ``events`` view created.

    Raises :class:`CommandError` for a missing or unreadable log, and for logs with no
    readable event unless ``allow_empty``.  Skipped lines are reported on stderr.
    """
    import duckdb

    from shadow._review import format as fmt
    from shadow._review.duck import prepare
    from shadow._review.inputs import ReviewInputError

    try:
        logset = prepare(logs, command=command)
    except ReviewInputError as exc:
        raise CommandError(str(exc)) from None
    try:
        try:
            skipped = logset.events_view()
            events = logset.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        except duckdb.Error as exc:
            raise CommandError(f"DuckDB could not read the logs: {duckdb_message(exc)}") from None
        for log in logset.logs:
            if log.problem:
                print(f"shadow {command}: partly read {log.path}: {log.problem}", file=sys.stderr)
        if events == 0 and not allow_empty:
            files = ", ".join(str(log.path) for log in logset.logs)
            raise CommandError(
                f"no readable event in {files} ({logset.lines:,} lines); "
                "pass --allow-empty if an empty log is fine"
            )
        if skipped:
            print(
                f"shadow {command}: skipped {sum(skipped.values()):,} line(s) that hold no JSON "
                f"({fmt.counts(tuple(sorted(skipped.items())))})",
                file=sys.stderr,
            )
        yield logset
    finally:
        logset.close()
