"""Pick a T2 core backend by name; the Rust one is imported only when asked for."""

from __future__ import annotations

from runners.backend import Backend

BACKEND_NAMES: tuple[str, ...] = ("python", "rust")


def get_backend(name: str) -> Backend:
    if name == "python":
        from runners.reference import PythonBackend

        return PythonBackend()
    if name == "rust":
        from runners.rust_backend import RustBackend

        return RustBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
