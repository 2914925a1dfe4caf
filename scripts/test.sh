#!/usr/bin/env bash
# The whole test suite: Rust unit tests of the pure core, then the Python suite, which runs
# every core test on both backends (a missing Rust build fails under CI=true, never skips).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust unit tests (pure core) =="
cargo test --manifest-path sidecar_rs/Cargo.toml --quiet

echo "== Python tests (both backends) =="
export T2_REQUIRE_RUST=1
.venv/bin/python -m pytest -q -p no:cacheprovider

echo "== Record real calls (Python), verify the Rust build against them =="
bash scripts/record_ci.sh

echo "== Shadow gate (corpus + seeded fuzz budget, python vs rust) =="
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" .venv/bin/shadow gate
