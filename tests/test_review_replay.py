"""End to end: a toy target diverges under the dispatcher, review finds it, replay re-runs it.

The toy target is generic on purpose (two implementations of "sorted unique words", one
buggy on uppercase input): review and replay must work for any pair, not only T2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shadow import _registry as registry
from shadow._cli import main
from shadow._codec import TypedCodec
from shadow._dispatcher import Dispatcher
from shadow._review.groups import review_logs


class GoodWords:
    name = "good"
    version = "1"

    def unique_words(self, text: str) -> list[str]:
        return sorted({w.lower() for w in text.split()})


class BuggyWords:
    """Forgets to lower-case: diverges exactly when the text has capitals."""

    name = "buggy"
    version = "1"

    def unique_words(self, text: str) -> list[str]:
        return sorted(set(text.split()))


class FixedWords(GoodWords):
    name = "buggy"  # the same implementation name, after the fix


STATE: dict[str, Any] = {"buggy": BuggyWords}


def make_target() -> Any:
    return registry.Target(
        "words",
        f"{__name__}:make_target",
        {"good": GoodWords, "buggy": lambda: STATE["buggy"]()},
        ops=[registry.OpSpec("unique_words")],
        codec=TypedCodec(),
    )


@pytest.fixture
def shadow_log(tmp_path: Path) -> Path:
    STATE["buggy"] = BuggyWords
    log = tmp_path / "shadow.jsonl"
    d = Dispatcher(
        make_target(), primary="good", shadow="buggy", mode="sync", log=log, run_id="toy"
    )
    for text in ("a b", "Hello world hello", "X", "Some longer Text with Capitals here", "c d"):
        d.call("unique_words", text)
    d.close()
    return log


def _call_ids(log: Path) -> list[str]:
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return [e["call_id"] for e in events if e.get("event") == "divergence"]


def test_review_of_a_real_dispatcher_log(shadow_log: Path, tmp_path: Path) -> None:
    review = review_logs([shadow_log])
    assert review.divergences == 3
    assert len(review.groups) >= 1
    smallest = min((g.reproducer for g in review.groups if g.reproducer), key=lambda r: r.size)
    assert smallest.input is not None and "X" in json.dumps(smallest.input)
    (op,) = review.ops
    assert op.sampled == 5 and op.rate == pytest.approx(3 / 5)
    assert main(["review", str(shadow_log), "--out", str(tmp_path / "r"), "--quiet"]) in (0, 1)


def test_replay_still_diverges_then_fixed_and_saved(
    shadow_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call = _call_ids(shadow_log)[0]
    assert main(["replay", str(shadow_log), "--call", call]) == 2  # another target: refused
    assert "pass --target" in capsys.readouterr().err
    target = ["--target", f"{__name__}:make_target"]
    assert main(["replay", str(shadow_log), "--call", call, *target]) == 1
    out = capsys.readouterr().out
    assert "still diverges" in out and "value_mismatch" in out

    STATE["buggy"] = FixedWords
    corpus = tmp_path / "corpus"
    code = main(
        [
            "replay",
            str(shadow_log),
            "--call",
            call,
            "--save",
            "--corpus",
            str(corpus),
            "--note",
            "lower-casing bug",
            *target,
        ]
    )
    assert code == 0
    assert "no longer diverges" in capsys.readouterr().out
    (case_file,) = corpus.glob("unique_words-*.json")
    case = json.loads(case_file.read_text())
    assert case["schema"] == "shadow.case/1"
    assert case["target"] == f"{__name__}:make_target" and case["op"] == "unique_words"
    assert case["kind"] == "value_mismatch" and case["note"] == "lower-casing bug"
    assert case["input_digest"].startswith("sha256:") and case["diverged_when_saved"] is False
    assert case["input"]["args"] and case["created"].endswith("Z")
    assert (case["primary"], case["shadow"]) == ("good", "buggy")


def test_replay_errors_exit_2(
    shadow_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(shadow_log), "--call", "nope"]) == 2
    assert "no divergence event" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.jsonl"), "--call", "x"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(shadow_log)])  # --call is required
    assert exc.value.code == 2


def test_replay_isolation_kinds_match_the_writer() -> None:
    """The review imports ``shadow._events`` only for the kinds that need an isolation
    option; every divergence kind the writer knows must agree with its rule."""
    import typing

    from shadow._events import replay_isolation
    from shadow._outcome import FaultKind
    from shadow._review.reproducer import ISOLATED_KINDS

    kinds = {
        "value_mismatch",
        "error_mismatch",
        "primary_error_only",
        "shadow_error_only",
        "shadow_error",
        "mutated_input",
        *typing.get_args(FaultKind),
    }
    assert {k for k in kinds if replay_isolation(k)} == ISOLATED_KINDS
