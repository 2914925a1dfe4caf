"""A rich progress display shared by ``shadow fuzz`` and ``shadow gate`` (one bar per op)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def op_progress(
    ops: Sequence[str], total: int | None, console: Console
) -> Iterator[Callable[[str, int], None]]:
    """Yields ``update(op, examples)``; ``total`` None shows an indeterminate bar."""
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )
    tasks = {op: progress.add_task(op, total=total, start=False) for op in ops}
    started: set[str] = set()

    def update(op: str, examples: int) -> None:
        task = tasks.get(op)
        if task is None:
            return
        if op not in started:
            progress.start_task(task)
            started.add(op)
        progress.update(task, completed=examples if total is None else min(examples, total))

    with progress:
        yield update
