"""Where the shadow side runs, and what stands between it and the caller.

Two isolations, one protocol (:class:`ShadowRunner`):

* ``thread`` (:mod:`shadow._isolation.thread`): in-process. The shadow gets its own copy
  of the input and runs in the caller's thread (no timeout) or on a runner thread that is
  abandoned when it overruns ``timeout_s``. Cheapest; contains every Python-level fault
  (any ``BaseException``), but not a native crash (SIGSEGV, ``abort()``, stack overflow,
  ``os._exit``), which takes the whole process down.
* ``process`` (:mod:`shadow._isolation.process`): the shadow lives in a long-lived worker
  process (its implementation built once there), with a hard timeout that kills and
  replaces the worker, a memory cap and a cap on the size of what comes back. A dead
  worker becomes a ``shadow_crash`` outcome, and the next call gets a fresh one.

A call is *prepared* before the primary runs (the snapshot the shadow will see, so nothing
the primary does to its input reaches the shadow) and *run* after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shadow._outcome import Outcome

IsolationName = Literal["thread", "process"]
ISOLATIONS: tuple[IsolationName, ...] = ("thread", "process")

DEFAULT_MEMORY_LIMIT_MB = 4096
"""The worker's default memory cap in process isolation, beyond what it holds at start: high
enough for any sane call, low enough that a runaway shadow fails alone instead of sending
the machine into swap or the host to the OOM killer."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """One call made ready for the shadow: its op and a snapshot of its input.

    ``payload`` is the pickled ``(args, kwargs)`` when the runner pickles (process
    isolation, and async queues that account for bytes); ``args``/``kwargs`` the in-process
    copy otherwise. ``nbytes`` is the size the call holds while queued (the pickle's
    length, or an estimate).
    """

    op: str
    args: tuple[Any, ...] | None
    kwargs: dict[str, Any] | None
    payload: bytes | None
    nbytes: int


class InputNotTransferable(ValueError):
    """The call's input cannot be handed to the shadow (it cannot be pickled for a worker
    process): raised by ``prepare``, so the caller counts the call as not shadowed."""


class ShadowRunner(Protocol):
    """Runs calls on the shadow implementation, isolated from the caller.

    ``run`` never raises for anything the shadow does: exceptions of every kind become
    ``Outcome.error``; deaths, timeouts and unreturnable results become ``Outcome.fault``.
    ``Outcome.input_after`` is set when the shadow left its input copy changed.
    """

    name: IsolationName

    def prepare(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Prepared: ...

    def run(self, prepared: Prepared, timeout_s: float | None) -> Outcome: ...

    def run_batch(self, batch: Sequence[Prepared], timeout_s: float | None) -> list[Outcome]: ...

    def snapshot(self, prepared: Prepared) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """A fresh copy of the input as prepared (what the caller passed, before the call)."""
        ...

    def close(self) -> None: ...


__all__ = ["ISOLATIONS", "InputNotTransferable", "IsolationName", "Prepared", "ShadowRunner"]
