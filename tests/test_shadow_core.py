"""Generic tests of the shadow framework with toy implementations (nothing T2 here)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shadow._codec import TypedCodec, canonical_json, protect
from shadow._compare import EXACT, ComparePolicy, Verdict, compare_values, ulp_distance
from shadow._dispatcher import Dispatcher, ShadowDivergenceError
from shadow._judge import Judge
from shadow._log import read_events
from shadow._outcome import Outcome
from shadow._registry import OpSpec, Target
from shadow._signature import normalize_path, signature_of


class CodedError(ValueError):
    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


class Panic(BaseException):
    """Stands in for PyO3's PanicException (a BaseException)."""


@dataclass(frozen=True)
class Point:
    x: int
    y: float


class Good:
    name = "good"
    version = "1"

    def add(self, a: int, b: int) -> int:
        if a < 0:
            raise CodedError("out_of_range", "a")
        return a + b

    def scale(self, p: Point, k: float) -> Point:
        return Point(p.x * 2, p.y * k)

    def total(self, xs: list[int]) -> int:
        return sum(xs)

    def const(self) -> int:
        return 7


class Bad(Good):
    """Every fault kind, chosen by the input."""

    name = "bad"

    def add(self, a: int, b: int) -> int:
        if a == 1:
            raise Panic("boom")
        if a == 2:
            raise CodedError("other", "b")
        if a == 3:
            return a + b + 1
        if a == 4:
            time.sleep(0.5)
        if a == 5:
            return list(range(100_000))  # type: ignore[return-value]
        if a == 6:
            raise RuntimeError("shadow only")
        if a < 0:
            return 0
        return a + b

    def scale(self, p: Point, k: float) -> Point:
        return Point(p.x * 2, p.y * k * (1 + 1e-15))

    def total(self, xs: list[int]) -> int:
        s = sum(xs)
        xs.append(99)
        return s


CODEC = TypedCodec([Point])
TARGET = Target(
    "toy",
    "tests.test_shadow_core:TARGET",
    {"good": Good, "bad": Bad},
    [
        OpSpec("add", ComparePolicy(), CODEC),
        OpSpec("scale", ComparePolicy(float_ulps=8), CODEC),
        OpSpec("total", ComparePolicy(), CODEC),
        OpSpec("const", ComparePolicy(), CODEC),
    ],
)


def compare_outcomes(p: Outcome, s: Outcome, policy: ComparePolicy = EXACT) -> Verdict:
    """The judge's verdict on a pair of outcomes, as a Verdict (status, kind, diff)."""
    j = Judge(OpSpec("x", policy, CODEC)).judge(p, s)
    first = j.first
    if first is None:
        return Verdict(j.status)
    return Verdict("diverged", first.kind, first.diff, first.diff_count)


def events(path: Path, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in read_events(path)
        if e["event"] == "divergence" and (kind is None or e["kind"] == kind)
    ]


# ---------------------------------------------------------------------- codec & compare


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda c: st.lists(c) | st.lists(c).map(tuple) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_codec_round_trips_any_value(value: Any) -> None:
    args, _ = CODEC.decode(CODEC.encode((value, Point(1, 2.0)), {}))
    assert repr(args[0]) == repr(value) and type(args[0]) is type(value)
    assert args[1] == Point(1, 2.0)


@given(st.text(st.characters(codec=None, categories=["Cs", "Ll", "Cc"]), max_size=6))
def test_codec_keeps_strings_utf8_cannot_hold(text: str) -> None:
    """A lone surrogate is a valid Python string but not UTF-8: escaped, and restored."""
    encoded = CODEC.encode((text, [text]), {"k": text})
    canonical_json(encoded)  # JSON can hold it
    args, kwargs = CODEC.decode(orjson.loads(canonical_json(encoded)))
    assert args == (text, [text]) and kwargs == {"k": text}


