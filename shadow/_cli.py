"""The ``shadow`` console script: review, query, export, replay, fuzz and gate subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: tuple[str, ...] = ("review", "query", "export", "replay", "fuzz", "gate", "verify")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or, given ``only``, one whose other subcommands are bare names.

    A run of one subcommand imports that subcommand's module only: ``fuzz`` and ``gate`` pull in
    the comparison machinery (deepdiff, NumPy when installed), which a ``shadow review`` of a
    large log would otherwise pay for at every start.
    """
    parser = argparse.ArgumentParser(
        prog="shadow",
        description=(
            "Compare two implementations call by call: review, query and export divergence "
            "logs, replay a call, fuzz, gate, and verify a build against a recording."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        try:
            module = importlib.import_module(f"shadow._commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"shadow._commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    chosen = words[0] if words and words[0] in SUBCOMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(words)
    module = importlib.import_module(f"shadow._commands.{args.command}")
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
