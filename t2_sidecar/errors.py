"""The one exception class both T2 backends raise for bad input.

It lives beside the compiled module (not in ``runners``) so that the Rust binding can raise
it directly without importing anything else of ours, and the Python reference raises the
very same class. Error parity between backends is then a plain comparison of
``(type, code, field)``.
"""

from __future__ import annotations

from typing import Final

# Codes are part of the contract: both backends must pick the same one for the same input.
WRONG_TYPE: Final = "wrong_type"
EMPTY: Final = "empty"
DUPLICATE: Final = "duplicate"
OUT_OF_RANGE: Final = "out_of_range"
INVALID_NAME: Final = "invalid_name"
INVALID_VALUE: Final = "invalid_value"
NOT_FINITE: Final = "not_finite"
TOO_LARGE: Final = "too_large"
OVERFLOW: Final = "overflow"

ERROR_CODES: Final = frozenset(
    {
        WRONG_TYPE,
        EMPTY,
        DUPLICATE,
        OUT_OF_RANGE,
        INVALID_NAME,
        INVALID_VALUE,
        NOT_FINITE,
        TOO_LARGE,
        OVERFLOW,
    }
)


class InvalidInputError(ValueError):
    """Bad input to a T2 core operation.

    ``field`` names the offending input (``"vector_widths"``, ``"measurements.gflops"``...),
    ``code`` says what is wrong with it (one of :data:`ERROR_CODES`), and the message is for
    people. Two errors are "the same" for parity when type, code and field agree; the message
    may differ between backends.
    """

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.code = code
        self.field = field
        self.detail = message

    def __reduce__(self) -> tuple[type[InvalidInputError], tuple[str, str, str]]:
        return (type(self), (self.code, self.field, self.detail))

    def __repr__(self) -> str:
        return (
            f"InvalidInputError(code={self.code!r}, field={self.field!r}, message={self.detail!r})"
        )
