#!/usr/bin/env bash
# Creates .venv and installs the project with its dev dependencies; maturin builds the Rust
# extension from source (release profile) as part of the editable install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[t2,distributed,dev]'
.venv/bin/python -c "import t2_sidecar._native as n; print('t2_sidecar built:', n.__version__)"

# PoCL from PyPI carries its own LLVM, which rejects CPUs newer than itself ("unknown target
# CPU 'generic'" on AMD Zen 5, for one). When no OpenCL device can compile a kernel, install
# Debian's PoCL (a newer LLVM) beside it; the executor then picks the device that works.
if ! .venv/bin/python -c "from runners.executors.opencl import select_device; select_device()" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: the PyPI PoCL cannot compile on this CPU; installing Debian's pocl-opencl-icd"
        (apt-get update -qq && apt-get install -y -qq pocl-opencl-icd >/dev/null) \
            || echo "setup: apt-get install pocl-opencl-icd failed; OpenCL tests will fail"
    else
        echo "setup: no OpenCL device can compile a kernel; install pocl-opencl-icd (Debian) or a GPU driver"
    fi
    .venv/bin/python -c "from runners.executors.opencl import select_device as s; p, d = s(); print('OpenCL device:', p.name.strip(), '|', d.name.strip())"
fi
