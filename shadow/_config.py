"""Where ``shadow`` finds the project's defaults: ``SHADOW_TARGET`` or ``[tool.shadow]``.

Why: ``shadow fuzz`` and ``shadow gate`` need a target (``module:attr``) but ``shadow/``
must not know which project it runs in. The project says it once, in ``pyproject.toml``::

    [tool.shadow]
    target = "runners.shadow_t2:TARGET"
    corpus = "tests/corpus"          # optional
    baseline = "shadow-baseline.json"  # optional

and the environment (``SHADOW_TARGET``) overrides it for one run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_TARGET = "SHADOW_TARGET"


class ConfigError(ValueError):
    """No target was given and none is configured."""


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` (default: the working directory) up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def tool_table(start: Path | None = None) -> Mapping[str, Any]:
    """``[tool.shadow]`` of the nearest pyproject.toml ({} when absent or unreadable)."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("tool", {}).get("shadow", {})
    return table if isinstance(table, dict) else {}


def default_target(env: Mapping[str, str] = os.environ, start: Path | None = None) -> str:
    """``$SHADOW_TARGET``, else ``[tool.shadow] target``; :class:`ConfigError` if neither."""
    spec = env.get(ENV_TARGET) or tool_table(start).get("target")
    if not spec or not isinstance(spec, str):
        raise ConfigError(
            "no target: pass --target MODULE:ATTR, set SHADOW_TARGET, or add "
            '[tool.shadow] target = "module:attr" to pyproject.toml'
        )
    return spec


def configured_path(key: str, fallback: str, start: Path | None = None) -> Path:
    value = tool_table(start).get(key)
    return Path(value) if isinstance(value, str) and value else Path(fallback)


def configured_target(env: Mapping[str, str] = os.environ, start: Path | None = None) -> str | None:
    """The project's target spec, or None when none is configured (never raises)."""
    try:
        return default_target(env, start)
    except ConfigError:
        return None
