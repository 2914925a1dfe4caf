"""Zero-code ``shadow fuzz --pair`` against a ghostwritten Hypothesis equivalence test.

The pair: two modules, each with ``midpoint(a: int, b: int) -> int``; the port rounds the
halved magnitude and puts the sign back, so it is wrong for every negative odd sum (a sign
bug). No strategy is written for either tool: ``shadow`` derives one from the type hints
(``shadow/_strategies.py``), ``hypothesis write --equivalent --errors-equivalent`` writes
``st.integers()`` into a test module.

Both run as a user runs them, in fresh subprocesses, alternately, ``--runs`` times each,
from clean temporary folders (no example database to replay a failure from):

* ghostwriter: ``python -m pytest test_ghost.py``; its time to fail is pytest's own session
  time (collection, Hypothesis' search, shrinking, the report), and the wall time of the
  command is printed too;
* shadow: ``shadow fuzz --pair signbug_ref:midpoint signbug_port:midpoint --no-database``;
  its time to its first failing example is the finding's ``seconds_to_find`` (from the
  start of the search to the shrunk example, as the command prints it), and the wall time
  of the command is printed too.

The issue's bar: shadow's seconds to its first failing example within 2x the ghostwritten
test's time to fail. Printed: the medians, the ratios, and each run. For a closer look,
the ghostwritten test's Hypothesis phases alone (from a second run with
``--hypothesis-show-statistics``: generate and shrink, without Hypothesis' set-up at a
process's first test, which ``seconds_to_find`` does include unless it was paid while the
shadow's worker started).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PRIMARY = '''\
def midpoint(a: int, b: int) -> int:
    """The midpoint of a and b, rounded down (towards minus infinity)."""
    return (a + b) // 2
'''
PORT = '''\
def midpoint(a: int, b: int) -> int:
    """The port: halves the magnitude and puts the sign back (rounds towards zero)."""
    total = a + b
    half = abs(total) // 2
    return half if total >= 0 else -half
'''

FOUND = re.compile(r"first seen after (\d+) examples \(([\d.]+) s\)")
PYTEST_TIME = re.compile(r"(\d+) failed.* in ([\d.]+)s")
PHASE_TIME = re.compile(r"during \w+ phase \(([\d.]+) seconds\)")


@dataclass(frozen=True)
class Run:
    to_fail_s: float  # shadow: seconds_to_find; ghostwriter: pytest's session time
    wall_s: float
    detail: str
    search_s: float | None = None  # ghostwriter: Hypothesis' own phase times, summed


def _env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(folder)
    env.pop("HYPOTHESIS_PROFILE", None)
    env["SHADOW_TABLES"] = "plain"
    return env


def _fresh(base: Path, name: str) -> Path:
    """A clean folder with the two modules (and nothing Hypothesis saved before)."""
    folder = base / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    (folder / "signbug_ref.py").write_text(PRIMARY)
    (folder / "signbug_port.py").write_text(PORT)
    return folder


def ghostwrite(base: Path) -> str:
    folder = _fresh(base, "write")
    done = subprocess.run(
        [str(BIN / "hypothesis"), "write", "--equivalent", "--errors-equivalent",
         "signbug_ref.midpoint", "signbug_port.midpoint"],
        cwd=folder, env=_env(folder), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0 or "def test_" not in done.stdout:
        raise SystemExit(f"hypothesis write failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def _pytest(base: Path, test_source: str, *extra: str) -> tuple[float, str]:
    folder = _fresh(base, "ghost")
    (folder / "test_ghost.py").write_text(test_source)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "test_ghost.py", "-q", "-p", "no:cacheprovider",
         *extra],
        cwd=folder, env=_env(folder), capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if done.returncode != 1 or PYTEST_TIME.search(done.stdout) is None:
        raise SystemExit(f"the ghostwritten test did not fail as expected:\n{done.stdout}")
    return wall, done.stdout


def run_ghost(base: Path, test_source: str) -> Run:
    """As a user runs it; then once more with Hypothesis' statistics, for its phase times
    (that run skips the failure's explanation, so its session is shorter: not used above)."""
    wall, out = _pytest(base, test_source)
    found = PYTEST_TIME.search(out)
    assert found is not None
    falsifying = re.search(r"AssertionError: (.*)", out)
    _, stats = _pytest(base, test_source, "--hypothesis-show-statistics")
    search = sum(float(t) for t in PHASE_TIME.findall(stats))
    return Run(float(found.group(2)), wall, falsifying.group(1) if falsifying else "", search)


def run_shadow(base: Path, extra: list[str]) -> Run:
    folder = _fresh(base, "shadow")
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "shadow"), "fuzz", "--pair", "signbug_ref:midpoint", "signbug_port:midpoint",
         "--no-database", "--log", str(folder / "fuzz.jsonl"), *extra],
        cwd=folder, env=_env(folder), capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    found = FOUND.search(done.stdout)
    if done.returncode != 1 or found is None:
        raise SystemExit(f"shadow fuzz did not find the sign bug:\n{done.stdout}{done.stderr}")
    return Run(float(found.group(2)), wall, f"after {found.group(1)} examples")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument(
        "--shadow-args",
        default="",
        help="extra arguments for shadow fuzz (e.g. '--isolation thread')",
    )
    args = parser.parse_args()
    extra = args.shadow_args.split()
    with tempfile.TemporaryDirectory(prefix="bench-ghost-") as tmp:
        base = Path(tmp)
        source = ghostwrite(base)
        ghost: list[Run] = []
        ours: list[Run] = []
        for i in range(args.runs):  # alternate, so a busy moment hits both
            if i % 2 == 0:
                ghost.append(run_ghost(base, source))
                ours.append(run_shadow(base, extra))
            else:
                ours.append(run_shadow(base, extra))
                ghost.append(run_ghost(base, source))
    print(f"pair: signbug_ref.midpoint vs signbug_port.midpoint (sign bug), {args.runs} runs each")
    print(f"{'':<44}{'time to fail (s)':>18}{'command wall (s)':>18}")
    g_fail = statistics.median(r.to_fail_s for r in ghost)
    g_wall = statistics.median(r.wall_s for r in ghost)
    o_fail = statistics.median(r.to_fail_s for r in ours)
    o_wall = statistics.median(r.wall_s for r in ours)
    print(f"{'ghostwritten test (pytest session time)':<44}{g_fail:>18.3f}{g_wall:>18.2f}")
    g_search = statistics.median(r.search_s or 0.0 for r in ghost)
    print(f"{'  its Hypothesis phases (generate, shrink)':<44}{g_search:>18.3f}")
    label = "shadow fuzz --pair (seconds_to_find)" + (f" {args.shadow_args}" if extra else "")
    print(f"{label:<44}{o_fail:>18.3f}{o_wall:>18.2f}")
    ratio = o_fail / g_fail if g_fail > 0 else float("inf")
    print(
        f"ratio shadow/ghostwritten: time to fail {ratio:.2f}x "
        f"({'within' if ratio <= 2 else 'NOT within'} 2x), command wall {o_wall / g_wall:.2f}x, "
        f"shadow's time to fail / the test's Hypothesis phases {o_fail / g_search:.2f}x"
    )
    for i, (g, o) in enumerate(zip(ghost, ours, strict=True), 1):
        print(
            f"  run {i}: ghost {g.to_fail_s:.3f} s (phases {g.search_s or 0:.3f}, wall "
            f"{g.wall_s:.2f}) {g.detail[:40]} | "
            f"shadow {o.to_fail_s:.3f} s (wall {o.wall_s:.2f}) {o.detail}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
