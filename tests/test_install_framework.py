"""``pip install`` of the framework alone brings no T2 runner dependency (issue 12)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_framework_installs_without_the_t2_runner_dependencies() -> None:
    script = PROJECT_ROOT / "scripts" / "check_framework_install.sh"
    done = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "none of numpy/pyopencl/pocl installed" in done.stdout
