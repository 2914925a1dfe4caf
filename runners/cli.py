"""``t2-search``: run a T2 auto-scheduling search and write its reports.

Exit codes (one meaning each, listed in ``--help`` and the README): 0 the search ran and
its reports were written, whatever it decided; 1 the run failed while running (executor or
device, or writing the reports at the end); 2 nothing was run: a bad option, environment
variable or input file, or something asked for is unavailable; 3 shadow mode found a
divergence that fails the run (strict mode, or ``--shadow-fail-on``). Errors are one line on
stderr, ``t2-search: <what is wrong>``, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from runners.backend import Backend
from runners.backends import BACKEND_NAMES, get_backend
from runners.executors.base import BadRecordingError, Executor, ExecutorError
from runners.search import (
    DEFAULT_BASELINE,
    DEFAULT_KERNELS,
    DEFAULT_LOCAL_SIZES,
    DEFAULT_UNROLLS,
    DEFAULT_VECTOR_WIDTHS,
    Progress,
    SearchConfig,
    SearchError,
    SearchResult,
    new_run_id,
    run_search,
)
from runners.types import BaselineRule, GateThresholds, SearchSpace
from shadow._argtypes import fraction, positive_seconds
from shadow._dispatcher import ShadowDivergenceError
from shadow._session import (
    ISOLATIONS,
    SessionOptionError,
    SessionOptions,
    SessionReport,
    SessionUnavailableError,
    ShadowSession,
    switch_state,
)
from shadow._terminal import Terminal, describe_os_error
from t2_sidecar.errors import InvalidInputError

PROG = "t2-search"
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_DIVERGENCE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = f"""exit codes:
  {EXIT_OK}    the search ran and its reports were written, whatever it decided (divergences
       below --shadow-fail-on are printed, not failed)
  {EXIT_RUNTIME}    the run failed while running: the executor or device, or writing the reports
  {EXIT_USAGE}    nothing was run: a bad option, T2_SHADOW* variable or input file, a path that
       cannot be written, or a backend / shadow target that is not available
  {EXIT_DIVERGENCE}    shadow mode found a divergence that fails the run: any, in strict mode (the
       run stops at it), or one at --shadow-fail-on's level (reports are written)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""

# Defaults of the embedded OpenCL search, sized to finish in about two minutes on PoCL's
# CPU device with two cores, kernel builds included (measured: ~80 s with an empty PoCL
# kernel cache on a loaded 2-core machine, ~25 s with a warm one): 22 candidates (budget 20
# plus the 2 baselines) x 2 sizes x (1 warm-up + 5 runs), then 3 x 5 sessions x 5 runs.
OPENCL_DEFAULTS: dict[str, Any] = {
    "sizes": (256, 384),
    "runs": 5,
    "warmup": 1,
    "budget": 20,
    "top_k": 3,
    "sessions": 5,
    "replay_runs": 5,
    "seed": 42,
    "correctness_threshold": 1e-3,
    "objective": "delta",
}
SHADOW_MODES = ("off", "sync", "async", "strict")
FAIL_ON = ("never", "critical", "any")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows a default only when there is one: options whose default depends on the
    executor say so in their own help text instead of printing "(default: None)". The
    description and epilog keep their line breaks (examples, exit codes)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class UsageError(Exception):
    """A bad option: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's errors as one line (no usage block), through :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


# ---------------------------------------------------------------------------- parsing


def _int_list(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{what}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise UsageError(f"{what}: expected at least one value")
    return values


def _local_sizes(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        parts = item.lower().split("x")
        try:
            x, y = (int(p) for p in parts)
        except ValueError:
            raise UsageError(f"--local-sizes: expected XxY items like 8x8, got {item!r}") from None
        out.append((x, y))
    if not out:
        raise UsageError("--local-sizes: expected at least one XxY value")
    return tuple(out)


def _baseline(text: str) -> BaselineRule:
    pairs = []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        size, sep, cid = item.partition(":")
        if not sep or not cid.strip():
            raise UsageError(f"--baseline: expected MIN_SIZE:CANDIDATE_ID items, got {item!r}")
        try:
            pairs.append((int(size), cid.strip()))
        except ValueError:
            raise UsageError(f"--baseline: {size!r} is not an integer size") from None
    if not pairs:
        raise UsageError("--baseline: expected at least one MIN_SIZE:CANDIDATE_ID")
    return BaselineRule(tuple(pairs))


DESCRIPTION = """\
Run a T2 GEMM auto-scheduling search: enumerate and score schedule candidates, keep those
valid for the device, benchmark the best, rank them against a per-size baseline, replay the
top-k over seeded sessions, apply the correctness/stability/promotion gates and decide
promote / iterate / refine. Writes a JSON and a Markdown report. Without options: the
embedded default search on the first GPU, or PoCL's CPU device (about two minutes on two
cores)."""

EPILOG = f"""\
examples:
  {PROG}
      the embedded default search; progress bars on stderr
  {PROG} --recorded ../shared/fixtures/rx580/week2_t2_expanded_search_20260207_194454.json
      recompute a recorded RX 580 run (no device needed)
  {PROG} --backend rust --quiet
      the Rust core; one summary line
  {PROG} --shadow
      every core call also on the other backend; divergences in reports/shadow.jsonl
  {PROG} --shadow --shadow-mode async --shadow-sample-rate 0.1
      cheap shadowing of a long run
  {PROG} --shadow --shadow-fail-on critical
      finish the run, then exit 3 if a divergence changed a decision
  {PROG} --shadow --shadow-strict
      stop at the first divergence (exit 3)
  T2_SHADOW=1 T2_SHADOW_MODE=async {PROG}
      shadow mode from the environment

