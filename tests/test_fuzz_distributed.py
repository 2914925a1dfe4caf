"""``shadow fuzz --workers N`` on a local Dask cluster: one report, one log, a shared database.

The target is the worked example's buggy port (``docs/examples/intervals.py``,
``off_by_one``: touching intervals are not merged). Each run checks what a nightly fleet
relies on: the workers' findings come back as one problem in one report and one log, the
failing example is in the shared example database (a fresh fuzzer replays it as its very
first example), and the logged finding replays into the regression corpus. The same runs
with a Redis example database on loopback when ``redis-server`` is installed.

``shadow._distributed`` itself: results in order, a failing task, a dying worker, a hung task
and an unreachable scheduler are each a one-line :class:`DistributedError`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import distributed  # noqa: F401  (the `distributed` extra, installed by the setup: missing fails)
import orjson
import pytest

from docs.examples.intervals import TARGET
from shadow._cli import main
from shadow._distributed import DaskCluster, DistributedError, map_tasks
from shadow._fuzz import Finding, FuzzConfig, fuzz_target
from shadow._fuzz_workers import REDIS_KEY_PREFIX, merge_findings, open_database
from tests.redis_helpers import free_port, redis_server

# ---------------------------------------------------------------------- helpers


def _events(log: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in log.read_bytes().splitlines() if line.strip()]


def _fuzz_on_two_workers(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> tuple[str, list[dict[str, object]]]:
    log = tmp_path / "fuzz.jsonl"
    argv = ["fuzz", "--target", TARGET.import_spec, "--shadow", "off_by_one"]
    argv += ["--workers", "2", "--examples", "400", "--seed", "11"]
    argv += ["--log", str(log), "--database", database]
    assert main(argv) == 1
    out = capsys.readouterr().out
    return out, _events(log)


def _check_one_report(out: str, events: list[dict[str, object]]) -> dict[str, object]:
    """One table, one closing line, one summary; every event of the one run. Returns the
    divergence event of the (single) problem."""
    assert "2 worker(s) on a local Dask cluster" in out and "seeds 11..12" in out
    assert out.count("distinct problem(s)") == 1
    assert out.count("shadow fuzz: docs.examples.intervals:TARGET (sorting vs off_by_one)\n") == 1
    assert "shadow fuzz: 1 distinct problem(s), 0 error(s)" in out
    summaries = [e for e in events if e["event"] == "run_summary"]
    divergences = [e for e in events if e["event"] == "divergence"]
    assert len(summaries) == 1 and len(divergences) == 1
    assert {e["run_id"] for e in events} == {summaries[0]["run_id"]}
    counters = summaries[0]["counters"]
    assert isinstance(counters, dict)
    examples = counters["merge"]["calls"]
    assert f"{examples} examples, seed 11" in out  # the table's total is the log's
    assert examples >= 200  # both workers' examples were counted (200 each at most)
    event = divergences[0]
    assert event["kind"] == "value_mismatch" and event["signature_parts"] == ["len(root):length"]
    return event


def _replays_first(database: str) -> None:
    """A fresh single-process fuzzer on the shared database finds the problem at once."""
    again = fuzz_target(
        TARGET,
        FuzzConfig(max_examples=50, seed=999, database=open_database(database)),
        shadow="off_by_one",
    )
    assert again.findings and again.results[0].first_divergence_at == 1


def _pins_into_corpus(tmp_path: Path, event: dict[str, object]) -> None:
    corpus = tmp_path / "corpus"
    replay = ["replay", str(tmp_path / "fuzz.jsonl"), "--call", str(event["call_id"])]
    replay += ["--target", TARGET.import_spec, "--save", "--corpus", str(corpus)]
    assert main(replay) == 1  # still diverges, and saved
    cases = list(corpus.glob("merge-*.json"))
    assert len(cases) == 1
    case = orjson.loads(cases[0].read_bytes())
    assert case["input_digest"] == event["input_digest"]


# ---------------------------------------------------------------------- the fleet on one machine


@pytest.mark.slow
def test_two_workers_one_report_shared_directory_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "examples"
    out, events = _fuzz_on_two_workers(tmp_path, str(database), capsys)
    event = _check_one_report(out, events)
    assert str(event["call_id"]).startswith(f"{event['run_id']}-w")  # which worker found it
    assert str(event["replay"]).startswith(f"shadow replay {tmp_path / 'fuzz.jsonl'} --call ")
    assert any(p.is_file() for p in database.rglob("*"))
    _replays_first(str(database))
    _pins_into_corpus(tmp_path, event)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as (host, port):
        yield f"redis://{host}:{port}/0"


@pytest.mark.slow
def test_two_workers_share_a_redis_database(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    out, events = _fuzz_on_two_workers(tmp_path, redis_url, capsys)
    event = _check_one_report(out, events)
    assert f"sharing the example database {redis_url}" in out
    assert redis.Redis.from_url(redis_url).keys(REDIS_KEY_PREFIX + b"*")
    _replays_first(redis_url)
    _pins_into_corpus(tmp_path, event)


def test_bad_worker_count_and_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["fuzz", "--target", TARGET.import_spec, "--no-database"]
    assert main([*base, "--workers", "0"]) == 2
    assert "shadow fuzz: --workers must be at least 1, got 0" in capsys.readouterr().out
    if pytest.importorskip("redis"):
        url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        argv = ["fuzz", "--target", TARGET.import_spec, "--database", url, "--workers", "2"]
        assert main(argv) == 2
        out = capsys.readouterr().out
        assert f"shadow fuzz: cannot reach the example database {url}" in out
        assert "Traceback" not in out


# ---------------------------------------------------------------------- merging findings


def _finding(sig: str, parts: tuple[str, ...], size: int, at: float, hits: int) -> Finding:
    value = list(range(size))
    return Finding(
        op="merge",
        kind="value_mismatch",
        severity="critical",
        signature=sig,
        call_id=f"run-w{size}-000001",
        replay="",
        input={"args": [value], "kwargs": {}},
        input_repr=repr(((value,), {})),
        event={},
        examples_to_find=int(at * 10),
        seconds_to_find=at,
        hits=hits,
        parts=parts,
    )


def test_merge_keeps_smallest_input_sums_hits_and_takes_earliest_time() -> None:
    a_late_small = _finding("aaaa", ("len(root):length",), 1, 2.0, 3)
    a_early_big = _finding("aaaa", ("len(root):length",), 5, 0.5, 4)
    consequence = _finding("cccc", ("len(root):length", "root[0]:value"), 2, 1.0, 2)
    other = _finding("bbbb", ("root[0]:type:int>str",), 3, 3.0, 1)
    merged = merge_findings([other, a_late_small, consequence, a_early_big])
    assert [f.signature for f in merged] == ["aaaa", "bbbb"]
    first = merged[0]
    assert first.input == {"args": [[0]], "kwargs": {}}  # the smallest input of its signature
    assert first.hits == 3 + 4 + 2  # the consequence counts as this problem
    assert first.seconds_to_find == 0.5 and first.examples_to_find == 5
    assert merged[1].hits == 1


def test_a_consequence_found_first_joins_its_cause() -> None:
    """One worker shrank to a consequence (more differences) before another found the
    cause: one problem, under the cause's signature, from the time of the first sighting."""
    consequence = _finding("cccc", ("len(root):length", "root[*][1]:value"), 2, 0.4, 2)
    cause = _finding("aaaa", ("len(root):length",), 3, 1.2, 5)
    (merged,) = merge_findings([consequence, cause])
    assert merged.signature == "aaaa" and merged.parts == ("len(root):length",)
    assert merged.hits == 7 and merged.seconds_to_find == 0.4


