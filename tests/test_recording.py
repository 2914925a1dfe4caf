"""Recording calls (shadow._recording through the dispatcher and t2-search): every recorded
call holds what the primary was given and answered, exactly; recording never changes what
the caller gets and never fails it."""

from __future__ import annotations

import multiprocessing
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runners.backends import get_backend
from runners.executors.recorded import RecordedExecutor
from runners.search import run_search
from runners.shadow_t2 import CODEC, TARGET, ShadowOptions, options_from_env, start_shadow
from shadow._codec import TypedCodec
from shadow._compare import EXACT, strict_equal
from shadow._dispatcher import Dispatcher
from shadow._log import EventLog, read_events
from shadow._recording import CALL_EVENT, SUMMARY_EVENT, Recorder, load_value
from shadow._registry import OpSpec, Target
from shadow._session import SessionUnavailableError
from tests.runner_helpers import fixture_names

# ---------------------------------------------------------------------------- a toy target


@dataclass(frozen=True)
class Box:
    items: list[int]


class Boom(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"boom {code}")
        self.code = code


class Toy:
    """Returns or raises whatever it is told to (``answer``), so a test controls both."""

    name, version = "toy", "1"

    def __init__(self) -> None:
        self.answer: Any = None

    def f(self, x: Any) -> Any:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    def grow(self, box: Box) -> int:
        box.items.append(99)  # a primary that mutates its input
        return len(box.items)


TOY_CODEC = TypedCodec([Box])
TOY = Target(
    "toy",
    "tests.test_recording:TOY",
    {"toy": Toy, "other": Toy},
    [OpSpec("f", EXACT), OpSpec("grow", EXACT)],
    default_pair=("toy", "other"),
    codec=TOY_CODEC,
)


def calls(path: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(path) if e["event"] == CALL_EVENT]


def toy_dispatcher(path: Any, *, mode: str = "off", **kwargs: Any) -> tuple[Dispatcher[Any], Toy]:
    toy = Toy()
    d: Dispatcher[Any] = Dispatcher(
        TOY, primary=toy, shadow=Toy(), mode=mode, record=path, timeout_s=None, **kwargs
    )
    return d, toy


# ---------------------------------------------------------------------------- T2: real calls


