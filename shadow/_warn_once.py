"""One warning per kind of failure of the shadow machinery, then only counting.

A failing shadow, log or recording must never reach the caller, but it must not be silent
either: the first failure of each kind (where it happened and the exception's class) is a
``RuntimeWarning``; a flood of the same failure would bury the caller's own output, so later
ones are left to the counters. The dispatcher and the recorder share this rule.
"""

from __future__ import annotations

import contextlib
import threading
import warnings


class WarnOnce:
    """Warns at most once per (where, exception class); never raises."""

    def __init__(self, subject: str) -> None:
        self._subject = subject  # what failed, as the message says it ("recording", ...)
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, where: str, exc: BaseException, *, stacklevel: int = 3) -> None:
        key = f"{where}:{type(exc).__name__}"
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        with contextlib.suppress(BaseException):
            warnings.warn(
                f"shadow: {self._subject} failed at {where} ({type(exc).__name__}: {exc}); the "
                "primary's result is unaffected, further failures of this kind are only counted",
                RuntimeWarning,
                stacklevel=stacklevel,
            )
