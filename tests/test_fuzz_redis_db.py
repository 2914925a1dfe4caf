"""The example database a CI fleet shares: Hypothesis' RedisExampleDatabase, for real.

Starts its own ``redis-server`` on a free loopback port (skips when the binary or the
``redis`` package is missing), fuzzes a buggy port once with the database, and checks that
a second worker replays the saved failure first: it finds the bug in its first example.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docs.examples.intervals import TARGET
from shadow._fuzz import FuzzConfig, fuzz_target
from tests.redis_helpers import redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with redis_server(tmp_path) as address:
        yield address


def test_fleet_shares_failures_through_redis(redis_url: tuple[str, int]) -> None:
    import redis
    from hypothesis.extra.redis import RedisExampleDatabase

    host, port = redis_url
    db = RedisExampleDatabase(redis.Redis(host=host, port=port), key_prefix=b"shadow-test")
    first = fuzz_target(TARGET, FuzzConfig(max_examples=300, database=db), shadow="off_by_one")
    assert first.findings
    assert redis.Redis(host=host, port=port).keys(b"shadow-test*")  # the failure was saved
    # Another worker (random seed): the saved example is replayed before anything new.
    # (An explicit seed, like derandomize, turns the database off: Hypothesis design.)
    second = fuzz_target(TARGET, FuzzConfig(max_examples=300, database=db), shadow="off_by_one")
    assert second.findings and second.results[0].first_divergence_at == 1
