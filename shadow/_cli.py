"""The ``shadow`` console script: review, query, export, replay, fuzz and gate subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: tuple[str, ...] = ("review", "query", "export", "replay", "fuzz", "gate", "verify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shadow",
        description=(
            "Compare two implementations call by call: review, query and export divergence "
            "logs, replay a call, fuzz, gate, and verify a build against a recording."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"shadow._commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"shadow._commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(f"shadow._commands.{args.command}")
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
