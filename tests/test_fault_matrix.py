"""The fault matrix: a port under test can never take its host down.

Every fault of :mod:`tests.hostile_impls` (exception, BaseException, Rust panic, SystemExit,
KeyboardInterrupt, ``os._exit``, SIGSEGV, ``abort()``, native stack overflow, hang, memory
blow-up under a cap, huge and oversized and unpicklable results, input mutation, a hostile
result value, NaN/-0.0/int-float/bool-int) is committed by the shadow

* against the dispatcher, in sync and async mode, with thread and process isolation: each
  host is a child process (:mod:`tests.fault_host`), so a fault that kills its host fails
  one case, and the next faults run in a fresh host;
* against ``shadow fuzz`` and ``shadow gate`` (the CLI, in child processes), on the same
  target, whose shadow faults on part of its input space only.

With process isolation the host survives everything, the caller gets the primary's very
object or exception instance, the right kind is logged, and fuzz/gate end with a report
naming the (shrunk, replayable) input. With thread isolation every fault that does not kill
the process is contained the same way; the four that do (``os._exit``, SIGSEGV, ``abort()``,
stack overflow) are expected deaths of the child, asserted as such.

All runs happen once, concurrently, in a module fixture; each cell of the matrix is a test
case reading its result. ``test_matrix_table`` writes the table (Markdown) to
``$FAULT_MATRIX_TABLE`` or a temporary file.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shadow._isolation.process import ProcessIsolation, TargetImplementation
from shadow._isolation.thread import ShadowUnavailable, ThreadIsolation
from shadow._log import read_events
from shadow._outcome import ErrorInfo
from tests.hostile_impls import FAULT_FROM, FAULTS, TARGET

ROOT = Path(__file__).resolve().parent.parent
SPEC = TARGET.import_spec
MODES = ("sync", "async")
ISOLATIONS = ("thread", "process")
NAMES = tuple(f.name for f in FAULTS)

DEATHS: dict[str, tuple[int, ...]] = {
    "os_exit": (3,),
    "sigsegv": (-signal.SIGSEGV,),
    "abort": (-signal.SIGABRT,),
    "stack_overflow": (-signal.SIGSEGV, -signal.SIGBUS),
}
"""Faults thread isolation cannot contain: the host's expected return codes."""
CRASH_DETAIL: dict[str, tuple[tuple[str, int], ...]] = {
    "os_exit": (("exit_code", 3),),
    "sigsegv": (("signal", signal.SIGSEGV),),
    "abort": (("signal", signal.SIGABRT),),
    "stack_overflow": (("signal", signal.SIGSEGV), ("signal", signal.SIGBUS)),
}
"""What a ``shadow_crash`` event must say (any one of), per fault."""

FATAL = ("shadow_error", "shadow_error")
UNSENDABLE = ("shadow_unsendable", "shadow_unsendable")
RETURNED_OTHER = ("value_mismatch", "primary_error_only")
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "exception": ("shadow_error_only", "error_mismatch"),
    "base_exception": FATAL,
    "rust_panic": FATAL,
    "system_exit": FATAL,
    "keyboard_interrupt": FATAL,
    "os_exit": ("shadow_crash", "shadow_crash"),
    "sigsegv": ("shadow_crash", "shadow_crash"),
    "abort": ("shadow_crash", "shadow_crash"),
    "stack_overflow": ("shadow_crash", "shadow_crash"),
    "hang": ("shadow_timeout", "shadow_timeout"),
    "memory_blowup": ("shadow_error_only", "error_mismatch"),
    "huge_result": ("value_mismatch", None),
    "oversized_result": UNSENDABLE,
    "unpicklable_result": UNSENDABLE,
    "mutate_input": ("mutated_input", "mutated_input"),
    "hostile_value": RETURNED_OTHER,
    "nan": (None, None),
    "negative_zero": ("value_mismatch", None),
    "int_vs_float": ("value_mismatch", None),
    "bool_vs_int": ("value_mismatch", None),
}
"""The kinds logged for call A (primary returns) and call B (primary raises), in process
isolation; None: the call matched."""
THREAD_EXPECTED: dict[str, tuple[str | None, str | None]] = {
    # In-process, any value comes back: only its comparison says it differs.
    "oversized_result": RETURNED_OTHER,
    "unpicklable_result": RETURNED_OTHER,
}

