"""Options and target loading shared by the subcommands that run implementations."""

from __future__ import annotations

import argparse

from rich.console import Console

from shadow.config import ConfigError, default_target
from shadow.registry import Target, load_target


def add_target_options(p: argparse.ArgumentParser) -> None:
    """``--target``, ``--ops``, ``--primary`` and ``--shadow``, the same in every command."""
    p.add_argument(
        "--target",
        metavar="MOD:ATTR",
        help="target (default: $SHADOW_TARGET or [tool.shadow] target)",
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


def target_or_none(args: argparse.Namespace, console: Console, command: str) -> Target | None:
    """The target named by ``--target`` or the configuration; None after saying why not."""
    try:
        return load_target(args.target or default_target())
    except (ConfigError, ImportError, AttributeError, TypeError) as exc:
        console.print(f"[red]shadow {command}: cannot load the target: {exc}[/]", highlight=False)
        return None
