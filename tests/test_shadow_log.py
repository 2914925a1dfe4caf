"""The event log: whole lines under many threads and processes, and after SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest

from shadow.log import BLOB_THRESHOLD, EventLog, load_input, read_events

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
        from shadow.log import EventLog
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


def test_big_input_goes_to_a_blob(tmp_path: Path) -> None:
    from shadow.events import attach_input

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
        fh.write(b'{"other": "program"}\n{not json\n')
    from shadow.log import ReadStats

    stats = ReadStats()
    assert len(list(read_events(path, stats))) == 1
    assert (stats.unparsable, stats.foreign) == (1, 1)
