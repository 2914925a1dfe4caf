"""Process isolation against every fault a shadow can commit: the host survives, the outcome
names what happened, and the next call gets a working worker.

The implementations below live at module level so a worker process can import them (this
module is preloaded in the fork server, which keeps restarts cheap).
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shadow._isolation import InputNotTransferable, Prepared, ShadowRunner
from shadow._isolation.process import (
    InputNotReturned,
    ProcessIsolation,
    TargetImplementation,
    WorkerStartError,
)
from shadow._outcome import ErrorInfo, Outcome, RemoteError, error_identity, is_fatal
from tests.conftest import load_backend

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CodedError(ValueError):
    """Pickles and round-trips: comes back as itself."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code, field)
        self.code = code
        self.field = field


class LossyError(ValueError):
    """Pickles, but cannot be rebuilt (its constructor wants two arguments, ``args`` has one)."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field} is wrong")
        self.code = code
        self.field = field


class ForgetfulError(ValueError):
    """Unpickles, but as a different error: its reduction forgets ``field``."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code,))


class UnpicklableError(RuntimeError):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.code = 7
        self.lock = threading.Lock()


class Meltdown(BaseException):
    """A fatal error that is not an Exception (like PyO3's PanicException)."""


def _refuse() -> None:
    raise RuntimeError("this object cannot be rebuilt")


