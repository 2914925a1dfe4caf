"""Re-run a logged call on both implementations now: does it still diverge, the same way?

This is the library half of ``shadow replay`` (the command lives in
``shadow/commands/replay.py``): it re-imports the event's target, decodes the logged input,
builds both implementations by the names the event recorded, and compares them with the
op's current policy, exactly as the dispatcher would have (strict, sync, no log).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shadow.compare import DiffEntry
from shadow.dispatcher import Dispatcher, ShadowDivergenceError
from shadow.events import signature
from shadow.log import load_input
from shadow.registry import Target, load_target


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

    @property
    def same_signature(self) -> bool:
        return self.signature is not None and self.signature == self.logged_signature


def replay_event(
    event: dict[str, Any],
    log_path: str | os.PathLike[str] | None = None,
    *,
    target: Target | None = None,
    primary: str | None = None,
    shadow: str | None = None,
) -> ReplayOutcome:
    """Replay one ``divergence`` event. ``log_path`` locates blobs of large inputs;
    ``primary``/``shadow`` override the implementation names the event recorded."""
    target = target or load_target(event["target"])
    op = event["op"]
    encoded = load_input(event, log_path) if log_path is not None else event.get("input")
    if encoded is None:
        raise ValueError(f"event {event.get('call_id')} has no replayable input")
    args, kwargs = target.codec_for(op).decode(encoded)
    p_name = primary or event["primary"]["name"]
    s_name = shadow or event["shadow"]["name"]
    dispatcher = Dispatcher(
        target,
        target.make(p_name),
        target.make(s_name),
        mode="strict",
        timeout_s=float(event.get("timeout_s") or 60.0),
        run_id=f"replay-{event.get('call_id', 'x')}",
        source="replay",
    )
    base = dict(call_id=event.get("call_id", ""), op=op, logged_signature=event.get("signature"))
    try:
        dispatcher.call(op, *args, **kwargs)
    except ShadowDivergenceError as exc:
        diff = tuple(exc.event.get("diff", ()))
        return ReplayOutcome(
            diverges=True,
            kind=exc.kind,
            severity=exc.severity,
            signature=exc.event.get("signature")
            or signature(op, exc.kind, [d["path"] for d in diff]),
            diff=diff,
            **base,
        )
    except Exception:  # the primary raised and the shadow agreed: no divergence
        pass
    finally:
        dispatcher.close()
    return ReplayOutcome(diverges=False, kind=None, severity=None, signature=None, diff=(), **base)


__all__ = ["DiffEntry", "ReplayOutcome", "replay_event"]
