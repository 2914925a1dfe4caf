"""Where a logged input's blob is, and how big: never outside the log's folder.

Why: ``input_ref`` comes from the log, which is data.  A hostile or corrupt reference
(``../../etc/passwd``, an absolute path, a NUL byte) must neither make review read files
elsewhere nor crash it; such a reference is reported as a bad field and the event counts
as having no input.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Final

NUL_BYTE: Final = "contains a NUL byte"
OUTSIDE: Final = "points outside the log's folder"
MISSING: Final = "blob file missing or unreadable"


def check_ref(ref: str) -> str | None:
    """The problem with a blob reference, or None when it stays inside the log's folder."""
    if "\x00" in ref:
        return NUL_BYTE
    pure = PurePosixPath(ref.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or ref.startswith("~"):
        return OUTSIDE
    return None


@lru_cache(maxsize=65536)
def blob_size(log_dir: str, ref: str) -> tuple[int | None, str | None]:
    """``(size in bytes, None)`` of the blob, or ``(None, problem)``."""
    problem = check_ref(ref)
    if problem is not None:
        return None, problem
    path = Path(log_dir) / ref
    try:
        if Path(os.path.realpath(path)).is_relative_to(os.path.realpath(log_dir)):
            return os.stat(path).st_size, None
        return None, OUTSIDE  # a symlink inside the folder that leads out of it
    except (OSError, ValueError):
        return None, MISSING
