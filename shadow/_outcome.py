"""What one side of a call did: returned, raised, or never came back.

Why a module of its own: an outcome is produced in four places (the primary, in-process; the
shadow, in a thread or in a worker process; a recording read back from disk) and judged in
one (:mod:`shadow._judge`). Errors that crossed a process boundary or came from a recording
may not be rebuildable as their own class, so an error's identity is taken from
:class:`ErrorInfo` (qualified type name and attributes) rather than from the class object:
a live ``InvalidInputError(code, field)`` and its description read back from a worker or
a recording compare the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["shadow_crash", "shadow_timeout", "shadow_unsendable"]

_ATTR_TYPES: tuple[type, ...] = (str, int, float, bool, type(None))
_MESSAGE_LIMIT = 2000


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class (``builtins.`` kept, so the name is unambiguous)."""
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A picklable, JSON-able description of an exception: enough to judge error parity.

    ``attrs`` holds the exception's public attributes of primitive type (for a T2
    ``InvalidInputError``: ``code`` and ``field``). ``fatal`` is True for a
    ``BaseException`` that is not an ``Exception`` (a Rust panic, ``SystemExit``,
    ``KeyboardInterrupt``): a crash of the implementation, not an answer.
    """

    type: str
    message: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    fatal: bool = False

    @property
    def short_type(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    @staticmethod
    def of(exc: BaseException) -> ErrorInfo:
        if isinstance(exc, RemoteError):
            return exc.info
        try:
            message = str(exc)
        except BaseException:  # a hostile __str__ must not escape
            message = f"<{type(exc).__qualname__}: str() failed>"
        if len(message) > _MESSAGE_LIMIT:
            message = message[: _MESSAGE_LIMIT - 3] + "..."
        attrs: dict[str, Any] = {}
        try:
            names = list(vars(exc))
        except TypeError:
            names = []
        # Class-level defaults count too (``code = "range"`` on an error class).
        for cls in type(exc).__mro__:
            if cls in (BaseException, Exception, object):
                break
            names += [n for n, v in vars(cls).items() if type(v) in _ATTR_TYPES]
        for name in dict.fromkeys(names):
            if name.startswith("_"):
                continue
            try:
                value = getattr(exc, name)
            except BaseException:
                continue
            if type(value) in _ATTR_TYPES:
                attrs[name] = value
        return ErrorInfo(qualified_name(type(exc)), message, attrs, not isinstance(exc, Exception))

    def get(self, attr: str) -> Any:
        return self.attrs.get(attr)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "attrs": dict(self.attrs),
            "fatal": self.fatal,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> ErrorInfo:
        return ErrorInfo(
            str(data["type"]),
            str(data.get("message", "")),
            dict(data.get("attrs") or {}),
            bool(data.get("fatal", False)),
        )


class RemoteError(Exception):
    """An exception known only by its :class:`ErrorInfo` (from a worker or a recording).

    Attribute access falls through to the recorded attributes, so ``exc.code`` works as it
    would on the original.
    """

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info

    def __getattr__(self, name: str) -> Any:
        if name == "info" or name.startswith("__"):
            raise AttributeError(name)
        attrs = self.info.attrs
        if name in attrs:
            return attrs[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"RemoteError({self.info.type}: {self.info.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteError, (self.info,))


def error_type(exc: BaseException) -> str:
    """The qualified type name of an error, looking through :class:`RemoteError`."""
    return exc.info.type if isinstance(exc, RemoteError) else qualified_name(type(exc))


def error_attr(exc: BaseException, attr: str) -> Any:
    if isinstance(exc, RemoteError):
        return exc.info.attrs.get(attr)
    try:
        return getattr(exc, attr, None)
    except BaseException:
        return None


def error_message(exc: BaseException) -> str:
    """``str(exc)``, or "" when that raises (a hostile ``__str__`` must not escape)."""
    if isinstance(exc, RemoteError):
        return exc.info.message
    try:
        return str(exc)
    except BaseException:
        return ""


def present_attrs(exc: BaseException, attrs: Sequence[str]) -> list[tuple[str, Any]]:
    """The ``(name, value)`` of each of ``attrs`` the error has (not None)."""
    out = []
    for a in attrs:
        v = error_attr(exc, a)
        if v is not None:
            out.append((a, v))
    return out


def error_identity(exc: BaseException, attrs: Sequence[str]) -> tuple[Any, ...]:
    """What makes two errors "the same" for parity: qualified type plus the given attributes."""
    return (error_type(exc), *(error_attr(exc, a) for a in attrs))


def is_fatal(exc: BaseException) -> bool:
    """A crash rather than an answer: a BaseException that is not an Exception."""
    if isinstance(exc, RemoteError):
        return exc.info.fatal
    return not isinstance(exc, Exception)


@dataclass(frozen=True, slots=True)
class Fault:
    """The shadow never answered: its worker died, it ran out of time, or its answer could
    not be brought back (unpicklable, or above the result-size cap)."""

    kind: FaultKind
    detail: str
    signal: int | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detail": self.detail,
            "signal": self.signal,
            "exit_code": self.exit_code,
        }


@dataclass(slots=True)
class Outcome:
    """What one side did with one call, in ``duration_s``.

    Exactly one of: ``value`` (returned; None is a value), ``error`` (raised), ``fault``
    (no answer). ``input_after`` is set when the side is known to have left its input in a
    different state than it received it (``(args, kwargs)`` after the call); None means
    unchanged or not checked.
    """

    value: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0
    fault: Fault | None = None
    input_after: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    @property
    def returned(self) -> bool:
        return self.error is None and self.fault is None


__all__ = [
    "ErrorInfo",
    "Fault",
    "FaultKind",
    "Outcome",
    "RemoteError",
    "error_attr",
    "error_identity",
    "error_message",
    "error_type",
    "is_fatal",
    "present_attrs",
    "qualified_name",
]
