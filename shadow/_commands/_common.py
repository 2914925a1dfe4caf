"""Options and target loading shared by the subcommands that run implementations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from shadow._argtypes import megabytes
from shadow._config import ConfigError, default_target, find_pyproject
from shadow._isolation import DEFAULT_MEMORY_LIMIT_MB
from shadow._registry import Target, load_target


def description(doc: str | None) -> str | None:
    """A command's ``--help`` description: its module docstring's first paragraph, as plain
    text (no reStructuredText double backticks)."""
    if not doc:
        return None
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "")


def add_target_options(p: argparse.ArgumentParser) -> None:
    """``--target``, ``--ops``, ``--primary`` and ``--shadow``, the same in every command."""
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--target",
        metavar="MOD:ATTR",
        help="target (default: $SHADOW_TARGET or [tool.shadow] target)",
    )
    which.add_argument(
        "--pair",
        nargs=2,
        metavar=("PRIMARY", "SHADOW"),
        help="two functions, modules or objects to compare, as MODULE[:ATTR] each "
        "(no code to write: ops, names and strategies come from them)",
    )
    p.add_argument(
        "--ops", metavar="A,B", help="comma-separated ops (default: all with a strategy)"
    )
    p.add_argument(
        "--primary", default=None, help="primary implementation name (default: target's)"
    )
    p.add_argument("--shadow", default=None, help="shadow implementation name (default: target's)")


def chosen_ops(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The ``--ops`` list, or None for every op."""
    if not args.ops:
        return None
    return tuple(op.strip() for op in args.ops.split(",") if op.strip())


def add_project_to_path() -> None:
    """Put the project root (the folder of the nearest pyproject.toml) on ``sys.path``, so
    targets and pairs named ``module:attr`` import from the project as printed commands
    expect, with no ``PYTHONPATH`` to remember."""
    pyproject = find_pyproject()
    if pyproject is not None:
        root = str(pyproject.parent)
        if root not in sys.path:
            sys.path.insert(0, root)


def load_configured_target(spec: str | None) -> Target:
    """The target ``spec`` names, or the project's configured one; ValueError saying why not."""
    add_project_to_path()
    try:
        spec = spec or default_target()
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    try:
        return load_target(spec)
    except ModuleNotFoundError as exc:
        raise ValueError(f"cannot load target {spec}: no module named {exc.name!r}") from None
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot load target {spec}: {exc}") from None
    except Exception as exc:  # the target's own import failed: say so in one line
        raise ValueError(f"cannot load target {spec}: importing it raised {exc}") from None


def target_or_none(args: argparse.Namespace, console: Console, command: str) -> Target | None:
    """The target named by ``--target``/``--pair`` or the configuration; None after saying
    why not."""
    spec = args.target
    if getattr(args, "pair", None):
        spec = "pair:" + ",".join(args.pair)
    try:
        return load_configured_target(spec)
    except ValueError as exc:
        console.print(f"shadow {command}: {exc}", highlight=False, markup=False)
        return None


def add_isolation_options(
    p: argparse.ArgumentParser,
    *,
    default: str = "process",
    timeout_s: float = 10.0,
    seconds: Callable[[str], float] = float,
    memory: bool = False,
) -> None:
    """``--isolation`` and ``--timeout``: the same words and defaults in every command that
    runs the shadow (fuzz, gate, verify)."""
    p.add_argument(
        "--isolation",
        choices=("process", "thread"),
        default=default,
        help=f"where the shadow runs (default {default}; in a process, a crash or a hang "
        "is a finding, not the end of the run)",
    )
    p.add_argument(
        "--timeout",
        type=seconds,
        default=timeout_s,
        metavar="S",
        help=f"time limit of one shadow call (default {timeout_s:g} s)",
    )
    if memory:
        p.add_argument(
            "--memory-limit",
            type=megabytes,
            default=DEFAULT_MEMORY_LIMIT_MB,
            metavar="MB",
            help="memory the shadow's worker may allocate beyond what it holds at start, "
            f"in process isolation (default {DEFAULT_MEMORY_LIMIT_MB}; 0: no cap)",
        )


def add_report_options(p: argparse.ArgumentParser, *, junit: Path, summary: Path) -> None:
    """``--junit`` and ``--summary``: where a command that exits like the gate writes its
    reports."""
    p.add_argument(
        "--junit", type=Path, default=junit, metavar="PATH", help=f"JUnit XML (default {junit})"
    )
    p.add_argument(
        "--summary",
        type=Path,
        default=summary,
        metavar="PATH",
        help=f"Markdown summary (default {summary})",
    )