def test_protect_shares_immutable_and_copies_mutable() -> None:
    frozen = (1, "a", Point(1, 2.0), (3.0,))
    assert protect(frozen) is frozen
    mutable = (1, [2, 3])
    copy = protect(mutable)
    assert copy == mutable and copy is not mutable and copy[1] is not mutable[1]


def test_policy_floats() -> None:
    assert ulp_distance(1.0, 1.0 + 2**-52) == 1
    assert ulp_distance(0.0, -0.0) == 0
    policy = ComparePolicy(float_ulps=2)
    assert (
        compare_outcomes(Outcome(Point(1, 1.0)), Outcome(Point(1, 1.0 + 2**-52)), policy).status
        == "tolerated"
    )
    v = compare_outcomes(Outcome(Point(1, 1.0)), Outcome(Point(1, 1.1)), policy)
    assert v.status == "diverged" and [d.path for d in v.diff] == ["root.y"]
    ignore = ComparePolicy(ignore_paths=(r"\.y$",))
    assert (
        compare_outcomes(Outcome(Point(1, 1.0)), Outcome(Point(1, 2.0)), ignore).status
        == "tolerated"
    )
    unordered = ComparePolicy(ignore_order=True)
    assert compare_outcomes(Outcome([1, 2, 3]), Outcome([3, 2, 1]), unordered).status == "tolerated"
    assert compare_outcomes(Outcome([1, 2, 3]), Outcome([3, 2, 1])).status == "diverged"


def test_error_parity() -> None:
    same = compare_outcomes(
        Outcome(error=CodedError("a", "f")), Outcome(error=CodedError("a", "f"))
    )
    assert same.status == "match"
    diff = compare_outcomes(
        Outcome(error=CodedError("a", "f")), Outcome(error=CodedError("a", "g"))
    )
    assert diff.kind == "error_mismatch" and [d.path for d in diff.diff] == ["error.field"]
    assert compare_outcomes(Outcome(error=KeyError()), Outcome(1)).kind == "primary_error_only"
    assert compare_outcomes(Outcome(1), Outcome(error=KeyError())).kind == "shadow_error_only"


def test_signature_is_at_the_grain_of_a_cause() -> None:
    assert normalize_path("root.a[3].b[12]") == "root.a[*].b[*]"
    assert normalize_path("root.r[candidate_id='x'].g") == "root.r[candidate_id=*].g"
    v1 = compare_values([1.0, 2.0, 3.0], [1.0, 2.5, 3.0])
    v2 = compare_values([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 3.0, 4.5])
    sig = lambda v: signature_of(  # noqa: E731
        "op", "value_mismatch", primary=Outcome(), shadow=Outcome(), diff=v.diff, error_attrs=()
    )
    assert sig(v1) == sig(v2)  # same cause at other indexes and counts
    reorder = compare_values([1, 2, 3], [2, 1, 3])
    assert [d.change for d in reorder.diff] == ["order"] and sig(reorder) != sig(v1)
    # errors: the class and the error's own identity (code, field) name the cause
    a = signature_of(
        "op",
        "shadow_error_only",
        primary=Outcome(1),
        shadow=Outcome(error=CodedError("range", "xs[3]")),
        diff=(),
        error_attrs=("code", "field"),
    )
    b = signature_of(
        "op",
        "shadow_error_only",
        primary=Outcome(2),
        shadow=Outcome(error=CodedError("range", "xs[0]")),
        diff=(),
        error_attrs=("code", "field"),
    )
    c = signature_of(
        "op",
        "shadow_error_only",
        primary=Outcome(2),
        shadow=Outcome(error=CodedError("empty", "xs")),
        diff=(),
        error_attrs=("code", "field"),
    )
    assert a == b and a != c


