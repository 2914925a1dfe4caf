"""The regression corpus: one JSON file per permanent case, read by the gate and by pytest.

Why one module: ``shadow replay --save`` writes cases, ``shadow gate`` and the corpus test
read them, and the fuzzer can turn a shrunk finding into one. If each had its own idea of
the format, a case saved by one tool could silently stop being checked by another.

A case file is ``{"schema": "shadow.case/1", "target", "op", "input", "input_digest",
"kind", "signature", "severity", "note", "created", "call_id", "diverged_when_saved"}``,
named ``<op>-<first 16 hex of the input digest>.json`` so that re-saving is idempotent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

CASE_SCHEMA: Final = "shadow.case/1"
DEFAULT_CORPUS: Final = Path("tests/corpus")


class CorpusError(ValueError):
    """A corpus file that cannot be read as a case (the gate reports it as a failure)."""


def input_digest(encoded: Any) -> str:
    """``sha256:`` + hex of canonical JSON (sorted keys, compact), as docs/events.md says."""
    return (
        "sha256:" + hashlib.sha256(orjson.dumps(encoded, option=orjson.OPT_SORT_KEYS)).hexdigest()
    )


@dataclass(frozen=True, slots=True)
class Case:
    """A permanent regression case: everything the gate needs to replay it, nothing else."""

    target: str
    op: str
    input: Any
    input_digest: str
    kind: str | None
    signature: str | None
    severity: str | None
    note: str
    created: str
    call_id: str
    diverged_when_saved: bool
    primary: str | None = None
    shadow: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": CASE_SCHEMA, **{k: getattr(self, k) for k in self.__slots__}}

    def filename(self) -> str:
        op = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.op) or "op"
        return f"{op}-{self.input_digest.removeprefix('sha256:')[:16]}.json"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        if data.get("schema") != CASE_SCHEMA:
            raise CorpusError(f"not a {CASE_SCHEMA} case (schema {data.get('schema')!r})")
        try:
            encoded = data["input"]
            return cls(
                target=str(data["target"]),
                op=str(data["op"]),
                input=encoded,
                input_digest=str(data.get("input_digest") or input_digest(encoded)),
                kind=data.get("kind"),
                signature=data.get("signature"),
                severity=data.get("severity"),
                note=str(data.get("note", "")),
                created=str(data.get("created", "")),
                call_id=str(data.get("call_id", "")),
                diverged_when_saved=bool(data.get("diverged_when_saved", False)),
                primary=data.get("primary"),
                shadow=data.get("shadow"),
            )
        except KeyError as exc:
            raise CorpusError(f"case lacks the {exc.args[0]!r} key") from None


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def case_from_event(
    event: Mapping[str, Any], encoded: Any, *, note: str, diverged_now: bool
) -> Case:
    """The case that pins a logged divergence event (runtime, fuzz or corpus source)."""
    return Case(
        target=str(event["target"]),
        op=str(event["op"]),
        input=encoded,
        input_digest=input_digest(encoded),
        kind=event.get("kind"),
        signature=event.get("signature"),
        severity=event.get("severity"),
        note=note,
        created=now_iso(),
        call_id=str(event.get("call_id", "")),
        diverged_when_saved=diverged_now,
        primary=(event.get("primary") or {}).get("name"),
        shadow=(event.get("shadow") or {}).get("name"),
    )


def save_case(case: Case, corpus: Path) -> Path:
    """Write the case atomically; the name (op + input digest) makes re-saving idempotent."""
    corpus.mkdir(parents=True, exist_ok=True)
    path = corpus / case.filename()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(
        orjson.dumps(case.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    tmp.replace(path)
    return path


def load_case(path: Path) -> Case:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: a case is a JSON object")
    try:
        return Case.from_dict(data)
    except CorpusError as exc:
        raise CorpusError(f"{path}: {exc}") from None


def iter_case_files(corpus: Path) -> Iterator[Path]:
    """Case files in name order (stable across machines), ignoring READMEs and temp files."""
    if not corpus.is_dir():
        return
    yield from sorted(p for p in corpus.glob("*.json") if p.is_file())
