"""Shadowing the T2 core: deliberately wrong backends produce the right events, and replay."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runners.reference import PythonBackend
from runners.shadow_t2 import (
    CODEC,
    TARGET,
    ShadowOptions,
    options_from_env,
    start_shadow,
)
from runners.types import BaselineRule, GateThresholds, Measurement, ReplaySample, SearchSpace
from shadow._dispatcher import Dispatcher
from shadow._log import read_events
from shadow._replay_core import replay_event
from t2_sidecar.errors import InvalidInputError
from tests.conftest import load_backend
from tests.core_strategies import measurement_sets, replay_samples, spaces
from tests.shadow_faulty_t2 import TARGET as FAULTY

SPACE = SearchSpace(
    ["tile20", "tile24_v3", "gemm"], [1, 2, 4], [0, 4], [(10, 10), (16, 16)], top_k=8
)
MEASUREMENTS = [
    Measurement("t20_prod_v4_u10_l10", 1024, "completed", 100.0, 2.0, 1e-5),
    Measurement("a", 1024, "completed", 130.0, 1.5, 1e-5),
    Measurement("b", 1024, "completed", 120.0, 1.6, 1e-5),
    Measurement("c", 1024, "failed", None, None, None),
]


def divergences(log: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(log) if e["event"] == "divergence"]


def test_registration_covers_every_op() -> None:
    from runners.backend import OPS

    assert tuple(TARGET.ops) == OPS
    assert TARGET.ops["summarize"].policy.float_ulps == 64
    assert not TARGET.ops["rank_candidates"].policy.has_float_tolerance


def test_codec_round_trips_t2_inputs() -> None:
    for args in [
        (SPACE,),
        (MEASUREMENTS, 1e-3, BaselineRule.original()),
        ([ReplaySample(1.0, 2.0, 0.0)], None, GateThresholds()),
    ]:
        assert CODEC.decode(CODEC.encode(args, {}))[0] == args


@settings(max_examples=60)
@given(
    st.one_of(
        spaces,
        st.builds(
            SearchSpace, st.just(["bad name"]), st.just([1]), st.just([0]), st.just([(1, 1)])
        ),
    )
)
def test_primary_unchanged_under_shadow(space: SearchSpace) -> None:
    reference = PythonBackend()
    d = Dispatcher(FAULTY, primary=reference, shadow=FAULTY.make("drifting_scores"), mode="sync")
    proxy = d.wrap()
    try:
        expected: Any = reference.enumerate_candidates(space)
    except InvalidInputError as exc:
        with pytest.raises(InvalidInputError) as info:
            proxy.enumerate_candidates(space)
        assert (info.value.code, info.value.field) == (exc.code, exc.field)
    else:
        assert proxy.enumerate_candidates(space) == expected
    d.close()


@settings(max_examples=30)
@given(measurement_sets())
def test_python_vs_python_never_diverges(measurements: list[Measurement]) -> None:
    d = Dispatcher(TARGET, primary=PythonBackend(), shadow=PythonBackend(), mode="strict")
    with contextlib.suppress(InvalidInputError):
        d.call("rank_candidates", measurements, 1e-3, BaselineRule.original())
    assert d.close().divergences == 0


@settings(max_examples=30)
@given(replay_samples)
def test_evaluate_replay_python_vs_python(samples: list[ReplaySample]) -> None:
    d = Dispatcher(TARGET, primary=PythonBackend(), shadow=PythonBackend(), mode="strict")
    with contextlib.suppress(InvalidInputError):
        d.call("evaluate_replay", samples, 100.0)
    assert d.close().divergences == 0


@pytest.mark.parametrize(
    ("wrong", "op", "args", "severity", "path"),
    [
        (
            "swapped_rank",
            "rank_candidates",
            (MEASUREMENTS, 1e-3, BaselineRule.original()),
            "critical",
            "root.ranked[0]",
        ),
        (
            "flipped_gate",
            "evaluate_replay",
            ([ReplaySample(150.0, 1.0, 1e-5)] * 3, 100.0),
            "critical",
            "root.stability_passed",
        ),
        ("drifting_scores", "enumerate_candidates", (SPACE,), "minor", "root.scores[0]"),
        ("reworded_decision", "decide", (0, []), "minor", "root.rationale"),
    ],
)
def test_wrong_backend_events_and_replay(
    tmp_path: Path, wrong: str, op: str, args: tuple[Any, ...], severity: str, path: str
) -> None:
    log = tmp_path / "shadow.jsonl"
    d = Dispatcher(FAULTY, primary="python", shadow=wrong, mode="sync", log=log)
    proxy = d.wrap()
    expected = getattr(PythonBackend(), op)(*args)
    assert getattr(proxy, op)(*args) == expected
    counters = d.close()
    assert counters.by_op[op].diverged == {"value_mismatch": 1}
    (event,) = divergences(log)
    assert event["op"] == op and event["kind"] == "value_mismatch" and event["severity"] == severity
    assert path in [d["path"] for d in event["diff"]]
    assert event["target"] == "tests.shadow_faulty_t2:TARGET"
    assert event["primary"]["name"] == "python" and event["shadow"]["name"] == wrong
    decoded, _ = CODEC.decode(event["input"])
    assert decoded == args
    outcome = replay_event(event, log, target=FAULTY)
    assert outcome.diverges and outcome.kind == "value_mismatch" and outcome.same_signature


def test_real_rust_panic_in_the_shadow_is_contained(tmp_path: Path) -> None:
    load_backend("rust")
    log = tmp_path / "shadow.jsonl"
    d = Dispatcher(FAULTY, primary="python", shadow="panicking_rust", mode="sync", log=log)
    ranking = d.wrap().rank_candidates(MEASUREMENTS, 1e-3, BaselineRule.original())
    assert ranking == PythonBackend().rank_candidates(MEASUREMENTS, 1e-3, BaselineRule.original())
    assert d.close().by_op["rank_candidates"].diverged == {"shadow_error": 1}
    (event,) = divergences(log)
    assert event["kind"] == "shadow_error" and "PanicException" in event["shadow"]["summary"]


def test_python_primary_rust_or_reverse_is_symmetric(tmp_path: Path) -> None:
    """Either side may be primary: the wrong one as primary still reaches the caller."""
    d = Dispatcher(FAULTY, primary="swapped_rank", shadow="python", log=tmp_path / "s.jsonl")
    ranking = d.call("rank_candidates", MEASUREMENTS, 1e-3, BaselineRule.original())
    assert ranking == FAULTY.make("swapped_rank").rank_candidates(
        MEASUREMENTS, 1e-3, BaselineRule.original()
    )
    assert d.close().divergences == 1


def test_error_parity_on_t2(tmp_path: Path) -> None:
    d = Dispatcher(TARGET, primary=PythonBackend(), shadow=PythonBackend(), mode="strict")
    with pytest.raises(InvalidInputError):
        d.call("build_replay_plan", [], 1, 1, 0)
    assert d.close().by_op["build_replay_plan"].matched == 1


def test_start_shadow_session(tmp_path: Path) -> None:
    options = ShadowOptions(
        primary="python",
        shadow="swapped_rank",
        log_path=tmp_path / "s.jsonl",
        run_id="t",
        target=FAULTY.import_spec,
    )
    session = start_shadow(options)
    session.backend.rank_candidates(MEASUREMENTS, 1e-3, BaselineRule.original())
    session.backend.enumerate_candidates(SPACE)
    report = session.close()
    assert report.divergences == 1 and report.by_kind == {"value_mismatch": 1}
    assert "rank_candidates" in report.render()


def test_off_session_is_primary() -> None:
    session = start_shadow(ShadowOptions(mode="off"))
    assert session.backend.summarize([1.0, 2.0]) == PythonBackend().summarize([1.0, 2.0])
    assert session.close().divergences == 0


def test_options_from_env() -> None:
    assert options_from_env({}) is None
    assert options_from_env({"T2_SHADOW": "1", "T2_SHADOW_MODE": "off"}) is None
    opts = options_from_env(
        {
            "T2_SHADOW": "1",
            "T2_SHADOW_MODE": "async",
            "T2_SHADOW_SAMPLE_RATE": "0.25",
            "T2_SHADOW_LOG": "x.jsonl",
        }
    )
    assert opts == ShadowOptions(mode="async", sample_rate=0.25, log_path=Path("x.jsonl"))
    with pytest.raises(ValueError):
        options_from_env({"T2_SHADOW": "1", "T2_SHADOW_MODE": "fast"})
