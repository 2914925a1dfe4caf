"""Function pairs as targets: the three-line runtime use and zero-code fuzzing (README)."""

from __future__ import annotations

from pathlib import Path

import pytest

import shadow
from shadow._cli import main
from shadow._log import read_events
from shadow._pairs import PairError, load_pair, pair
from tests import pair_funcs
from tests.pair_funcs import Window


def test_three_line_runtime_use(tmp_path: Path) -> None:
    log = tmp_path / "shadow.jsonl"

    @shadow.experiment(shadow=pair_funcs.clamp_buggy, log=str(log))
    def clamp(x: int, window: Window) -> int:
        return pair_funcs.clamp(x, window)

    assert clamp(5, Window(0, 10)) == 5
    assert clamp(-3, Window(-5, 10)) == -3  # the primary's answer; the port says 0
    with pytest.raises(ValueError):
        clamp(1, Window(3, 2))
    counters = clamp.dispatcher.close()  # type: ignore[attr-defined]
    assert counters.by_op["clamp"].calls == 3
    assert counters.by_op["clamp"].diverged == {"value_mismatch": 1}
    (event,) = [e for e in read_events(log) if e["event"] == "divergence"]
    assert event["input"]["args"][0] == -3 and event["severity"] == "critical"


def test_pair_infers_ops_names_versions_and_codec() -> None:
    target = pair(pair_funcs.clamp, pair_funcs.clamp_port)
    assert list(target.ops) == ["clamp"]
    assert target.import_spec == "pair:tests.pair_funcs:clamp,tests.pair_funcs:clamp_port"
    codec = target.codec_for("clamp")
    args, _ = codec.decode(codec.encode((1, Window(0, 2)), {}))
    assert args == (1, Window(0, 2))
    rebuilt = load_pair(target.import_spec)
    assert list(rebuilt.ops) == ["clamp"] and rebuilt.default_pair == target.default_pair
    with pytest.raises(PairError):
        pair(pair_funcs, shadow)  # nothing in common


@pytest.mark.parametrize(("port", "code"), [("clamp_port", 0), ("clamp_buggy", 1)])
def test_zero_code_fuzz_of_a_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str, code: int
) -> None:
    log = tmp_path / "fuzz.jsonl"
    argv = ["fuzz", "--pair", "tests.pair_funcs:clamp", f"tests.pair_funcs:{port}"]
    argv += ["--examples", "300", "--seed", "1", "--log", str(log), "--no-database"]
    assert main(argv) == code
    out = capsys.readouterr().out
    assert "type hints" in out  # no strategy was written
    if code:
        (event,) = [e for e in read_events(log) if e["event"] == "divergence"]
        x = event["input"]["args"][0]
        assert x < 0 and "--target pair:tests.pair_funcs:clamp" in event["replay"]
