"""Tables and lines that survive pipes, files and CI logs.

A table is never cut short. On a terminal it is drawn by rich with every column folded
(long cells wrap inside their column) instead of ending in an ellipsis; anywhere else (a
pipe, a file, a CI log: not a TTY) it is plain aligned text at its natural width, so that
``grep`` and a reader see every character. ``SHADOW_TABLES=plain|markdown|rich`` (or the
``style`` argument) chooses explicitly; Markdown suits CI summaries and issue comments.
The numbers of a closing line should come from the same values as the table above it: the
helpers here format, they never compute.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

TableStyle = Literal["auto", "rich", "plain", "markdown"]
STYLES: tuple[str, ...] = ("auto", "rich", "plain", "markdown")
STYLE_VARIABLE = "SHADOW_TABLES"
Align = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    header: str
    align: Align = "left"


@dataclass(frozen=True)
class Table:
    """Rows of text under named columns, with an optional title line."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"a table row has {len(row)} cells for {len(self.columns)} columns: {row!r}"
                )

    @classmethod
    def of(
        cls,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        title: str | None = None,
        right: Iterable[str] = (),
    ) -> Table:
        """A table from headers and rows of any values (shown with ``str``); the columns
        named in ``right`` are right-aligned (numbers)."""
        right_set = set(right)
        columns = tuple(Column(h, "right" if h in right_set else "left") for h in headers)
        return cls(columns, tuple(tuple(str(v) for v in row) for row in rows), title)


def render_plain(table: Table) -> str:
    """Aligned columns at their natural width, two spaces apart; nothing is cut."""
    cells = [tuple(c.header for c in table.columns), *table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if col.align == "right" else cell.ljust(w)
            for cell, w, col in zip(row, widths, table.columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [table.title] if table.title else []
    out.append(line(cells[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in table.rows)
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped), title in bold above."""
    out = [f"**{_md_cell(table.title)}**", ""] if table.title else []
    out.append("| " + " | ".join(_md_cell(c.header) for c in table.columns) + " |")
    out.append("| " + " | ".join("---:" if c.align == "right" else "---" for c in table.columns))
    out[-1] += " |"
    out.extend("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows)
    return "\n".join(out)


def render_rich(table: Table, width: int | None = None, color: bool = False) -> str:
    """rich's box table, every column folding its long cells (no ellipsis); plain text
    when rich is not installed (it is optional for the framework)."""
    try:
        from rich.console import Console
        from rich.table import Table as RichTable
    except ImportError:
        return render_plain(table)
    rich_table = RichTable(title=table.title)
    for col in table.columns:
        rich_table.add_column(col.header, justify=col.align, overflow="fold")
    for row in table.rows:
        rich_table.add_row(*row)
    console = Console(
        width=width or 120,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
    )
    with console.capture() as capture:
        console.print(rich_table)
    return capture.get().rstrip("\n")


_REASONS: Mapping[int, str] = {
    errno.ENOENT: "no such directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a parent is not a directory",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EEXIST: "a file is in the way of a directory",
}


def describe_os_error(exc: OSError) -> str:
    """What went wrong with a path, in words (no exception class, no ``[Errno N]``)."""
    if exc.errno is not None:
        return _REASONS.get(exc.errno) or os.strerror(exc.errno).lower()
    return str(exc) or "unknown error"


def _terminal_width(stream: TextIO) -> int | None:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def resolve_style(
    style: str, stream: TextIO, env: Mapping[str, str] = os.environ
) -> Literal["rich", "plain", "markdown"]:
    """``auto`` means ``$SHADOW_TABLES`` when set, else rich on a TTY and plain otherwise.

    Raises ValueError naming the style or the variable when it is not one of
    :data:`STYLES`."""
    if style not in STYLES:
        raise ValueError(f"table style must be one of {', '.join(STYLES)}, got {style!r}")
    if style == "auto":
        chosen = env.get(STYLE_VARIABLE, "").strip().lower()
        if chosen and chosen not in STYLES:
            raise ValueError(f"{STYLE_VARIABLE} must be one of {', '.join(STYLES)}, got {chosen!r}")
        style = chosen if chosen and chosen != "auto" else ("rich" if _is_tty(stream) else "plain")
    assert style in ("rich", "plain", "markdown")
    return style  # type: ignore[return-value]


class Terminal:
    """Where a command prints: tables in the style that suits ``stream``, and lines.

    ``stream`` defaults to the current ``sys.stdout`` at each call (so pytest's capture and
    redirections work)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        style: str = "auto",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._stream = stream
        self._env = os.environ if env is None else env
        resolve_style(style, self.stream, self._env)  # fail early on a bad style
        self._style = style

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def style(self) -> Literal["rich", "plain", "markdown"]:
        return resolve_style(self._style, self.stream, self._env)

    def render(self, table: Table) -> str:
        style = self.style
        if style == "markdown":
            return render_markdown(table)
        if style == "plain":
            return render_plain(table)
        stream = self.stream
        return render_rich(table, _terminal_width(stream), color=_is_tty(stream))

    def table(self, table: Table) -> None:
        self.line(self.render(table))

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)


def make_console(*, stderr: bool = False) -> Any:
    """A rich console for progress and lines: a terminal's width on a TTY, never wrapping or
    cutting when writing to a pipe or a file."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=10_000, soft_wrap=True, color_system=None)


def print_table(
    console: Any, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """A table through :class:`Terminal` on the console's stream (numbers right-aligned)."""
    Terminal(stream=console.file).table(Table.of(headers, rows, title=title, right=headers[1:]))
