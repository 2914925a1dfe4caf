"""``t2-search``: run a T2 auto-scheduling search and write its reports.

Exit codes: 0 the search ran (whatever it decided); 1 the executor could not run (no device,
...); 2 bad options or input rejected by the T2 core; 3 shadow mode in strict mode found a
divergence. Errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from t2_sidecar.errors import InvalidInputError

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_DIVERGENCE = 0, 1, 2, 3

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


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only when there is one: options whose default depends on the
    executor say so in their own help text instead of printing "(default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class UsageError(Exception):
    """A bad option: reported in one line, exit code 2."""


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="t2-search",
        description=(
            "Run a T2 GEMM auto-scheduling search: enumerate and score schedule candidates, "
            "keep those valid for the device, benchmark the best, rank them against a per-size "
            "baseline, replay the top-k over seeded sessions, apply the correctness/stability/"
            "promotion gates and decide promote / iterate / refine. Writes a JSON and a "
            "Markdown report. Without options: the embedded default search on the first GPU, "
            "or PoCL's CPU device (about two minutes on two cores)."
        ),
        epilog=(
            "Exit codes: 0 search done, 1 executor failure, 2 bad option or core input error, "
            "3 divergence in strict shadow mode. Shadow mode can also be switched on by the "
            "environment (T2_SHADOW=1 and related T2_SHADOW_* variables)."
        ),
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
        default="python",
        help="T2 core backend for every deterministic step",
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
        help="no progress bars; only the final summary line (and errors)",
    )

    sh = p.add_argument_group("shadow mode (every core call also runs on the other backend)")
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
        help="off, sync (both in the caller's thread), async (shadow on a "
        "background worker), strict (sync, divergence fails the run) "
        "(default sync)",
    )
    sh.add_argument(
        "--shadow-sample-rate",
        type=float,
        help="fraction of calls also run on the shadow, 0..1 (default 1.0)",
    )
    sh.add_argument(
        "--shadow-timeout",
        type=float,
        metavar="SECONDS",
        help="shadow call time limit in async mode (default 5.0)",
    )
    sh.add_argument(
        "--shadow-log",
        type=Path,
        metavar="PATH",
        help="divergence log, JSON Lines (default reports/shadow.jsonl)",
    )
    sh.add_argument(
        "--shadow-strict",
        action="store_true",
        help="same as --shadow-mode strict: exit 3 on any divergence",
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
        ("--shadow-sample-rate", args.shadow_sample_rate, 0.0, 1.0),
    ]
    for flag, value, low, high in checks:
        if value is None:
            continue
        if value != value or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise UsageError(f"{flag} must be {bound}, got {value}")
    if args.shadow_timeout is not None and not args.shadow_timeout > 0:
        raise UsageError(f"--shadow-timeout must be > 0, got {args.shadow_timeout}")


def _open_executor(name: str, args: argparse.Namespace) -> Executor:
    if name == "recorded":
        from runners.executors.recorded import RecordedExecutor

        return RecordedExecutor(args.recorded)
    from runners.executors.opencl import OpenCLExecutor

    return OpenCLExecutor(device=args.device)


# ---------------------------------------------------------------------------- shadow


def _shadow_requested(args: argparse.Namespace) -> bool:
    if args.shadow_mode == "off":
        return False
    return bool(
        args.shadow
        or args.shadow_strict
        or args.shadow_mode is not None
        or args.shadow_primary
        or args.shadow_secondary
        or args.shadow_target
    )


def _shadow_options(args: argparse.Namespace, run_id: str) -> Any | None:
    """ShadowOptions from the flags, else from the environment, else None (no shadow)."""
    from_flags = _shadow_requested(args)
    if not from_flags and (
        args.shadow_mode == "off" or not any(k.startswith("T2_SHADOW") for k in os.environ)
    ):
        return None
    try:
        from runners.shadow_t2 import ShadowOptions, options_from_env
    except ImportError as exc:
        raise UsageError(f"shadow mode is not available in this build: {exc}") from None
    if not from_flags:
        options = options_from_env(os.environ)
        if options is None:
            return None
        if getattr(options, "run_id", None) is None:
            with suppress(TypeError):
                options = _replace(options, run_id=run_id)
        return options
    primary = args.shadow_primary or args.backend
    secondary = args.shadow_secondary or next(b for b in BACKEND_NAMES if b != primary)
    if secondary == primary:
        raise UsageError(f"--shadow-secondary must differ from the primary backend {primary!r}")
    mode = "strict" if args.shadow_strict else (args.shadow_mode or "sync")
    kwargs: dict[str, Any] = {
        "primary": primary,
        "shadow": secondary,
        "mode": mode,
        "run_id": run_id,
    }
    if args.shadow_target is not None:
        kwargs["target"] = args.shadow_target
    if args.shadow_sample_rate is not None:
        kwargs["sample_rate"] = args.shadow_sample_rate
    if args.shadow_timeout is not None:
        kwargs["timeout_s"] = args.shadow_timeout
    kwargs["log_path"] = (
        args.shadow_log if args.shadow_log is not None else args.out / "shadow.jsonl"
    )
    return ShadowOptions(**kwargs)


def _replace(options: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(options, **changes)


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
        best += f" ({delta:+.1f}% vs baseline)" if delta is not None else " (no baseline)"
    r = result.ranking
    return (
        f"t2-search: {d.hint.upper()}{best}; {len(result.benchmarked)} candidates x "
        f"{len(result.config.sizes)} sizes benchmarked ({r.failed_count} failed, "
        f"{r.valid_count} correct), {len(result.replays)} replayed; {seconds:.1f} s; "
        f"report {md_path}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message (or --help)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    start = time.perf_counter()
    run_id = new_run_id()
    session = None
    executor: Executor | None = None
    try:
        plan, executor = resolve(args)
        backend, session = _open_backend(args, run_id)
        with _progress(args.quiet) as progress:
            result = run_search(plan.config, backend, executor, progress, run_id=run_id)
    except UsageError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE, session)
    except InvalidInputError as exc:
        return _fail(f"error: the T2 core rejected the input: {exc}", EXIT_USAGE, session)
    except SearchError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE, session)
    except BadRecordingError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE, session)
    except ExecutorError as exc:
        return _fail(f"error: {exc}", EXIT_RUNTIME, session)
    except ImportError as exc:
        return _fail(f"error: backend not available: {exc}", EXIT_USAGE, session)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, session)
    except Exception as exc:  # strict shadow mode raises on divergence; anything else is a bug
        if session is not None and (_strict(session) or "Divergence" in type(exc).__name__):
            return _fail(
                f"error: shadow divergence in strict mode: {exc}", EXIT_DIVERGENCE, session
            )
        return _fail(f"error: {type(exc).__name__}: {exc}", EXIT_RUNTIME, session)
    finally:
        if executor is not None:
            with suppress(Exception):
                executor.close()

    shadow_json: dict[str, Any] | None = None
    shadow_text: str | None = None
    divergences = 0
    if session is not None:
        report = session.close()
        shadow_text = report.render()
        divergences = int(report.divergences)
        shadow_json = {"divergences": divergences, "summary": shadow_text}
    from runners.report import write_reports

    try:
        paths = write_reports(result, args.out, shadow_json, shadow_text)
    except OSError as exc:
        print(f"error: cannot write reports to {args.out}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    if shadow_text and not args.quiet:
        print(shadow_text)
    if not args.quiet:
        print(f"JSON report:     {paths.json}\nMarkdown report: {paths.markdown}")
    print(_summary(result, time.perf_counter() - start, paths.markdown))
    if divergences and _strict(session):
        print(f"error: {divergences} shadow divergence(s) in strict mode", file=sys.stderr)
        return EXIT_DIVERGENCE
    return EXIT_OK


def _strict(session: Any) -> bool:
    """Strict mode, whether asked for by a flag or by the environment."""
    return session is not None and getattr(session.options, "mode", None) == "strict"


def _open_backend(args: argparse.Namespace, run_id: str) -> tuple[Backend, Any]:
    """The backend the search calls: plain, or a shadowed pair (then also the session)."""
    try:
        options = _shadow_options(args, run_id)
        if options is None:
            return get_backend(args.backend), None
        from runners.shadow_t2 import start_shadow

        session = start_shadow(options)
    except (ValueError, RuntimeError) as exc:  # bad T2_SHADOW_* values, backend not built
        raise UsageError(f"cannot start shadow mode: {exc}") from None
    return session.backend, session


def _fail(message: str, code: int, session: Any) -> int:
    if session is not None:
        try:
            report = session.close()
            print(report.render(), file=sys.stderr)
        except Exception:
            pass
    print(message, file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
