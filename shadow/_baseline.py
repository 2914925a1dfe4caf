"""Accepted divergences: the gate's list of known, explained, time-limited disagreements.

Why an expiry date: an accepted divergence is a debt. Each entry says which divergence
(``signature``, as in events), of which ``op``, ``reason`` it is tolerated, and until when
(``expires``, an ISO date, inclusive). After that day the entry itself fails the gate, so
nothing stays accepted by oversight.

File format (``shadow-baseline.json``)::

    {"schema": "shadow.baseline/1",
     "accepted": [{"signature": "0123456789abcdef", "op": "summarize",
                   "reason": "libm log2 differs on musl; fix tracked in #12",
                   "expires": "2026-12-31"}]}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import orjson

BASELINE_SCHEMA: Final = "shadow.baseline/1"
DEFAULT_BASELINE: Final = Path("shadow-baseline.json")


class BaselineError(ValueError):
    """The baseline file is malformed (the gate fails: a broken baseline accepts nothing)."""


@dataclass(frozen=True)
class Accepted:
    signature: str
    op: str
    reason: str
    expires: date

    def expired(self, today: date) -> bool:
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "op": self.op,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Accepted, ...] = ()

    def active(self, today: date) -> dict[tuple[str, str], Accepted]:
        """(op, signature) -> entry, for entries not yet expired."""
        return {(e.op, e.signature): e for e in self.entries if not e.expired(today)}

    def expired(self, today: date) -> tuple[Accepted, ...]:
        return tuple(e for e in self.entries if e.expired(today))

    def lookup(self, op: str, signature: str | None) -> Accepted | None:
        for e in self.entries:
            if e.op == op and e.signature == signature:
                return e
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": BASELINE_SCHEMA, "accepted": [e.to_dict() for e in self.entries]}


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_entry(raw: Any, index: int) -> Accepted:
    if not isinstance(raw, dict):
        raise BaselineError(f"entry {index} is not an object")
    missing = [k for k in ("signature", "op", "reason", "expires") if not raw.get(k)]
    if missing:
        raise BaselineError(f"entry {index} lacks {', '.join(missing)}")
    try:
        expires = date.fromisoformat(str(raw["expires"]))
    except ValueError:
        raise BaselineError(
            f"entry {index}: expires {raw['expires']!r} is not YYYY-MM-DD"
        ) from None
    return Accepted(str(raw["signature"]), str(raw["op"]), str(raw["reason"]), expires)


def load_baseline(path: Path | None) -> Baseline:
    """The baseline at ``path``; an absent file is an empty baseline."""
    if path is None or not path.exists():
        return Baseline()
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise BaselineError(
            f"{path}: expected {{'schema': '{BASELINE_SCHEMA}', 'accepted': [...]}}"
        )
    raw = data.get("accepted", [])
    if not isinstance(raw, list):
        raise BaselineError(f"{path}: 'accepted' must be a list")
    return Baseline(tuple(parse_entry(r, i) for i, r in enumerate(raw)))


def write_baseline(path: Path, entries: Iterable[Accepted]) -> None:
    data = Baseline(tuple(entries)).to_dict()
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