shadow mode:
  --shadow (or T2_SHADOW=1) turns it on; every other --shadow-* option needs it and is
  rejected without it. T2_SHADOW_MODE, _PRIMARY, _SHADOW, _SAMPLE_RATE, _TIMEOUT_S, _LOG,
  _RUN_ID, _TARGET, _ISOLATION, _RECORD and _RECORD_RATE set the same options from the
  environment; a command-line option wins over its variable. A T2_SHADOW_* variable set
  while T2_SHADOW is off, an unknown one, or a bad value is an error (exit 2), never
  ignored. Divergences are printed at the end (with --quiet too, in one line naming their
  number and the log); by default they do not change the exit status (see --shadow-fail-on).

{EXIT_CODES}"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    g = p.add_argument_group("executor and backend")
    g.add_argument(
        "--executor",
        choices=("opencl", "recorded"),
        default=None,
        help="where measurements come from: a real OpenCL device, or a recorded "
        "report (default: recorded if --recorded is given, else opencl)",
    )
    g.add_argument(
        "--recorded",
        type=Path,
        metavar="PATH",
        help="recorded report (JSON, old or new T2 schema, or a report of this tool) "
        "for --executor recorded; its parameters become the defaults",
    )
    g.add_argument(
        "--device",
        metavar="SUBSTRING",
        help="OpenCL device: case-insensitive substring of 'platform | device' "
        "(default: first GPU, else PoCL's CPU device)",
    )
    g.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        help="T2 core backend for every deterministic step; with --shadow, the primary "
        "(default python)",
    )

    s = p.add_argument_group("search")
    s.add_argument(
        "--sizes",
        metavar="N,N,...",
        help=f"square matrix sizes (default opencl: "
        f"{','.join(map(str, OPENCL_DEFAULTS['sizes']))}; recorded: as recorded)",
    )
    s.add_argument(
        "--runs",
        type=int,
        help=f"timed runs per candidate and size (default "
        f"{OPENCL_DEFAULTS['runs']}; recorded: as recorded)",
    )
    s.add_argument(
        "--warmup",
        type=int,
        help=f"untimed warm-up launches before timing (default {OPENCL_DEFAULTS['warmup']})",
    )
    s.add_argument(
        "--budget",
        type=int,
        help=f"how many best-scored valid candidates to "
        f"benchmark, baselines added on top (default "
        f"{OPENCL_DEFAULTS['budget']}; recorded: all)",
    )
    s.add_argument(
        "--top-k",
        type=int,
        help=f"ranked (candidate, size) entries to replay "
        f"(default {OPENCL_DEFAULTS['top_k']}; recorded: "
        "as recorded); at most --budget",
    )
    s.add_argument(
        "--sessions",
        type=int,
        help=f"replay sessions per replayed candidate, 1-99 "
        f"(default {OPENCL_DEFAULTS['sessions']})",
    )
    s.add_argument(
        "--replay-runs",
        type=int,
        help=f"runs per replay session, 1-999, one per "
        f"plan seed (default "
        f"{OPENCL_DEFAULTS['replay_runs']})",
    )
    s.add_argument(
        "--seed",
        type=int,
        help=f"base seed of the inputs and of the replay plan (default {OPENCL_DEFAULTS['seed']})",
    )
    s.add_argument(
        "--correctness-threshold",
        type=float,
        help="max |C - A@B| for a measurement to count as correct, also the "
        "correctness gate of the replay (default 1e-3)",
    )
    s.add_argument(
        "--max-cv",
        type=float,
        default=0.03,
        help="stability gate: largest coefficient of variation of replay GFLOPS",
    )
    s.add_argument(
        "--min-delta",
        type=float,
        default=10.0,
        help="promotion gate: smallest mean uplift over the baseline, in percent",
    )
    s.add_argument(
        "--objective",
        choices=("delta", "gflops"),
        help="ranking objective: delta vs the baseline, or raw GFLOPS "
        "(default delta; recorded: as the recording ranked)",
    )
    s.add_argument(
        "--baseline",
        metavar="SIZE:ID,...",
        help="baseline rule, e.g. '0:t20_prod_v4_u10_l10,1800:t24_prod_v4_u0_l12': "
        "a size uses the last entry whose SIZE it reaches (default opencl: "
        + ",".join(f"{s}:{c}" for s, c in DEFAULT_BASELINE.thresholds)
        + "; recorded: the recording's rule)",
    )

    sp = p.add_argument_group("search space (opencl executor; overrides the embedded default)")
    sp.add_argument(
        "--kernels",
        metavar="NAME,...",
        help=f"kernel families tileNN or tileNN_pad (default: {','.join(DEFAULT_KERNELS)})",
    )
    sp.add_argument(
        "--vector-widths",
        metavar="W,...",
        help=f"vector widths of the loads, 1-16 (default: "
        f"{','.join(map(str, DEFAULT_VECTOR_WIDTHS))})",
    )
    sp.add_argument(
        "--unroll",
        metavar="U,...",
        help=f"k-loop unroll factors, 0 = compiler's choice (default: "
        f"{','.join(map(str, DEFAULT_UNROLLS))})",
    )
    sp.add_argument(
        "--local-sizes",
        metavar="XxY,...",
        help="work-group shapes (default: "
        + ",".join(f"{x}x{y}" for x, y in DEFAULT_LOCAL_SIZES)
        + ")",
    )

    o = p.add_argument_group("output")
    o.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder of the JSON and Markdown reports"
    )
    o.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or tables: the final summary line, plus one line when shadow "
        "mode found divergences (and errors)",
    )

    sh = p.add_argument_group(
        "shadow mode (every core call also runs on the other backend; the other --shadow-* "
        "options need --shadow or T2_SHADOW=1)"
    )
    sh.add_argument(
        "--shadow",
        action="store_true",
        help="turn shadow mode on: --backend is the primary, the other the shadow",
    )
    sh.add_argument(
        "--shadow-primary",
        metavar="NAME",
        help="primary implementation whose answers the run uses (default: --backend)",
    )
    sh.add_argument(
        "--shadow-secondary",
        metavar="NAME",
        help="shadow implementation (default: the other backend)",
    )
    sh.add_argument(
        "--shadow-target",
        metavar="MODULE:ATTR",
        help="shadow target registering the implementations that --shadow-primary and "
        "--shadow-secondary name (default: runners.shadow_t2:TARGET, i.e. python and rust; "
        "tests use it to inject a deliberately wrong implementation)",
    )
    sh.add_argument(
        "--shadow-mode",
        choices=SHADOW_MODES,
        help="off (no comparison), sync (both in the caller's thread), async (shadow on a "
        "background worker), strict (sync, the first divergence stops the run with exit 3) "
        "(default sync)",
    )
    sh.add_argument(
        "--shadow-strict",
        action="store_true",
        help="same as --shadow-mode strict",
    )
    sh.add_argument(
        "--shadow-fail-on",
        choices=FAIL_ON,
        help="exit 3 after the run (reports written) when a divergence of this severity or "
        "worse was found: critical (one that changes a candidate order, a seed, a gate or "
        "the decision) or any (default never: divergences are reported, the exit status "
        "is the search's; strict mode always fails on any)",
    )
    sh.add_argument(
        "--shadow-sample-rate",
        type=fraction,
        metavar="RATE",
        help="fraction of calls also run on the shadow, 0..1 (default 1.0)",
    )
    sh.add_argument(
        "--shadow-timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="time limit of one shadow call, > 0 (default 5.0)",
    )
    sh.add_argument(
        "--shadow-isolation",
        choices=ISOLATIONS,
        help="where the shadow runs: thread (in-process, cheapest) or process (a worker "
        "process that survives a native crash of the shadow) (default thread)",
    )
    sh.add_argument(
        "--shadow-log",
        type=Path,
        metavar="PATH",
        help="divergence log, JSON Lines (default: OUT/shadow.jsonl, i.e. "
        "reports/shadow.jsonl with the default --out)",
    )
    sh.add_argument(
        "--shadow-record",
        type=Path,
        metavar="PATH",
        help="also keep a recording of the calls (input, primary's outcome) in PATH, for "
        "`shadow verify` (default: no recording)",
    )
    sh.add_argument(
        "--shadow-record-rate",
        type=fraction,
        metavar="RATE",
        help="fraction of calls recorded, 0..1; needs --shadow-record (default 1.0)",
    )
    return p


