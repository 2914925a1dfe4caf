"""Independent tasks on Dask distributed: a local cluster by default, or an existing one.

Why Dask rather than a process pool: the same code runs on one machine (a local cluster
started and torn down here, nothing to start by hand) and on many (``scheduler=
"tcp://host:8786"``, a cluster started with ``dask scheduler`` / ``dask worker``), and a
worker that dies is reported by the scheduler instead of leaving the caller waiting.

The tasks this module runs are long and few (a fuzzing worker, a verify shard): each local
worker is a process with one thread, so tasks run side by side without sharing a GIL, and a
task may start processes of its own (worker processes are not daemonic here, which the
shadow's process isolation needs). A failed task, a worker that died, or a cluster that
cannot be reached becomes a :class:`DistributedError` with a one-line reason; the other
tasks are cancelled.

Dask is an optional dependency (the ``distributed`` extra): importing this module does not
import it; starting a cluster without it is a :class:`DistributedError` saying what to install.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: How long a local cluster, or an existing cluster's first worker, may take to appear.
START_TIMEOUT_S = 120.0
#: How long reaching an existing scheduler may take (a wrong address fails this soon).
CONNECT_TIMEOUT_S = 30.0

__all__ = ["CONNECT_TIMEOUT_S", "START_TIMEOUT_S", "DaskCluster", "DistributedError", "map_tasks"]


class DistributedError(RuntimeError):
    """The tasks could not be run to the end: the message says which and why, in one line."""


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise DistributedError(
            "Dask distributed is not installed: pip install 'dask[distributed]' "
            "(the project's 'distributed' extra)"
        ) from None
    return distributed


def _reason(exc: BaseException) -> str:
    """The exception's message on one line (its class only when it has no message)."""
    text = " ".join(str(exc).split())
    return text or f"an error with no message ({type(exc).__qualname__})"


def _describe_failure(exc: BaseException | None) -> str:
    """Why a task failed, as a reader wants it: a dead worker is said plainly."""
    import distributed

    if exc is None:
        return "it was cancelled or lost"
    if isinstance(exc, distributed.KilledWorker):
        return "its worker process died while running it (a crash, os._exit or out of memory)"
    if isinstance(exc, distributed.CancelledError):
        return "it was cancelled (the cluster lost it)"
    return f"it raised: {_reason(exc)}"


class DaskCluster:
    """A Dask cluster to run tasks on, as a context manager.

    ``scheduler`` None starts a local cluster of ``workers`` processes (one thread each,
    logs at error level only, no dashboard) and tears it down on exit; an address
    (``tcp://host:8786``) connects to an existing cluster instead, which is left running.
    """

    def __init__(
        self,
        *,
        workers: int,
        scheduler: str | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        self.workers = workers
        self.scheduler = scheduler
        self.start_timeout_s = start_timeout_s
        self._stack = contextlib.ExitStack()
        self._client: Any = None

    @property
    def where(self) -> str:
        """Where the tasks run, for a status line."""
        if self.scheduler is None:
            return f"a local Dask cluster ({self.workers} processes, 1 thread each)"
        return f"the Dask cluster at {self.scheduler}"

    def __enter__(self) -> DaskCluster:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this object started it."""
        self._client = None
        # Shutting down logs about streams closing under it: not the user's business.
        with contextlib.suppress(Exception):
            self._stack.close()

    def _start(self) -> None:
        distributed = _dask()
        import dask.config

        if self.scheduler is None:
            self._stack.enter_context(
                dask.config.set(
                    {
                        # The shadow's process isolation starts processes inside a task.
                        "distributed.worker.daemon": False,
                        # A task that kills its worker fails at once, not after 3 retries.
                        "distributed.scheduler.allowed-failures": 0,
                    }
                )
            )
            try:
                cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                    timeout=self.start_timeout_s,
                )
            except Exception as exc:
                raise DistributedError(
                    f"cannot start a local Dask cluster of {self.workers} workers: {_reason(exc)}"
                ) from None
            self._stack.callback(cluster.close)
            try:
                client = distributed.Client(cluster, set_as_default=False)
            except Exception as exc:
                raise DistributedError(
                    f"cannot connect to the local Dask cluster: {_reason(exc)}"
                ) from None
        else:
            try:
                client = distributed.Client(
                    self.scheduler,
                    timeout=min(self.start_timeout_s, CONNECT_TIMEOUT_S),
                    set_as_default=False,
                )
            except Exception as exc:
                raise DistributedError(
                    f"cannot reach the Dask scheduler at {self.scheduler}: {_reason(exc)}"
                ) from None
        self._stack.callback(client.close)
        self._client = client
        try:
            client.wait_for_workers(1, timeout=self.start_timeout_s)
        except Exception:
            raise DistributedError(
                f"no Dask worker joined {self.where} within {self.start_timeout_s:g} s"
            ) from None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise DistributedError("the Dask cluster is not started (use it in a with block)")
        return self._client

    def threads(self) -> int:
        """Worker threads in the cluster now: how many tasks run at once."""
        return int(sum(self.client.nthreads().values()))

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        timeout_s: float | None = None,
        name: Callable[[int, T], str] | None = None,
    ) -> list[R]:
        """``[fn(item) for item in items]``, each call a task; results in the items' order.

        The first task that fails cancels the others and raises :class:`DistributedError`
        naming it (``name(index, item)``, default ``task N``); so does ``timeout_s`` (from
        now) running out before every task finished.
        """
        distributed = _dask()
        todo = list(items)
        label = name or (lambda i, _item: f"task {i + 1}")
        futures = [self.client.submit(fn, item, pure=False) for item in todo]
        index = {f.key: i for i, f in enumerate(futures)}
        finished = False
        try:
            for future in distributed.as_completed(
                futures, loop=self.client.loop, timeout=timeout_s
            ):
                if future.status == "finished":
                    continue
                i = index[future.key]
                try:
                    exc = future.exception(timeout=10)
                except Exception as lost:
                    exc = lost
                raise DistributedError(
                    f"{label(i, todo[i])} failed on {self.where}: {_describe_failure(exc)}"
                )
            finished = True
        except distributed.TimeoutError:
            late = [label(i, todo[i]) for i, f in enumerate(futures) if not f.done()]
            raise DistributedError(
                f"{', '.join(late)} did not finish within {timeout_s:g} s on {self.where}"
            ) from None
        finally:
            if not finished:
                with contextlib.suppress(Exception):
                    self.client.cancel(futures)
        try:
            results: list[R] = self.client.gather(futures)
        except Exception as exc:
            raise DistributedError(
                f"cannot collect the results from {self.where}: {_reason(exc)}"
            ) from None
        return results


def map_tasks(
    fn: Callable[[T], R], items: Iterable[T], *, workers: int, scheduler: str | None = None
) -> list[R]:
    """Run ``fn`` on every item as a Dask task; the results in the items' order.

    ``scheduler`` None: on a local cluster of ``workers`` single-threaded processes, started
    and torn down here. An address: on that existing cluster, as many at once as it has
    threads. ``fn`` and the items must pickle (module-level functions, plain data); a
    failure raises :class:`DistributedError` (see :meth:`DaskCluster.map`).
    """
    with DaskCluster(workers=workers, scheduler=scheduler) as cluster:
        return cluster.map(fn, items)
