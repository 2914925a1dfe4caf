"""Fuzzing on many workers (Dask distributed), with one log and one report.

Why this shape: each worker is an ordinary :class:`~shadow._fuzz.Fuzzer` with a seed of its
own (the run's base seed + the worker's index), so the workers search different parts of
the input space, and they share what they find through the Hypothesis example database (a
directory on one machine, Redis across machines): a failure saved by one worker is
replayed first by the others' next rounds, and by the next run. Workers write nothing:
they return their findings (events as dicts) and counters; the client merges them (one
problem per signature, as one fuzzer would have counted it) and writes one log.

The budget: ``--seconds`` is the wall time of the search, the same for every worker (they
run side by side, so the run takes that long, not N times that); ``--examples`` is shared
out between the workers. Starting the cluster and the shadow's worker processes is not
counted, as in a single-process run.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from shadow._codec import canonical_json
from shadow._config import find_pyproject
from shadow._events import attach_input, replay_command
from shadow._fuzz import Finding, FuzzConfig, Fuzzer, FuzzReport, FuzzSetupError, OpResult, Pair
from shadow._registry import load_target
from shadow._signature import Signature

REDIS_SCHEMES: tuple[str, ...] = ("redis://", "rediss://", "unix://")
#: Prefix of every key ``shadow fuzz`` writes in a shared Redis.
REDIS_KEY_PREFIX = b"shadow-fuzz:"
#: Slack, beyond the search budget, before unfinished workers count as hung: starting the
#: shadow's worker process (60 s at most) and a last example over its own timeout.
HANG_SLACK_S = 120.0

__all__ = [
    "REDIS_KEY_PREFIX",
    "DatabaseError",
    "FuzzJob",
    "JobResult",
    "check_database",
    "fuzz_job",
    "fuzz_on_workers",
    "merge_findings",
    "merge_reports",
    "open_database",
    "write_report",
]


# ---------------------------------------------------------------------- the shared database


class DatabaseError(ValueError):
    """The example database cannot be opened or reached (the message says which and why)."""


def is_redis(spec: str) -> bool:
    return spec.startswith(REDIS_SCHEMES)


def open_database(spec: str) -> ExampleDatabase:
    """The example database ``spec`` names: ``redis://HOST:PORT/DB`` (Hypothesis'
    ``RedisExampleDatabase``, needs the ``redis`` package) or a directory."""
    if not is_redis(spec):
        return DirectoryBasedExampleDatabase(spec)
    try:
        import redis
    except ImportError:
        raise DatabaseError(
            f"--database {spec} needs the redis package: pip install redis"
        ) from None
    from hypothesis.extra.redis import RedisExampleDatabase

    try:
        client = redis.Redis.from_url(spec, socket_connect_timeout=10, socket_timeout=30)
    except ValueError as exc:
        raise DatabaseError(f"--database {spec} is not a Redis URL: {exc}") from None
    return RedisExampleDatabase(client, key_prefix=REDIS_KEY_PREFIX)


def check_database(spec: str) -> None:
    """Fail early (before any worker starts) when the database cannot be used."""
    if is_redis(spec):
        open_database(spec)  # the redis package and the URL
        import redis

        client = redis.Redis.from_url(spec, socket_connect_timeout=5, socket_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise DatabaseError(f"cannot reach the example database {spec}: {exc}") from None
        finally:
            client.close()
        return
    path = Path(spec)
    if path.exists() and not path.is_dir():
        raise DatabaseError(f"--database {spec} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the example database directory {spec}: {exc.strerror or exc}"
        ) from None
    if not os.access(path, os.W_OK):
        raise DatabaseError(f"the example database directory {spec} is not writable")


# ---------------------------------------------------------------------- one worker's job


@dataclass(frozen=True)
class FuzzJob:
    """What one worker needs, as plain data (it travels to another process or machine)."""

    index: int
    target: str
    primary: str
    shadow: str
    ops: tuple[str, ...]
    config: FuzzConfig  # its ``database`` is None: ``database`` names the shared one
    database: str | None
    run_id: str
    path: tuple[str, ...] = ()  # the project's root, where the target imports from

    @property
    def label(self) -> str:
        return f"fuzz worker {self.index + 1} (seed {self.config.seed})"


@dataclass(frozen=True)
class JobResult:
    """A worker's report, or why it could not fuzz (a sentence for the user)."""

    report: FuzzReport | None
    error: str | None = None


