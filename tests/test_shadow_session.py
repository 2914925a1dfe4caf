"""shadow._session (options, environment switches, session, report) and shadow._terminal
(tables that are never cut), on a tiny target of their own: nothing here knows T2."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from shadow._compare import EXACT
from shadow._log import read_events
from shadow._registry import OpSpec, Target
from shadow._session import (
    SessionOptionError,
    SessionOptions,
    SessionUnavailableError,
    ShadowSession,
    options_from_env,
)
from shadow._terminal import (
    Table,
    Terminal,
    describe_os_error,
    render_markdown,
    render_plain,
    render_rich,
    resolve_style,
)


class _Codec:
    def encode(self, args: Any, kwargs: Any) -> Any:
        return {"args": list(args), "kwargs": dict(kwargs)}

    def decode(self, data: Any) -> Any:
        return tuple(data["args"]), dict(data["kwargs"])

    def encode_value(self, value: Any) -> Any:
        return value

    def decode_value(self, data: Any) -> Any:
        return data


class Good:
    name, version = "good", "1"

    def add(self, a: int, b: int) -> int:
        return a + b

    def sign(self, a: int) -> int:
        return (a > 0) - (a < 0)


class Bad(Good):
    name = "bad"

    def add(self, a: int, b: int) -> int:
        return a + b + (1 if a == 3 else 0)


def _severity(ctx: Any) -> Any:
    return "critical" if ctx.op == "sign" else None


TARGET = Target(
    "pair",
    "tests.test_shadow_session:TARGET",
    {"good": Good, "bad": Bad},
    [OpSpec("add", EXACT, None, _severity), OpSpec("sign", EXACT, None, _severity)],
    default_pair=("good", "bad"),
    codec=_Codec(),  # type: ignore[arg-type]
)
DEFAULTS = SessionOptions(target="tests.test_shadow_session:TARGET")


# ---------------------------------------------------------------------------- options


def test_options_validate_their_fields() -> None:
    for changes, message in (
        ({"mode": "fast"}, "mode must be one of off, sync, async, strict, got 'fast'"),
        ({"sample_rate": 1.5}, "sample_rate must be a number within 0..1, got 1.5"),
        ({"sample_rate": True}, "sample_rate must be a number within 0..1"),
        ({"record_rate": -0.1}, "record_rate must be a number within 0..1"),
        ({"timeout_s": 0}, "timeout_s must be a number of seconds > 0, got 0"),
        ({"isolation": "vm"}, "isolation must be one of thread, process, got 'vm'"),
        ({"primary": ""}, "primary must be a non-empty name"),
        ({"target": "nocolon"}, "target must be MODULE:ATTR, got 'nocolon'"),
        ({"primary": "good", "shadow": "good"}, "primary and shadow are both 'good'"),
    ):
        with pytest.raises(SessionOptionError) as info:
            SessionOptions(**{"target": DEFAULTS.target, **changes})
        assert message in str(info.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"P": ""}, None),
        ({"P": "off"}, None),
        ({"P": "1", "P_MODE": "off"}, None),
        ({"P": "on"}, DEFAULTS),
        ({"P": " TRUE ", "P_LOG": ""}, DEFAULTS),  # an empty P_* is unset
        (
            {
                "P": "yes",
                "P_MODE": "ASYNC",
                "P_PRIMARY": "bad",
                "P_SHADOW": "good",
                "P_SAMPLE_RATE": "0.25",
                "P_TIMEOUT_S": "2",
                "P_LOG": "x.jsonl",
                "P_RUN_ID": "r1",
                "P_TARGET": "m:T",
                "P_ISOLATION": "process",
                "P_RECORD": "rec.jsonl",
                "P_RECORD_RATE": "0.5",
            },
            SessionOptions(
                target="m:T",
                primary="bad",
                shadow="good",
                mode="async",
                sample_rate=0.25,
                timeout_s=2.0,
                log_path=Path("x.jsonl"),
                run_id="r1",
                isolation="process",
                record=Path("rec.jsonl"),
                record_rate=0.5,
            ),
        ),
    ],
)
def test_options_from_env(env: dict[str, str], expected: SessionOptions | None) -> None:
    assert options_from_env("P", env, DEFAULTS) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"P": "maybe"}, "P must be one of 1, true, yes, on (on) or 0, false, no, off (off), "),
        ({"P": "1", "P_SAMPLE_RATE": "abc"}, "P_SAMPLE_RATE must be a number within 0..1, got 'abc'"),
        ({"P": "1", "P_SAMPLE_RATE": "nan"}, "P_SAMPLE_RATE must be a number within 0..1"),
        ({"P": "1", "P_RECORD_RATE": "2"}, "P_RECORD_RATE must be a number within 0..1, got '2'"),
        ({"P": "1", "P_TIMEOUT_S": "inf"}, "P_TIMEOUT_S must be a number > 0, got 'inf'"),
        ({"P": "1", "P_MODE": "fast"}, "P_MODE must be one of off, sync, async, strict"),
        ({"P": "1", "P_ISOLATION": "vm"}, "P_ISOLATION must be one of thread, process"),
        ({"P": "1", "P_TARGET": "x"}, "P_TARGET must be MODULE:ATTR, got 'x'"),
        ({"P": "1", "P_TYPO": "x"}, "P_TYPO is not a known variable (known: P_MODE, "),
        ({"P_MODE": "sync"}, "P_MODE is set but P is not on: set P=1 to shadow, or unset P_MODE"),
        ({"P": "0", "P_LOG": "x"}, "P_LOG is set but P is not on"),
        ({"P": "1", "P_PRIMARY": "bad", "P_SHADOW": "bad"}, "P_*: primary and shadow are both"),
    ],
)  # fmt: skip
def test_bad_environment_is_an_error_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SessionOptionError) as info:
        options_from_env("P", env, DEFAULTS)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------- sessions


def _opts(tmp_path: Path, **changes: Any) -> SessionOptions:
    values: dict[str, Any] = {"target": TARGET, "log_path": tmp_path / "s.jsonl", "run_id": "r"}
    values.update(changes)
    return SessionOptions(**values)


def test_session_reports_divergences_by_severity(tmp_path: Path) -> None:
    with ShadowSession.start(_opts(tmp_path)) as session:
        assert session.backend.add(3, 1) == 4  # the primary's answer
        assert session.backend.add(1, 1) == 2
        assert session.backend.sign(-5) == -1
    report = session.close()
    assert report.divergences == 1 and report.by_kind == {"value_mismatch": 1}
    assert dict(report.by_severity) == {"critical": 1}  # unexplained value drift: critical
    assert report.at_least("critical") == 1 and report.at_least("minor") == 1
    assert report.totals()["calls"] == 3 == report.totals()["sampled"]
    assert (report.primary, report.shadow) == ("good", "bad")
    verdict = report.verdict()
    log = tmp_path / "s.jsonl"
    assert verdict == (
        "shadow (sync, good vs bad): 1 divergence(s) (1 critical); 3 calls, 3 sampled, "
        f"0 skipped; events in {log}; review: shadow review {log}"
    )
    text = report.render()
    assert text.splitlines()[0] == "shadow run r: 1 divergence(s) (1 critical)"
    assert text.endswith(verdict)
    events = [e["event"] for e in read_events(log)]
    assert events == ["divergence", "run_summary"]


def test_severity_lost_from_the_log_counts_as_critical(tmp_path: Path) -> None:
    session = ShadowSession.start(_opts(tmp_path))
    session.backend.add(3, 0)
    (tmp_path / "s.jsonl").write_text("")  # the events are gone (rotated, truncated...)
    report = session.close()
    assert dict(report.by_severity) == {"unknown": 1}
    assert report.at_least("critical") == 1


def test_default_pair_and_target_by_import_spec(tmp_path: Path) -> None:
    session = ShadowSession.start(_opts(tmp_path, target="tests.test_shadow_session:TARGET"))
    assert session.backend.sign(2) == 1
    report = session.close()
    assert report.divergences == 0 and report.verdict().startswith("shadow (sync, good vs bad)")


def test_off_session_is_the_primary_and_logs_nothing(tmp_path: Path) -> None:
    session = ShadowSession.start(_opts(tmp_path, mode="off"))
    assert session.backend.add(3, 1) == 4
    report = session.close()
    assert report.divergences == 0 and report.log_path is None
    assert not (tmp_path / "s.jsonl").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "no_such_mod_y:T"}, "cannot load the shadow target no_such_mod_y:T: "),
        ({"shadow": "nope"}, "has no implementation 'nope' (known: good, bad)"),
        ({"log_path": Path("/proc/nope/s.jsonl")}, "cannot write the shadow log "),
    ],
)
def test_start_failures_are_one_clear_line(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SessionUnavailableError) as info:
        ShadowSession.start(_opts(tmp_path, **changes))
    assert message in str(info.value) and "Error" not in str(info.value)


def test_isolation_and_recording_are_passed_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shadow._session as session_module

    seen: dict[str, Any] = {}

    class Recorder(session_module.Dispatcher):  # type: ignore[misc, name-defined]
        def __init__(self, **kwargs: Any) -> None:  # keyword arguments only, or TypeError
            seen.clear()
            seen.update(kwargs)
            extra = {
                k: kwargs.pop(k) for k in ("isolation", "record", "record_rate") if k in kwargs
            }
            assert extra == {k: v for k, v in seen.items() if k in extra}
            super().__init__(**kwargs)

    def accepted() -> frozenset[str]:
        return frozenset({"isolation", "record", "record_rate", "target"})

    monkeypatch.setattr(session_module, "Dispatcher", Recorder)
    monkeypatch.setattr(session_module, "_accepted", accepted)
    ShadowSession.start(_opts(tmp_path)).close()
    assert not {"isolation", "record", "record_rate"} & set(seen)
    record = tmp_path / "rec.jsonl"
    options = _opts(tmp_path, isolation="process", record=record, record_rate=0.5)
    ShadowSession.start(options).close()
    assert (seen["isolation"], seen["record"], seen["record_rate"]) == ("process", record, 0.5)
    monkeypatch.setattr(session_module, "_accepted", lambda: frozenset({"target"}))
    with pytest.raises(SessionUnavailableError) as info:
        ShadowSession.start(options)
    assert "isolation=process is not supported by this version" in str(info.value)


# ---------------------------------------------------------------------------- terminal

LONG = "example_operation_with_a_really_long_name_that_must_survive_pipes"
TABLE = Table.of(
    ("op", "kind", "count"),
    [(LONG, "shadow_error_only", 12), ("b|c", "value_mismatch", 3)],
    title="problems",
    right=("count",),
)


def test_plain_tables_keep_every_character() -> None:
    text = render_plain(TABLE)
    assert LONG in text and "shadow_error_only" in text and "…" not in text
    lines = text.splitlines()
    assert lines[0] == "problems"
    assert lines[1].split() == ["op", "kind", "count"]
    assert lines[3].endswith("12") and lines[4].endswith(" 3")  # right-aligned numbers


def test_markdown_tables_escape_pipes() -> None:
    text = render_markdown(TABLE)
    assert "| op | kind | count |" in text and "| --- | --- | ---: |" in text
    assert "| b\\|c | value_mismatch | 3 |" in text


def test_rich_tables_fold_instead_of_cutting() -> None:
    text = render_rich(TABLE, width=40)
    assert "…" not in text
    cells = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    first_column = "".join(c[1].strip() for c in cells)
    second_column = "".join(c[2].strip() for c in cells)
    assert first_column == LONG + "b|c"
    assert second_column == "shadow_error_onlyvalue_mismatch"


def test_terminal_style_follows_the_stream_and_the_variable() -> None:
    pipe = io.StringIO()
    assert resolve_style("auto", pipe, {}) == "plain"
    assert resolve_style("auto", pipe, {"SHADOW_TABLES": "markdown"}) == "markdown"
    with pytest.raises(ValueError, match="SHADOW_TABLES must be one of"):
        resolve_style("auto", pipe, {"SHADOW_TABLES": "html"})
    term = Terminal(pipe, env={})
    term.table(TABLE)
    term.line("done: 2 problems")
    assert LONG in pipe.getvalue() and pipe.getvalue().endswith("done: 2 problems\n")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_style("auto", Tty(), {}) == "rich"


def test_ragged_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        Table.of(("a", "b", "c"), [("x", "y")])


def test_os_errors_in_words() -> None:
    import errno

    assert describe_os_error(FileNotFoundError(errno.ENOENT, "x")) == "no such directory"
    assert describe_os_error(PermissionError(errno.EACCES, "x")) == "permission denied"
    assert describe_os_error(OSError(errno.EBUSY, "x")) == "device or resource busy"
