"""Tables for the console that never cut a value: rich on a terminal, Markdown in a pipe.

Why: CI logs and pipes are where reviews are read most, and a table squeezed to 80 columns
(``exam… seco…``) hides exactly the op names and signatures a reader needs.  On a terminal,
rich wraps long cells instead of truncating them; elsewhere a Markdown table is printed
whole, at whatever width it takes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()
) -> str:
    """A GitHub-flavoured Markdown table with every cell in full."""
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    lines.append(
        "| " + " | ".join("---:" if i in right else "---" for i in range(len(headers))) + " |"
    )
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
    stream: IO[str] | None = None,
) -> None:
    out = stream if stream is not None else sys.stdout
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, overflow="fold", justify="right" if i in right else "left")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console(file=out).print(table)
        return
    if title:
        out.write(f"{title}\n\n")
    out.write(markdown_table(headers, rows, right) + "\n")