def fuzz_job(job: FuzzJob) -> JobResult:
    """Fuzz in this worker: the target imported here, no log written (the client writes)."""
    for entry in reversed(job.path):
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.insert(0, entry)
    if job.config.isolation == "process" and multiprocessing.current_process().daemon:
        return JobResult(
            None,
            "this Dask worker is a daemon process and cannot start the shadow's worker "
            "process: start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False, "
            "or fuzz with --isolation thread",
        )
    try:
        target = load_target(job.target)
        pair = Pair.of(target, job.primary, job.shadow)
    except Exception as exc:
        return JobResult(None, f"cannot load target {job.target} here: {exc}")
    try:
        database = open_database(job.database) if job.database is not None else None
    except DatabaseError as exc:
        return JobResult(None, str(exc))
    config = dataclasses.replace(job.config, database=database)
    fuzzer = Fuzzer(target, pair, config, run_id=f"{job.run_id}-w{job.index + 1}")
    try:
        return JobResult(fuzzer.run(job.ops))
    except FuzzSetupError as exc:
        return JobResult(None, str(exc))


# ---------------------------------------------------------------------- merging


def _input_size(f: Finding) -> tuple[int, str]:
    if f.input is not None:
        return len(canonical_json(f.input)), f.input_repr
    return len(f.input_repr), f.input_repr


def _found_at(f: Finding) -> float:
    return f.seconds_to_find if f.seconds_to_find is not None else math.inf


def merge_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per problem, as one fuzzer would have counted the workers' findings.

    A finding joins a problem whose signature explains it: the same signature, or one whose
    differences it includes (a consequence, see
    :meth:`shadow._signature.Signature.explains`). Problems with fewer parts are placed
    first, so a worker that shrank to the cause absorbs another worker's finding of a
    consequence, whichever was found first. A problem keeps the smallest input found under
    its own signature, the sum of the hits, and the earliest time any of them was found.
    """
    groups: list[tuple[Signature, list[Finding]]] = []
    order = sorted(findings, key=lambda f: (len(f.parts), _found_at(f), _input_size(f)))
    for f in order:
        sig = Signature(f.signature, f.op, f.kind, f.parts)
        for known, group in groups:
            if known.explains(sig):
                group.append(f)
                break
        else:
            groups.append((sig, [f]))
    merged = []
    for sig, group in groups:
        earliest = min(group, key=_found_at)
        smallest = min((f for f in group if f.signature == sig.id), key=_input_size)
        merged.append(
            dataclasses.replace(
                smallest,
                hits=sum(f.hits for f in group),
                seconds_to_find=earliest.seconds_to_find,
                examples_to_find=earliest.examples_to_find,
            )
        )
    return tuple(sorted(merged, key=_found_at))


def _merge_errors(parts: Sequence[tuple[int, OpResult]]) -> tuple[str, ...]:
    workers: dict[str, list[int]] = {}
    for index, r in parts:
        for e in r.errors:
            workers.setdefault(e, []).append(index + 1)
    return tuple(
        f"{e} (worker{'s' if len(ws) > 1 else ''} {', '.join(map(str, ws))})"
        for e, ws in workers.items()
    )


def _merge_op(op: str, parts: Sequence[tuple[int, OpResult]]) -> OpResult:
    results = [r for _, r in parts]
    diverged: Counter[str] = Counter()
    for r in results:
        diverged.update(r.diverged)
    firsts = [r.first_divergence_at for r in results if r.first_divergence_at is not None]
    return OpResult(
        op=op,
        examples=sum(r.examples for r in results),
        elapsed_s=max(r.elapsed_s for r in results),  # side by side: the longest is the run's
        matched=sum(r.matched for r in results),
        tolerated=sum(r.tolerated for r in results),
        diverged=dict(diverged),
        findings=merge_findings(f for r in results for f in r.findings),
        first_divergence_at=min(firsts) if firsts else None,
        errors=_merge_errors(parts),
        accepted=sum(r.accepted for r in results),
        rounds=sum(r.rounds for r in results),
        strategy=results[0].strategy,
    )


def merge_reports(reports: Sequence[FuzzReport], *, run_id: str, seed: int | None) -> FuzzReport:
    """The workers' reports as one: counters summed, findings merged per problem."""
    if not reports:
        raise ValueError("no report to merge")
    first = reports[0]
    ops = list(dict.fromkeys(r.op for rep in reports for r in rep.results))
    results = tuple(
        _merge_op(op, [(i, r) for i, rep in enumerate(reports) for r in rep.results if r.op == op])
        for op in ops
    )
    return FuzzReport(
        run_id,
        first.target,
        first.primary,
        first.shadow,
        results,
        first.skipped_ops,
        seed,
        first.isolation,
    )


