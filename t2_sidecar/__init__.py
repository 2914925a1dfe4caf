"""Python face of the Rust sidecar: the compiled T2 core and the error class it raises."""

from t2_sidecar.errors import InvalidInputError

__all__ = ["InvalidInputError", "native_available"]


def native_available() -> bool:
    """Whether the compiled extension can be imported (it is built by maturin)."""
    try:
        from t2_sidecar import _native  # noqa: F401
    except ImportError:
        return False
    return True
