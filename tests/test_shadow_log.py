"""The event log: whole lines under many threads and processes and after SIGKILL, a line cap
that shrinks instead of dropping, write failures that never reach the caller, and the torn-line
rule every reader shares. (kill -9 among several writers: tests/test_log_kill.py.)"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shadow._log import (
    BLOB_THRESHOLD,
    IDENTITY_FIELDS,
    LINE_CAP,
    MIN_LINE_CAP,
    READ_LINE_LIMIT,
    RESYNC_MARK,
    EventLog,
    LogWriteWarning,
    ReadStats,
    load_input,
    parse_line,
    read_events,
)

BIG = "x" * 100_000  # far above PIPE_BUF: atomicity must come from the lock, not the size


def _write_many(path: str, tag: str, n: int, lock: bool = False) -> None:
    log = EventLog(path, lock=lock)
    for i in range(n):
        log.emit(
            "divergence", {"writer": tag, "i": i, "pad": BIG if i % 7 == 0 else "y" * (i % 300)}
        )
    log.close()


def _check(path: Path, expected: int) -> None:
    raw = path.read_bytes().split(b"\n")
    assert raw[-1] == b""
    lines = raw[:-1]
    assert len(lines) == expected
    for line in lines:
        obj = orjson.loads(line)  # raises on a torn or interleaved line
        assert obj["schema"] == "shadow.event/1"


LOCKING = pytest.mark.parametrize("lock", [False, True], ids=["single-write", "flock"])


@LOCKING
def test_threads_never_tear_lines(tmp_path: Path, lock: bool) -> None:
    path = tmp_path / "t.jsonl"
    log = EventLog(path, lock=lock)

    def work(tag: int) -> None:
        for i in range(300):
            log.emit("divergence", {"writer": tag, "i": i, "pad": BIG if i % 11 == 0 else "z"})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    _check(path, 8 * 300)


@LOCKING
def test_processes_never_tear_lines(tmp_path: Path, lock: bool) -> None:
    path = tmp_path / "p.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_write_many, args=(str(path), f"p{i}", 400, lock)) for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    _check(path, 4 * 400)


def test_sigkill_mid_logging_leaves_parsable_lines(tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from shadow._log import EventLog
        log = EventLog({str(path)!r})
        i = 0
        while True:
            log.emit("divergence", {{"i": i, "pad": "x" * (i % 5000) * 20}})
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 2_000_000) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete = lines[:-1]
    assert len(complete) > 10
    for line in complete:
        orjson.loads(line)
    # Only the tail after the last newline may be incomplete (the event being written).
    assert sum(1 for _ in read_events(path)) >= len(complete)


def test_fsync_mode_writes_lines_and_blobs(tmp_path: Path) -> None:
    with EventLog(tmp_path / "f.jsonl", fsync=True) as log:
        log.emit("divergence", {"a": 1})
        ref = log.store_blob("b" * 64, b"{}")
    assert (ref, log.events_written, log.write_errors) == ("blobs/" + "b" * 64 + ".json", 1, 0)
    assert [e["a"] for e in read_events(tmp_path / "f.jsonl")] == [1]
    assert (tmp_path / str(ref)).read_bytes() == b"{}"


def test_big_input_goes_to_a_blob(tmp_path: Path) -> None:
    from shadow._events import attach_input

    log = EventLog(tmp_path / "b.jsonl")
    fields: dict[str, object] = {}
    encoded = {"args": ["q" * (BLOB_THRESHOLD + 10)], "kwargs": {}}
    attach_input(fields, encoded, log)
    assert fields["input"] is None and str(fields["input_ref"]).startswith("blobs/")
    assert load_input(fields, tmp_path / "b.jsonl") == encoded
    assert fields["input_digest"] == "sha256:" + str(fields["input_ref"])[6:-5]


def test_reader_skips_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    log = EventLog(path)
    log.emit("divergence", {"a": 1})
    log.close()
    with open(path, "ab") as fh:
        fh.write(b'{"other": "program"}\n{not json\n\n')
    stats = ReadStats()
    assert len(list(read_events(path, stats))) == 1
    assert (stats.lines, stats.events, stats.unparsable, stats.foreign, stats.blank) == (
        4,
        1,
        1,
        1,
        1,
    )


# --- The line cap: an event is shrunk to fit, never dropped -----------------------------------

IDENTITY = {
    "ts": "2026-01-01T00:00:00.000000Z",
    "run_id": "r",
    "call_id": "r-000001",
    "target": "m:T",
    "op": "rank",
    "kind": "value_mismatch",
    "severity": "critical",
    "signature": "0123456789abcdef",
}
PREFIX = b'{"schema":"shadow.event/1","event":"divergence"'


def _one_line(path: Path, fields: dict[str, Any], **options: Any) -> tuple[bytes, EventLog]:
    log = EventLog(path, **options)
    log.emit("divergence", fields)
    log.close()
    data = path.read_bytes()
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    return data, log


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def _cycle() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


# case: (the fields beyond the identity ones, built on demand (spawned writer processes import
# this module), and the field that must be reported as changed, None when all are dropped)
HOSTILE: dict[str, tuple[Callable[[], dict[str, Any]], str | None]] = {
    "long string": (lambda: {"message": "m" * 5_000_000}, "message"),
    "big diff": (
        lambda: {
            "diff": [
                {"path": f"root[{i}]", "primary": "p" * 100_000, "shadow": "s"} for i in range(50)
            ]
        },
        "diff",
    ),
    "long list": (lambda: {"values": list(range(2_000_000))}, "values"),
    "deep nesting": (lambda: {"value": _deep(400)}, "value"),
    "cycle": (lambda: {"value": _cycle()}, "value"),
    "lone surrogate": (lambda: {"message": "bad \ud800 text"}, "message"),
    "int over 64 bits": (lambda: {"n": 10**30}, "n"),
    "many small fields": (lambda: {f"f{i}": i for i in range(200_000)}, None),
    "huge key": (lambda: {"k" * 2_000_000: 1}, None),
    "hostile repr": (lambda: {"obj": BadRepr(), "message": "m" * 2_000_000}, "message"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_an_oversized_or_unrenderable_event_is_shrunk_and_still_read(
    tmp_path: Path, case: str
) -> None:
    from shadow._review.reader import ReadStats as ReviewStats
    from shadow._review.reader import iter_events

    build, changed = HOSTILE[case]
    extra = build()
    path = tmp_path / "cap.jsonl"
    data, log = _one_line(path, {**IDENTITY, **extra})
    assert len(data) <= LINE_CAP and data.startswith(PREFIX)
    event = orjson.loads(data)
    assert {k: event[k] for k in IDENTITY} == IDENTITY
    if changed is not None:
        assert changed in event["$truncated_fields"]
    else:  # nothing but the identity fields could be kept
        assert event["$dropped_fields"] == len(extra)
    assert (log.events_written, log.events_truncated, log.events_lost) == (1, 1, 0)
    # What review reads: the event is there, a divergence it can group and report.
    stats = ReviewStats()
    (seen,) = list(iter_events([path], stats))
    assert seen.data["call_id"] == IDENTITY["call_id"] and not stats.skipped


def test_truncation_markers_keep_the_structure_around_them(tmp_path: Path) -> None:
    diff = [{"path": f"root[{i}]", "primary": "p" * 100_000, "shadow": "s"} for i in range(50)]
    fields = {**IDENTITY, "diff": diff, "diff_count": 50, "message": "m" * 3_000_000}
    data, _ = _one_line(tmp_path / "m.jsonl", fields)
    event = orjson.loads(data)
    assert [d["path"] for d in event["diff"]] == [d["path"] for d in diff]
    assert all(d["shadow"] == "s" for d in event["diff"])
    assert event["diff"][0]["primary"] == {"$truncated": "str", "size": 100_000, "head": "p" * 512}
    assert event["message"] == {"$truncated": "str", "size": 3_000_000, "head": "m" * 512}
    assert event["diff_count"] == 50
    assert sorted(event["$truncated_fields"]) == ["diff", "message"]


def test_identity_fields_are_trimmed_only_as_a_last_resort(tmp_path: Path) -> None:
    fields = {**IDENTITY, "call_id": "c" * 3_000_000, "op": {"not": "a string"}, "x": 1}
    data, log = _one_line(tmp_path / "i.jsonl", fields)
    event = orjson.loads(data)
    assert len(data) <= LINE_CAP and data.startswith(PREFIX)
    assert event["call_id"] == "c" * 512
    assert event["op"] == {"$truncated": "dict", "size": 1, "head": "{'not': 'a string'}"}
    assert (event["kind"], event["signature"]) == (IDENTITY["kind"], IDENTITY["signature"])
    assert (event["$truncated_fields"], event["$dropped_fields"]) == (["x"], 1)
    assert log.events_truncated == 1


def test_an_event_under_the_cap_is_written_as_is(tmp_path: Path) -> None:
    fields = {**IDENTITY, "input": {"args": ["q" * 50_000], "kwargs": {}}, "diff": []}
    data, log = _one_line(tmp_path / "n.jsonl", fields)
    assert data == orjson.dumps(
        {"schema": "shadow.event/1", "event": "divergence", **fields},
        option=orjson.OPT_APPEND_NEWLINE,
    )
    assert log.events_truncated == 0


def test_fields_cannot_rename_the_line(tmp_path: Path) -> None:
    data, _ = _one_line(tmp_path / "r.jsonl", {"schema": "evil/1", "event": "other", "a": 1})
    assert data == b'{"schema":"shadow.event/1","event":"divergence","a":1}\n'


def test_a_cap_too_small_for_the_last_resort_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line_cap"):
        EventLog(tmp_path / "x.jsonl", line_cap=MIN_LINE_CAP - 1)


_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(0, 40_000)),
)
_VALUE = st.recursive(
    _LEAF,
    lambda kids: st.one_of(
        st.lists(kids, max_size=6),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), kids, max_size=6),
        st.builds(lambda x, n: [x] * n, _LEAF, st.integers(0, 120)),
    ),
    max_leaves=12,
)
_NAME = st.text(min_size=1, max_size=10).filter(lambda s: s not in IDENTITY_FIELDS)
_IDENTITY_VALUE = st.one_of(
    st.sampled_from(["r-000001", "value_mismatch", "0123456789abcdef"]),
    st.builds(lambda n: "i" * n, st.integers(0, 100_000)),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.dictionaries(st.sampled_from(sorted(IDENTITY)), _IDENTITY_VALUE),
    extra=st.dictionaries(_NAME, _VALUE, max_size=8),
)
def test_every_event_fits_the_cap_and_keeps_what_it_can(
    identity: dict[str, str], extra: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, log = _one_line(Path(tmp) / "h.jsonl", {**identity, **extra}, line_cap=MIN_LINE_CAP)
    assert len(data) <= MIN_LINE_CAP and data.startswith(PREFIX)
    assert (log.events_written, log.events_lost) == (1, 0)
    event = orjson.loads(data)
    for name, value in identity.items():  # kept whole, or (last resort) their first 512 chars
        assert event[name] == value or (len(event[name]) == 512 and value.startswith(event[name]))
    if "$dropped_fields" in event:
        assert event["$dropped_fields"] == len(extra)
        assert not set(event) & set(map(str, extra))
        return
    changed = event.get("$truncated_fields", [])
    for name, value in extra.items():
        key = name if name in event else str(name)
        if name not in changed:
            expected = orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS)
            assert event[key] == orjson.loads(expected)


# --- Failures never reach the caller ----------------------------------------------------------


def _lose_three(log: EventLog) -> None:
    for i in range(3):
        log.emit("divergence", {**IDENTITY, "i": i})


@LOCKING
def test_a_full_device_loses_events_counted_and_warned_once(lock: bool) -> None:
    log = EventLog("/dev/full", lock=lock)  # every write fails with ENOSPC
    with pytest.warns(LogWriteWarning) as warned:
        _lose_three(log)
        log.close()
        log.close()
    assert (log.events_written, log.events_lost, log.write_errors) == (0, 3, 3)
    (warning,) = warned
    assert "/dev/full" in str(warning.message) and "No space left on device" in str(warning.message)


def test_the_warning_cannot_raise_either(capsys: pytest.CaptureFixture[str]) -> None:
    log = EventLog("/dev/full")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python -W error: a warning would raise
        _lose_three(log)
        with log:
            pass
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "/dev/full" in lines[0]
    assert log.events_lost == 3


def test_a_descriptor_closed_under_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    log = EventLog(path)
    log.emit("divergence", {**IDENTITY, "i": 0})
    (fd,) = [int(n) for n in os.listdir("/proc/self/fd") if _fd_path(n) == str(path)]
    os.close(fd)  # as a daemonizing library closing every descriptor would
    with pytest.warns(LogWriteWarning, match="Bad file descriptor"):
        log.emit("divergence", {**IDENTITY, "i": 1})
        with log:  # __exit__ and close() do not raise either
            pass
    assert (log.events_written, log.events_lost, log.write_errors) == (1, 1, 2)
    assert [e["i"] for e in read_events(path)] == [0]


def _fd_path(fd: str) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def test_emit_after_close_is_counted_not_raised(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "a.jsonl")
    log.close()
    with pytest.warns(LogWriteWarning, match="emit after close"):
        _lose_three(log)
    assert (log.events_written, log.events_lost, log.write_errors) == (0, 3, 0)


def test_a_blob_that_cannot_be_stored_is_counted_not_raised(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("a file where the blob folder should be")
    log = EventLog(tmp_path / "b.jsonl")
    with pytest.warns(LogWriteWarning, match="blob not stored"):
        assert log.store_blob("0" * 64, b"{}") is None
    assert (log.write_errors, log.events_lost) == (1, 0)
    with pytest.raises(ValueError, match="sha256"):
        log.store_blob("../../etc/passwd", b"{}")


_FSIZE_CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
from shadow._log import EventLog
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))
log = EventLog({path!r})
written = []
for i in range(10):
    before = log.events_written
    log.emit("divergence", {{"call_id": f"c{{i}}", "pad": "x" * 70_000}})
    if log.events_written > before:
        written.append(i)
log.close()
print(json.dumps([written, log.events_written, log.events_lost, log.write_errors]))
"""