def write_report(fuzzer: Fuzzer, report: FuzzReport) -> FuzzReport:
    """Write the merged findings and one run summary to ``fuzzer``'s log (if any).

    Returns the report with each finding's event as written: the run's id, the replay
    command naming the log, a large input moved to a blob beside it.
    """
    log = fuzzer.log
    results = []
    for r in report.results:
        findings = []
        for f in r.findings:
            fields: dict[str, Any] = dict(f.event)
            fields["run_id"] = report.run_id
            fields["replay"] = replay_command(
                str(log.path) if log is not None else None,
                f.call_id,
                fuzzer.reporter.replay_target,
            )
            if log is not None:
                if fields.get("input") is not None:
                    attach_input(fields, fields["input"], log)  # a blob when it is large
                log.emit("divergence", fields)
            findings.append(dataclasses.replace(f, event=fields, replay=str(fields["replay"])))
        results.append(dataclasses.replace(r, findings=tuple(findings)))
    fuzzer.write_summary(results)
    return dataclasses.replace(report, results=tuple(results))


# ---------------------------------------------------------------------- the client


def fuzz_on_workers(
    fuzzer: Fuzzer,
    ops: Sequence[str],
    *,
    workers: int | None,
    scheduler: str | None = None,
    database: str | None = None,
    announce: Callable[[str, int], None] | None = None,
) -> FuzzReport:
    """Fuzz ``ops`` on Dask workers as ``fuzzer`` would alone; one report, one log.

    ``workers`` None (with a ``scheduler``): one worker per thread of that cluster.
    ``fuzzer`` gives the target, pair, config (its seed is the base seed), run id and log;
    ``database`` names the shared example database (``fuzzer.config.database`` is not
    sent). ``announce(where, n)`` is called once the cluster is up. Raises
    :class:`~shadow._distributed.DistributedError` or :class:`FuzzSetupError`.
    """
    from shadow._distributed import DaskCluster

    target = fuzzer.target
    if not target.importable:
        raise FuzzSetupError(
            f"the target {target.name!r} is defined in the running script; workers import "
            "their target, so give one by MODULE:ATTR (or --pair MOD:F MOD:G)"
        )
    if database is not None and not is_redis(database):
        database = str(Path(database).resolve())
    config = fuzzer.config
    base = fuzzer.seed
    pyproject = find_pyproject()
    project = (str(pyproject.parent),) if pyproject is not None else ()
    with DaskCluster(workers=workers or 1, scheduler=scheduler) as cluster:
        n = workers or max(1, cluster.threads())
        if announce is not None:
            announce(cluster.where, n)
        per_worker = config.max_examples
        if config.seconds is None:
            per_worker = max(1, math.ceil(config.max_examples / n))
        jobs = [
            FuzzJob(
                index=i,
                target=target.import_spec,
                primary=fuzzer.pair.primary_name,
                shadow=fuzzer.pair.shadow_name,
                ops=tuple(ops),
                config=dataclasses.replace(
                    config, seed=base + i, database=None, max_examples=per_worker
                ),
                database=database,
                run_id=fuzzer.run_id,
                path=project,
            )
            for i in range(n)
        ]
        timeout = None
        if config.seconds is not None:
            timeout = config.seconds + HANG_SLACK_S + 2 * (config.timeout_s or 0.0)
        outcomes = cluster.map(fuzz_job, jobs, timeout_s=timeout, name=lambda _i, j: j.label)
    failed = [(job, o.error) for job, o in zip(jobs, outcomes, strict=True) if o.report is None]
    if failed:
        job, error = failed[0]
        raise FuzzSetupError(f"{job.label}: {error}")
    reports = [o.report for o in outcomes if o.report is not None]
    merged = merge_reports(reports, run_id=fuzzer.run_id, seed=base)
    return write_report(fuzzer, merged)
