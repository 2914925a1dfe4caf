"""Terminal output that survives pipes and CI logs: tables are never cut.

Why: rich sizes tables to the terminal, and without one (a pipe, a CI log) it assumes 80
columns and abbreviates cells (``exam… seco…``). On a terminal we keep rich's tables; when
stdout is not a terminal we print a Markdown table, whole, that any log viewer shows and
any Markdown renderer formats.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def make_console(*, stderr: bool = False) -> Console:
    """A console that does not wrap or cut long lines when writing to a pipe or a file."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=10_000, soft_wrap=True, color_system=None)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, cells escaped for ``|`` and newlines."""

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(
    console: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """A rich table on a terminal, a whole Markdown table otherwise."""
    if console.is_terminal:
        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    console.print(title, highlight=False, markup=False)
    console.print(markdown_table(headers, rows), highlight=False, markup=False)


__all__ = ["make_console", "markdown_table", "print_table"]
