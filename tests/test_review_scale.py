"""Review of a million-event log: exact groups and bounded memory (time: bench/bench_review.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from test_review_support import N_SIGNATURES, write_log

from shadow._review.groups import review_logs

ROOT = Path(__file__).resolve().parent.parent
N_EVENTS = 1_000_000


@pytest.mark.slow
def test_million_events_exact_groups_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "million.jsonl"
    exp = write_log(log, N_EVENTS, garbage_every=25_000)
    assert len(exp.counts) == N_SIGNATURES and sum(exp.counts.values()) == N_EVENTS

    # The CLI in a child process that reports its own peak RSS: VmHWM of /proc/self/status
    # belongs to the exec'd image alone, whereas ru_maxrss can carry over the high-water mark
    # of the forked pytest process (and RUSAGE_CHILDREN is the max over every child).
    out = tmp_path / "reports"
    child = (
        "import re, resource, sys\n"
        "from shadow._cli import main\n"
        "code = main(sys.argv[1:])\n"
        "try:\n"
        "    kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
        "except (OSError, TypeError):\n"
        "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(kb, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", child, "review", str(log), "--out", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    peak_rss_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    print(
        f"\n1M-event review: log {log.stat().st_size / 1e6:.0f} MB; "
        f"`shadow review` child peak RSS {peak_rss_mb:.0f} MB"
    )
    assert proc.returncode == 1, proc.stderr  # the log holds critical groups
    doc = json.loads((out / "review.json").read_text())
    assert {g["signature"]: g["count"] for g in doc["groups"]} == dict(exp.counts)
    assert doc["totals"]["divergences"] == N_EVENTS
    assert doc["read"]["skipped"] == dict(exp.garbage)
    for g in doc["groups"]:
        assert g["smallest"]["call_id"] == exp.smallest_call[g["signature"]]
        assert g["first_seen"] == exp.first_ts[g["signature"]]
        assert g["last_seen"] == exp.last_ts[g["signature"]]
    rates = {o["op"]: o for o in doc["ops"]}
    for op, sampled in exp.sampled.items():
        assert rates[op]["sampled"] == sampled
        assert rates[op]["divergence_rate"] == pytest.approx(exp.diverged[op] / sampled)
    assert len(doc["timeline"]["buckets"]) <= 240
    assert peak_rss_mb < 500, "RSS includes the interpreter and DuckDB"


def test_python_allocations_do_not_grow_with_the_log(tmp_path: Path) -> None:
    """tracemalloc peak for 20k vs 80k events: state is per group, not per event."""
    peaks = []
    for n in (20_000, 80_000):
        log = tmp_path / f"log{n}.jsonl"
        write_log(log, n, garbage_every=997)
        tracemalloc.start()
        try:
            review = review_logs([log])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert sum(g.count for g in review.groups) == n
        peaks.append(peak)
    print(f"\ntracemalloc peak: 20k events {peaks[0] / 1e6:.2f} MB, 80k {peaks[1] / 1e6:.2f} MB")
    assert peaks[1] < 200e6
    assert peaks[1] < peaks[0] * 1.5 + 1e6  # 4x the events, about the same memory
