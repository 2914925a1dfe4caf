"""The errors every implementation raises for invalid input.

They are ``ValueError`` subclasses carrying a ``code`` and the ``field`` at fault, so error
parity between the original and a port is checked on (type, code, field), never on the
message, which a port is free to word differently.
"""

from __future__ import annotations


class PortlibError(ValueError):
    """Invalid input: ``code`` says what is wrong, ``field`` which argument."""

    code = "invalid"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        if code is not None:
            self.code = code


class RangeError(PortlibError):
    """A number outside its documented range (or an order/overflow constraint broken)."""

    code = "range"


class EmptyInputError(PortlibError):
    """An input that must not be empty is (after normalisation, for strings)."""

    code = "empty"
