"""`shadow review` on a 1,000,000-event log against a bare DuckDB GROUP BY, in one run.

Prints, for the same file, the wall and CPU time (user + system, all threads) of:

* a bare DuckDB ``read_json(...)`` + ``GROUP BY signature`` (the baseline);
* the review engine alone (``review_logs``: pre-scan, DuckDB pass, lane, building the
  review: no report written);
* the real command (``shadow review LOG --out DIR --quiet``, reports included);

each in a child process (interpreter start and imports count), best of two, their ratios to
the baseline, and the peak RSS of each review child (``getrusage``).  Targets: ratio <= 2.0,
peak RSS <= 500 MB.  The machine is shared: the CPU ratio is the steadier figure when other
jobs run; read the ratios, not the seconds.

    .venv/bin/python bench/bench_review.py [--events N] [--keep DIR] [--repeat K]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_review_support import write_log  # noqa: E402

RSS = """
import resource, sys
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""

CLI_CHILD = (
    """
import sys
from shadow._cli import main
code = main(sys.argv[1:])
"""
    + RSS
    + "sys.exit(code)\n"
)

ENGINE_CHILD = (
    """
import sys
from shadow._review.groups import review_logs
review = review_logs([sys.argv[1]])
print(review.divergences, len(review.groups))
"""
    + RSS
)

BARE_CHILD = """
import sys, duckdb
rows = duckdb.execute(
    "SELECT signature, count(*) FROM read_json($1, format='newline_delimited', "
    "ignore_errors=true) GROUP BY signature", [sys.argv[1]]
).fetchall()
print(len(rows))
"""


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    proc: subprocess.CompletedProcess[str]


def _timed(argv: list[str]) -> Run:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = proc.stderr.strip().splitlines()
    rss = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else 0.0
    return Run(wall, cpu, rss, proc)


def _best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the log here and keep it")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (best is kept)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-review-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "shadow.jsonl"
    if not log.exists():
        write_log(log, args.events, garbage_every=25_000)
    size_mb = log.stat().st_size / 1e6
    print(f"log: {args.events:,} events, {size_mb:.0f} MB, 20 signatures, junk every 25,000 lines")
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (shared machine)")

    out = work / "reports"
    py = sys.executable
    bare: list[Run] = []
    engine: list[Run] = []
    cli: list[Run] = []
    for _ in range(max(1, args.repeat)):  # interleaved, so a burst of load hits all three
        bare.append(_timed([py, "-c", BARE_CHILD, str(log)]))
        engine.append(_timed([py, "-c", ENGINE_CHILD, str(log)]))
        cli.append(_timed([py, "-c", CLI_CHILD, "review", str(log), "--out", str(out), "--quiet"]))
        for name, run, ok in (
            ("bare query", bare[-1], (0,)),
            ("review engine", engine[-1], (0,)),
            ("shadow review", cli[-1], (0, 1)),
        ):
            if run.proc.returncode not in ok:
                print(f"{name} failed:\n{run.proc.stdout}\n{run.proc.stderr}")
                return 2
    b, e, c = _best(bare), _best(engine), _best(cli)
    doc = json.loads((out / "review.json").read_text())
    print()
    print("| measure | wall | CPU (user+sys) | ratio (wall) | ratio (CPU) | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| bare DuckDB read_json + GROUP BY signature | {b.wall:.2f} s | {b.cpu:.2f} s | 1 | 1 | |"
    )
    for name, run in (
        ("review engine (`review_logs`, no reports)", e),
        ("`shadow review` (reports included)", c),
    ):
        print(
            f"| {name} | {run.wall:.2f} s | {run.cpu:.2f} s | {run.wall / b.wall:.2f} "
            f"| {run.cpu / b.cpu:.2f} | {run.rss_mb:.0f} MB |"
        )
    print(
        f"| reports (command minus engine) | {c.wall - e.wall:.2f} s | {c.cpu - e.cpu:.2f} s "
        "| | | |"
    )
    print()
    print(f"targets: ratio <= 2.0, peak RSS <= 500 MB; best of {len(bare)} runs each")
    print(
        f"groups / divergence events: {len(doc['groups'])} / {doc['totals']['divergences']:,}; "
        f"skipped lines: {doc['read']['skipped_total']:,}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
