"""Detection benchmark: how many of portlib's planted divergences does ``shadow fuzz`` find?

Runs ``shadow fuzz --target examples.portlib.target:TARGET --seconds S`` through the CLI
in a subprocess (reference vs planted, every planted divergence on), reads the event log it
wrote, maps each finding to planted ids with :func:`examples.portlib.attribution.attribute`
and prints, per planted divergence: found or not, the groups (signatures) it produced, the
size of its smallest logged input (bytes of canonical JSON) and the seconds from the start
of the run to the event (events are written after shrinking, so this includes the shrink).
Then every group that maps to two planted ids or to none.

``--per-bug`` instead checks the pair itself: for each planted divergence switched on
alone, a plain Hypothesis differential test (no ``shadow`` involved) over the type-derived
call strategy, with and without boundary values mixed in, reports how many examples and
seconds it takes to hit the bug, and whether the very first example already does. That is
the evidence that each bug is findable by a generic fuzzer but not by accident.

Timings are wall-clock on a shared machine: noisy while others work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from examples.portlib import reference  # noqa: E402
from examples.portlib.attribution import attribute, divergence_kind, run  # noqa: E402
from examples.portlib.manifest import MANIFEST  # noqa: E402
from examples.portlib.planted import make  # noqa: E402
from examples.portlib.target import CODEC  # noqa: E402
from examples.portlib.typed_strategies import call_strategy  # noqa: E402
from shadow.codec import canonical_json  # noqa: E402
from shadow.log import ReadStats, load_input, read_events  # noqa: E402

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
        "import sys; from shadow.cli import main; sys.exit(main())",
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
        ts = datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00"))
        findings.append(
            Finding(
                op=str(event["op"]),
                kind=str(event["kind"]),
                signature=str(event["signature"]),
                seconds=(ts - start).total_seconds(),
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


# ---------------------------------------------------------------------- per-bug findability


class _Hit(Exception):
    pass


class _OutOfTime(Exception):
    pass


@dataclass(frozen=True)
class Hunt:
    examples: int | None
    seconds: float
    first_example_hits: bool


def hunt(bug_id: str, op: str, boundaries: bool, budget_s: float, hunt_seed: int) -> Hunt:
    """Examples until a plain differential test hits ``bug_id`` (None: not within budget)."""
    port = make({bug_id})
    ref_fn, port_fn = getattr(reference, op), getattr(port, op)
    count = 0
    first_hit = False
    t0 = time.perf_counter()

    @seed(hunt_seed)
    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(call_strategy(ref_fn, boundaries=boundaries))
    def prop(call: tuple[tuple[Any, ...], Mapping[str, Any]]) -> None:
        nonlocal count, first_hit
        count += 1
        if time.perf_counter() - t0 > budget_s:
            raise _OutOfTime
        args, kwargs = call
        if divergence_kind(run(ref_fn, args, kwargs), run(port_fn, args, kwargs)) is not None:
            first_hit = first_hit or count == 1
            raise _Hit

    try:
        prop()
    except _Hit:
        return Hunt(count, time.perf_counter() - t0, first_hit)
    except _OutOfTime:
        pass
    return Hunt(None, time.perf_counter() - t0, False)


def print_per_bug(budget_s: float, seeds: int, only: frozenset[str] | None) -> None:
    print(
        f"per-bug findability: plain Hypothesis, one bug on, {seeds} seed(s), {budget_s:g} s each"
    )
    print(
        f"{'planted id':<22}{'strategy':<12}{'found':>7}{'median ex':>11}{'max s':>8}"
        f"{'1st example hits':>18}"
    )
    for bug in MANIFEST:
        if only is not None and bug.id not in only:
            continue
        for boundaries in (False, True):
            hunts = [hunt(bug.id, bug.function, boundaries, budget_s, s) for s in range(seeds)]
            hits = sorted(h.examples for h in hunts if h.examples is not None)
            median = str(hits[len(hits) // 2]) if hits else "-"
            slowest = max(h.seconds for h in hunts)
            firsts = sum(h.first_example_hits for h in hunts)
            print(
                f"{bug.id:<22}{'boundaries' if boundaries else 'plain':<12}"
                f"{len(hits):>4}/{seeds:<2}{median:>11}{slowest:>8.1f}{firsts:>14}/{seeds}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target",
        default=TARGET_SPEC,
        help=f"shadow fuzz --target (default {TARGET_SPEC}; examples.portlib.target:"
        "BOUNDARY_TARGET mixes boundary values into the stand-in strategies)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="shadow fuzz --seconds")
    parser.add_argument("--seed", type=int, default=None, help="shadow fuzz --seed")
    parser.add_argument("--log", type=Path, default=None, help="keep the event log here")
    parser.add_argument(
        "--per-bug", action="store_true", help="check each bug's findability instead"
    )
    parser.add_argument("--budget", type=float, default=20.0, help="per-bug: seconds per hunt")
    parser.add_argument("--seeds", type=int, default=3, help="per-bug: seeds per bug and strategy")
    parser.add_argument("--bugs", default=None, metavar="A,B", help="per-bug: only these ids")
    args = parser.parse_args()
    if args.per_bug:
        only = None if args.bugs is None else frozenset(args.bugs.split(","))
        unknown = sorted((only or frozenset()) - {bug.id for bug in MANIFEST})
        if unknown:
            raise SystemExit(f"bench_detection: --bugs: unknown id(s) {', '.join(unknown)}")
        print_per_bug(args.budget, args.seeds, only)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log or Path(tmp) / "fuzz.jsonl"
        if log.exists():
            raise SystemExit(f"bench_detection: --log {log} exists; give a new path")
        code, wall, start = run_fuzz(args.target, args.seconds, log, args.seed)
        findings, stats = read_findings(log, start)
        print_fuzz_report(findings, code, wall, stats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
