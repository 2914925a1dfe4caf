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
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/python -c "import t2_sidecar._native as n; print('t2_sidecar built:', n.__version__)"