HOST_TIMEOUT_S = 30.0
"""The dispatcher's shadow timeout in the hosts (generous: a loaded machine must never turn
a slow fault into a timeout); the hang has a dispatcher of its own, with ``HANG_TIMEOUT_S``."""
HANG_TIMEOUT_S = 1.0
HOST_LIMIT_S = 300.0
"""A host (or CLI run) still running after this is a stall: killed, and the case fails."""
FUZZ_EXAMPLES = 10
FUZZ_TIMEOUT_S = 10.0
FUZZ_HANG_TIMEOUT_S = 0.5
CLI_MEMORY_CAP = 8 * 2**30
"""``RLIMIT_DATA`` of the fuzz and gate runs (as ``ulimit -d`` in CI would set): the memory
hog hits it in the worker (or, in thread isolation, in the host). It counts address space,
not memory: about 2.3 GB of it are reserved at start (see ``hostile_impls.RESERVED``), and
the hog's pages, like those of the oversized results, are never touched."""
WORKERS = 6


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["RUST_BACKTRACE"] = "0"  # a panic prints one line, not a backtrace
    env.pop("PYTHONFAULTHANDLER", None)  # an expected death stays quiet
    env.pop("SHADOW_TARGET", None)
    return env


def no_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def capped_cli() -> None:
    no_core_dumps()
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (CLI_MEMORY_CAP, hard))