# ---------------------------------------------------------------------- shadow._distributed


def _square(x: int) -> int:
    return x * x


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    return x


def _exit_on_two(x: int) -> int:
    if x == 2:
        os._exit(3)
    return x


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.slow
def test_map_tasks_returns_results_in_order() -> None:
    assert map_tasks(_square, [3, 1, 2, 5], workers=2) == [9, 1, 4, 25]


@pytest.mark.slow
def test_failures_are_one_line_errors_not_hangs() -> None:
    with DaskCluster(workers=2) as cluster:
        assert cluster.threads() == 2
        with pytest.raises(DistributedError, match=r"^task 2 failed on a local Dask cluster") as e:
            cluster.map(_fail_on_two, [1, 2, 3])
        assert "two is not allowed" in str(e.value) and "\n" not in str(e.value)
        with pytest.raises(DistributedError, match=r"item 2 failed .* worker process died"):
            cluster.map(_exit_on_two, [1, 2], name=lambda i, _x: f"item {i + 1}")
        assert cluster.map(_square, [4]) == [16]  # the cluster still works afterwards
        with pytest.raises(DistributedError, match=r"task 1 did not finish within 1 s"):
            cluster.map(_sleep, [60.0], timeout_s=1)  # closing the cluster ends it


def test_unreachable_scheduler_is_an_error() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    with (
        pytest.raises(DistributedError, match=f"cannot reach the Dask scheduler at {address}"),
        DaskCluster(workers=1, scheduler=address, start_timeout_s=2),
    ):
        pass