def test_exact_is_type_strict() -> None:
    for p, s in [(3, 3.0), (True, 1), (-0.0, 0.0), ((1, 2), [1, 2]), ([0.0], [-0.0])]:
        v = compare_outcomes(Outcome(p), Outcome(s))
        assert v.status == "diverged", (p, s)
    nan = float("nan")
    assert compare_outcomes(Outcome([nan, 1.0]), Outcome([float("nan"), 1.0])).status == "match"
    loose = ComparePolicy(strict_types=False)
    assert compare_outcomes(Outcome(3), Outcome(3.0), loose).status == "match"


def test_diff_is_bounded_on_huge_values() -> None:
    big = list(range(1_000_000))
    v = compare_values(big, [x + 1 for x in big])
    assert v.status == "diverged" and len(v.diff) == 50 and v.truncated


def test_arrays_deepdiff_cannot_check_for_nan_still_compare() -> None:
    import numpy as np

    strings = np.array(["a", "b"])  # DeepDiff's NaN check raises on a string array
    assert compare_values([strings], [strings.copy()]).status != "diverged"
    assert compare_values([strings], [np.array(["a", "c"])]).status == "diverged"


def test_a_type_change_names_foreign_types_in_full() -> None:
    import numpy as np

    v = compare_values({"ok": True}, {"ok": np.bool_(True)})  # both named "bool"
    sig = signature_of(
        "op", "value_mismatch", primary=Outcome(), shadow=Outcome(), diff=v.diff, error_attrs=()
    )
    assert sig.parts == ("root[*]:type:bool>numpy.bool",)  # keys collapse, like indices


# ---------------------------------------------------------------------- isolation


@given(st.integers(-10, 10), st.integers(-10, 10))
def test_primary_result_and_exception_unchanged(a: int, b: int) -> None:
    primary = Good()
    d = Dispatcher(TARGET, primary=primary, shadow=Bad(), mode="sync", timeout_s=0.2)
    proxy = d.wrap()
    try:
        expected: Any = primary.add(a, b)
    except CodedError as exc:
        expected = exc
    if a == 4:
        a = 0  # keep the property fast: the hang is tested on its own
    try:
        got = proxy.add(a, b)
    except CodedError as exc:
        assert isinstance(expected, CodedError) and (exc.code, exc.field) == (
            expected.code,
            expected.field,
        )
    else:
        assert got == primary.add(a, b)
    d.close()


def test_same_exception_instance_and_same_object() -> None:
    raised = CodedError("x", "y")
    sentinel = object()

    class P:
        def add(self, a: int, b: int) -> Any:
            if a:
                raise raised
            return sentinel

        scale = total = const = Good.const

    d = Dispatcher(TARGET, primary=P(), shadow=Bad(), mode="sync")
    with pytest.raises(CodedError) as info:
        d.call("add", 1, 0)
    assert info.value is raised
    assert d.call("add", 0, 0) is sentinel
    d.close()


@pytest.mark.parametrize(
    ("a", "kind", "severity"),
    [
        (1, "shadow_error", "critical"),
        (2, "shadow_error_only", "critical"),
        (3, "value_mismatch", "critical"),
        (5, "value_mismatch", "critical"),
        (6, "shadow_error_only", "critical"),
        (-1, "primary_error_only", "critical"),
    ],
)
def test_each_fault_kind_is_contained_and_logged(
    tmp_path: Path, a: int, kind: str, severity: str
) -> None:
    log = tmp_path / "s.jsonl"
    d = Dispatcher(TARGET, primary=Good(), shadow=Bad(), mode="sync", log=log)
    proxy = d.wrap()
    if a < 0:
        with pytest.raises(CodedError):
            proxy.add(a, 1)
    else:
        assert proxy.add(a, 1) == a + 1
    counters = d.close()
    assert counters.by_op["add"].diverged == {kind: 1}
    (event,) = events(log)
    assert event["kind"] == kind and event["severity"] == severity
    assert event["input"] == {"args": [a, 1], "kwargs": {}}
    assert event["replay"].startswith(f"shadow replay {log}")