class Unrebuildable:
    """Pickles anywhere, but unpickling raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse, ())


class HostileReduce:
    """Pickling it raises a fatal BaseException."""

    def __reduce__(self) -> tuple[Any, ...]:
        raise SystemExit("no pickling for you")


class HostileError(ValueError):
    def __reduce__(self) -> tuple[Any, ...]:
        raise KeyboardInterrupt


class Endless:
    """Its pickle never ends: list items come from an infinite generator."""

    def __reduce__(self) -> tuple[Any, ...]:
        def items() -> Any:
            n = 0
            while True:
                n += 1
                yield n

        return (list, (), None, items())


class Impl:
    """A shadow implementation that can commit every fault on request."""

    def add(self, a: int, b: int) -> int:
        return a + b

    def pid(self) -> int:
        return os.getpid()

    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "awake"

    def raise_(self, kind: str) -> None:
        if kind == "coded":
            raise CodedError("E_RANGE", "vector_widths")
        if kind == "lossy":
            raise LossyError("E_RANGE", "unroll")
        if kind == "unpicklable":
            raise UnpicklableError()
        if kind == "forgetful":
            raise ForgetfulError("E_RANGE", "local_sizes")
        if kind == "base":
            raise Meltdown("core meltdown")
        if kind == "system_exit":
            sys.exit(0)
        if kind == "keyboard":
            raise KeyboardInterrupt
        if kind == "generator_exit":
            raise GeneratorExit("closing")
        if kind == "panic":
            from t2_sidecar import _native

            _native._panic_for_tests()  # type: ignore[attr-defined]
        raise AssertionError(kind)

    def exit(self, status: int) -> None:
        os._exit(status)

    def segfault(self) -> None:
        ctypes.string_at(0)

    def abort(self) -> None:
        os.abort()

    def stack_overflow(self) -> str:
        # C-level recursion (the JSON encoder) past a 2 MiB stack, Python's guard lifted.
        _soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
        resource.setrlimit(resource.RLIMIT_STACK, (2 * 2**20, hard))
        sys.setrecursionlimit(10**8)
        nested: list[Any] = []
        for _ in range(2 * 10**5):
            nested = [nested]
        return json.dumps(nested)

    def hang(self) -> None:
        while True:
            time.sleep(1)

    def allocate_at_once(self, nbytes: int) -> int:
        return len(bytearray(nbytes))

    def allocate_gradually(self) -> int:
        hoard = []
        while True:
            hoard.append(bytearray(2**20))

    def big_list(self, n: int) -> list[int]:
        return [0] * n

    def endless(self) -> Endless:
        return Endless()

    def hostile_result(self) -> HostileReduce:
        return HostileReduce()

    def raise_hostile(self) -> None:
        raise HostileError("cannot be pickled either")

    def unpicklable_result(self) -> Any:
        return threading.Lock()

    def unrebuildable_result(self) -> Unrebuildable:
        return Unrebuildable()

    def append(self, items: list[int], value: int) -> int:
        items.append(value)
        return len(items)

    def grow(self, items: list[int], n: int) -> int:
        items.extend(range(n))
        return len(items)

    def count(self, names: set[str], extra: dict[str, Any]) -> int:
        return len(names) + len(extra)

    def take(self, thing: Any) -> str:
        return type(thing).__name__


class BrokenFactory:
    def __call__(self) -> Impl:
        raise ImportError("the native extension is not built")


def _iso(**options: Any) -> ProcessIsolation:
    options.setdefault("timeout_s", 5.0)
    return ProcessIsolation(Impl, **options)


@pytest.fixture(scope="module")
def iso() -> Any:
    """One isolation shared by the tests that need no special option (each isolation starts
    its own fork server, which costs an interpreter start)."""
    with _iso() as shared:
        yield shared


def _restarts(iso: ProcessIsolation, starts: int) -> int:
    """Workers started since ``starts`` was read (the shared isolation keeps counting)."""
    return iso.starts - starts


def _run(iso: ProcessIsolation, op: str, *args: Any, timeout_s: float | None = None) -> Outcome:
    return iso.run(iso.prepare(op, args, {}), timeout_s)


def _in_process(op: str, *args: Any) -> BaseException:
    try:
        getattr(Impl(), op)(*args)
    except BaseException as exc:
        return exc
    raise AssertionError(f"{op} did not raise")


# ---------------------------------------------------------------------- ordinary calls


def test_satisfies_the_shadow_runner_protocol() -> None:
    runner: ShadowRunner = _iso()
    try:
        assert runner.name == "process"
    finally:
        runner.close()


def test_value_comes_back_and_one_worker_serves_many_calls(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    prepared = iso.prepare("add", (2, 3), {})
    outcomes = [iso.run(prepared, None) for _ in range(200)]
    assert all(o.returned and o.value == 5 and o.fault is None for o in outcomes)
    assert all(o.input_after is None for o in outcomes)
    pids = {_run(iso, "pid").value for _ in range(5)}
    assert len(pids) == 1 and pids != {os.getpid()}
    assert _restarts(iso, starts) == 0


def test_duration_is_the_shadow_call_time_measured_in_the_worker(iso: ProcessIsolation) -> None:
    outcome = _run(iso, "sleep", 0.2)
    assert outcome.value == "awake"
    assert 0.2 <= outcome.duration_s < 5.0


def test_prepare_snapshots_the_input_before_the_caller_changes_it(iso: ProcessIsolation) -> None:
    items = [1, 2]
    prepared = iso.prepare("append", (items, 3), {})
    assert isinstance(prepared.payload, bytes) and prepared.nbytes == len(prepared.payload)
    items.append(100)  # the primary mutates its input after prepare
    first = iso.snapshot(prepared)
    second = iso.snapshot(prepared)
    assert first == (([1, 2], 3), {})
    assert first[0][0] is not second[0][0]
    outcome = iso.run(prepared, None)
    assert outcome.value == 3  # the shadow saw [1, 2], not [1, 2, 100]
    assert items == [1, 2, 100]


def test_unpicklable_input_is_refused_at_prepare(iso: ProcessIsolation) -> None:
    with pytest.raises(InputNotTransferable, match="'take'") as info:
        iso.prepare("take", (lambda: 1,), {})
    assert isinstance(info.value, ValueError)


def test_input_the_worker_cannot_rebuild_is_an_unsendable_fault(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    outcome = _run(iso, "take", Unrebuildable())
    assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
    assert "input cannot be rebuilt in the worker" in outcome.fault.detail
    assert "this object cannot be rebuilt" in outcome.fault.detail
    assert _run(iso, "add", 1, 1).value == 2 and _restarts(iso, starts) == 0


def test_prepared_without_payload_is_pickled_at_run(iso: ProcessIsolation) -> None:
    prepared = Prepared("add", (4, 5), {}, None, 0)
    assert iso.run(prepared, None).value == 9
    assert iso.snapshot(prepared) == ((4, 5), {})


# ---------------------------------------------------------------------- errors


def test_exception_that_round_trips_comes_back_live_with_its_attributes(
    iso: ProcessIsolation,
) -> None:
    outcome = _run(iso, "raise_", "coded")
    assert type(outcome.error) is CodedError
    assert outcome.error.code == "E_RANGE" and outcome.error.field == "vector_widths"
    local = _in_process("raise_", "coded")
    assert ErrorInfo.of(outcome.error) == ErrorInfo.of(local)


def test_exception_that_cannot_be_rebuilt_keeps_type_and_attributes(iso: ProcessIsolation) -> None:
    outcome = _run(iso, "raise_", "lossy")
    assert isinstance(outcome.error, RemoteError)
    local = _in_process("raise_", "lossy")
    assert outcome.error.info == ErrorInfo.of(local)
    assert outcome.error.info.type.endswith(".LossyError")
    assert outcome.error.code == "E_RANGE"  # attribute access falls through
    assert error_identity(outcome.error, ["code", "field"]) == error_identity(
        local, ["code", "field"]
    )


def test_exception_that_unpickles_differently_comes_back_as_remote_error(
    iso: ProcessIsolation,
) -> None:
    outcome = _run(iso, "raise_", "forgetful")
    assert isinstance(outcome.error, RemoteError)  # a live copy would have lost its field
    assert outcome.error.field == "local_sizes"
    assert outcome.error.info == ErrorInfo.of(_in_process("raise_", "forgetful"))


def test_unpicklable_exception_comes_back_as_remote_error(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    outcome = _run(iso, "raise_", "unpicklable")
    assert isinstance(outcome.error, RemoteError)
    assert outcome.error.info == ErrorInfo.of(_in_process("raise_", "unpicklable"))
    assert outcome.error.info.attrs == {"code": 7}
    assert _run(iso, "add", 1, 2).value == 3 and _restarts(iso, starts) == 0


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("base", "Meltdown"),
        ("system_exit", "SystemExit"),
        ("keyboard", "KeyboardInterrupt"),
        ("generator_exit", "GeneratorExit"),
    ],
)
def test_fatal_base_exceptions_are_contained(
    kind: str, expected: str, iso: ProcessIsolation
) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    outcome = _run(iso, "raise_", kind)
    assert outcome.error is not None and outcome.fault is None
    assert ErrorInfo.of(outcome.error).short_type == expected
    assert is_fatal(outcome.error)
    assert ErrorInfo.of(outcome.error) == ErrorInfo.of(_in_process("raise_", kind))
    assert _run(iso, "add", 1, 2).value == 3 and _restarts(iso, starts) == 0  # it lived on


def test_rust_panic_is_contained(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    load_backend("rust")  # a missing build fails under CI, never skips
    outcome = _run(iso, "raise_", "panic")
    assert outcome.error is not None
    info = ErrorInfo.of(outcome.error)
    assert info.short_type == "PanicException" and info.fatal
    assert "deliberate panic" in info.message
    assert _restarts(iso, starts) == 0


# ---------------------------------------------------------------------- worker deaths


@pytest.mark.parametrize(
    ("op", "args", "signal_number", "exit_code", "detail"),
    [
        ("exit", (3,), None, 3, "exited with status 3"),
        ("exit", (0,), None, 0, "exited with status 0"),
        ("segfault", (), signal.SIGSEGV, None, "killed by SIGSEGV"),
        ("abort", (), signal.SIGABRT, None, "killed by SIGABRT"),
    ],
)
def test_worker_death_is_a_crash_and_the_next_call_gets_a_fresh_worker(
    op: str,
    args: tuple[Any, ...],
    signal_number: int | None,
    exit_code: int | None,
    detail: str,
    iso: ProcessIsolation,
) -> None:
    first_pid = _run(iso, "pid").value
    starts, crashes = iso.starts, iso.crashes
    outcome = _run(iso, op, *args)
    assert outcome.fault is not None and outcome.fault.kind == "shadow_crash"
    assert outcome.fault.detail == detail
    assert outcome.fault.signal == signal_number
    assert outcome.fault.exit_code == exit_code
    assert outcome.value is None and outcome.error is None
    assert iso.crashes == crashes + 1
    second_pid = _run(iso, "pid").value
    assert isinstance(second_pid, int) and second_pid != first_pid
    assert _restarts(iso, starts) == 1


def test_native_stack_overflow_is_a_crash() -> None:
    with _iso(timeout_s=60.0) as iso:
        outcome = _run(iso, "stack_overflow")
        assert outcome.fault is not None and outcome.fault.kind == "shadow_crash"
        assert outcome.fault.signal in (signal.SIGSEGV, signal.SIGBUS)
        assert _run(iso, "add", 2, 2).value == 4


def test_hang_is_killed_at_the_timeout_and_replaced() -> None:
    with _iso(timeout_s=0.3) as iso:
        first_pid = _run(iso, "pid").value
        outcome = _run(iso, "hang")
        assert outcome.fault is not None and outcome.fault.kind == "shadow_timeout"
        assert "after 0.3 s" in outcome.fault.detail
        assert outcome.duration_s >= 0.3
        assert iso.timeouts == 1
        with pytest.raises(ProcessLookupError):  # SIGKILLed and reaped
            os.kill(first_pid, 0)
        assert _run(iso, "add", 1, 1).value == 2
        assert iso.restarts == 1


def test_per_call_timeout_overrides_the_default() -> None:
    with _iso(timeout_s=30.0) as iso:
        outcome = _run(iso, "sleep", 5.0, timeout_s=0.2)
        assert outcome.fault is not None and outcome.fault.kind == "shadow_timeout"
        assert "after 0.2 s" in outcome.fault.detail


def test_worker_ignores_ctrl_c(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    pid = _run(iso, "pid").value
    timer = threading.Timer(0.1, os.kill, (pid, signal.SIGINT))
    timer.start()
    outcome = _run(iso, "sleep", 0.4)
    timer.join()
    assert outcome.value == "awake" and _restarts(iso, starts) == 0


def test_ctrl_c_in_the_host_interrupts_the_wait_and_drops_the_worker() -> None:
    with _iso(timeout_s=30.0) as iso:
        worker_pid = _run(iso, "pid").value
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            _run(iso, "sleep", 10.0)
        timer.join()
        assert iso.pid is None  # the reply in flight would be out of step: worker dropped
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)
        assert _run(iso, "add", 1, 2).value == 3


# ---------------------------------------------------------------------- memory and size caps


def test_memory_blow_up_at_once_is_a_memory_error_in_the_worker() -> None:
    with _iso(memory_limit_mb=400) as iso:
        outcome = _run(iso, "allocate_at_once", 2 * 2**30)
        assert outcome.error is not None and type(outcome.error) is MemoryError
        assert _run(iso, "add", 1, 1).value == 2 and iso.restarts == 0


def test_memory_blow_up_gradually_is_a_memory_error_or_a_crash() -> None:
    with _iso(memory_limit_mb=400, timeout_s=60.0) as iso:
        outcome = _run(iso, "allocate_gradually")
        if outcome.fault is not None:
            assert outcome.fault.kind == "shadow_crash"
        else:
            assert type(outcome.error) is MemoryError
        assert _run(iso, "add", 1, 1).value == 2


def test_huge_result_over_the_cap_is_unsendable_and_the_worker_survives() -> None:
    with _iso(max_result_bytes=2**20) as iso:
        pid = _run(iso, "pid").value
        outcome = _run(iso, "big_list", 10**7)
        assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
        assert outcome.fault.detail == "result of type list is larger than 1 MiB"
        assert _run(iso, "pid").value == pid
        assert _run(iso, "big_list", 1000).value == [0] * 1000


def test_oversized_result_is_abandoned_at_the_cap_not_built_whole() -> None:
    # The pickle of this result never ends: only stopping at the cap can answer.
    with _iso(max_result_bytes=2**20, timeout_s=30.0) as iso:
        outcome = _run(iso, "endless")
        assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
        assert "larger than 1 MiB" in outcome.fault.detail
        assert iso.restarts == 0


def test_unpicklable_result_is_unsendable_and_the_worker_survives(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    outcome = _run(iso, "unpicklable_result")
    assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
    assert outcome.fault.detail.startswith("result of type _thread.lock cannot be pickled: ")
    assert _run(iso, "add", 1, 1).value == 2 and _restarts(iso, starts) == 0


def test_result_whose_pickling_raises_a_fatal_exception_is_unsendable(
    iso: ProcessIsolation,
) -> None:
    outcome = _run(iso, "hostile_result")
    assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
    assert "cannot be pickled: SystemExit: no pickling for you" in outcome.fault.detail
    assert _run(iso, "add", 1, 1).value == 2


def test_exception_whose_pickling_raises_comes_back_as_remote_error(iso: ProcessIsolation) -> None:
    outcome = _run(iso, "raise_hostile")
    assert isinstance(outcome.error, RemoteError)
    assert outcome.error.info == ErrorInfo.of(_in_process("raise_hostile"))


def test_result_the_host_cannot_rebuild_is_unsendable(iso: ProcessIsolation) -> None:
    outcome = _run(iso, "unrebuildable_result")
    assert outcome.fault is not None and outcome.fault.kind == "shadow_unsendable"
    assert "cannot be rebuilt in the host" in outcome.fault.detail


# ---------------------------------------------------------------------- input mutation


def test_input_mutation_is_reported_with_the_input_after_the_call(iso: ProcessIsolation) -> None:
    items = [1, 2]
    outcome = _run(iso, "append", items, 99)
    assert outcome.value == 3
    assert outcome.input_after == (([1, 2, 99], 99), {})
    assert items == [1, 2]  # the caller's object is never touched


def test_unchanged_sets_and_dicts_are_not_reported_as_mutated(iso: ProcessIsolation) -> None:
    # Sets iterate in a per-process order: the host's pickle bytes differ from the worker's.
    names = {f"name-{i}" for i in range(200)}
    outcome = _run(iso, "count", names, {"b": 1, "a": 2})
    assert outcome.value == 202
    assert outcome.input_after is None


def test_mutated_input_too_large_to_return_is_still_reported() -> None:
    with _iso(max_result_bytes=2**16) as iso:
        outcome = _run(iso, "grow", [1], 10**6)
        assert outcome.value == 10**6 + 1
        assert outcome.input_after is not None
        (marker,), kwargs = outcome.input_after
        assert isinstance(marker, InputNotReturned) and kwargs == {}
        assert "larger than" in marker.detail


# ---------------------------------------------------------------------- batches


def test_batch_returns_one_outcome_per_call_in_order(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts = iso.starts
    batch = [iso.prepare("add", (i, i), {}) for i in range(300)]
    outcomes = iso.run_batch(batch, None)
    assert [o.value for o in outcomes] == [2 * i for i in range(300)]
    assert _restarts(iso, starts) == 0


def test_batch_with_a_crash_in_the_middle(iso: ProcessIsolation) -> None:
    _run(iso, "add", 0, 0)
    starts, crashes = iso.starts, iso.crashes
    batch = [iso.prepare(op, (), {}) for op in ("pid", "pid", "segfault", "pid", "pid")]
    outcomes = iso.run_batch(batch, None)
    first, second, crash, third, fourth = outcomes
    assert first.value == second.value and isinstance(first.value, int)
    assert crash.fault is not None and crash.fault.detail == "killed by SIGSEGV"
    assert third.value == fourth.value and isinstance(third.value, int)
    assert third.value != first.value  # the rest ran once, on a fresh worker
    assert _restarts(iso, starts) == 1 and iso.crashes == crashes + 1


def test_batch_with_a_hang_in_the_middle() -> None:
    with _iso(timeout_s=0.3) as iso:
        batch = [iso.prepare("add", (1, 1), {}), iso.prepare("hang", (), {})]
        batch.append(iso.prepare("add", (2, 2), {}))
        outcomes = iso.run_batch(batch, None)
        assert outcomes[0].value == 2 and outcomes[2].value == 4
        assert outcomes[1].fault is not None and outcomes[1].fault.kind == "shadow_timeout"
        assert iso.timeouts == 1 and iso.restarts == 1


def test_batch_of_every_call_crashing_gives_a_fault_each(iso: ProcessIsolation) -> None:
    crashes = iso.crashes
    outcomes = iso.run_batch([iso.prepare("exit", (5,), {}) for _ in range(4)], None)
    assert [o.fault.exit_code if o.fault else None for o in outcomes] == [5, 5, 5, 5]
    assert iso.crashes == crashes + 4


# ---------------------------------------------------------------------- lifecycle


def test_close_during_a_hang_returns_promptly_and_ends_the_worker() -> None:
    iso = _iso(timeout_s=None)
    pid = _run(iso, "pid").value
    results: list[Outcome] = []
    caller = threading.Thread(target=lambda: results.append(_run(iso, "hang")))
    caller.start()
    time.sleep(0.2)
    iso.close()
    caller.join(10.0)
    assert not caller.is_alive()
    (outcome,) = results
    assert outcome.fault is not None and outcome.fault.kind == "shadow_crash"
    assert "close()" in outcome.fault.detail
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    after = _run(iso, "add", 1, 1)  # a closed isolation answers with a fault, starts nothing
    assert after.fault is not None and "closed" in after.fault.detail
    assert iso.starts == 1
    iso.close()  # idempotent


def test_worker_that_died_while_idle_is_replaced_without_blaming_the_next_call(
    iso: ProcessIsolation,
) -> None:
    pid = _run(iso, "pid").value
    crashes = iso.crashes
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    outcome = _run(iso, "pid")
    assert isinstance(outcome.value, int) and outcome.value != pid
    assert iso.crashes == crashes


SIGPIPE_HOST = """
import os, signal, sys, time
sys.path[:0] = [{tests!r}, {root!r}]
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as CLIs that pipe into `head` do
from test_isolation_process import Impl
from shadow._isolation.process import ProcessIsolation

