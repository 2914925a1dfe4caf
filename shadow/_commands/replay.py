"""``shadow replay LOG --call ID``: re-run one logged call on both implementations now.

Why: a divergence in a log is a claim about the code *as it was*; before fixing (or after)
one wants to know whether it still reproduces, and to pin it as a permanent regression case
that the CI gate replays on every run (``--save``).

Exit codes (docs/review.md): 0 the call no longer diverges; 1 it still diverges; 2 usage
error (argparse); 3 the log, the call or its input could not be found or loaded, or the
target could not be imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

# The case format is shared with the gate and the corpus test: one definition.
from shadow._corpus import CASE_SCHEMA as CASE_SCHEMA
from shadow._corpus import DEFAULT_CORPUS, Case, input_digest, save_case

EXIT_FIXED: Final = 0
EXIT_DIVERGES: Final = 1
EXIT_USAGE: Final = 2
EXIT_ERROR: Final = 2


class ReplayError(Exception):
    """Something the user must fix before a replay can run (exit 3, message on stderr)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="re-run one logged call on both implementations; optionally save it to the corpus",
        description=(
            "Find the divergence event with --call ID in LOG, re-run its input on both "
            "implementations and say whether it still diverges. The target is --target or "
            "the project's (pyproject [tool.shadow] / $SHADOW_TARGET), never the log's."
        ),
        epilog=(
            "exit status: 0 no longer diverges, 1 still diverges, 2 could not check "
            "(usage, log/call/input not found, target not loadable or not the event's)\n\n"
            "examples:\n"
            "  shadow replay reports/shadow/run.jsonl --call 20261201T101500-ab12cd-000003\n"
            "  shadow replay reports/fuzz.jsonl --call fuzz-...-000001 --save --note 'why'\n"
            "  shadow replay LOG --call ID --isolation process   # a call that crashed the port"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--target",
        metavar="MOD:ATTR",
        help="target to replay with (default: $SHADOW_TARGET or [tool.shadow] target); "
        "required when the event was logged for another target",
    )
    p.add_argument("--primary", default=None, help="primary implementation (default: as logged)")
    p.add_argument("--shadow", default=None, help="shadow implementation (default: as logged)")
    p.add_argument(
        "--isolation",
        choices=("thread", "process"),
        default="thread",
        help="where the shadow runs (process survives a crashing port; default thread)",
    )
    p.add_argument("log", type=Path, metavar="LOG", help="the shadow log holding the call")
    p.add_argument("--call", required=True, metavar="ID", help="call_id of the event")
    p.add_argument(
        "--save",
        action="store_true",
        help="write the case to the regression corpus (whatever the outcome)",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        metavar="DIR",
        help=f"corpus directory for --save (default: {DEFAULT_CORPUS}/)",
    )
    p.add_argument(
        "--note",
        default=None,
        help="why this case is kept (stored in the case; default names the log)",
    )
    return p


def find_event(log: Path, call_id: str) -> dict[str, Any]:
    """Stream ``log`` for the divergence event of ``call_id`` (bounded memory).

    A substring test on the raw bytes skips almost every line before it is parsed, so a
    lookup in a million-line log costs a read of the file, not a million JSON parses.
    """
    from shadow._review.reader import MAX_LINE_BYTES, classify, open_log

    needle = orjson.dumps(call_id)  # the id as it appears, quoted, in the JSON line
    with open_log(log) as stream:
        while raw := stream.readline(MAX_LINE_BYTES):
            if needle not in raw:
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if (
                classify(obj) is None
                and obj.get("event") == "divergence"
                and obj.get("call_id") == call_id
            ):
                return dict(obj)
    raise ReplayError(f"no divergence event with call_id {call_id!r} in {log}")


def load_event_input(event: Mapping[str, Any], log: Path) -> Any:
    """The encoded input: inline ``input`` or the ``input_ref`` blob beside the log."""
    if event.get("input") is not None:
        return event["input"]
    ref = event.get("input_ref")
    if not isinstance(ref, str):
        raise ReplayError(f"event {event.get('call_id')} was logged without its input")
    blob = log.parent / ref
    try:
        return orjson.loads(blob.read_bytes())
    except OSError as exc:
        raise ReplayError(f"input blob {blob} cannot be read: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise ReplayError(f"input blob {blob} is not valid JSON: {exc}") from exc


def _print_outcome(call_id: str, outcome: Any, event: Mapping[str, Any]) -> None:
    from rich.console import Console

    from shadow._display import visible

    console = Console()
    if not outcome.diverges:
        console.print(
            f"[green]{call_id}: no longer diverges[/] (logged as {event.get('kind')}, "
            f"signature {event.get('signature')})",
            highlight=False,
        )
        return
    same = getattr(outcome, "same_signature", None)
    how = "same signature" if same else f"signature now {getattr(outcome, 'signature', '?')}"
    console.print(
        f"[bold red]{call_id}: still diverges[/]: {outcome.kind} "
        f"({getattr(outcome, 'severity', None) or '?'}; {how})",
        highlight=False,
    )
    diff = list(outcome.diff)
    if diff:
        for entry in diff[:50]:
            console.print(
                f"  {entry.get('path')}: {outcome.primary}={visible(entry.get('primary'), 120)} "
                f"{outcome.shadow}={visible(entry.get('shadow'), 120)}",
                highlight=False,
                markup=False,
            )


def run(args: argparse.Namespace) -> int:
    from shadow._commands._common import load_configured_target
    from shadow._replay_core import ReplayError as CoreReplayError
    from shadow._replay_core import replay_event

    log: Path = args.log
    try:
        if not log.is_file():
            raise ReplayError(f"{log}: no such file")
        event = find_event(log, args.call)
        encoded = load_event_input(event, log)
        logged_target = event.get("target")
        try:
            target = load_configured_target(args.target)
        except ValueError as exc:
            raise ReplayError(str(exc)) from None
        if not args.target and logged_target != target.import_spec:
            raise ReplayError(
                f"event {args.call} was logged for target {logged_target!r}, not this "
                f"project's {target.import_spec!r}; nothing was imported. To replay it with "
                f"that target, pass --target {logged_target}"
            )
        event["input"] = encoded
        try:
            outcome = replay_event(
                event,
                target=target,
                primary=args.primary,
                shadow=args.shadow,
                isolation=args.isolation,
            )
        except CoreReplayError as exc:
            raise ReplayError(str(exc)) from None
        except (TypeError, KeyError, ValueError) as exc:
            raise ReplayError(f"cannot replay {args.call}: {exc}") from None
    except ReplayError as exc:
        print(f"shadow replay: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"shadow replay: cannot read {log}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR

    _print_outcome(args.call, outcome, event)
    if args.save:
        case = Case(
            target=target.import_spec,
            op=event["op"],
            input=encoded,
            input_digest=input_digest(encoded),
            kind=event.get("kind"),
            signature=event.get("signature"),
            severity=event.get("severity"),
            note=args.note or f"replayed from {log} call {args.call}",
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            call_id=args.call,
            diverged_when_saved=bool(outcome.diverges),
            primary=outcome.primary,
            shadow=outcome.shadow,
        )
        try:
            path = save_case(case, args.corpus)
        except OSError as exc:
            print(
                f"shadow replay: cannot write to {args.corpus}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return EXIT_ERROR
        print(f"saved regression case {path}")
    return EXIT_DIVERGES if outcome.diverges else EXIT_FIXED