def test_error_mismatch_paths(tmp_path: Path) -> None:
    class Reject(Good):
        def add(self, a: int, b: int) -> int:
            raise CodedError("out_of_range", "b")

    d = Dispatcher(TARGET, primary=Good(), shadow=Reject(), log=tmp_path / "s.jsonl")
    with pytest.raises(CodedError):
        d.call("add", -1, 0)
    d.close()
    (event,) = events(tmp_path / "s.jsonl")
    assert event["kind"] == "error_mismatch"
    assert event["diff"] == [
        {"path": "error.field", "primary": "a", "shadow": "b", "change": "value"}
    ]


def test_async_timeout_never_blocks_primary(tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()

    class Blocked(Good):
        def add(self, a: int, b: int) -> int:
            started.set()
            release.wait(10)
            return a + b

    d = Dispatcher(
        TARGET,
        primary=Good(),
        shadow=Blocked(),
        mode="async",
        timeout_s=0.2,
        log=tmp_path / "s.jsonl",
    )
    proxy = d.wrap()
    assert proxy.add(4, 1) == 5  # returned while the shadow cannot have answered
    assert not release.is_set()
    started.wait(5)
    counters = d.close(timeout_s=2.0)
    release.set()
    assert counters.by_op["add"].diverged == {"shadow_timeout": 1}
    assert events(tmp_path / "s.jsonl", "shadow_timeout")


def test_async_queue_full_skips() -> None:
    class Slow(Good):
        def const(self) -> int:
            time.sleep(0.05)
            return 7

    d = Dispatcher(TARGET, primary=Good(), shadow=Slow(), mode="async", queue_size=2, timeout_s=1.0)
    proxy = d.wrap()
    for _ in range(20):
        assert proxy.const() == 7
    c = d.close(timeout_s=2.0).by_op["const"]
    assert c.skipped > 0 and c.calls == 20 and c.matched + c.skipped == 20


def test_sync_timeout_is_hard(tmp_path: Path) -> None:
    class Hang(Good):
        def add(self, a: int, b: int) -> int:
            threading.Event().wait(30)
            return a + b

    d = Dispatcher(
        TARGET, primary=Good(), shadow=Hang(), mode="sync", timeout_s=0.1, log=tmp_path / "s.jsonl"
    )
    assert d.call("add", 4, 1) == 5
    assert d.close().by_op["add"].diverged == {"shadow_timeout": 1}


def test_shadow_mutation_is_detected_and_not_seen_by_caller(tmp_path: Path) -> None:
    d = Dispatcher(TARGET, primary=Good(), shadow=Bad(), log=tmp_path / "s.jsonl")
    xs = [1, 2]
    assert d.wrap().total(xs) == 3
    assert xs == [1, 2]
    d.close()
    (event,) = events(tmp_path / "s.jsonl")
    assert event["kind"] == "mutated_input" and event["input"]["args"] == [[1, 2]]


def test_shadow_never_sees_primary_mutation(tmp_path: Path) -> None:
    """The shadow runs on the input as the caller passed it; that the two sides leave the
    input in different states is itself a divergence (a caller would notice)."""

    class Mutating(Good):
        def total(self, xs: list[int]) -> int:
            s = sum(xs)
            xs.clear()
            return s

    d = Dispatcher(TARGET, primary=Mutating(), shadow=Good(), log=tmp_path / "s.jsonl")
    assert d.call("total", [1, 2, 3]) == 6
    assert d.close().by_op["total"].diverged == {"mutated_input": 1}  # values agreed
    (event,) = events(tmp_path / "s.jsonl")
    assert event["input"]["args"] == [[1, 2, 3]]
    assert event["diff"][0] == {
        "path": "len(input['args'][0])",
        "primary": 0,
        "shadow": 3,
        "change": "length",
    }


def test_tolerated_float_noise_is_counted_not_logged(tmp_path: Path) -> None:
    d = Dispatcher(TARGET, primary=Good(), shadow=Bad(), log=tmp_path / "s.jsonl")
    d.call("scale", Point(1, 3.0), 1.7)
    c = d.close().by_op["scale"]
    assert c.tolerated == 1 and not events(tmp_path / "s.jsonl")


def test_strict_raises_on_divergence() -> None:
    d = Dispatcher(TARGET, primary=Good(), shadow=Bad(), mode="strict")
    assert d.call("add", 0, 1) == 1
    with pytest.raises(ShadowDivergenceError) as info:
        d.call("add", 3, 1)
    assert info.value.kind == "value_mismatch"


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit, Panic])
def test_base_exceptions_raised_by_shadow_code_are_contained(
    tmp_path: Path, exc: type[BaseException]
) -> None:
    class Raising(Good):
        def const(self) -> int:
            raise exc()

    for timeout in (None, 5.0):
        d = Dispatcher(
            TARGET, primary=Good(), shadow=Raising(), timeout_s=timeout, log=tmp_path / "s.jsonl"
        )
        assert d.call("const") == 7
        assert d.close().by_op["const"].diverged == {"shadow_error": 1}


