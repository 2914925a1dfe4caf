"""The ``shadow`` console script: review, replay, fuzz and gate subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: tuple[str, ...] = ("review", "replay", "fuzz", "gate", "verify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shadow",
        description="Review, replay, fuzz, gate and verify divergences between two implementations.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"shadow.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"shadow.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(f"shadow.commands.{args.command}")
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
