"""Run independent tasks in parallel: worker processes here, or a Dask cluster elsewhere.

A minimal version, written for ``shadow verify`` while Dask distributed execution is being
built: the signature is the one the framework uses, so callers do not change when the Dask
local cluster replaces the process pool. ``scheduler`` (an address such as
``tcp://host:8786``) sends the tasks to a running Dask cluster through
``dask.distributed.Client``, which must then be installed; without it, tasks run in
``workers`` local processes (one task inline when there is nothing to parallelise).

Tasks and their results must pickle; a task's function must be importable by name (a
module-level function), since worker processes import it afresh.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["DistributedUnavailable", "map_tasks"]


class DistributedUnavailable(RuntimeError):
    """A scheduler was named but Dask distributed is not installed."""


def map_tasks(
    fn: Callable[[T], R], items: Iterable[T], *, workers: int, scheduler: str | None = None
) -> list[R]:
    """``[fn(item) for item in items]``, computed in parallel, results in ``items``' order.

    An exception raised by a task is raised here (the first one, in order).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    tasks = list(items)
    if scheduler is not None:
        return _on_dask(fn, tasks, scheduler)
    if workers == 1 or len(tasks) <= 1:
        return [fn(task) for task in tasks]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        return list(pool.map(fn, tasks))


def _on_dask(fn: Callable[[T], R], tasks: list[T], scheduler: str) -> list[R]:
    try:
        from dask.distributed import Client  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise DistributedUnavailable(
            f"a scheduler ({scheduler}) needs Dask distributed: pip install 'distributed'"
        ) from None
    client: Any = Client(scheduler)
    try:
        futures = client.map(fn, tasks, pure=False)
        results: list[R] = client.gather(futures)
        return results
    finally:
        client.close()
