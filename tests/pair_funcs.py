"""A function pair the tests define: an original, a faithful port and a port with a bug.

Plain module-level functions with type hints, nothing registered: what a user has before
writing any shadow code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    lo: int
    hi: int


def clamp(x: int, window: Window) -> int:
    """The original."""
    if window.lo > window.hi:
        raise ValueError("window: lo > hi")
    return max(window.lo, min(x, window.hi))


def clamp_port(x: int, window: Window) -> int:
    """A faithful port (written differently)."""
    if window.hi < window.lo:
        raise ValueError("window: lo > hi")
    if x < window.lo:
        return window.lo
    return window.hi if x > window.hi else x


def clamp_buggy(x: int, window: Window) -> int:
    """A port with a sign bug: negative values are clamped as if the window started at 0."""
    if window.hi < window.lo:
        raise ValueError("window: lo > hi")
    if x < 0:
        return max(0, window.lo)
    return window.hi if x > window.hi else max(x, window.lo)