def test_a_real_ctrl_c_during_an_inline_shadow_still_stops_the_program() -> None:
    import signal

    class UserPressesCtrlC(Good):
        def const(self) -> int:
            signal.raise_signal(signal.SIGINT)
            return 7

    d = Dispatcher(TARGET, primary=Good(), shadow=UserPressesCtrlC(), timeout_s=None)
    with pytest.raises(KeyboardInterrupt):
        d.call("const")


def test_hostile_shadow_value_never_reaches_the_caller(tmp_path: Path) -> None:
    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise Panic("eq")

        def __repr__(self) -> str:
            raise Panic("repr")

        __hash__ = None  # type: ignore[assignment]

    class ReturnsHostile(Good):
        def const(self) -> int:
            return Hostile()  # type: ignore[return-value]

    d = Dispatcher(TARGET, primary=Good(), shadow=ReturnsHostile(), log=tmp_path / "s.jsonl")
    assert d.call("const") == 7
    c = d.close().by_op["const"]
    assert c.diverged == {"value_mismatch": 1} or c.errors == 1


def test_sampling() -> None:
    d = Dispatcher(TARGET, primary=Good(), shadow=Good(), sample_rate=0.0)
    for i in range(10):
        d.call("add", i, 1)
    assert d.close().by_op["add"].sampled == 0
    d = Dispatcher(
        TARGET, primary=Good(), shadow=Good(), sample_rate=0.5, deterministic_sampling=True
    )
    for _ in range(3):
        for i in range(40):
            d.call("add", i, 1)
    c = d.close().by_op["add"]
    assert c.calls == 120 and c.sampled % 3 == 0 and 0 < c.sampled < 120


def test_off_mode_is_the_primary_method() -> None:
    primary = Good()
    d = Dispatcher(TARGET, primary=primary, shadow=Bad(), mode="off")
    proxy = d.wrap()
    assert proxy.add == primary.add and proxy.name == "good"


def test_run_summary_written(tmp_path: Path) -> None:
    d = Dispatcher(TARGET, primary=Good(), shadow=Good(), log=tmp_path / "s.jsonl", run_id="r1")
    d.call("add", 1, 2)
    d.close()
    (summary,) = [e for e in read_events(tmp_path / "s.jsonl") if e["event"] == "run_summary"]
    assert summary["run_id"] == "r1" and summary["counters"]["add"]["matched"] == 1
    assert "add" in d.format_counters()


def test_replay_event_of_toy(tmp_path: Path) -> None:
    from shadow._replay_core import replay_event

    d = Dispatcher(TARGET, primary="good", shadow="bad", log=tmp_path / "s.jsonl")
    d.call("add", 3, 1)
    d.close()
    (event,) = events(tmp_path / "s.jsonl")
    outcome = replay_event(event, tmp_path / "s.jsonl", target=TARGET)
    assert outcome.diverges and outcome.kind == "value_mismatch" and outcome.same_signature
