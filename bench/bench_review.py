"""`shadow review` on a 1,000,000-event log against a bare DuckDB GROUP BY, in one run.

Prints, for the same file: the wall time of the real command (`shadow review LOG --out DIR
--quiet`, reports included, in a child process: interpreter start and imports count),
the wall time of a bare DuckDB `read_json(...)` + `GROUP BY signature` (also in a child
process, so both pay the same start-up), their ratio, and the review's peak RSS measured
in its child with `resource.getrusage` (and /proc VmHWM).  Targets: ratio <= 2.0,
peak RSS <= 500 MB.  The machine is shared: run it twice and read the ratio, not the times.

    .venv/bin/python bench/bench_review.py [--events N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_review_support import write_log  # noqa: E402

REVIEW_CHILD = """
import re, resource, sys
from shadow.cli import main
code = main(sys.argv[1:])
kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1])
except (OSError, TypeError):
    hwm = kb
print(kb, hwm, file=sys.stderr)
sys.exit(code)
"""

BARE_CHILD = """
import sys, duckdb
rows = duckdb.execute(
    "SELECT signature, count(*) FROM read_json($1, format='newline_delimited', "
    "ignore_errors=true) GROUP BY signature", [sys.argv[1]]
).fetchall()
print(len(rows))
"""


def _timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the log here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-review-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "shadow.jsonl"
    if not log.exists():
        write_log(log, args.events, garbage_every=25_000)
    size_mb = log.stat().st_size / 1e6
    print(f"log: {args.events:,} events, {size_mb:.0f} MB, 20 signatures, junk every 25,000 lines")
    print(f"cores: {os.cpu_count()} (shared machine: others' jobs add noise)")

    bare_s, bare = _timed([sys.executable, "-c", BARE_CHILD, str(log)])
    if bare.returncode != 0:
        print(bare.stderr)
        return 2
    out = work / "reports"
    review_s, proc = _timed(
        [sys.executable, "-c", REVIEW_CHILD, "review", str(log), "--out", str(out), "--quiet"]
    )
    if proc.returncode not in (0, 1):
        print(proc.stdout, proc.stderr)
        return 2
    maxrss_kb, hwm_kb = (int(x) for x in proc.stderr.strip().splitlines()[-1].split())
    doc = json.loads((out / "review.json").read_text())
    bare2_s, _ = _timed([sys.executable, "-c", BARE_CHILD, str(log)])
    bare_best = min(bare_s, bare2_s)
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| bare DuckDB read_json + GROUP BY signature (child, best of 2) | {bare_best:.2f} s |")
    print(f"| `shadow review` (child, reports included) | {review_s:.2f} s |")
    print(f"| ratio review / bare (target <= 2.0) | {review_s / bare_best:.2f} |")
    print(
        f"| review peak RSS, getrusage ru_maxrss (target <= 500 MB) | {maxrss_kb / 1024:.0f} MB |"
    )
    print(f"| review peak RSS, /proc VmHWM | {hwm_kb / 1024:.0f} MB |")
    print(
        f"| groups / divergence events | {len(doc['groups'])} / {doc['totals']['divergences']:,} |"
    )
    print(f"| skipped lines | {doc['read']['skipped_total']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