with ProcessIsolation(Impl, timeout_s=5.0) as iso:
    iso.start()
    os.kill(iso.pid, signal.SIGKILL)
    time.sleep(0.2)
    print(iso.run(iso.prepare("add", (1, 2), {{}}), None).value, iso.restarts, flush=True)
"""


def test_host_with_default_sigpipe_survives_a_dead_worker() -> None:
    code = SIGPIPE_HOST.format(tests=str(PROJECT_ROOT / "tests"), root=str(PROJECT_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "1"]


def test_close_after_a_timeout() -> None:
    iso = _iso(timeout_s=0.2)
    assert _run(iso, "hang").fault is not None
    iso.close()
    assert iso.closed and iso.pid is None


def test_factory_failure_is_reported_not_retried() -> None:
    iso = ProcessIsolation(BrokenFactory(), timeout_s=5.0)
    try:
        with pytest.raises(WorkerStartError, match="the native extension is not built"):
            iso.start()
        outcome = _run(iso, "add", 1, 1)
        assert outcome.fault is not None and outcome.fault.kind == "shadow_crash"
        assert "could not be built: ImportError: the native extension is not built" in (
            outcome.fault.detail
        )
        assert iso.starts == 1
    finally:
        iso.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout_s": 0}, "timeout_s"),
        ({"memory_limit_mb": 0}, "memory_limit_mb"),
        ({"max_result_bytes": 0}, "max_result_bytes"),
        ({"start_method": "teleport"}, "start_method"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProcessIsolation(Impl, **options)


def test_factory_that_cannot_be_pickled_is_refused() -> None:
    with pytest.raises(ValueError, match="factory cannot be sent"):
        ProcessIsolation(lambda: Impl())


def test_spawn_start_method_works_too() -> None:
    with _iso(start_method="spawn") as iso:
        assert iso.start_method == "spawn"
        assert _run(iso, "add", 20, 22).value == 42
        assert _run(iso, "exit", 4).fault is not None
        assert _run(iso, "add", 1, 1).value == 2


HOST_SCRIPT = """
import sys, threading, time
sys.path[:0] = [{tests!r}, {root!r}]
from test_isolation_process import Impl
from shadow._isolation.process import ProcessIsolation

