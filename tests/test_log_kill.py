"""kill -9 of one writer among several: the others lose nothing, the killed one its in-flight lines.

4 writer processes x 4 threads append to one log, a mix of small and multi-page lines (so
SIGKILL can land in the middle of a ``write``); one writer is killed while they all run.
Repeated over fresh logs, each read back with the resynchronising reader. The writers are
forked by one launcher process (spawned once, it imports the log module once), so the 80
writers cost a fork each, not an interpreter start.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path

import orjson

from shadow._log import LINE_CAP, ReadStats, read_events

WRITERS = 4
THREADS = 4
PER_THREAD = 60
ROUNDS = 20


def _pad(seq: int, victim: bool = False) -> str:
    """A deterministic mix of small lines and multi-page lines (over 64 KiB, below the cap).

    The writer to be killed writes longer lines, more often, so that it is more often in the
    middle of one when the signal lands (a write is cut at a page boundary).
    """
    if victim and seq % 2 == 1:
        return "B" * (400_000 + (seq * 7919) % 500_000)
    if not victim and seq % 4 == 1:
        return "b" * (70_000 + (seq * 7919) % 130_000)
    return "s" * (50 + seq % 200)


def _write(path: str, writer: int, endless: bool) -> None:
    """``PER_THREAD`` events per thread; the writer to be killed goes on until it is."""
    from shadow._log import EventLog

    log = EventLog(path)

    def run(thread: int) -> None:
        for seq in itertools.count() if endless else range(PER_THREAD):
            log.emit(
                "divergence",
                {
                    "run_id": f"w{writer}",
                    "call_id": f"w{writer}-t{thread}-{seq}",
                    "op": "kill_test",
                    "kind": "value_mismatch",
                    "severity": "minor",
                    "signature": "0" * 16,
                    "w": writer,
                    "t": thread,
                    "seq": seq,
                    "pad": _pad(seq, victim=endless),
                },
            )

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()


def _wait_for_size(path: str, size: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if os.stat(path).st_size >= size:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.0005)


def _wait_mid_line(path: str) -> None:
    """Wait (briefly) for a moment when some writer is in the middle of a line.

    The file grows page by page during a long write, so a last byte that is not a newline
    means a line is being written; the killed writer is then the likeliest to be writing it.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                return
    finally:
        os.close(fd)


def _launch(folder: str, rounds: int) -> None:
    """Run every round: fork the writers, SIGKILL one once a third of the log is written."""
    expected = WRITERS * THREADS * sum(len(_pad(s)) + 200 for s in range(PER_THREAD))
    results: dict[str, object] = {}
    for r in range(rounds):
        path = os.path.join(folder, f"round-{r:02d}.jsonl")
        victim = r % WRITERS
        pids = []
        for w in range(WRITERS):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 1
                try:
                    _write(path, w, endless=w == victim)
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        _wait_for_size(path, expected // 3)
        _wait_mid_line(path)
        os.kill(pids[victim], signal.SIGKILL)
        statuses = [os.waitpid(pid, 0)[1] for pid in pids]
        results[str(r)] = {"victim": victim, "statuses": statuses}
    Path(folder, "results.json").write_bytes(orjson.dumps(results))


def _verify(path: Path, victim: int) -> tuple[int, int]:
    """Assert the round's guarantees; returns (lines of the killed writer, torn lines)."""
    stats = ReadStats()
    seqs: dict[tuple[int, int], list[int]] = defaultdict(list)
    for event in read_events(path, stats):
        assert event["call_id"] == f"w{event['w']}-t{event['t']}-{event['seq']}"
        assert event["pad"] == _pad(event["seq"], victim=event["w"] == victim)
        seqs[event["w"], event["t"]].append(event["seq"])
    for w in range(WRITERS):
        for t in range(THREADS):
            got = seqs.get((w, t), [])
            if w == victim:
                # Everything before the in-flight line, once and in order; nothing after it.
                assert got == list(range(len(got))), f"killed writer, thread {t}: {got}"
            else:
                assert got == list(range(PER_THREAD)), f"writer {w}, thread {t} lost lines"
    victim_lines = sum(len(seqs.get((victim, t), [])) for t in range(THREADS))
    # Only the killed writer's in-flight lines (one per thread at most) may be torn.
    assert stats.torn + stats.unparsable <= THREADS, stats
    assert (stats.foreign, stats.oversized) == (0, 0), stats
    return victim_lines, stats.torn + stats.unparsable


def test_kill_9_of_one_writer_costs_only_its_in_flight_lines(tmp_path: Path) -> None:
    assert LINE_CAP > 900_000 + 1000  # the big lines are multi-page but never shrunk
    launcher = multiprocessing.get_context("spawn").Process(
        target=_launch, args=(str(tmp_path), ROUNDS)
    )
    launcher.start()
    launcher.join(240)
    assert launcher.exitcode == 0
    results = orjson.loads((tmp_path / "results.json").read_bytes())
    torn_total = 0
    for r in range(ROUNDS):
        info = results[str(r)]
        victim = info["victim"]
        for w, status in enumerate(info["statuses"]):
            if w == victim:
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            else:
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (r, w, status)
        path = tmp_path / f"round-{r:02d}.jsonl"
        _, torn = _verify(path, victim)
        torn_total += torn
        path.unlink()
    print(f"{ROUNDS} rounds: {torn_total} torn lines of killed writers dropped")
    # The kill is timed for a moment mid-line, so about half the rounds tear a line (of the
    # killed writer, usually glued to another writer's whole line); none at all would mean
    # this test no longer exercises what it is for.
    assert torn_total > 0, "no kill landed in the middle of a line"
