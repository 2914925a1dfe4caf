"""Detection benchmark: how many of portlib's planted divergences does ``shadow fuzz`` find?

Runs ``shadow fuzz --target examples.portlib.target:TARGET --seconds S`` through the CLI
in a subprocess (reference vs planted, every planted divergence on), reads the event log it
wrote, maps each finding to planted ids with :func:`examples.portlib.attribution.attribute`
and prints, per planted divergence: found or not, the groups (signatures) it produced, the
size of its smallest logged input (bytes of canonical JSON) and the seconds from the start
of the run to the event (events are written after shrinking, so this includes the shrink).
Then every group that maps to two planted ids or to none.

Then, per T2 mutant (``tests/mutants_t2.py``), the share of 20 random seeds that catch it
at the CI budget (``bench/bench_mutants.py``), unless ``--no-mutants``.

Timings are wall-clock on a shared machine: noisy while others work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.portlib.attribution import attribute  # noqa: E402
from examples.portlib.manifest import MANIFEST  # noqa: E402
from examples.portlib.target import CODEC  # noqa: E402
from shadow._codec import canonical_json  # noqa: E402
from shadow._log import ReadStats, load_input, read_events  # noqa: E402

TARGET_SPEC = "examples.portlib.target:TARGET"


# ---------------------------------------------------------------------- shadow fuzz run


@dataclass
class Finding:
    op: str
    kind: str
    signature: str
    seconds: float
    size: int
    ids: frozenset[str]


@dataclass
class BugRow:
    groups: set[str] = field(default_factory=set)
    size: int | None = None
    seconds: float | None = None


def run_fuzz(
    target: str, seconds: float, log: Path, fuzz_seed: int | None
) -> tuple[int, float, datetime]:
    """Run ``shadow fuzz`` as a user would; returns (exit code, wall seconds, start time)."""
    cmd = [
        sys.executable,
        "-c",
        "import sys; from shadow._cli import main; sys.exit(main())",
        "fuzz",
        "--target",
        target,
        "--seconds",
        str(seconds),
        "--log",
        str(log),
        "--no-database",
    ]
    if fuzz_seed is not None:
        cmd += ["--seed", str(fuzz_seed)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    print("$ PYTHONPATH=. shadow " + " ".join(cmd[3:]), flush=True)
    start = datetime.now(UTC)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"bench_detection: shadow fuzz exited {proc.returncode}")
    return proc.returncode, wall, start


def read_findings(log: Path, start: datetime) -> tuple[list[Finding], ReadStats]:
    stats = ReadStats()
    findings: list[Finding] = []
    if not log.exists():
        raise SystemExit(f"bench_detection: shadow fuzz wrote no event log at {log}")
    for event in read_events(log, stats):
        if event.get("event") != "divergence":
            continue
        encoded = load_input(event, log)
        if encoded is None:
            raise SystemExit(f"bench_detection: event {event.get('call_id')} has no input")
        args, kwargs = CODEC.decode(encoded)
        how = event.get("fuzz") or {}
        ts = datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00"))
        seconds = how.get("seconds_to_find")
        findings.append(
            Finding(
                op=str(event["op"]),
                kind=str(event["kind"]),
                signature=str(event["signature"]),
                seconds=float(seconds) if seconds is not None else (ts - start).total_seconds(),
                size=len(canonical_json(encoded)),
                ids=attribute(str(event["op"]), args, kwargs),
            )
        )
    return findings, stats


def bug_table(findings: Iterable[Finding]) -> dict[str, BugRow]:
    rows = {bug.id: BugRow() for bug in MANIFEST}
    for f in findings:
        for bug_id in f.ids:
            row = rows[bug_id]
            row.groups.add(f.signature)
            row.size = f.size if row.size is None else min(row.size, f.size)
            row.seconds = f.seconds if row.seconds is None else min(row.seconds, f.seconds)
    return rows


def mixed_groups(findings: Iterable[Finding]) -> dict[str, tuple[str, str, frozenset[str]]]:
    """Groups (signatures) whose events map to two or more planted ids, or to none."""
    by_sig: dict[str, tuple[str, str, set[str], bool]] = {}
    for f in findings:
        op, kind, ids, unexplained = by_sig.get(f.signature, (f.op, f.kind, set(), False))
        by_sig[f.signature] = (op, kind, ids | f.ids, unexplained or not f.ids)
    return {
        sig: (op, kind, frozenset(ids))
        for sig, (op, kind, ids, unexplained) in by_sig.items()
        if len(ids) != 1 or unexplained
    }


def _some(items: list[str], shown: int = 3) -> str:
    more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
    return " ".join(items[:shown]) + more


def print_fuzz_report(findings: list[Finding], code: int, wall: float, stats: ReadStats) -> int:
    rows = bug_table(findings)
    print(
        f"\n{'planted id':<22}{'kind':<22}{'function':<21}{'found':<7}"
        f"{'groups':<8}{'input B':>8}{'seconds':>9}  signatures"
    )
    for bug in MANIFEST:
        row = rows[bug.id]
        yes_no = "yes" if row.groups else "no"
        size = "" if row.size is None else str(row.size)
        secs = "" if row.seconds is None else f"{row.seconds:.1f}"
        print(
            f"{bug.id:<22}{bug.kind:<22}{bug.function:<21}{yes_no:<7}{len(row.groups):<8}"
            f"{size:>8}{secs:>9}  {_some(sorted(row.groups))}"
        )
    found = sum(1 for r in rows.values() if r.groups)
    print(
        f"\nfound {found} of {len(MANIFEST)} planted divergences; {len(findings)} findings in "
        f"{len({f.signature for f in findings})} groups; shadow fuzz exit {code}, {wall:.1f} s "
        f"wall; log lines {stats.lines}, unparsable {stats.unparsable}, foreign {stats.foreign}"
    )
    mixed = mixed_groups(findings)
    if mixed:
        print(f"\n{len(mixed)} group(s) mapping to two planted ids or to none:")
        for sig, (op, kind, ids) in sorted(mixed.items()):
            print(f"  {sig} {op} {kind}: {', '.join(sorted(ids)) or 'no planted id'}")
    else:
        print("no group maps to two planted ids or to none")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="fuzz budget (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="fuzz seed (default: random)")
    parser.add_argument("--target", default=TARGET_SPEC)
    parser.add_argument("--no-mutants", action="store_true", help="skip the T2 seed-rate table")
    parser.add_argument("--mutant-seeds", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "fuzz.jsonl"
        code, wall, start = run_fuzz(args.target, args.seconds, log, args.seed)
        findings, stats = read_findings(log, start)
    found = print_fuzz_report(findings, code, wall, stats)
    if not args.no_mutants:
        try:
            import bench_mutants  # type: ignore[import-not-found]
        except ImportError:
            print("\n(T2 mutant seed rates: bench/bench_mutants.py not available)")
        else:
            print()
            bench_mutants.main(["--seeds", str(args.mutant_seeds)])
    return 0 if found == len(MANIFEST) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
