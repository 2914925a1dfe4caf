"""Re-run a logged call on both implementations now: does it still diverge, the same way?

The library half of ``shadow replay`` (the command is ``shadow/_commands/replay.py``). The
caller passes the :class:`~shadow._registry.Target` to use: a log is data, and nothing in it
chooses what is imported (the command refuses an event logged for another target unless
the user names that target). The call runs through the shared run-and-judge path
(:class:`shadow._judge.Differential`), in thread or process isolation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shadow._events import Implementation, Reporter, implementation_of
from shadow._isolation import ShadowRunner
from shadow._judge import Differential
from shadow._log import load_input
from shadow._registry import Target


class ReplayError(ValueError):
    """The event cannot be replayed with this target (message says why, one line)."""


@dataclass(frozen=True)
class ReplayOutcome:
    """``diverges`` now? with which ``kind``/``signature``; ``same_signature`` as logged."""

    call_id: str
    op: str
    diverges: bool
    kind: str | None
    severity: str | None
    signature: str | None
    logged_signature: str | None
    diff: tuple[dict[str, Any], ...]
    primary: str = "primary"
    shadow: str = "shadow"

    @property
    def same_signature(self) -> bool:
        return self.signature is not None and self.signature == self.logged_signature


def implementation_names(
    event: dict[str, Any], target: Target, primary: str | None, shadow: str | None
) -> tuple[str, str]:
    """The implementations to replay with: given, else as logged (they must exist)."""
    known = target.implementation_names
    names = []
    for given, side in ((primary, "primary"), (shadow, "shadow")):
        logged = (event.get(side) or {}).get("name")
        name = given or logged
        if not isinstance(name, str) or name not in known:
            choices = ", ".join(known)
            raise ReplayError(
                f"the event's {side} implementation {name!r} is not one of target "
                f"{target.import_spec}'s ({choices}); pass --{side} NAME"
            )
        names.append(name)
    return names[0], names[1]


def replay_event(
    event: dict[str, Any],
    log_path: str | os.PathLike[str] | None = None,
    *,
    target: Target,
    primary: str | None = None,
    shadow: str | None = None,
    isolation: str = "thread",
    timeout_s: float | None = 60.0,
) -> ReplayOutcome:
    """Replay one ``divergence`` event with ``target``. ``log_path`` locates blobs of large
    inputs; ``primary``/``shadow`` override the implementation names the event recorded."""
    op = event.get("op")
    if not isinstance(op, str) or op not in target.ops:
        raise ReplayError(f"target {target.import_spec} has no op {op!r}")
    encoded = load_input(event, log_path) if log_path is not None else event.get("input")
    if encoded is None:
        raise ReplayError(f"event {event.get('call_id')} has no replayable input")
    args, kwargs = target.codec_for(op).decode(encoded)
    p_name, s_name = implementation_names(event, target, primary, shadow)
    runner = _runner(target, s_name, isolation, timeout_s)
    try:
        differential = Differential(
            target.op(op), getattr(target.make(p_name), op), runner, timeout_s=timeout_s
        )
        judgement = differential(args, kwargs)
    finally:
        runner.close()
    base: dict[str, Any] = {
        "call_id": str(event.get("call_id", "")),
        "op": op,
        "logged_signature": event.get("signature"),
        "primary": p_name,
        "shadow": s_name,
    }
    if not judgement.diverged:
        return ReplayOutcome(
            diverges=False, kind=None, severity=None, signature=None, diff=(), **base
        )
    d = judgement.divergences[0]
    reporter = Reporter(
        target,
        run_id=f"replay-{event.get('call_id', 'x')}",
        source="replay",
        primary=Implementation(p_name, implementation_of(target.make(p_name)).version),
        shadow=Implementation(s_name),
    )
    fields = reporter.divergence(judgement, d, (args, kwargs))
    return ReplayOutcome(
        diverges=True,
        kind=d.kind,
        severity=d.severity,
        signature=d.signature.id,
        diff=tuple(fields.get("diff", ())),
        **base,
    )


def _runner(target: Target, name: str, isolation: str, timeout_s: float | None) -> ShadowRunner:
    if isolation == "process":
        from shadow._isolation.process import ProcessIsolation, TargetImplementation

        return ProcessIsolation(TargetImplementation(target.import_spec, name), timeout_s=timeout_s)
    from shadow._isolation.thread import ThreadIsolation

    return ThreadIsolation(target.make(name), timeout_s=timeout_s)


__all__ = ["ReplayError", "ReplayOutcome", "implementation_names", "replay_event"]
