#!/usr/bin/env bash
# Record once, verify the build: record every core call of the three recorded RX 580 searches
# and of a short search on PoCL's CPU device, with the Python reference as the primary, then
# verify the Rust build against that recording with `shadow verify`.
#
# The fixtures are read where they are (../shared/fixtures/rx580, or $T2_FIXTURES_DIR);
# nothing is copied into the repository. Everything is written under $RECORD_CI_OUT
# (default reports/record-ci, replaced on each run). Exit status: that of `shadow verify`
# (0 the Rust build answers every recorded call as the reference did), or the first failing
# search's.
set -euo pipefail
cd "$(dirname "$0")/.."

fixtures="${T2_FIXTURES_DIR:-../shared/fixtures/rx580}"
out="${RECORD_CI_OUT:-reports/record-ci}"
recording="$out/recording.jsonl"
workers="${RECORD_CI_WORKERS:-2}"

shopt -s nullglob
searches=("$fixtures"/*.json)
if [ "${#searches[@]}" -lt 3 ]; then
    echo "record_ci: expected the three recorded RX 580 searches in $fixtures, found ${#searches[@]} (set T2_FIXTURES_DIR)" >&2
    exit 2
fi

rm -rf "$out"
mkdir -p "$out"

# Recorded searches: record in production style, the shadow off (nothing compared live).
for search in "${searches[@]}"; do
    name="$(basename "$search" .json)"
    echo "== recording $name (python, recorded executor) =="
    .venv/bin/t2-search --executor recorded --recorded "$search" --backend python \
        --shadow --shadow-mode off --shadow-record "$recording" \
        --out "$out/$name" --quiet
done

# A short real search on PoCL's CPU device, shadowed live as well (recording beside it).
echo "== recording a short PoCL search (python, opencl executor, shadowed by rust) =="
.venv/bin/t2-search --executor opencl --backend python --sizes 32 --runs 2 --budget 3 \
    --top-k 2 --sessions 2 --replay-runs 2 \
    --shadow --shadow-log "$out/pocl-shadow.jsonl" --shadow-record "$recording" \
    --out "$out/pocl" --quiet

echo "== verifying the Rust build against $recording =="
.venv/bin/shadow verify "$recording" --shadow rust --workers "$workers" \
    --log "$out/verify.jsonl" --junit "$out/verify-junit.xml" --summary "$out/verify.md"
