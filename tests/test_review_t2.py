"""The users' loop on the real runner: a shadowed t2-search with a wrong implementation
injected, its log reviewed into one problem, the call replayed, fixed, replayed again."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from runners.cli import main as t2_search
from runners.reference import PythonBackend
from shadow._cli import main as shadow
from shadow._review.groups import review_logs
from tests import shadow_faulty_t2

FIXTURE = "week2_t2_expanded_search_20260207_194454.json"


def test_injected_divergence_is_one_group_replayed_until_fixed(
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = tmp_path / "shadow.jsonl"
    code = t2_search(
        [
            "--recorded",
            str(fixtures_dir / FIXTURE),
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--shadow",
            "--shadow-target",
            shadow_faulty_t2.TARGET.import_spec,
            "--shadow-secondary",
            "swapped_rank",
            "--shadow-log",
            str(log),
        ]
    )
    assert code == 0  # sync mode: the run goes on with the primary's answers

    review = review_logs([log])
    (group,) = review.groups
    assert (group.op, group.kind, group.severity, group.count) == (
        "rank_candidates",
        "value_mismatch",
        "critical",
        1,
    )
    assert group.reproducer is not None
    assert shadow(["review", str(log), "--out", str(tmp_path / "review"), "--quiet"]) == 1
    assert (tmp_path / "review" / "review.html").exists()

    replay = shlex.split(group.reproducer.replay)
    assert replay[:2] == ["shadow", "replay"]
    capsys.readouterr()
    assert shadow(replay[1:]) == 1
    assert "still diverges" in capsys.readouterr().out

    # The fix lands: the shadow ranks as the reference does; the same call now agrees.
    monkeypatch.setattr(
        shadow_faulty_t2.SwappedRank, "rank_candidates", PythonBackend.rank_candidates
    )
    assert shadow(replay[1:]) == 0
    assert "no longer diverges" in capsys.readouterr().out