@pytest.mark.parametrize("name", fixture_names())
@pytest.mark.parametrize("primary", ["python", "rust"])
def test_a_recorded_search_keeps_every_call_exactly(
    name: str, primary: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    """Every call of a real search is recorded once, and its recorded value decodes to what
    the primary answers for the recorded input: the codec round-trips T2's outputs."""
    executor = RecordedExecutor(fixtures_dir / name)
    record = tmp_path / "rec.jsonl"
    other = "rust" if primary == "python" else "python"
    session = start_shadow(
        ShadowOptions(primary=primary, shadow=other, log_path=tmp_path / "s.jsonl", record=record)
    )
    run_search(executor.defaults.to_config(), session.backend, executor)
    report = session.close()
    recorded = calls(record)
    by_op = {op: sum(1 for e in recorded if e["op"] == op) for op in TARGET.ops}
    assert by_op == {op: c.calls for op, c in report.counters.by_op.items()}
    assert report.recorded is not None and report.recorded.recorded == len(recorded) > 5
    assert f"{len(recorded)} of {len(recorded)} calls recorded in {record}" in report.verdict()
    backend = get_backend(primary)
    for event in recorded:
        assert event["implementation"]["name"] == primary
        assert event["outcome"] == "returned" and event["target"] == TARGET.import_spec
        args, kwargs = CODEC.decode(event["input"])
        again = getattr(backend, event["op"])(*args, **kwargs)
        value = CODEC.decode_value(load_value(event, record))
        assert type(value) is type(again) and strict_equal(value, again), event["op"]
    summary = [e for e in read_events(record) if e["event"] == SUMMARY_EVENT]
    assert len(summary) == 1 and summary[0]["counters"]["decide"]["recorded"] == by_op["decide"]
    run_summary = [e for e in read_events(tmp_path / "s.jsonl") if e["event"] == "run_summary"]
    assert run_summary[0]["counters"]["rank_candidates"]["recorded"] == by_op["rank_candidates"]


def test_errors_are_recorded_with_their_identity(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    with Dispatcher(TARGET, primary="rust", shadow="python", mode="off", record=record) as d:
        backend = d.wrap()
        with pytest.raises(ValueError) as raised:
            backend.summarize([])
    (event,) = calls(record)
    assert event["outcome"] == "raised" and event["value"] is None
    error = event["error"]
    assert error["type"].endswith("InvalidInputError")
    assert error["attrs"]["field"] == raised.value.field  # type: ignore[attr-defined]
    assert error["attrs"]["code"] == raised.value.code  # type: ignore[attr-defined]


def test_big_inputs_and_values_go_to_blobs(tmp_path: Path) -> None:
    from runners.types import SearchSpace

    record = tmp_path / "rec.jsonl"
    space = SearchSpace(
        kernels=tuple(f"tile{i}" for i in range(8, 60)),
        vector_widths=(1, 2, 4, 8),
        unroll_k_values=(0, 1, 2, 4),
        local_sizes=((8, 8), (16, 16), (4, 4)),
    )
    big = [float(i) for i in range(10_000)]
    with Dispatcher(TARGET, primary="python", mode="off", record=record) as d:
        table = d.call("enumerate_candidates", space)
        d.call("summarize", big)
    first, second = calls(record)
    assert first["value"] is None and first["value_ref"].startswith("blobs/")
    assert strict_equal(CODEC.decode_value(load_value(first, record)), table)
    assert second["input"] is None and second["input_ref"].startswith("blobs/")


# ---------------------------------------------------------------------------- the caller


class Hostile:
    """A value that breaks every attempt to look at it."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    __hash__ = object.__hash__


class HostileError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


answers = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=5),
    st.builds(Box, st.lists(st.integers(), max_size=3)),
    st.builds(object),
    st.builds(Hostile),
    st.builds(Boom, st.text(max_size=5)),
    st.builds(HostileError),
    st.builds(Exception, st.text(max_size=5)),
)


@settings(max_examples=60, deadline=None)
@given(
    answer=answers,
    argument=st.one_of(st.integers(), st.builds(object), st.builds(Hostile)),
    mode=st.sampled_from(["off", "sync", "async"]),
    rate=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_recording_never_changes_what_the_caller_gets(
    answer: Any, argument: Any, mode: str, rate: float, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same object back, or the same exception instance raised, whatever the value or
    the input (unencodable, hostile), the mode and the rate; nothing else reaches the
    caller."""
    record = tmp_path_factory.mktemp("rec") / "rec.jsonl"
    d, toy = toy_dispatcher(record, mode=mode, record_rate=rate)
    toy.answer = answer
    proxy = d.wrap()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (lambda: proxy.f(argument), lambda: d.call("f", argument)):
            if isinstance(answer, BaseException):
                with pytest.raises(type(answer)) as raised:
                    call()
                assert raised.value is answer
            else:
                assert call() is answer
        d.close()
    assert d.recorder is not None
    totals = d.recorder.totals()
    assert totals.calls == 2 and totals.errors == 0
    assert totals.recorded == len(calls(record)) == 2 - totals.unsampled


def test_what_cannot_be_encoded_is_recorded_as_incomplete(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    d, toy = toy_dispatcher(record)
    toy.answer = object()
    assert d.call("f", 1) is toy.answer
    toy.answer = 5
    assert d.call("f", object()) == 5
    d.close()
    value_missing, input_missing = calls(record)
    assert "cannot encode a object" in value_missing["value_error"]
    assert input_missing["input"] is None and "cannot encode" in input_missing["input_error"]
    assert d.recorder is not None and d.recorder.totals().incomplete == 2


def test_a_failing_recording_never_reaches_the_caller(tmp_path: Path) -> None:
    """Writes to /dev/full fail (no space): every call still answers; the loss is counted
    and said once, and the session's verdict says the calls were not all recorded."""
    d, toy = toy_dispatcher(Path("/dev/full"))
    toy.answer = [1, 2]
    with pytest.warns(RuntimeWarning, match="/dev/full"):
        for _ in range(3):
            assert d.call("f", 1) is toy.answer
        d.close()
    assert d.recorder is not None and d.recorder.events_lost == 4  # 3 calls and the summary


def test_an_unstorable_blob_is_said_in_the_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "rec.jsonl"
    d, toy = toy_dispatcher(record)
    monkeypatch.setattr(EventLog, "store_blob", lambda self, digest, payload: None)
    toy.answer = list(range(40_000))
    assert d.call("f", 1) is toy.answer
    d.close()
    (event,) = calls(record)
    assert event["value"] is None and event["value_ref"] is None
    assert "could not be written" in event["value_error"]


def test_an_unwritable_path_is_refused_before_any_call(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        Dispatcher(TOY, primary=Toy(), mode="off", record=blocker / "rec.jsonl")
    options = ShadowOptions(log_path=tmp_path / "s.jsonl", record=blocker / "rec.jsonl")
    with pytest.raises(SessionUnavailableError, match="cannot write the shadow recording"):
        start_shadow(options)


def test_the_input_is_recorded_as_given_even_when_the_primary_mutates_it(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    d, _ = toy_dispatcher(record)
    box = Box([1])
    assert d.call("grow", box) == 2 and box.items == [1, 99]
    d.close()
    (event,) = calls(record)
    assert TOY_CODEC.decode(event["input"]) == ((Box([1]),), {})


def test_recording_is_sampled_independently_of_shadowing(tmp_path: Path) -> None:
    all_recorded, _ = toy_dispatcher(tmp_path / "a.jsonl", mode="sync", sample_rate=0.0)
    none_recorded, _ = toy_dispatcher(tmp_path / "b.jsonl", mode="sync", record_rate=0.0)
    half, _ = toy_dispatcher(tmp_path / "c.jsonl", mode="sync", record_rate=0.5)
    for _ in range(2000):
        all_recorded.call("f", 1)
        half.call("f", 1)
    for _ in range(50):
        none_recorded.call("f", 1)
    shadowed = none_recorded.close().by_op["f"].sampled
    all_recorded.close()
    half.close()
    assert len(calls(tmp_path / "a.jsonl")) == 2000
    assert all_recorded.counters().by_op["f"].sampled == 0
    assert calls(tmp_path / "b.jsonl") == [] and shadowed == 50
    assert 850 <= len(calls(tmp_path / "c.jsonl")) <= 1150  # binomial(2000, 0.5): sd 22


def test_threads_and_processes_append_whole_lines(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    d, toy = toy_dispatcher(record)
    toy.answer = "x" * 5000

    def work() -> None:
        for i in range(200):
            d.call("f", i)

    procs = [multiprocessing.get_context("spawn").Process(target=_record_in_child, args=(record,))]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    d.close()
    lines = record.read_bytes().splitlines()
    assert all(orjson.loads(line)["schema"] == "shadow.event/1" for line in lines)
    recorded = calls(record)
    assert len(recorded) == 6 * 200 + 300
    assert len({e["call_id"] for e in recorded}) == len(recorded)


def _record_in_child(record: Path) -> None:
    d, toy = toy_dispatcher(record)
    toy.answer = "y" * 7000
    for i in range(300):
        d.call("f", i)
    d.close()


def test_the_recorder_alone_wraps_any_callable(tmp_path: Path) -> None:
    from shadow._events import Implementation

    recorder = Recorder(
        TOY, tmp_path / "r.jsonl", implementation=Implementation("fn", "2"), run_id="r1"
    )
    wrapped = recorder.wrap("f", lambda x: x * 2)
    assert wrapped(21) == 42
    recorder.close()
    (event,) = calls(tmp_path / "r.jsonl")
    assert (event["call_id"], event["value"], event["implementation"]) == (
        "r1-c000001",
        42,
        {"name": "fn", "version": "2"},
    )
    with pytest.raises(ValueError, match="record_rate"):
        Recorder(TOY, tmp_path / "x.jsonl", implementation=Implementation("f"), run_id="r", rate=2)


# ---------------------------------------------------------------------------- the runner


def test_recording_options_from_the_environment_with_the_shadow_off(tmp_path: Path) -> None:
    env = {"T2_SHADOW": "1", "T2_SHADOW_MODE": "off", "T2_SHADOW_RECORD": str(tmp_path / "r")}
    options = options_from_env(env)
    assert options is not None and options.mode == "off" and options.record == tmp_path / "r"
    assert options_from_env({"T2_SHADOW": "1", "T2_SHADOW_MODE": "off"}) is None