# ---------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Plan:
    """The resolved run: what to build and with which parameters."""

    executor: str
    config: SearchConfig
    recorded: Path | None


def _pick(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _space(args: argparse.Namespace) -> SearchSpace:
    kernels = (
        tuple(k.strip() for k in args.kernels.split(",") if k.strip())
        if args.kernels
        else DEFAULT_KERNELS
    )
    if not kernels:
        raise UsageError("--kernels: expected at least one kernel name")
    widths = (
        _int_list(args.vector_widths, "--vector-widths")
        if args.vector_widths
        else DEFAULT_VECTOR_WIDTHS
    )
    unrolls = _int_list(args.unroll, "--unroll") if args.unroll else DEFAULT_UNROLLS
    local = _local_sizes(args.local_sizes) if args.local_sizes else DEFAULT_LOCAL_SIZES
    return SearchSpace(kernels, widths, unrolls, local)


def resolve(args: argparse.Namespace) -> tuple[Plan, Executor]:
    """Check the options, then open the executor (recorded defaults need it first)."""
    executor_name = args.executor or ("recorded" if args.recorded is not None else "opencl")
    space_flags = [
        f for f in ("kernels", "vector_widths", "unroll", "local_sizes") if getattr(args, f)
    ]
    if executor_name == "recorded":
        if args.recorded is None:
            raise UsageError("--executor recorded needs --recorded PATH")
        if space_flags:
            raise UsageError(
                "--" + space_flags[0].replace("_", "-") + " applies to the opencl executor only: "
                "a recorded run's candidates are the recorded configs"
            )
        if args.device:
            raise UsageError("--device applies to the opencl executor only")
    elif args.recorded is not None:
        raise UsageError("--recorded applies to --executor recorded only")

    if args.sizes is not None:
        sizes = _int_list(args.sizes, "--sizes")
        if any(s <= 0 for s in sizes):
            raise UsageError(f"--sizes: every size must be > 0, got {args.sizes!r}")
        if len(set(sizes)) != len(sizes):
            raise UsageError(f"--sizes: duplicate size in {args.sizes!r}")
    _check_numbers(args)

    executor = _open_executor(executor_name, args)
    if executor_name == "recorded":
        d = executor.defaults  # type: ignore[attr-defined]
        base: dict[str, Any] = {
            "sizes": d.sizes,
            "runs": d.runs,
            "warmup": d.warmup,
            "budget": None,
            "top_k": d.top_k,
            "sessions": d.sessions,
            "replay_runs": d.replay_runs,
            "seed": d.seed,
            "correctness_threshold": d.correctness_threshold,
            "objective": d.objective,
        }
        rule = d.baseline_rule
        space = None
    else:
        base = OPENCL_DEFAULTS
        rule = DEFAULT_BASELINE
        space = _space(args)

    sizes_final = sizes if args.sizes is not None else tuple(base["sizes"])
    budget = _pick(args.budget, base["budget"])
    top_k = _pick(args.top_k, base["top_k"])
    if budget is not None and top_k > budget:
        executor.close()
        raise UsageError(f"--top-k {top_k} is above the budget {budget}")
    threshold = _pick(args.correctness_threshold, base["correctness_threshold"])
    config = SearchConfig(
        space=space,
        sizes=sizes_final,
        runs=_pick(args.runs, base["runs"]),
        warmup=_pick(args.warmup, base["warmup"]),
        budget=budget,
        top_k=top_k,
        sessions=_pick(args.sessions, base["sessions"]),
        replay_runs=_pick(args.replay_runs, base["replay_runs"]),
        seed=_pick(args.seed, base["seed"]),
        correctness_threshold=threshold,
        gates=GateThresholds(
            max_error=threshold, max_cv=args.max_cv, min_delta_percent=args.min_delta
        ),
        objective=_pick(args.objective, base["objective"]),
        baseline_rule=_baseline(args.baseline) if args.baseline else rule,
    )
    return Plan(executor_name, config, args.recorded), executor


def _check_numbers(args: argparse.Namespace) -> None:
    checks = [
        ("--runs", args.runs, 1, None),
        ("--warmup", args.warmup, 0, None),
        ("--budget", args.budget, 1, None),
        ("--top-k", args.top_k, 1, None),
        ("--sessions", args.sessions, 1, 99),
        ("--replay-runs", args.replay_runs, 1, 999),
        ("--seed", args.seed, 0, None),
        ("--correctness-threshold", args.correctness_threshold, 0.0, None),
        ("--max-cv", args.max_cv, 0.0, None),
    ]
    for flag, value, low, high in checks:
        if value is None:
            continue
        if value != value or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise UsageError(f"{flag} must be {bound}, got {value}")
    if not math.isfinite(args.min_delta):
        raise UsageError(f"--min-delta must be a finite number, got {args.min_delta}")


def _open_executor(name: str, args: argparse.Namespace) -> Executor:
    if name == "recorded":
        from runners.executors.recorded import RecordedExecutor

        return RecordedExecutor(args.recorded)
    from runners.executors.opencl import OpenCLExecutor

    return OpenCLExecutor(device=args.device)


# ---------------------------------------------------------------------------- shadow

_SHADOW_FLAGS: tuple[tuple[str, str], ...] = (
    ("shadow_primary", "--shadow-primary"),
    ("shadow_secondary", "--shadow-secondary"),
    ("shadow_target", "--shadow-target"),
    ("shadow_mode", "--shadow-mode"),
    ("shadow_strict", "--shadow-strict"),
    ("shadow_fail_on", "--shadow-fail-on"),
    ("shadow_sample_rate", "--shadow-sample-rate"),
    ("shadow_timeout", "--shadow-timeout"),
    ("shadow_isolation", "--shadow-isolation"),
    ("shadow_log", "--shadow-log"),
    ("shadow_record", "--shadow-record"),
    ("shadow_record_rate", "--shadow-record-rate"),
)


@dataclass(frozen=True)
class ShadowPlan:
    """Shadow mode as resolved from the flags and the environment, before anything starts."""

    options: SessionOptions
    fail_on: str  # never | critical | any


def _given(args: argparse.Namespace) -> list[str]:
    return [flag for dest, flag in _SHADOW_FLAGS if getattr(args, dest) not in (None, False)]


def shadow_plan(
    args: argparse.Namespace, run_id: str, env: Mapping[str, str] = os.environ
) -> ShadowPlan | None:
    """Shadow options: defaults, then ``T2_SHADOW_*``, then the flags; None when shadow mode
    is off. Every ``--shadow-*`` option needs shadow mode on (``--shadow`` or ``T2_SHADOW``);
    contradictions are usage errors."""
    from runners.shadow_t2 import ENV_PREFIX, ShadowOptions, options_from_env

    base = ShadowOptions(log_path=args.out / "shadow.jsonl", run_id=run_id)
    try:
        from_env = options_from_env(env, base)
    except SessionOptionError as exc:
        raise UsageError(str(exc)) from None
    given = _given(args)
    env_on = switch_state(ENV_PREFIX, env)  # already validated by options_from_env
    if not args.shadow and not env_on:
        if given:
            raise UsageError(f"{given[0]} needs --shadow (or T2_SHADOW=1): shadow mode is off")
        return None
    if args.shadow_record_rate is not None and args.shadow_record is None:
        raise UsageError("--shadow-record-rate needs --shadow-record PATH")
    if args.shadow_strict and args.shadow_mode not in (None, "strict"):
        raise UsageError(f"--shadow-strict contradicts --shadow-mode {args.shadow_mode}")
    options = from_env if from_env is not None else base
    if from_env is None and env_on:  # T2_SHADOW=1 with T2_SHADOW_MODE=off
        options = dataclasses.replace(base, mode="off")
    mode = "strict" if args.shadow_strict else (args.shadow_mode or options.mode)
    if mode == "strict" and args.shadow_fail_on is not None:
        raise UsageError(
            "--shadow-fail-on applies to sync and async modes: strict mode stops at the "
            "first divergence"
        )
    env_primary = env.get(f"{ENV_PREFIX}_PRIMARY", "").strip() if from_env is not None else ""
    primary = args.shadow_primary or args.backend or env_primary or "python"
    if args.shadow_primary and args.backend and args.shadow_primary != args.backend:
        raise UsageError(
            f"--backend {args.backend} and --shadow-primary {args.shadow_primary} disagree: "
            "the primary is the backend the search uses"
        )
    env_secondary = env.get(f"{ENV_PREFIX}_SHADOW", "").strip() if from_env is not None else ""
    secondary = (
        args.shadow_secondary or env_secondary or next(b for b in BACKEND_NAMES if b != primary)
    )
    if secondary == primary and mode != "off":
        raise UsageError(
            f"the shadow implementation must differ from the primary {primary!r} "
            "(--shadow-secondary)"
        )
    changes: dict[str, Any] = {"primary": primary, "shadow": secondary, "mode": mode}
    for dest, field in (
        ("shadow_target", "target"),
        ("shadow_sample_rate", "sample_rate"),
        ("shadow_timeout", "timeout_s"),
        ("shadow_isolation", "isolation"),
        ("shadow_log", "log_path"),
        ("shadow_record", "record"),
        ("shadow_record_rate", "record_rate"),
    ):
        value = getattr(args, dest)
        if value is not None:
            changes[field] = value
    try:
        final = dataclasses.replace(options, **changes)
    except SessionOptionError as exc:
        raise UsageError(f"shadow mode: {exc}") from None
    fail_on = "any" if mode == "strict" else (args.shadow_fail_on or "never")
    return ShadowPlan(final, fail_on)


def _start_shadow(plan: ShadowPlan) -> ShadowSession:
    from runners.shadow_t2 import start_shadow

    try:
        return start_shadow(plan.options)
    except (SessionUnavailableError, SessionOptionError) as exc:
        raise UsageError(str(exc)) from None


def _failing(report: SessionReport, fail_on: str) -> int:
    """How many divergences fail the run under ``fail_on``."""
    if fail_on == "never":
        return 0
    return report.divergences if fail_on == "any" else report.at_least("critical")


# ---------------------------------------------------------------------------- progress


@contextmanager
def _progress(quiet: bool) -> Iterator[Progress]:
    if quiet:
        yield lambda phase, done, total, label: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    console = Console(stderr=True)
    bars = RichProgress(
        TextColumn("[bold]{task.fields[phase]:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
    )
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int, label: str) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(label, total=total, phase=phase)
        bars.update(tasks[phase], completed=done, total=total, description=label)

    with bars:
        yield update


# ---------------------------------------------------------------------------- main


def _summary(result: SearchResult, seconds: float, md_path: Path) -> str:
    """The closing line; its counts are those of the report's tables."""
    d = result.decision
    best = ""
    evaluated = [r for r in result.replays if r.evaluation is not None]
    promoted = [evaluated[i] for i in d.promoted if i < len(evaluated)]
    if evaluated:
        top = (promoted or evaluated)[0]
        ev = top.evaluation
        assert ev is not None
        label = "promoted" if promoted else "top replayed"
        best = f", {label} {top.plan_id} {ev.gflops.mean:.2f} GFLOPS"
        delta = ev.mean_delta_vs_baseline_percent
        notes = [f"{delta:+.1f}% vs baseline" if delta is not None else "no baseline"]
        if not promoted:
            failed = [
                name
                for name, ok in (
                    ("correctness", ev.correctness_passed),
                    ("stability", ev.stability_passed),
                )
                if not ok
            ]
            notes.append("failed " + " and ".join(failed) if failed else "below the uplift gate")
        best += " (" + ", ".join(notes) + ")"
    r = result.ranking
    measured = len(result.measurements)
    return (
        f"{PROG}: {d.hint.upper()}{best}; {measured} measurements ({len(result.benchmarked)} "
        f"candidates x {len(result.config.sizes)} sizes: {r.failed_count} failed, "
        f"{r.valid_count} correct), {len(result.replays)} replayed; {seconds:.1f} s; "
        f"report {md_path}"
    )


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _check_out(out: Path) -> None:
    """The reports folder must be writable before two minutes of search, not after."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".t2-search-{os.getpid()}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write reports to {out}: {describe_os_error(exc)}") from None


def main(argv: Sequence[str] | None = None) -> int:
    start = time.perf_counter()
    run_id = new_run_id()
    session: ShadowSession | None = None
    executor: Executor | None = None
    quiet = False
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (argparse printed it)
            return int(exc.code) if isinstance(exc.code, int) else EXIT_OK
        quiet = bool(args.quiet)
        plan_shadow = shadow_plan(args, run_id)
        _check_out(args.out)
        plan, executor = resolve(args)
        if plan_shadow is not None:
            session = _start_shadow(plan_shadow)
            backend: Backend = session.backend
        else:
            backend = get_backend(args.backend or "python")
        with _progress(args.quiet) as progress:
            result = run_search(plan.config, backend, executor, progress, run_id=run_id)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE, session, quiet)
    except InvalidInputError as exc:
        return _fail(f"the T2 core rejected the input: {exc}", EXIT_USAGE, session, quiet)
    except (SearchError, BadRecordingError) as exc:
        return _fail(str(exc), EXIT_USAGE, session, quiet)
    except ExecutorError as exc:
        return _fail(str(exc), EXIT_RUNTIME, session, quiet)
    except ImportError as exc:
        return _fail(f"backend not available: {exc}", EXIT_USAGE, session, quiet)
    except ShadowDivergenceError as exc:
        return _fail(f"shadow divergence in strict mode: {exc}", EXIT_DIVERGENCE, session, quiet)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED, session, quiet)
    except Exception as exc:  # a bug: still one line, and the run's shadow summary
        return _fail(
            f"unexpected failure: {exc or type(exc).__name__}", EXIT_RUNTIME, session, quiet
        )
    finally:
        if executor is not None:
            with suppress(Exception):
                executor.close()

    return _finish(args, result, session, plan_shadow, start)


def _finish(
    args: argparse.Namespace,
    result: SearchResult,
    session: ShadowSession | None,
    plan_shadow: ShadowPlan | None,
    start: float,
) -> int:
    """Reports, then what the user sees: tables unless --quiet, the divergence line even
    then, the summary line last; the exit status follows --shadow-fail-on."""
    from runners.report import write_reports

    terminal = Terminal()
    report = session.close() if session is not None else None
    shadow_json: dict[str, Any] | None = None
    shadow_text: str | None = None
    if report is not None:
        shadow_text = report.render(Terminal(style="plain"))
        shadow_json = {
            "run_id": report.counters.run_id,
            "mode": report.mode,
            "primary": report.primary,
            "shadow": report.shadow,
            "log": str(report.log_path) if report.log_path is not None else None,
            "divergences": report.divergences,
            "by_kind": report.by_kind,
            "by_severity": dict(report.by_severity),
            "totals": report.totals(),
            "summary": shadow_text,
        }
    try:
        paths = write_reports(result, args.out, shadow_json, shadow_text)
    except OSError as exc:
        _error(f"cannot write reports to {args.out}: {describe_os_error(exc)}")
        return EXIT_RUNTIME
    if report is not None and not args.quiet:
        terminal.table(report.table())
    if report is not None and (not args.quiet or report.divergences or _unchecked(report)):
        terminal.line(f"{PROG}: {report.verdict()}")
    if not args.quiet:
        terminal.line(f"decision: {result.decision.hint}: {result.decision.rationale}")
        terminal.line(f"JSON report:     {paths.json}\nMarkdown report: {paths.markdown}")
    terminal.line(_summary(result, time.perf_counter() - start, paths.markdown))
    if report is not None and plan_shadow is not None:
        failing = _failing(report, plan_shadow.fail_on)
        if failing:
            level = "" if plan_shadow.fail_on == "any" else " critical"
            _error(
                f"{failing}{level} shadow divergence(s) (--shadow-fail-on "
                f"{plan_shadow.fail_on}); see {report.log_path}"
            )
            return EXIT_DIVERGENCE
    return EXIT_OK


def _unchecked(report: SessionReport) -> int:
    t = report.totals()
    return t["skipped"] + t["errors"]


def _fail(message: str, code: int, session: ShadowSession | None, quiet: bool) -> int:
    """One error line; a started shadow session is closed and its verdict line printed
    (the divergences it found before the failure are in its log)."""
    if session is not None:
        with suppress(Exception):
            report = session.close()
            print(f"{PROG}: {report.verdict()}", file=sys.stderr)
    _error(message)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