def run_child(
    cmd: list[str], preexec: Callable[[], None] = no_core_dumps
) -> tuple[int | None, str, str]:
    """(return code, or None when it stalled and was killed; stdout; stderr)."""
    try:
        done = subprocess.run(
            cmd,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=HOST_LIMIT_S,
            env=child_env(),
            preexec_fn=preexec,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return None, _text(exc.stdout), _text(exc.stderr)
    return done.returncode, done.stdout, done.stderr


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def describe_rc(rc: int | None) -> str:
    if rc is None:
        return "stalled (killed)"
    if rc < 0:
        return signal.Signals(-rc).name
    return f"exit {rc}"


# ---------------------------------------------------------------------- dispatcher hosts


@dataclass
class HostCase:
    """What one fault did to its host."""

    called: dict[str, Any] | None = None
    done: dict[str, Any] | None = None
    died: int | None = None  # return code of the host that died on this fault
    stalled: bool = False
    stderr: str = ""
    events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by input x

    def kinds(self, x: int) -> list[str]:
        return sorted(e["kind"] for e in self.events.get(x, []))


@dataclass
class Chain:
    """The hosts of one (mode, isolation) and what each fault did in them."""

    mode: str
    isolation: str
    cases: dict[str, HostCase] = field(default_factory=dict)
    closings: list[dict[str, Any]] = field(default_factory=list)
    hosts: int = 0
    lost: list[str] = field(default_factory=list)  # hosts that died outside any fault


def run_chain(mode: str, isolation: str, faults: list[str], log: Path) -> Chain:
    """Run ``faults`` in hosts, one after another; a host that dies on a fault is replaced
    by a fresh one for the faults after it."""
    chain = Chain(mode, isolation, {name: HostCase() for name in faults})
    remaining = list(faults)
    while remaining:
        chain.hosts += 1
        cmd = [sys.executable, "-m", "tests.fault_host", "--mode", mode]
        cmd += ["--isolation", isolation, "--log", str(log), "--timeout", str(HOST_TIMEOUT_S)]
        cmd += ["--hang-timeout", str(HANG_TIMEOUT_S)]
        rc, out, err = run_child([*cmd, *remaining])
        current: str | None = None
        for line in out.splitlines():
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if "start" in said:
                current = said["start"]
            elif "called" in said:
                chain.cases[said["called"]].called = said
            elif "done" in said:
                chain.cases[said["done"]].done = said
                current = None
            elif "closed" in said:
                chain.closings.append(said)
        if rc == 0:
            break
        if current is None:
            chain.lost.append(f"{describe_rc(rc)}: {err[-2000:]}")
            break
        case = chain.cases[current]
        case.died, case.stalled, case.stderr = rc, rc is None, err[-2000:]
        remaining = remaining[remaining.index(current) + 1 :]
    if log.exists():
        for event in read_events(log):
            if event["event"] != "divergence" or event["op"] not in chain.cases:
                continue
            x = (event.get("input") or {}).get("args", [None])[0]
            chain.cases[event["op"]].events.setdefault(x, []).append(event)
    return chain


# ---------------------------------------------------------------------- fuzz and gate runs


@dataclass
class CliRun:
    """One ``shadow fuzz`` or ``shadow gate`` run over some ops of the hostile target."""

    command: str
    isolation: str
    ops: tuple[str, ...]
    rc: int | None
    out: str
    err: str
    log: Path
    summary: str = ""
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by op


def run_cli(
    command: str, isolation: str, ops: Iterable[str], timeout: float, where: Path
) -> CliRun:
    ops = tuple(ops)
    where.mkdir(parents=True)
    log = where / "events.jsonl"
    cmd = [sys.executable, "-m", "shadow._cli", command, "--target", SPEC, "--ops", ",".join(ops)]
    cmd += ["--examples", str(FUZZ_EXAMPLES), "--seed", "0", "--isolation", isolation]
    cmd += ["--timeout", str(timeout), "--log", str(log)]
    if command == "fuzz":
        cmd += ["--no-database"]
    else:
        (where / "corpus").mkdir()
        (where / "baseline.json").write_text('{"schema": "shadow.baseline/1", "accepted": []}')
        cmd += ["--corpus", str(where / "corpus"), "--baseline", str(where / "baseline.json")]
        cmd += ["--junit", str(where / "junit.xml"), "--summary", str(where / "summary.md")]
    rc, out, err = run_child(cmd, capped_cli)
    run = CliRun(command, isolation, ops, rc, out, err[-4000:], log)
    if (where / "summary.md").exists():
        run.summary = (where / "summary.md").read_text()
    if log.exists():
        for event in read_events(log):
            if event["event"] == "divergence":
                run.findings.setdefault(event["op"], []).append(event)
    return run


# ---------------------------------------------------------------------- the whole matrix


@dataclass
class Matrix:
    chains: dict[tuple[str, str], Chain]
    clis: dict[tuple[str, str, str], CliRun]  # (command, isolation, fault) -> the run with it
    seconds: float
    timings: dict[str, float]  # wall time of each run, by its key
    cpu_s: float  # CPU time of all the child processes

    def case(self, fault: str, mode: str, isolation: str) -> HostCase:
        return self.chains[mode, isolation].cases[fault]

    def chain(self, fault: str, mode: str, isolation: str) -> Chain:
        return self.chains[mode, isolation]


LETHAL = tuple(DEATHS)
HANG = ("hang",)
HUGE = ("huge_result",)
"""The costliest examples (two 10^7-element lists each): a run of their own."""
BIG = ("memory_blowup", "oversized_result", "unpicklable_result")
REST = tuple(n for n in NAMES if n not in LETHAL + HANG + HUGE + BIG)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    base = tmp_path_factory.mktemp("fault-matrix")
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    # Longest first (they bound the wall time), then the rest as workers free up.
    jobs: dict[Any, Callable[[], Any]] = {}

    def cli(command: str, iso: str, ops: tuple[str, ...], timeout: float) -> None:
        where = base / f"{command}-{iso}-{ops[0]}"
        label = ops[0] if len(ops) == 1 else f"{ops[0]}..{ops[-1]}"
        jobs["cli", command, iso, label, ops] = lambda: run_cli(command, iso, ops, timeout, where)

    for command in ("fuzz", "gate"):
        cli(command, "process", HUGE, FUZZ_TIMEOUT_S)
    for mode in MODES:
        for iso in ISOLATIONS:
            jobs["host", mode, iso] = lambda m=mode, i=iso: run_chain(
                m, i, list(NAMES), base / f"{m}-{i}.jsonl"
            )
    for command in ("fuzz", "gate"):
        cli(command, "process", LETHAL + REST, FUZZ_TIMEOUT_S)
        cli(command, "thread", HUGE, FUZZ_TIMEOUT_S)
        cli(command, "process", BIG, FUZZ_TIMEOUT_S)
        cli(command, "thread", BIG, FUZZ_TIMEOUT_S)
        cli(command, "process", HANG, FUZZ_HANG_TIMEOUT_S)
        cli(command, "thread", REST, FUZZ_TIMEOUT_S)
        cli(command, "thread", HANG, FUZZ_HANG_TIMEOUT_S)
        for name in LETHAL:
            cli(command, "thread", (name,), FUZZ_TIMEOUT_S)
    timings: dict[str, float] = {}

    def timed(key: Any, job: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return job()
        finally:
            timings[" ".join(str(k) for k in key if not isinstance(k, tuple))] = (
                time.perf_counter() - start
            )

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {key: pool.submit(timed, key, job) for key, job in jobs.items()}
        results = {key: f.result() for key, f in futures.items()}
    chains: dict[tuple[str, str], Chain] = {}
    clis: dict[tuple[str, str, str], CliRun] = {}
    for key, result in results.items():
        if key[0] == "host":
            chains[key[1], key[2]] = result
        else:
            _, command, iso, _label, ops = key
            for op in ops:
                clis[command, iso, op] = result
    return Matrix(chains, clis, time.perf_counter() - t0, timings, _children_cpu() - cpu0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def expected_kinds(fault: str, isolation: str) -> tuple[str | None, str | None]:
    if isolation == "thread" and fault in THREAD_EXPECTED:
        return THREAD_EXPECTED[fault]
    return EXPECTED[fault]


def rust_or_skip(fault: str) -> None:
    if fault != "rust_panic":
        return
    try:
        from t2_sidecar import _native  # noqa: F401
    except ImportError:
        if os.environ.get("T2_ALLOW_MISSING_RUST") == "1" and not os.environ.get("CI"):
            pytest.skip("the Rust extension is not built (allowed by T2_ALLOW_MISSING_RUST)")
        raise


def _kinds_text(kinds: list[str]) -> str:
    return "+".join(kinds) if kinds else "match"


# ---------------------------------------------------------------------- dispatcher cells


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", NAMES)
def test_dispatcher_cell(matrix: Matrix, fault: str, mode: str, isolation: str) -> None:
    rust_or_skip(fault)
    case = matrix.case(fault, mode, isolation)
    assert not case.stalled, f"the host stalled on {fault}: {case.stderr}"
    if isolation == "thread" and fault in DEATHS:
        # Documented: in-process, a native crash or os._exit ends the process.
        assert case.died in DEATHS[fault], (describe_rc(case.died), case.stderr)
        if case.called is not None:  # async: the caller had its answers before the death
            assert case.called["value_is_primary"] and case.called["error_is_primary"]
        return
    assert case.died is None, f"the host died on {fault}: {describe_rc(case.died)}\n{case.stderr}"
    assert case.called is not None and case.done is not None
    assert case.called["value_is_primary"], "the caller did not get the primary's object"
    assert case.called["error_is_primary"], "the caller did not get the primary's exception"
    assert case.called["input_untouched"], "the caller's input changed"
    assert case.done["judged"], "the shadow calls were never judged"
    want_a, want_b = expected_kinds(fault, isolation)
    assert case.kinds(FAULT_FROM) == ([want_a] if want_a else []), case.events
    assert case.kinds(FAULT_FROM + 1) == ([want_b] if want_b else []), case.events
    counts = case.done["counts"]
    logged = Counter(k for x in (FAULT_FROM, FAULT_FROM + 1) for k in case.kinds(x))
    assert counts["diverged"] == dict(logged) and counts["errors"] == 0 and not counts["skipped"]
    for event in case.events.get(FAULT_FROM, []) + case.events.get(FAULT_FROM + 1, []):
        assert event["replay"].startswith("shadow replay ")
        _check_event_detail(fault, event)


def _check_event_detail(fault: str, event: dict[str, Any]) -> None:
    shadow = event["shadow"]
    if event["kind"] == "shadow_crash":
        crash = shadow["fault"]
        assert any(crash[key] == value for key, value in CRASH_DETAIL[fault]), crash
        assert "--isolation process" in event["replay"]
    if fault == "memory_blowup":
        assert shadow["error"]["type"] == "builtins.MemoryError", shadow
    if fault == "rust_panic":
        assert shadow["error"]["type"].endswith("PanicException") and shadow["error"]["fatal"]
    if fault == "huge_result" and event["kind"] == "value_mismatch":
        assert event["diff_truncated"] and len(event["diff"]) == 50, "the diff must be bounded"
    if fault == "hostile_value" and event["kind"] == "value_mismatch":
        assert "repr failed" in json.dumps(event["diff"]), event["diff"]


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_hosts_end_well(matrix: Matrix, mode: str, isolation: str) -> None:
    """Every host that was not killed by an expected death closes normally, and its shadow
    still answers after all the faults; process isolation never loses a host."""
    chain = matrix.chains[mode, isolation]
    assert not chain.lost, chain.lost
    deaths = [n for n, c in chain.cases.items() if c.died is not None]
    if isolation == "process":
        assert not deaths and chain.hosts == 1
    else:
        assert sorted(deaths) == sorted(DEATHS) and chain.hosts == 1 + len(DEATHS)
    assert len(chain.closings) == 2  # the last host closes both of its dispatchers
    for closing in chain.closings:
        assert closing["fine"] and closing["fine_matched"] == 1, closing


# ---------------------------------------------------------------------- fuzz and gate cells

FINDING_KINDS: dict[str, set[str]] = {
    name: {kind for kind in EXPECTED[name] if kind is not None} for name in NAMES
}
THREAD_FINDING_KINDS: dict[str, set[str]] = {
    "oversized_result": {"value_mismatch", "primary_error_only"},
    "unpicklable_result": {"value_mismatch", "primary_error_only"},
}


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("command", ["fuzz", "gate"])
@pytest.mark.parametrize("fault", NAMES)
def test_fuzz_and_gate_cell(matrix: Matrix, fault: str, command: str, isolation: str) -> None:
    rust_or_skip(fault)
    run = matrix.clis[command, isolation, fault]
    assert run.rc is not None, f"{command} stalled:\n{run.err}"
    if isolation == "thread" and fault in DEATHS:
        assert run.rc in DEATHS[fault], (describe_rc(run.rc), run.err)  # documented
        return
    findings = run.findings.get(fault, [])
    want = (THREAD_FINDING_KINDS if isolation == "thread" else {}).get(fault, FINDING_KINDS[fault])
    if isolation == "thread" and fault == "hang":
        # A hung thread cannot be killed: after a few, the run stops, says so (fuzz: could
        # not check, 2; gate: failed, 1), and still reports the hanging input it found.
        assert run.rc == (2 if command == "fuzz" else 1), (run.rc, run.out[-3000:])
        assert "stopped:" in run.out and "still hung" in run.out, run.out
    elif want:
        assert run.rc == 1, (run.rc, run.out[-3000:], run.err)
    else:
        assert run.rc in (0, 1) and not findings, findings
        assert "Traceback" not in run.err, run.err
        return
    kinds = {f["kind"] for f in findings}
    assert want & kinds, (want, kinds)
    assert kinds <= want, f"unexpected kinds {kinds - want}"
    for finding in findings:
        x = finding["input"]["args"][0]
        assert x >= FAULT_FROM, finding["input"]
        shown = json.dumps(finding["input"], separators=(",", ":"))
        report = run.out if command == "fuzz" else run.summary
        assert shown in report, f"the report does not name the input {shown}"
        assert finding["replay"] in report
        _check_event_detail(fault, finding)
    assert "Traceback" not in run.err, run.err


def test_a_crash_found_by_fuzz_replays_as_printed(matrix: Matrix) -> None:
    """The replay command a report prints for a crash works as printed: it replays in a
    worker process (in-process, the crash would take the replay down)."""
    run = matrix.clis["fuzz", "process", "sigsegv"]
    (finding,) = run.findings["sigsegv"]
    words = shlex.split(finding["replay"])
    assert words[:2] == ["shadow", "replay"] and words[-2:] == ["--isolation", "process"]
    rc, out, err = run_child([sys.executable, "-m", "shadow._cli", *words[1:]])
    assert rc == 1, (describe_rc(rc), out, err)
    assert "still diverges: shadow_crash" in out and "SIGSEGV" in out


# ---------------------------------------------------------------------- the table


def dispatcher_cell(matrix: Matrix, fault: str, mode: str, isolation: str) -> str:
    case = matrix.case(fault, mode, isolation)
    if case.stalled:
        return "**host stalled**"
    if case.died is not None:
        expected = isolation == "thread" and case.died in DEATHS.get(fault, ())
        return f"host died: {describe_rc(case.died)}" + (" (expected)" if expected else " **!**")
    text = f"{_kinds_text(case.kinds(FAULT_FROM))} / {_kinds_text(case.kinds(FAULT_FROM + 1))}"
    crash = [
        e["shadow"]["fault"] for e in case.events.get(FAULT_FROM, []) if "fault" in e["shadow"]
    ]
    if crash and crash[0]["kind"] == "shadow_crash":
        c = crash[0]
        text += f" ({signal.Signals(c['signal']).name if c['signal'] else 'exit ' + str(c['exit_code'])})"
    return text


def cli_cell(matrix: Matrix, command: str, isolation: str, fault: str) -> str:
    run = matrix.clis[command, isolation, fault]
    if run.rc is None:
        return "**stalled**"
    if run.rc < 0 or (run.rc == 3 and fault == "os_exit"):
        expected = isolation == "thread" and run.rc in DEATHS.get(fault, ())
        return f"run died: {describe_rc(run.rc)}" + (" (expected)" if expected else " **!**")
    findings = run.findings.get(fault, [])
    if not findings:
        return "no finding"
    parts = sorted(
        {f"{f['kind']} @ {f['input']['args'][0] if f['input'] else '?'}" for f in findings}
    )
    text = ", ".join(parts)
    if "stopped:" in run.out:
        text += " (run stopped: hung threads)"
    return text


def render_table(matrix: Matrix) -> str:
    labels = {f.name: f.label for f in FAULTS}
    columns = [(m, i) for i in ISOLATIONS for m in MODES]
    lines = [
        "Dispatcher: kinds logged for call A (primary returns) / call B (primary raises); "
        "in every cell not marked as a death the caller got the primary's very object and "
        "exception instance, and its input untouched.",
        "",
        "| fault | " + " | ".join(f"{m} / {i}" for m, i in columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for fault in NAMES:
        cells = [dispatcher_cell(matrix, fault, m, i) for m, i in columns]
        lines.append(f"| {labels[fault]} | " + " | ".join(cells) + " |")
    cli_columns = [(c, i) for c in ("fuzz", "gate") for i in ISOLATIONS]
    lines += [
        "",
        "`shadow fuzz` / `shadow gate` (CLI): findings as kind @ shrunk x (the fault region is "
        f"x >= {FAULT_FROM}); every finding is named with its input and replay "
        "command in the report.",
        "",
        "| fault | " + " | ".join(f"{c} / {i}" for c, i in cli_columns) + " |",
        "| --- |" + " --- |" * len(cli_columns),
    ]
    for fault in NAMES:
        cells = [cli_cell(matrix, c, i, fault) for c, i in cli_columns]
        lines.append(f"| {labels[fault]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"All runs: {matrix.seconds:.0f} s wall time, {matrix.cpu_s:.0f} s CPU, "
        f"{WORKERS} at a time.",
    ]
    slowest = sorted(matrix.timings.items(), key=lambda kv: -kv[1])
    lines += ["", "Slowest runs: " + "; ".join(f"{k} {v:.0f} s" for k, v in slowest[:6])]
    return "\n".join(lines) + "\n"


def test_matrix_table(matrix: Matrix, tmp_path: Path) -> None:
    path = Path(os.environ.get("FAULT_MATRIX_TABLE", tmp_path / "fault_matrix.md"))
    table = render_table(matrix)
    path.write_text(table)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 2 * (len(NAMES) + 1)  # two headers, one row per fault in each table
    assert "stalled" not in table
    print(f"\nfault matrix written to {path}")


# ---------------------------------------------------------------------- fixes the matrix found


def test_worker_memory_cap_counts_from_what_the_worker_holds_at_start() -> None:
    """The hostile module reserves 1 GiB of private writable address space at import (as
    some native libraries do). An absolute ``RLIMIT_DATA`` of 256 MiB was below that: every
    later mapping failed, even loading the Rust extension. The cap is now on top of it."""
    factory = TargetImplementation(SPEC, "hostile")
    with ProcessIsolation(factory, timeout_s=60.0, memory_limit_mb=256) as iso:
        fine = iso.run(iso.prepare("fine", (0,), {}), None)
        assert fine.value == [0, "fine"]
        blowup = iso.run(iso.prepare("memory_blowup", (FAULT_FROM,), {}), None)
        assert type(blowup.error) is MemoryError  # the cap still holds
        big = iso.run(iso.prepare("huge_result", (FAULT_FROM,), {}), None)  # 80 MB fits
        assert big.returned and len(big.value) == 10**7
        rust_or_skip("rust_panic")
        panic = iso.run(iso.prepare("rust_panic", (FAULT_FROM,), {}), None)
        assert panic.error is not None
        assert ErrorInfo.of(panic.error).short_type == "PanicException"
        assert iso.restarts == 0


class _Slow:
    def __init__(self) -> None:
        self.release = threading.Event()

    def slow(self) -> str:
        self.release.wait(30)
        return "late"

    def quick(self) -> str:
        return "now"


def test_thread_isolation_frees_the_place_of_a_call_that_finished_late() -> None:
    """A call that overran its timeout but then finished no longer counts as hung: before,
    ``max_hung`` slow calls disabled the shadow for the rest of the run."""
    impl = _Slow()
    iso = ThreadIsolation(impl, timeout_s=0.05, max_hung=1)
    late = iso.run(iso.prepare("slow", (), {}), None)
    assert late.fault is not None and late.fault.kind == "shadow_timeout"
    assert iso.hung == 1
    with pytest.raises(ShadowUnavailable):  # still running: its place is taken
        iso.run(iso.prepare("quick", (), {}), None)
    impl.release.set()
    deadline = time.monotonic() + 10.0
    while iso.hung and time.monotonic() < deadline:
        time.sleep(0.01)
    assert iso.hung == 0
    assert iso.run(iso.prepare("quick", (), {}), None).value == "now"
    iso.close()


def test_gate_has_a_per_example_timeout_option() -> None:
    rc, out, err = run_child(
        [sys.executable, "-m", "shadow._cli", "gate", "--target", SPEC, "--timeout", "0"]
    )
    assert rc == 2 and re.search(r"shadow gate: --timeout must be > 0", out + err), out + err


# ---------------------------------------------------------------------- the async queue

# The async queue was rewritten for throughput (a deque and a wake-up event instead of
# queue.Queue, matches decided in the worker's batch loop): its promises, checked here.


class _Gate:
    """A shadow that waits for ``open`` before answering (and counts what it ran)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.ran = 0

    def fine(self, x: int, items: list[int] | None = None) -> Any:
        self.open.wait(30)
        self.ran += 1
        return [x, "fine"]


class _Counted:
    """An input that counts how often it is pickled (a snapshot is a pickle)."""

    pickled = 0

    def __reduce__(self) -> tuple[Any, ...]:
        _Counted.pickled += 1
        return (_Counted, ())


def _async(shadow: Any, **options: Any) -> Any:
    from shadow._dispatcher import Dispatcher
    from tests.hostile_impls import Primary

    return Dispatcher(TARGET, primary=Primary(), shadow=shadow, mode="async", **options)


def test_async_full_queue_skips_before_copying_the_input() -> None:
    gate = _Gate()
    d = _async(gate, queue_size=2, timeout_s=30.0)
    fine = d.wrap().fine
    thing = _Counted()
    _Counted.pickled = 0
    for _ in range(20):
        assert fine(0, thing) == [0, "fine"]
    copies = _Counted.pickled
    gate.open.set()
    c = d.close(timeout_s=30.0).by_op["fine"]
    assert c.calls == 20 and c.matched + c.skipped == 20
    assert c.skipped >= 17  # at most one running and two queued: the rest skipped
    # An enqueued call is pickled twice (the shadow's snapshot, the primary's input after
    # the call, for the mutation check); a skipped one never.
    assert 0 < copies <= 2 * (20 - c.skipped)


def test_async_queue_is_bounded_by_bytes() -> None:
    gate = _Gate()
    items = list(range(10_000))
    size = len(pickle.dumps(((0, items), {}), protocol=pickle.HIGHEST_PROTOCOL))
    d = _async(gate, queue_size=1000, queue_bytes=3 * size, timeout_s=30.0)
    fine = d.wrap().fine
    for _ in range(50):
        fine(0, items)
    gate.open.set()
    c = d.close(timeout_s=30.0).by_op["fine"]
    assert c.calls == 50 and c.matched + c.skipped == 50
    assert c.matched <= 1 + 3  # the one running, and three calls' bytes queued


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_async_close_counts_in_flight_and_queued_work_as_skipped(isolation: str) -> None:
    d = _async("hostile", isolation=isolation, timeout_s=30.0)
    hang = d.wrap().hang
    for x in range(FAULT_FROM, FAULT_FROM + 10, 2):  # each would hang for 30 s
        hang(x)
    summary = d.close(timeout_s=0.5)
    c = summary.by_op["hang"]
    # Had close waited for the hangs, they would have ended as timeout divergences.
    assert c.calls == c.sampled == 5 and c.skipped == 5 and not c.divergences


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_async_counts_every_call_once_under_concurrent_callers(isolation: str) -> None:
    d = _async("hostile", isolation=isolation, queue_size=64, timeout_s=30.0)
    proxy = d.wrap()
    errors: list[BaseException] = []

    def caller(seed: int) -> None:
        try:
            for i in range(300):
                x = FAULT_FROM + 2 * (i % 3) if (seed + i) % 5 == 0 else 2 * i
                assert proxy.negative_zero(x) is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = d.close(timeout_s=60.0).by_op["negative_zero"]
    assert not errors
    assert c.calls == c.sampled == 1200
    assert c.matched + c.divergences + c.skipped == 1200 and not c.errors
    assert c.diverged.get("value_mismatch", 0) == c.divergences  # only the real ones


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_real_ctrl_c_during_a_sync_shadow_call_stops_the_caller(isolation: str) -> None:
    """The user's Ctrl-C while the shadow hangs is the user's: it reaches the caller at once
    (in process isolation the worker ignores it and is replaced), and the next call works."""
    from shadow._dispatcher import Dispatcher
    from tests.hostile_impls import Primary

    primary = Primary()
    d = Dispatcher(TARGET, primary=primary, shadow="hostile", isolation=isolation, timeout_s=30.0)
    proxy = d.wrap()
    assert proxy.fine(0) == [0, "fine"]  # the worker is up
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        proxy.hang(FAULT_FROM)
    timer.join()
    assert proxy.negative_zero(FAULT_FROM + 2) is primary.last_value
    c = d.close(timeout_s=1.0).by_op
    assert c["negative_zero"].diverged == {"value_mismatch": 1}
    # The interrupted call ended at the Ctrl-C, not at the shadow's 30 s timeout.
    assert "shadow_timeout" not in c["hang"].diverged


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_async_still_sees_the_primary_mutate_its_input(isolation: str) -> None:
    """The async judge skips rebuilding the input when both sides left it as it was; a
    primary that changed it is still a mutated_input (the shadow's side is in the matrix)."""
    from tests.hostile_impls import Primary

    class Clearing(Primary):
        def fine(self, x: int, items: list[int] | None = None) -> Any:
            if items is not None and x == 1:
                items.clear()
            return [x, "fine"]

    from shadow._dispatcher import Dispatcher

    d = Dispatcher(TARGET, primary=Clearing(), shadow="hostile", mode="async", isolation=isolation)
    fine = d.wrap().fine
    assert fine(0, [1, 2, 3]) == [0, "fine"]  # nobody changes it: a match
    assert fine(1, [1, 2, 3]) == [1, "fine"]  # the primary empties it
    c = d.close(timeout_s=30.0).by_op["fine"]
    assert c.matched == 1 and c.diverged == {"mutated_input": 1}, c
