"""Divergence and run-summary events as plain dicts, in the schema of ``docs/events.md``.

Kept apart from the writer (:mod:`shadow.log`) and the dispatcher so that the fuzzer and
the replay tool build exactly the same events, and so grouping (:func:`signature`) has one
definition.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from shadow.codec import JSON, Codec, canonical_json
from shadow.compare import MAX_DIFF_ENTRIES, DiffEntry, Outcome, error_summary
from shadow.log import BLOB_THRESHOLD, SCHEMA, EventLog

__all__ = [
    "SCHEMA",
    "divergence_event",
    "normalize_path",
    "signature",
    "summarize_value",
    "utc_timestamp",
]

_INDEX = re.compile(r"\[\d+\]")
_MAX_DIFF_VALUE_BYTES = 2048


def utc_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_path(path: str) -> str:
    """``root.ranked[3].gflops`` -> ``root.ranked[*].gflops``: the same problem at any index."""
    return _INDEX.sub("[*]", path)


def signature(op: str, kind: str, paths: Sequence[str]) -> str:
    """16 hex chars grouping divergences that are "the same problem"."""
    normalized = sorted({normalize_path(p) for p in paths})
    text = "\n".join([op, kind, *normalized])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def summarize_value(value: Any, limit: int = 160) -> str:
    """A short human description of an output: type, size and first values."""
    t = type(value)
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
        except Exception:
            text = t.__qualname__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outcome_summary(outcome: Outcome | None, error_attrs: Sequence[str]) -> str | None:
    if outcome is None:
        return None
    if outcome.error is not None:
        return error_summary(outcome.error, error_attrs)
    return summarize_value(outcome.value)


def _diff_value(codec: Codec | None, value: Any) -> JSON:
    """A diff side as JSON, replaced by its summary when large (events stay readable)."""
    if codec is None:
        return summarize_value(value)
    try:
        encoded = codec.encode_value(value, lenient=True)
        if len(orjson.dumps(encoded, default=repr)) <= _MAX_DIFF_VALUE_BYTES:
            return encoded
    except Exception:
        pass
    return summarize_value(value)


def encode_diff(diff: Sequence[DiffEntry], codec: Codec | None) -> list[dict[str, JSON]]:
    return [
        {
            "path": d.path,
            "primary": _diff_value(codec, d.primary),
            "shadow": _diff_value(codec, d.shadow),
        }
        for d in diff[:MAX_DIFF_ENTRIES]
    ]


def replay_command(log_path: str | None, call_id: str) -> str:
    log = shlex.quote(log_path) if log_path else "LOG"
    return f"shadow replay {log} --call {shlex.quote(call_id)}"


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
    else:
        fields["input"] = encoded
        fields["input_ref"] = None


def side(
    name: str, version: str, outcome: Outcome | None, error_attrs: Sequence[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "duration_s": None if outcome is None else outcome.duration_s,
        "summary": outcome_summary(outcome, error_attrs),
    }


def divergence_event(
    *,
    run_id: str,
    call_id: str,
    target: str,
    op: str,
    kind: str,
    severity: str,
    source: str,
    primary: Mapping[str, Any],
    shadow: Mapping[str, Any],
    diff: Sequence[DiffEntry],
    diff_count: int,
    codec: Codec | None,
    encoded_input: JSON | None,
    log: EventLog | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields of one ``divergence`` event (everything but ``schema`` and ``event``)."""
    fields: dict[str, Any] = {
        "ts": utc_timestamp(),
        "run_id": run_id,
        "call_id": call_id,
        "target": target,
        "op": op,
        "kind": kind,
        "severity": severity,
        "source": source,
        "primary": dict(primary),
        "shadow": dict(shadow),
    }
    attach_input(fields, encoded_input, log)
    fields["diff"] = encode_diff(diff, codec)
    fields["diff_count"] = diff_count
    fields["signature"] = signature(op, kind, [d.path for d in diff])
    fields["replay"] = replay_command(str(log.path) if log is not None else None, call_id)
    if extra:
        fields.update(extra)
    return fields
