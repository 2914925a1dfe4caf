"""The T2 strategies: attached to every op, covering every error code, replayable inputs,
and python-vs-rust agreement on a small budget (the gate runs the full one)."""

from __future__ import annotations

import hypothesis
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from runners.backend import OPS
from runners.fuzz_t2 import FUZZ_SPECS, VALID_CALLS, NumpyCodec, _space_from_bytes
from runners.reference import PythonBackend
from runners.shadow_t2 import CODEC, TARGET
from runners.types import SearchSpace
from shadow.fuzz import FuzzConfig, Fuzzer, Pair
from t2_sidecar.errors import ERROR_CODES, InvalidInputError

REFERENCE = PythonBackend()


def test_every_op_has_a_strategy() -> None:
    assert set(FUZZ_SPECS) == set(OPS)
    assert all(TARGET.op(op).strategies is FUZZ_SPECS[op] for op in OPS)


def _codes(op: str, n: int, seed: int, seen: set[str]) -> None:
    """Adds the error codes the op's strategy reaches in ``n`` examples drawn from ``seed``."""

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(FUZZ_SPECS[op].strategy)
    def collect(call: tuple[tuple[object, ...], dict[str, object]]) -> None:
        args, kwargs = call
        try:
            getattr(REFERENCE, op)(*args, **kwargs)
        except InvalidInputError as exc:
            seen.add(exc.code)

    hypothesis.seed(seed)(collect)()


def test_invalid_inputs_reach_every_error_code() -> None:
    """Fixed seeds (not derandomize, whose seed depends on where the checkout lives), a few
    batches at most: the strategies must reach every code of the contract."""
    seen: set[str] = set()
    for seed in range(12):
        for op in OPS:
            _codes(op, 100, seed, seen)
        if seen == set(ERROR_CODES):
            break
    assert seen == set(ERROR_CODES)


@pytest.mark.parametrize("op", OPS)
def test_valid_strategies_are_valid(op: str) -> None:
    @settings(
        max_examples=60,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(VALID_CALLS[op])
    def valid(call: tuple[tuple[object, ...], dict[str, object]]) -> None:
        args, kwargs = call
        getattr(REFERENCE, op)(*args, **kwargs)

    valid()


@given(
    st.sampled_from(
        [
            np.int64(4),
            np.uint8(7),
            np.float32(1.5),
            np.bool_(True),
            np.array([1, 2], dtype=np.int32),
            np.array([[1.0, np.nan]]),
        ]
    )
)
def test_numpy_values_round_trip(value: object) -> None:
    codec = NumpyCodec()
    (back,), _ = codec.decode(codec.encode((value,), {}))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    else:
        assert back == value
    assert isinstance(CODEC, NumpyCodec)


def test_python_and_rust_agree_on_a_small_budget() -> None:
    from tests.conftest import load_backend

    load_backend("rust")  # skips locally when not built; fails in CI
    fuzzer = Fuzzer(TARGET, Pair.of(TARGET, "python", "rust"), FuzzConfig(40, seed=0))
    report = fuzzer.run()
    assert report.ok, [(f.op, f.kind, f.input_repr, f.replay) for f in report.findings]


@given(raw=st.binary(min_size=13, max_size=13))
def test_compact_small_spaces_are_valid_and_small(raw: bytes) -> None:
    space = _space_from_bytes(raw)
    table = PythonBackend().enumerate_candidates(space)
    assert 1 <= table.total <= 16
    assert _space_from_bytes(bytes(13)) == SearchSpace(["tile20"], [1], [0], [(1, 1)])
