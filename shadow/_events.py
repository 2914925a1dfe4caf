"""Divergence and run-summary events as plain dicts, in the schema of ``docs/events.md``.

Kept apart from the writer (:mod:`shadow._log`) and the dispatcher so that the fuzzer and
the replay tool build exactly the same events, and so grouping (:func:`signature`) has one
definition.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from shadow._codec import JSON, Codec, canonical_json
from shadow._compare import MAX_DIFF_ENTRIES, DiffEntry, error_summary
from shadow._log import BLOB_THRESHOLD, SCHEMA, EventLog
from shadow._outcome import ErrorInfo, Outcome
from shadow._signature import normalize_path

if TYPE_CHECKING:
    from shadow._judge import Divergence, Judgement
    from shadow._registry import Target

__all__ = [
    "SCHEMA",
    "Implementation",
    "Reporter",
    "implementation_of",
    "normalize_path",
    "summarize_value",
    "utc_timestamp",
]

_MAX_DIFF_VALUE_BYTES = 2048


def utc_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except BaseException:
        return f"<{type(value).__qualname__}: repr failed>"


def summarize_value(value: Any, limit: int = 160) -> str:
    """A short human description of an output: type, size and first values (never raises)."""
    try:
        return _summarize(value, limit)
    except BaseException:
        return f"<{type(value).__qualname__}>"


def _summarize(value: Any, limit: int = 160) -> str:
    t = type(value)
    if t in _TEXTS and len(value) > limit:
        value = value[:limit]  # the text is cut to ``limit`` anyway: never repr it whole
    if value is None or t in (bool, int, float) or t is str:
        text = repr(value)
    elif t in (list, tuple):
        head = ", ".join(summarize_value(v, 40) for v in value[:3])
        more = ", ..." if len(value) > 3 else ""
        text = f"{t.__name__}[{len(value)}]({head}{more})"
    elif dataclasses.is_dataclass(value):
        parts = []
        for f in dataclasses.fields(value)[:4]:
            v = getattr(value, f.name)
            parts.append(f"{f.name}={summarize_value(v, 40)}")
        size = f"len={len(value)}, " if hasattr(t, "__len__") else ""  # type: ignore[arg-type]
        text = f"{t.__name__}({size}{', '.join(parts)}{', ...' if len(dataclasses.fields(value)) > 4 else ''})"
    else:
        try:
            text = f"{t.__qualname__}: {value!r}"
        except BaseException:  # a hostile __repr__ (even a panic) must not break logging
            text = t.__qualname__
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TEXTS: tuple[type, ...] = (str, bytes, bytearray)
_SIZED: frozenset[type] = frozenset({str, bytes, bytearray, list, tuple, dict, set, frozenset})


def _diff_value(codec: Codec | None, value: Any) -> JSON:
    """A diff side as JSON, replaced by its summary when large (events stay readable).

    A value with more items (or characters, or bytes) than the JSON size limit cannot fit
    in it: it is summarized without being encoded first, so a 100 MiB shadow result costs
    no more to log than a small one."""
    if codec is None or (type(value) in _SIZED and len(value) > _MAX_DIFF_VALUE_BYTES):
        return summarize_value(value)
    try:
        encoded = codec.encode_value(value, lenient=True)
        if len(orjson.dumps(encoded, default=_safe_repr)) <= _MAX_DIFF_VALUE_BYTES:
            return encoded
    except BaseException:
        pass
    return summarize_value(value)


def encode_diff(diff: Sequence[DiffEntry], codec: Codec | None) -> list[dict[str, JSON]]:
    return [
        {
            "path": d.path,
            "primary": _diff_value(codec, d.primary),
            "shadow": _diff_value(codec, d.shadow),
            "change": d.change,
        }
        for d in diff[:MAX_DIFF_ENTRIES]
    ]


def replay_command(
    log_path: str | None, call_id: str, target: str | None = None, kind: str | None = None
) -> str:
    """The one-line command that replays a call; names ``--target`` when it is not the
    project's configured one (a log never chooses what replay imports), and process
    isolation for a call whose shadow crashed (see :func:`replay_isolation`)."""
    log = shlex.quote(log_path) if log_path else "LOG"
    extra = f" --target {shlex.quote(target)}" if target else ""
    return f"shadow replay {log} --call {shlex.quote(call_id)}{extra}{replay_isolation(kind)}"


def replay_isolation(kind: object) -> str:
    """`` --isolation process`` for a ``shadow_crash``: replayed in-process (replay's
    default), the crash would take the replay itself down, without a word."""
    return " --isolation process" if kind == "shadow_crash" else ""


def encode_call(
    codec: Codec, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[JSON | None, dict[str, Any]]:
    """The encoded input of a call, and the event fields saying why when it cannot be encoded
    (a divergence is still worth logging without its input)."""
    try:
        return codec.encode(args, dict(kwargs)), {}
    except Exception as exc:
        return None, {"input_error": f"{type(exc).__name__}: {exc}"}


def attach_input(fields: dict[str, Any], encoded: JSON | None, log: EventLog | None) -> None:
    """Fill ``input_digest``, ``input`` and ``input_ref`` (a blob when the JSON is large)."""
    if encoded is None:
        fields.update(input_digest=None, input=None, input_ref=None)
        return
    payload = canonical_json(encoded)
    hex_digest = hashlib.sha256(payload).hexdigest()
    fields["input_digest"] = f"sha256:{hex_digest}"
    if len(payload) > BLOB_THRESHOLD and log is not None:
        fields["input"] = None
        fields["input_ref"] = log.store_blob(hex_digest, payload)
        if fields["input_ref"] is None:
            fields["input_error"] = f"the input blob ({len(payload)} bytes) could not be written"
    else:
        fields["input"] = encoded
        fields["input_ref"] = None


def side(
    name: str, version: str, outcome: Outcome | None, error_attrs: Sequence[str]
) -> dict[str, Any]:
    """One side of an event: who it is, how long it took, and what it did."""
    out: dict[str, Any] = {
        "name": name,
        "version": version,
        "duration_s": None if outcome is None else outcome.duration_s,
        "summary": outcome_summary(outcome, error_attrs),
    }
    if outcome is not None and outcome.error is not None:
        out["error"] = ErrorInfo.of(outcome.error).to_json()
    if outcome is not None and outcome.fault is not None:
        out["fault"] = outcome.fault.to_json()
    return out


def outcome_summary(outcome: Outcome | None, error_attrs: Sequence[str]) -> str | None:
    if outcome is None:
        return None
    if outcome.fault is not None:
        return f"{outcome.fault.kind}: {outcome.fault.detail}"
    if outcome.error is not None:
        return error_summary(outcome.error, error_attrs)
    return summarize_value(outcome.value)


@dataclass(frozen=True, slots=True)
class Implementation:
    """An implementation as events name it."""

    name: str
    version: str = "unknown"


class Reporter:
    """Turns judgements into ``divergence`` events (and run summaries) for one run.

    Shared by the dispatcher, the fuzzer, the gate, replay and verify, so an event means the
    same thing whoever wrote it. Thread-safe: call ids come from one counter.
    """

    def __init__(
        self,
        target: Target,
        *,
        run_id: str,
        source: str,
        primary: Implementation,
        shadow: Implementation,
        log: EventLog | None = None,
        replay_target: str | bool | None = True,
    ) -> None:
        """``replay_target``: True names ``--target`` in replay commands only when the
        target is not the project's configured one; a string names that; None never."""
        if replay_target is True:
            from shadow._config import configured_target

            replay_target = (
                None if configured_target() == target.import_spec else target.import_spec
            )
        self.spec_target = target
        self.target = target.import_spec
        self.run_id = run_id
        self.source = source
        self.primary = primary
        self.shadow = shadow
        self.log = log
        self.replay_target = replay_target if isinstance(replay_target, str) else None
        self._seq = itertools.count(1)

    def next_call_id(self) -> str:
        return f"{self.run_id}-{next(self._seq):06d}"

    def divergence(
        self,
        judgement: Judgement,
        divergence: Divergence,
        call_input: tuple[tuple[Any, ...], Mapping[str, Any]] | None,
        *,
        encoded_input: JSON | None = None,
        call_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build (and write, when there is a log) the event of one divergence."""
        op = judgement.op
        codec = self.spec_target.codec_for(op)
        fields_extra: dict[str, Any] = dict(extra or {})
        encoded = encoded_input
        if encoded is None and call_input is not None and codec is not None:
            encoded, problem = encode_call(codec, call_input[0], call_input[1])
            fields_extra.update(problem)
        call_id = call_id or self.next_call_id()
        attrs = self.spec_target.op(op).policy.compare_error_attrs
        fields: dict[str, Any] = {
            "ts": utc_timestamp(),
            "run_id": self.run_id,
            "call_id": call_id,
            "target": self.target,
            "op": op,
            "kind": divergence.kind,
            "severity": divergence.severity,
            "source": self.source,
            "primary": side(self.primary.name, self.primary.version, judgement.primary, attrs),
            "shadow": side(self.shadow.name, self.shadow.version, judgement.shadow, attrs),
        }
        attach_input(fields, encoded, self.log)
        fields["diff"] = encode_diff(divergence.diff, codec)
        fields["diff_count"] = divergence.diff_count
        fields["diff_truncated"] = divergence.truncated
        fields["signature"] = divergence.signature.id
        fields["signature_parts"] = list(divergence.signature.parts)
        fields["replay"] = replay_command(
            str(self.log.path) if self.log is not None else None,
            call_id,
            self.replay_target,
            divergence.kind,
        )
        fields.update(fields_extra)
        if self.log is not None:
            self.log.emit("divergence", fields)
        return fields

    def summary(
        self, counters: Mapping[str, Any], *, mode: str, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "ts": utc_timestamp(),
            "run_id": self.run_id,
            "target": self.target,
            "source": self.source,
            "mode": mode,
            "primary": {"name": self.primary.name, "version": self.primary.version},
            "shadow": {"name": self.shadow.name, "version": self.shadow.version},
            "counters": dict(counters),
            **(extra or {}),
        }
        if self.log is not None:
            self.log.emit("run_summary", fields)
        return fields


def implementation_of(impl: Any, default_name: str | None = None) -> Implementation:
    """Name and version of an implementation: its ``name``/``version`` attributes, else its
    module's ``__version__`` and its type or module name."""
    name = getattr(impl, "name", None)
    version = getattr(impl, "version", None) or getattr(impl, "__version__", None)
    if not isinstance(version, str):
        module = sys.modules.get(getattr(impl, "__module__", "") or "")
        package = sys.modules.get((getattr(module, "__name__", "") or "").split(".")[0])
        version = getattr(package, "__version__", None)
    if not isinstance(name, str):
        name = default_name or getattr(impl, "__name__", None) or type(impl).__name__
    return Implementation(str(name), version if isinstance(version, str) else "unknown")