iso = ProcessIsolation(Impl, timeout_s=None)
iso.start()
print(iso.pid, flush=True)
if {busy!r}:
    threading.Thread(target=lambda: iso.run(iso.prepare("hang", (), {{}}), None)).start()
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-call"])
def test_worker_exits_when_its_host_is_killed(busy: bool) -> None:
    code = HOST_SCRIPT.format(tests=str(PROJECT_ROOT / "tests"), root=str(PROJECT_ROOT), busy=busy)
    host = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert host.stdout is not None
        worker_pid = int(host.stdout.readline())
        time.sleep(0.3)
        assert not _gone(worker_pid)
    finally:
        host.kill()
        host.wait()
    deadline = time.monotonic() + 20.0
    while not _gone(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(worker_pid)


# ---------------------------------------------------------------------- the real T2 target


def _backend_or_skip(name: str) -> Any:
    return load_backend(name)


@pytest.mark.parametrize("name", ["python", "rust"])
def test_target_implementation_matches_the_in_process_result(name: str) -> None:
    from runners.types import SearchSpace

    space = SearchSpace(
        ["tile20", "tile24", "v3"], [1, 2, 4], [0, 8], [(10, 10), (16, 16)], top_k=7
    )
    bad_space = SearchSpace(["tile20"], [0], [0], [(10, 10)])
    local = _backend_or_skip(name)
    factory = TargetImplementation("runners.shadow_t2:TARGET", name)
    assert pickle.loads(pickle.dumps(factory)) == factory
    with ProcessIsolation(factory, timeout_s=30.0) as iso:
        outcome = _run(iso, "enumerate_candidates", space)
        assert outcome.returned
        assert outcome.value == local.enumerate_candidates(space)
        assert outcome.input_after is None

        failed = _run(iso, "enumerate_candidates", bad_space)
        with pytest.raises(ValueError) as info:
            local.enumerate_candidates(bad_space)
        assert failed.error is not None
        assert type(failed.error) is type(info.value)
        assert ErrorInfo.of(failed.error) == ErrorInfo.of(info.value)
        assert iso.restarts == 0


@pytest.mark.parametrize("spin_s", [0.0, 200e-6])
def test_spinning_or_not_the_answers_are_the_same(spin_s: float) -> None:
    """Polling before sleeping changes when the caller looks, never what it gets: answers,
    a timeout and a crash are the same with and without it."""
    from tests.hostile_impls import FAULT_FROM

    iso = ProcessIsolation(
        TargetImplementation("tests.hostile_impls:TARGET", "hostile"), timeout_s=2.0, spin_s=spin_s
    )
    try:
        ok = iso.run(iso.prepare("fine", (4,), {}), None)
        assert ok.value == [4, "fine"] and ok.fault is None
        hung = iso.run(iso.prepare("hang", (FAULT_FROM,), {}), 0.5)
        assert hung.fault is not None and hung.fault.kind == "shadow_timeout"
        again = iso.run(iso.prepare("fine", (6,), {}), None)
        assert again.value == [6, "fine"]
    finally:
        iso.close()
