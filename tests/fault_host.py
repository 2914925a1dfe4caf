"""A host program for the fault matrix: a Dispatcher shadowing the hostile target, run in a
child process so that a fault which kills its host fails one case, not the test session.

Usage (from the project root)::

    python -m tests.fault_host --mode sync --isolation process --log LOG FAULT [FAULT ...]

For each fault, in order, the host makes two calls through the dispatcher's proxy, both in
the shadow's fault region: ``A`` where the primary returns a fresh object and ``B`` where it
raises a fresh exception (with a list input, the snapshot path). It prints one JSON line
when it starts a fault and one when the caller got its answers (did the caller get the
primary's very object, the very exception instance, its own input untouched, and how long
did it wait); in async mode it then waits until both calls were judged, so each fault's
events are its own. The hang gets a dispatcher of its own, with a short timeout (the
others' is generous, so that a loaded machine never turns a slow fault into a timeout).
After the last fault the host checks that each dispatcher's shadow still answers
(``fine``), closes it (writing ``run_summary``) and prints its counters. Events go to LOG.

In thread isolation there is no memory cap of the isolation's own: the memory fault runs
under a cap on this whole process (``RLIMIT_DATA``, as ``ulimit -d`` would set), lifted
after it. Process isolation caps its worker (``--memory-limit-mb``).

The ``if __name__ == "__main__"`` guard is required: process isolation starts its fork
server with multiprocessing's ``spawn``, which re-imports the main module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shadow._dispatcher import Dispatcher
from tests.hostile_impls import BY_NAME, FAULT_FROM, TARGET, Primary, wait_until

HOST_MEMORY_HEADROOM = 256 * 2**20
JUDGE_WAIT_S = 60.0


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def _data_size() -> int:
    text = Path("/proc/self/status").read_text()
    found = re.search(r"^VmData:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


@contextlib.contextmanager
def host_memory_cap(enabled: bool) -> Iterator[None]:
    """Cap this process's data segment at its current size plus some headroom."""
    if not enabled:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (_data_size() + HOST_MEMORY_HEADROOM, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def run_fault(d: Dispatcher[Primary], primary: Primary, name: str, mode: str) -> None:
    fault = BY_NAME[name]
    proxy = d.wrap()
    op = getattr(proxy, name)
    say(start=name)
    capped = name == "memory_blowup" and d.isolation == "thread"
    with host_memory_cap(capped):
        items_a = [1, 2, 3] if fault.mutates else None
        got = op(FAULT_FROM) if items_a is None else op(FAULT_FROM, items_a)
        value_is_primary = got is primary.last_value
        items_b = [1, 2, 3]
        error_is_primary = False
        try:
            op(FAULT_FROM + 1, items_b)
        except BaseException as exc:
            error_is_primary = exc is primary.last_error
        untouched = items_b == [1, 2, 3] and (items_a is None or items_a == [1, 2, 3])
        say(
            called=name,
            value_is_primary=value_is_primary,
            error_is_primary=error_is_primary,
            input_untouched=untouched,
        )
        judged = True
        if mode == "async":
            judged = wait_until(lambda: d.counters().by_op[name].sampled >= 2, JUDGE_WAIT_S)
    say(done=name, judged=judged, counts=d.counters().by_op[name].to_dict())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("sync", "async"), required=True)
    parser.add_argument("--isolation", choices=("thread", "process"), required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--hang-timeout",
        type=float,
        default=1.0,
        help="the hang runs on a dispatcher of its own with this shorter timeout",
    )
    parser.add_argument("--memory-limit-mb", type=int, default=512)
    parser.add_argument("faults", nargs="+", choices=sorted(BY_NAME))
    args = parser.parse_args(argv)
    primary = Primary()

    def dispatcher(timeout: float) -> Dispatcher[Primary]:
        return Dispatcher(
            TARGET,
            primary=primary,
            shadow="hostile",
            mode=args.mode,
            isolation=args.isolation,
            timeout_s=timeout,
            log=args.log,
            memory_limit_mb=args.memory_limit_mb,
        )

    made: dict[str, Dispatcher[Primary]] = {}
    for name in args.faults:
        which = "hang" if name == "hang" else "main"
        if which not in made:
            made[which] = dispatcher(args.hang_timeout if which == "hang" else args.timeout)
        run_fault(made[which], primary, name, args.mode)
    for d in made.values():
        fine = d.wrap().fine(0)
        counters = d.close(timeout_s=JUDGE_WAIT_S)
        say(
            closed=True,
            fine=fine == [0, "fine"],
            fine_matched=counters.by_op["fine"].matched,
            counters={op: c.to_dict() for op, c in counters.by_op.items() if c.calls},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
