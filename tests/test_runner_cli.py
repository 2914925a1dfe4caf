"""t2-search's command line: bad options end with one clear line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runners.cli import EXIT_USAGE, build_parser, main
from tests.runner_helpers import PROJECT_ROOT, fixture_names

FIXTURE = fixture_names()[-1] if fixture_names() else "missing.json"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--executor", "cuda"], "invalid choice"),
        (["--executor", "recorded"], "needs --recorded"),
        (["--recorded", "/nonexistent/report.json"], "not found"),
        (["--sizes", "0"], "must be > 0"),
        (["--sizes", "256,-1"], "must be > 0"),
        (["--sizes", "a,b"], "comma-separated integers"),
        (["--sizes", "256,256"], "duplicate"),
        (["--runs", "0"], "--runs"),
        (["--sessions", "100"], "--sessions"),
        (["--replay-runs", "0"], "--replay-runs"),
        (["--top-k", "5", "--budget", "3"], "above the budget"),
        (["--baseline", "tile20"], "MIN_SIZE:CANDIDATE_ID"),
        (["--baseline", "x:tile20"], "not an integer"),
        (["--local-sizes", "8by8"], "XxY"),
        (["--vector-widths", "four"], "integers"),
        (["--shadow-sample-rate", "1.5"], "--shadow-sample-rate"),
        (["--shadow-timeout", "0"], "--shadow-timeout"),
        (["--backend", "java"], "invalid choice"),
    ],
)
def test_bad_options_exit_non_zero_without_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code != 0
    assert needle in err
    assert "Traceback" not in err


def test_recorded_file_problems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"metadata": {}, "search": {"raw_candidates": [{"size": 1}]}}))
    for path, needle in (
        (bad_json, "not valid JSON"),
        (empty, "malformed"),
        (wrong, "malformed"),
        (tmp_path, "cannot read"),
    ):
        code, _, err = _run(capsys, "--recorded", str(path), "--out", str(tmp_path / "o"))
        assert code == EXIT_USAGE, err
        assert needle in err and "Traceback" not in err


def test_recorded_options_that_do_not_apply(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, tmp_path: Path
) -> None:
    rec = str(fixtures_dir / FIXTURE)
    for extra, needle in (
        (["--kernels", "tile16"], "opencl executor only"),
        (["--device", "pocl"], "opencl executor only"),
        (["--baseline", "0:nonexistent"], "baseline candidate"),
        (["--baseline", "100:t20_prod_v4_u10_l10,50:t24_prod_v4_u0_l12"], "T2 core rejected"),
    ):
        code, _, err = _run(capsys, "--recorded", rec, "--out", str(tmp_path), "--quiet", *extra)
        assert code == EXIT_USAGE, (extra, err)
        assert needle in err and "Traceback" not in err


def test_opencl_with_recorded_path_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--executor", "opencl", "--recorded", "x.json")
    assert code == EXIT_USAGE and "--recorded applies" in err


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert flag in out
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"


def test_subprocess_bad_option_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runners.cli", "--sizes", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_USAGE
    assert "Traceback" not in proc.stderr and "--sizes" in proc.stderr


def test_recorded_run_prints_one_line_summary(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, tmp_path: Path
) -> None:
    code, out, _ = _run(
        capsys, "--recorded", str(fixtures_dir / FIXTURE), "--out", str(tmp_path), "--quiet"
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("t2-search:")
    assert (tmp_path / "t2_search_latest.md").exists()


def test_shadow_flag(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, tmp_path: Path
) -> None:
    """Without the shadow module or the Rust backend: a clear error; with both: a run."""
    argv = [
        "--recorded",
        str(fixtures_dir / FIXTURE),
        "--out",
        str(tmp_path),
        "--quiet",
        "--shadow",
        "--shadow-log",
        str(tmp_path / "shadow.jsonl"),
    ]
    code, _, err = _run(capsys, *argv)
    assert "Traceback" not in err
    try:
        import runners.rust_backend
        import runners.shadow_t2  # noqa: F401
    except ImportError:
        assert code != 0 and err.strip()
        return
    assert code == 0, err


@pytest.mark.opencl
def test_core_rejection_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "--kernels", "bad-name!", "--out", str(tmp_path), "--quiet")
    assert code == EXIT_USAGE
    assert "T2 core rejected" in err and "kernels" in err and "Traceback" not in err


class ShadowDivergenceError(AssertionError):
    """Stands in for shadow's exception of the same name (strict mode)."""


def test_strict_shadow_divergence_exits_3(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fixtures_dir: Path,
    tmp_path: Path,
) -> None:
    from runners import cli
    from runners.backends import get_backend

    class Diverging:
        name, version = "python", "x"

        def __init__(self) -> None:
            self._inner = get_backend("python")

        def __getattr__(self, op: str) -> object:
            if op == "rank_candidates":

                def boom(*args: object, **kwargs: object) -> None:
                    raise ShadowDivergenceError("rank_candidates diverged")

                return boom
            return getattr(self._inner, op)

    class Report:
        divergences = 1

        def render(self) -> str:
            return "1 divergence"

    class Session:
        class options:
            mode = "strict"

        def close(self) -> Report:
            return Report()

    monkeypatch.setattr(cli, "_open_backend", lambda args, run_id: (Diverging(), Session()))
    code, _, err = _run(
        capsys,
        "--recorded",
        str(fixtures_dir / FIXTURE),
        "--out",
        str(tmp_path),
        "--quiet",
        "--shadow-strict",
    )
    assert code == cli.EXIT_DIVERGENCE
    assert "strict" in err and "Traceback" not in err
