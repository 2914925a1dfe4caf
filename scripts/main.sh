#!/usr/bin/env bash
# The main job: a real T2 search on the embedded default space (PoCL's CPU device when there
# is no GPU) with every core call shadowed (Python primary, Rust shadow), then a review of
# the divergence log. Extra arguments go to t2-search.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=$(date -u +%Y%m%dT%H%M%SZ)
log="reports/shadow/${stamp}.jsonl"

.venv/bin/t2-search --shadow --shadow-log "$log" --out reports "$@"
echo
.venv/bin/shadow review "$log" --out "reports/review-${stamp}"
