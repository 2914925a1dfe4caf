"""Turn ``LOG...`` arguments (files, globs, directories) into the list of files to read.

Why strict: a review that silently read nothing is a green CI run on no evidence.  A path
that does not exist, a glob that matches nothing, or a directory without logs is an error
with a one-line message naming it.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

LOG_PATTERNS: Final = ("*.jsonl", "*.jsonl.gz")
_GLOB_CHARS: Final = frozenset("*?[")


class ReviewInputError(Exception):
    """A log argument that cannot be read; ``str()`` is the one-line message for users."""


def _logs_in(directory: Path) -> list[Path]:
    found = {p for pattern in LOG_PATTERNS for p in directory.rglob(pattern) if p.is_file()}
    return sorted(found)


def resolve_logs(args: Sequence[str | os.PathLike[str]], *, command: str = "review") -> list[Path]:
    """Files named by the arguments, in order, each once (by resolved path)."""
    out: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)

    for arg in args:
        text = os.fspath(arg)
        path = Path(text)
        if path.is_dir():
            inside = _logs_in(path)
            if not inside:
                raise ReviewInputError(
                    f"{text}: no {' or '.join(LOG_PATTERNS)} file in this directory"
                )
            for p in inside:
                add(p)
        elif path.exists():
            add(path)
        elif _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ReviewInputError(f"{text}: no file matches this pattern")
            for m in matches:
                p = Path(m)
                for q in _logs_in(p) if p.is_dir() else [p]:
                    add(q)
        elif os.path.lexists(text):
            raise ReviewInputError(f"{text}: broken or looping symbolic link")
        else:
            raise ReviewInputError(f"{text}: no such file or directory")
    if not out:
        raise ReviewInputError("no log given")
    return out
