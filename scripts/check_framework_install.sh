#!/usr/bin/env bash
# The shadow framework alone: build the wheel, install it with no extras into a fresh virtual
# environment, and check that `import shadow` and `shadow --help` work there while NumPy,
# PyOpenCL and PoCL (the T2 runner's `t2` extra) were not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/maturin build --release --quiet --out "$work/dist" >/dev/null 2>&1
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/*.whl
cd "$work"  # away from the checkout, so only the installed package can be imported
"$work/venv/bin/python" - <<'PY'
import importlib.metadata as md
import sys

import shadow

installed = {d.metadata["Name"].lower() for d in md.distributions()}
unwanted = sorted(installed & {"numpy", "pyopencl", "pocl-binary-distribution", "matplotlib"})
if unwanted:
    sys.exit(f"the framework alone installed {', '.join(unwanted)}")
target = shadow.pair(abs, abs)
assert list(target.ops) == ["abs"], target.ops
print(f"framework alone: shadow {shadow.__version__} imports; none of numpy/pyopencl/pocl installed")
PY
"$work/venv/bin/shadow" --help >/dev/null
echo "framework alone: shadow --help works"
