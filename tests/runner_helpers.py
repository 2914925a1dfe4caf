"""Helpers of the runner tests: where the recorded fixtures are, at collection time.

The ``fixtures_dir`` fixture of conftest.py is the source of truth inside tests; this mirrors
its lookup so that tests can be parametrized by fixture file when they are collected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def fixtures_path() -> Path:
    override = os.environ.get("T2_FIXTURES_DIR")
    return Path(override) if override else PROJECT_ROOT.parent / "shared" / "fixtures" / "rx580"


def fixture_names() -> list[str]:
    """Every recorded report, so a fixture added later is covered without editing tests."""
    path = fixtures_path()
    return sorted(p.name for p in path.glob("*.json")) if path.is_dir() else []


def recorded_key(row: dict[str, Any]) -> str:
    return str(row["config_id"] if "config_id" in row else row["kernel"])


def rel_close(a: float | None, b: float | None, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)
