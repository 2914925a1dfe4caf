"""Shared test fixtures: backends (every core test runs on both) and the golden fixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from runners.backend import Backend
from runners.backends import BACKEND_NAMES, get_backend

PROJECT_ROOT = Path(__file__).resolve().parent.parent

settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def rust_required() -> bool:
    """A missing Rust build fails the tests, never skips them: the Rust backend is half of
    what the suite checks. Only an explicit ``T2_ALLOW_MISSING_RUST=1`` outside CI (a Python-
    only edit on a machine without cargo) turns that failure into a skip."""
    allowed = os.environ.get("T2_ALLOW_MISSING_RUST") == "1" and not os.environ.get("CI")
    return not allowed


def load_backend(name: str) -> Backend:
    try:
        return get_backend(name)
    except ImportError as exc:
        if rust_required():
            pytest.fail(
                f"backend {name!r} is not built ({exc}): run `make rebuild` "
                "(or set T2_ALLOW_MISSING_RUST=1 to skip its tests outside CI)"
            )
        pytest.skip(f"backend {name!r} is not built and T2_ALLOW_MISSING_RUST=1: {exc}")


@pytest.fixture(scope="session", params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    return load_backend(request.param)


@pytest.fixture(scope="session")
def python_backend() -> Backend:
    return load_backend("python")


@pytest.fixture(scope="session")
def rust_backend() -> Backend:
    return load_backend("rust")


def fixtures_path() -> Path:
    override = os.environ.get("T2_FIXTURES_DIR")
    return Path(override) if override else PROJECT_ROOT.parent / "shared" / "fixtures" / "rx580"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = fixtures_path()
    if not path.is_dir():
        # Golden data must run in CI: a missing directory is an error, not a skip.
        pytest.fail(f"golden fixtures not found at {path} (set T2_FIXTURES_DIR)")
    return path


def open_opencl(kernel_source_text: str | None = None) -> Any:
    """An OpenCL executor on the default device. No device is a failure under CI (the setup
    installs PoCL); elsewhere, a skip that says why."""
    from runners.executors import opencl

    try:
        return opencl.OpenCLExecutor(kernel_source_text=kernel_source_text)
    except opencl.ExecutorError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no usable OpenCL device under CI: {exc}")
        pytest.skip(f"no OpenCL device: {exc}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying how the real-browser tests of the review page ended, so a CI log shows
    they ran (``-q`` lists no passed test by name, and under CI they must not skip)."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") in (
                "call",
                "setup",
            ) and "test_review_browser.py" in (getattr(report, "nodeid", "") or ""):
                if outcome == "passed" and report.when != "call":
                    continue
                counts[outcome] = counts.get(outcome, 0) + 1
    if counts:
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"review page in a real browser: {summary}")