def test_the_file_size_limit_cuts_a_line_and_the_next_writer_recovers(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    root = str(Path(__file__).resolve().parent.parent)
    code = _FSIZE_CHILD.format(root=root, path=str(path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    written, n_written, n_lost, n_errors = orjson.loads(proc.stdout)
    assert written == [0, 1, 2, 3] and (n_written, n_lost, n_errors) == (4, 6, 6)
    assert "File too large" in proc.stderr and proc.stderr.count("LogWriteWarning") == 1
    assert path.stat().st_size == 300_000  # the fifth line was cut at the limit
    with EventLog(path) as log:  # another writer, without the limit, appends after the cut
        log.emit("divergence", {"call_id": "after"})
    stats = ReadStats()
    assert [e["call_id"] for e in read_events(path, stats)] == ["c0", "c1", "c2", "c3", "after"]
    assert (stats.torn, stats.unparsable) == (1, 0)


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, to fill for real (needs root and mount; skipped, and said so, if not)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"cannot run mount: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=30)


def test_a_full_filesystem_then_freed_loses_only_the_failed_events(tiny_filesystem: Path) -> None:
    path = tiny_filesystem / "logs" / "full.jsonl"
    filler = tiny_filesystem / "filler"
    log = EventLog(path)
    filler.write_bytes(b"f" * 160_000)
    written: list[int] = []

    def emit(i: int) -> None:
        before = log.events_written
        log.emit("divergence", {**IDENTITY, "call_id": f"c{i}", "pad": "x" * 9_000})
        if log.events_written > before:
            written.append(i)

    with pytest.warns(LogWriteWarning, match="No space left on device"):
        for i in range(20):
            emit(i)
        assert log.store_blob("a" * 64, b"x" * 50_000) is None
        filler.unlink()  # space comes back: writing resumes where it stopped
        for i in range(20, 30):
            emit(i)
        log.close()
    assert log.events_lost > 0 and log.events_written == len(written)
    assert log.events_written + log.events_lost == 30
    assert written[-10:] == list(range(20, 30))
    assert [e["call_id"] for e in read_events(path)] == [f"c{i}" for i in written]
    assert not list((tiny_filesystem / "logs").glob("blobs/.*.tmp"))  # no half-written blob


def test_the_log_leaves_structlog_global_configuration_alone(tmp_path: Path) -> None:
    before = structlog.get_config()
    with EventLog(tmp_path / "s.jsonl") as log:
        log.emit("divergence", {"a": 1})
    assert structlog.get_config() == before


# --- Reading: the torn-line rule ------------------------------------------------------------


def _line(call_id: str, **fields: Any) -> bytes:
    event = {"schema": "shadow.event/1", "event": "divergence", "call_id": call_id, **fields}
    return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


# A line holding shadow events of its own (an input that is a log excerpt): its torn prefixes
# contain the resync mark several times, at object starts.
NESTED = _line("a", input={"args": [orjson.loads(_line(f"n{i}")) for i in range(3)]}, pad="é")
WHOLE = _line("b", input={"args": [orjson.loads(_line("inner"))]})


def test_an_intact_line_parses_as_itself() -> None:
    assert parse_line(NESTED) == (orjson.loads(NESTED), 0)


def test_every_torn_prefix_is_dropped_and_the_whole_line_after_it_kept() -> None:
    expected = orjson.loads(WHOLE)
    for cut in range(1, len(NESTED) - 1):  # every place a killed write can stop
        assert parse_line(NESTED[:cut] + WHOLE) == (expected, cut), cut


def test_a_zero_filled_gap_before_a_line_is_torn_bytes() -> None:
    # What a crash can leave on some filesystems: a stretch of NULs where data was expected.
    assert parse_line(b"\x00" * 4096 + WHOLE) == (orjson.loads(WHOLE), 4096)


def test_several_torn_prefixes_in_a_row() -> None:
    line = NESTED[:150] + WHOLE[:40] + NESTED[:7] + WHOLE  # 197 torn bytes
    assert parse_line(line) == (orjson.loads(WHOLE), 197)


@pytest.mark.parametrize(
    "line",
    [
        NESTED[:-5],
        NESTED[:100] + b"\n",
        b"junk\n",
        NESTED[:50] + b"}\n",
        b'\x00\xff{"schema":"shadow.event/1","ev\n',
    ],
    ids=["cut-at-eof", "cut-then-newline", "junk", "no-whole-line", "binary"],
)
def test_a_line_with_no_whole_event_raises_the_parse_error(line: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        parse_line(line)


def test_a_line_stuffed_with_marks_is_given_up_not_scanned_forever() -> None:
    # 100,000 marks: trying each would cost 10^5 passes over 2 MB; the budget stops early.
    with pytest.raises(orjson.JSONDecodeError):
        parse_line(RESYNC_MARK * 100_000 + b"}\n")


def test_read_events_recovers_the_line_glued_to_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with open(path, "wb") as fh:
        fh.write(_line("first") + NESTED[:200])  # a writer killed mid-line
    with EventLog(path) as log:
        log.emit("divergence", {"call_id": "glued"})
        log.emit("divergence", {"call_id": "next"})
    stats = ReadStats()
    assert [e["call_id"] for e in read_events(path, stats)] == ["first", "glued", "next"]
    assert (stats.lines, stats.events, stats.torn, stats.unparsable) == (3, 3, 1, 0)


def test_the_review_reader_reads_lines_well_over_the_cap() -> None:
    from shadow._review.reader import MAX_LINE_BYTES

    # A torn prefix (shorter than a line) glued to a whole line must still be read whole.
    assert MAX_LINE_BYTES >= 2 * LINE_CAP and READ_LINE_LIMIT >= 2 * LINE_CAP


def test_load_input_reads_only_blobs_that_match_their_name(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "l.jsonl")
    payload = b'{"args":[1],"kwargs":{}}'
    ref = log.store_blob(hashlib.sha256(payload).hexdigest(), payload)
    assert ref is not None
    assert load_input({"input": None, "input_ref": ref}, log.path) == {"args": [1], "kwargs": {}}
    with pytest.raises(ValueError, match="not a blob reference"):
        load_input({"input": None, "input_ref": "../../etc/passwd"}, log.path)
    (tmp_path / ref).write_bytes(b'{"args":[2],"kwargs":{}}')
    with pytest.raises(ValueError, match="does not match"):
        load_input({"input": None, "input_ref": ref}, log.path)
