"""Verify a build against a recording: replay every recorded call on the shadow, judge it
against the outcome the primary recorded, and write what differs as divergence events.

The library half of ``shadow verify`` (the command is ``shadow/_commands/verify.py``).

Why it is shaped this way:

* **One judgement.** A recorded call is rebuilt as the primary's :class:`Outcome` (its
  decoded value, or a :class:`RemoteError` carrying the recorded :class:`ErrorInfo`), the
  shadow runs through a :class:`~shadow._isolation.ShadowRunner`, and
  :meth:`shadow._judge.Judge.judge` decides, as for a live shadowed call: same policy, same
  kinds, same severities, same signatures. Events are written by
  :class:`shadow._events.Reporter` (source ``verify``), so ``shadow review`` and
  ``shadow replay`` read them like any log.
* **A log is data.** The target is the one the caller passes (``--target`` or the
  project's); a recording of another target is refused unless the user names a target.
  Nothing in a recording chooses what is imported.
* **Parallel, same answer.** The recordings are scanned once here (counting calls and
  skipped lines, checking targets, cutting the calls into chunks by byte offset); each chunk
  is verified by :func:`verify_chunk` in a worker (:func:`shadow._distributed.map_tasks`),
  which reads its own byte range, with its own shadow runner built once per worker process.
  A call's id in the events is its position in the input (``{run_id}-{index:06d}``), so
  any number of workers gives the same events, counts and exit status.
* **Nothing unchecked passes.** A call that cannot be checked (an op the target does not
  know, an input or value the recorder could not keep or the codec cannot decode) is counted
  by reason and shown; lines that are not call events are counted by reason too.
"""

from __future__ import annotations

import atexit
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import orjson

from shadow._events import Implementation, Reporter, implementation_of
from shadow._isolation import InputNotTransferable, Prepared, ShadowRunner
from shadow._judge import Judge, is_atomic_input
from shadow._log import READ_LINE_LIMIT, SCHEMA, EventLog, load_input, parse_line
from shadow._outcome import ErrorInfo, Outcome, RemoteError
from shadow._recording import CALL_EVENT, SUMMARY_EVENT, load_value
from shadow._registry import Target, load_target

__all__ = [
    "SOURCE",
    "UNCHECKED_REASONS",
    "Found",
    "Group",
    "OpTally",
    "RecordingScan",
    "Unchecked",
    "VerifyError",
    "VerifyResult",
    "run_verify",
    "verify_chunk",
]

SOURCE: Final = "verify"
BATCH: Final = 256
"""Calls sent to the shadow runner at once (process isolation: one message out)."""
CHUNK_MAX: Final = 5000
CHUNK_MIN: Final = 64
MAX_EXAMPLES: Final = 5
"""Examples kept per reason a call could not be checked."""

UNCHECKED_REASONS: Final[Mapping[str, str]] = {
    "unknown_op": "op not registered on the target",
    "no_input": "recorded without its input",
    "bad_input": "input blob missing, altered or unreadable",
    "undecodable_input": "input the op's codec cannot decode",
    "no_outcome": "recorded without a usable outcome",
    "bad_value": "value blob missing, altered or unreadable",
    "undecodable_value": "value the op's codec cannot decode",
    "not_sendable": "input cannot be sent to the shadow",
    "shadow_unavailable": "shadow refused the call (too many hung calls)",
}


class VerifyError(ValueError):
    """Verification could not start (exit 2); the message is one line naming the cause."""


# ---------------------------------------------------------------------------- results


@dataclass
class OpTally:
    """Counts of one op over the calls read: ``calls`` = checked + ``unchecked``;
    checked = ``matched`` + ``tolerated`` + ``diverged_calls``. ``diverged`` counts events
    by kind (a call can diverge twice: value and input)."""

    calls: int = 0
    matched: int = 0
    tolerated: int = 0
    diverged_calls: int = 0
    diverged: dict[str, int] = field(default_factory=dict)
    unchecked: int = 0

    @property
    def checked(self) -> int:
        return self.matched + self.tolerated + self.diverged_calls

    def add(self, other: OpTally) -> None:
        self.calls += other.calls
        self.matched += other.matched
        self.tolerated += other.tolerated
        self.diverged_calls += other.diverged_calls
        self.unchecked += other.unchecked
        for kind, n in other.diverged.items():
            self.diverged[kind] = self.diverged.get(kind, 0) + n

    def to_summary(self) -> dict[str, Any]:
        """In the dispatcher's ``run_summary`` counter layout (unchecked as ``skipped``)."""
        return {
            "calls": self.calls,
            "sampled": self.calls,
            "matched": self.matched,
            "tolerated": self.tolerated,
            "diverged": dict(self.diverged),
            "skipped": self.unchecked,
            "errors": 0,
        }


@dataclass(frozen=True, slots=True)
class Found:
    """One divergence found: which call, how, and the command that replays it."""

    index: int
    call_id: str
    recording: str
    recorded_call_id: str | None
    op: str
    kind: str
    severity: str
    signature: str
    diff: tuple[Mapping[str, Any], ...]
    replay: str


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A call that could not be checked, and why."""

    index: int
    recording: str
    recorded_call_id: str | None
    op: str
    reason: str
    detail: str


@dataclass(frozen=True)
class ChunkResult:
    tallies: Mapping[str, OpTally]
    found: tuple[Found, ...]
    unchecked: Mapping[str, int]
    examples: tuple[Unchecked, ...]
    events_lost: int


@dataclass(frozen=True, slots=True)
class Group:
    """Divergences sharing a signature: one cause."""

    signature: str
    op: str
    kind: str
    severity: str
    count: int
    first: Found


@dataclass
class RecordingScan:
    """What one recording holds: call events, other lines by reason, and what its recorders
    said they kept (``record_summary`` events)."""

    path: str
    lines: int = 0
    calls: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    other_events: Counter[str] = field(default_factory=Counter)
    recorded: int = 0  # sum of the recorders' "recorded" counts
    not_recorded_whole: int = 0  # recorders' errors + incomplete + lost lines
    summaries: int = 0
    implementations: Counter[str] = field(default_factory=Counter)
    offsets: list[int] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True)
class VerifyResult:
    run_id: str
    target: str
    shadow: Implementation
    recorded_by: tuple[tuple[str, int], ...]
    scans: tuple[RecordingScan, ...]
    tallies: Mapping[str, OpTally]
    found: tuple[Found, ...]
    unchecked: Mapping[str, int]
    examples: tuple[Unchecked, ...]
    log: Path | None
    events_lost: int
    workers: int
    isolation: str
    elapsed_s: float

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.tallies.values())

    @property
    def checked(self) -> int:
        return sum(t.checked for t in self.tallies.values())

    @property
    def diverged_calls(self) -> int:
        return sum(t.diverged_calls for t in self.tallies.values())

    @property
    def unchecked_total(self) -> int:
        return sum(self.unchecked.values())

    @property
    def skipped_lines(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for scan in self.scans:
            total.update(scan.skipped)
        return total

    @property
    def groups(self) -> tuple[Group, ...]:
        """By signature, most severe first, then most frequent, then first seen."""
        by_sig: dict[str, list[Found]] = {}
        for f in self.found:
            by_sig.setdefault(f.signature, []).append(f)
        rank = {"critical": 0, "minor": 1, "info": 2}
        groups = []
        for sig, items in by_sig.items():
            first = min(items, key=lambda f: f.index)
            worst = min((f.severity for f in items), key=lambda s: rank.get(s, -1))
            groups.append(Group(sig, first.op, first.kind, worst, len(items), first))
        groups.sort(key=lambda g: (rank.get(g.severity, -1), -g.count, g.first.index))
        return tuple(groups)

    @property
    def exit_code(self) -> int:
        """1 when a call diverged; else 2 when a call could not be checked; else 0."""
        if self.diverged_calls:
            return 1
        return 2 if self.unchecked_total or not self.checked else 0


# ---------------------------------------------------------------------------- reading


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb", buffering=1024 * 1024)


def _lines(fh: IO[bytes], start: int, end: int | None) -> Iterator[tuple[int, bytes | None]]:
    """Physical lines from byte ``start`` up to ``end`` (None: the end of the file), with
    their offsets; a line over :data:`READ_LINE_LIMIT` comes as None (skipped whole)."""
    if start:
        fh.seek(start)
    offset = start
    readline = fh.readline
    while end is None or offset < end:
        raw = readline(READ_LINE_LIMIT + 1)
        if not raw:
            return
        at = offset
        offset += len(raw)
        if len(raw) > READ_LINE_LIMIT and not raw.endswith(b"\n"):
            while (rest := readline(READ_LINE_LIMIT)) and not rest.endswith(b"\n"):
                offset += len(rest)
            offset += len(rest)
            yield at, None
            continue
        yield at, raw


def _classify(raw: bytes | None) -> tuple[str, dict[str, Any] | None, bool]:
    """``(what, event, torn)`` of a physical line, by the rule every reader shares
    (:func:`shadow._log.parse_line`): ``what`` is ``call``, another event's name, or a skip
    reason (``oversized``, ``blank``, ``unparsable``, ``foreign``)."""
    if raw is None:
        return "oversized", None, False
    if raw.isspace():
        return "blank", None, False
    try:
        obj, torn = parse_line(raw)
    except orjson.JSONDecodeError:
        return "unparsable", None, False
    if type(obj) is not dict or obj.get("schema") != SCHEMA:
        return "foreign", None, bool(torn)
    event = obj.get("event")
    return (event if isinstance(event, str) else "foreign"), obj, bool(torn)


def scan_recording(path: Path, target: Target, explicit_target: bool) -> RecordingScan:
    """Count what ``path`` holds and where each call starts; refuse another target's calls
    unless the target was named by the user."""
    scan = RecordingScan(str(path))
    with _open(path) as fh:
        for offset, raw in _lines(fh, 0, None):
            scan.lines += 1
            what, event, torn = _classify(raw)
            if torn:
                scan.skipped["torn"] += 1
            if event is None:
                scan.skipped[what] += 1
                continue
            if what == CALL_EVENT:
                logged = event.get("target")
                if not explicit_target and logged != target.import_spec:
                    raise VerifyError(
                        f"{path} holds calls recorded for target {logged!r}, not this "
                        f"project's {target.import_spec!r}; its target was not imported. To "
                        f"verify them with that target, pass --target {logged}"
                    )
                scan.calls += 1
                scan.offsets.append(offset)
                impl = event.get("implementation")
                name = impl.get("name") if isinstance(impl, dict) else None
                scan.implementations[name if isinstance(name, str) else "unknown"] += 1
            elif what == SUMMARY_EVENT:
                scan.summaries += 1
                _add_summary(scan, event)
            else:
                scan.other_events[what] += 1
        scan.size = fh.tell()
    return scan


def _add_summary(scan: RecordingScan, event: Mapping[str, Any]) -> None:
    counters = event.get("counters")
    if isinstance(counters, dict):
        for counts in counters.values():
            if isinstance(counts, dict):
                scan.recorded += _int(counts.get("recorded"))
                scan.not_recorded_whole += _int(counts.get("errors"))
                scan.not_recorded_whole += _int(counts.get("incomplete"))
    scan.not_recorded_whole += _int(event.get("lost"))


def _int(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


# ---------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class Settings:
    """What every chunk of one run shares (picklable: sent to worker processes)."""

    target: str
    shadow: str
    isolation: str
    timeout_s: float | None
    log: str | None
    run_id: str
    replay_target: str | None
    sys_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """Calls ``first_index`` .. ``first_index + count - 1``, read from ``path`` between byte
    offsets ``start`` and ``end``."""

    settings: Settings
    path: str
    start: int
    end: int | None
    first_index: int
    count: int


class _Context:
    """A worker's target, shadow runner and judges, built once per process and setting."""

    def __init__(self, settings: Settings) -> None:
        for entry in settings.sys_path:
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self.target = load_target(settings.target)
        self.judges = {name: Judge(spec) for name, spec in self.target.ops.items()}
        self.shadow = implementation_of(self.target.make(settings.shadow), settings.shadow)
        self.runner = _runner(self.target, settings)

    def close(self) -> None:
        self.runner.close()


def _runner(target: Target, settings: Settings) -> ShadowRunner:
    if settings.isolation == "process":
        from shadow._isolation.process import ProcessIsolation, TargetImplementation

        runner = ProcessIsolation(
            TargetImplementation(settings.target, settings.shadow), timeout_s=settings.timeout_s
        )
        runner.start()  # an unbuildable shadow is a failure to verify, not 100,000 crashes
        return runner
    from shadow._isolation.thread import ThreadIsolation

    return ThreadIsolation(target.make(settings.shadow), timeout_s=settings.timeout_s)


_CONTEXTS: dict[tuple[str, str, str, float | None], _Context] = {}


def _context(settings: Settings) -> _Context:
    key = (settings.target, settings.shadow, settings.isolation, settings.timeout_s)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        if not _CONTEXTS:
            atexit.register(close_contexts)
        ctx = _CONTEXTS[key] = _Context(settings)
    return ctx


def close_contexts() -> None:
    """Stop the shadow runners this process built (their worker processes)."""
    while _CONTEXTS:
        _, ctx = _CONTEXTS.popitem()
        ctx.close()


@dataclass
class _Call:
    index: int
    event: dict[str, Any]
    op: str
    encoded: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    recorded: Outcome
    prepared: Prepared | None = None


class _ChunkRun:
    """Verifies the calls of one chunk, batch by batch."""

    def __init__(self, chunk: Chunk, ctx: _Context, log: EventLog | None) -> None:
        self.chunk = chunk
        self.settings = chunk.settings
        self.ctx = ctx
        self.log = log
        self.tallies: dict[str, OpTally] = {}
        self.found: list[Found] = []
        self.unchecked: Counter[str] = Counter()
        self.examples: list[Unchecked] = []
        self._reporters: dict[tuple[str, str], Reporter] = {}

    # -------------------------------------------------------------- per call

    def tally(self, op: str) -> OpTally:
        t = self.tallies.get(op)
        if t is None:
            t = self.tallies[op] = OpTally()
        return t

    def skip(self, index: int, event: Mapping[str, Any], op: str, reason: str, detail: str) -> None:
        t = self.tally(op)
        t.calls += 1
        t.unchecked += 1
        self.unchecked[reason] += 1
        if self.unchecked[reason] <= MAX_EXAMPLES:
            call_id = event.get("call_id")
            self.examples.append(
                Unchecked(
                    index,
                    self.chunk.path,
                    call_id if isinstance(call_id, str) else None,
                    op,
                    reason,
                    detail[:300],
                )
            )

    def rebuild(self, index: int, event: dict[str, Any]) -> _Call | None:
        """The recorded call as live values, or None after counting why it cannot be."""
        op = event.get("op")
        op_name = op if isinstance(op, str) else "?"
        target = self.ctx.target
        if not isinstance(op, str) or op not in target.ops:
            self.skip(index, event, op_name, "unknown_op", f"{op!r} is not an op of {target.name}")
            return None
        codec = target.codec_for(op)
        try:
            encoded = load_input(event, self.chunk.path)
        except (OSError, ValueError) as exc:
            self.skip(index, event, op, "bad_input", _reason(exc))
            return None
        if encoded is None:
            why = event.get("input_error") or "no input field"
            self.skip(index, event, op, "no_input", str(why))
            return None
        try:
            args, kwargs = codec.decode(encoded)
        except Exception as exc:
            self.skip(index, event, op, "undecodable_input", _reason(exc))
            return None
        duration = event.get("duration_s")
        duration_s = float(duration) if isinstance(duration, int | float) else 0.0
        outcome = event.get("outcome")
        if outcome == "raised" and isinstance(event.get("error"), dict):
            try:
                info = ErrorInfo.from_json(event["error"])
            except (KeyError, TypeError, ValueError) as exc:
                self.skip(index, event, op, "no_outcome", f"error: {_reason(exc)}")
                return None
            recorded = Outcome(None, RemoteError(info), duration_s)
        elif outcome == "returned" and "value_error" not in event:
            try:
                value_json = load_value(event, self.chunk.path)
            except (OSError, ValueError) as exc:
                self.skip(index, event, op, "bad_value", _reason(exc))
                return None
            try:
                value = _decode_value(codec, value_json)
            except Exception as exc:
                self.skip(index, event, op, "undecodable_value", _reason(exc))
                return None
            recorded = Outcome(value, None, duration_s)
        else:
            why = event.get("value_error") or f"outcome {outcome!r}"
            self.skip(index, event, op, "no_outcome", str(why))
            return None
        return _Call(index, event, op, encoded, args, kwargs, recorded)

    # -------------------------------------------------------------- per batch

    def run(self, calls: list[_Call]) -> None:
        runner = self.ctx.runner
        ready: list[_Call] = []
        for call in calls:
            try:
                call.prepared = runner.prepare(call.op, call.args, call.kwargs)
            except InputNotTransferable as exc:
                self.skip(call.index, call.event, call.op, "not_sendable", str(exc))
                continue
            ready.append(call)
        if not ready:
            return
        outcomes = self._run_batch(ready)
        for call, shadow in zip(ready, outcomes, strict=True):
            if shadow is None:
                self.skip(
                    call.index, call.event, call.op, "shadow_unavailable", "too many hung calls"
                )
                continue
            self.judge(call, shadow)

    def _run_batch(self, calls: list[_Call]) -> list[Outcome | None]:
        from shadow._isolation.thread import ShadowUnavailable

        runner = self.ctx.runner
        timeout = self.settings.timeout_s
        prepared = [c.prepared for c in calls if c.prepared is not None]
        try:
            return list(runner.run_batch(prepared, timeout))
        except ShadowUnavailable:
            out: list[Outcome | None] = []
            for p in prepared:
                try:
                    out.append(runner.run(p, timeout))
                except ShadowUnavailable:
                    out.append(None)
            return out

    def judge(self, call: _Call, shadow: Outcome) -> None:
        """Judge one call as a live one is: :meth:`Judge.judge` on the recorded outcome and
        the shadow's, with both inputs when the shadow may have changed its own."""
        judge = self.ctx.judges[call.op]
        if shadow.input_after is not None and not is_atomic_input(call.args, call.kwargs):
            assert call.prepared is not None
            pristine = self.ctx.runner.snapshot(call.prepared)
            judgement = judge.judge(
                call.recorded, shadow, primary_input=pristine, shadow_input=shadow.input_after
            )
        else:
            judgement = judge.judge(call.recorded, shadow)
        t = self.tally(call.op)
        t.calls += 1
        if not judgement.diverged:
            if judgement.status == "tolerated":
                t.tolerated += 1
            else:
                t.matched += 1
            return
        t.diverged_calls += 1
        for d in judgement.divergences:
            t.diverged[d.kind] = t.diverged.get(d.kind, 0) + 1
        reporter = self.reporter(call.event)
        call_id = f"{self.settings.run_id}-{call.index:06d}"
        recorded_call_id = call.event.get("call_id")
        extra = {
            "recording": self.chunk.path,
            "recorded_call_id": recorded_call_id,
            "recorded_run_id": call.event.get("run_id"),
            "recorded_ts": call.event.get("ts"),
        }
        for d in judgement.divergences:  # a call that diverges twice: two events, one id
            fields = reporter.divergence(
                judgement, d, None, encoded_input=call.encoded, call_id=call_id, extra=extra
            )
            self.found.append(
                Found(
                    call.index,
                    call_id,
                    self.chunk.path,
                    recorded_call_id if isinstance(recorded_call_id, str) else None,
                    call.op,
                    d.kind,
                    d.severity,
                    d.signature.id,
                    tuple(fields.get("diff", ())[:3]),
                    str(fields.get("replay", "")),
                )
            )

    def reporter(self, event: Mapping[str, Any]) -> Reporter:
        """One per recorded implementation (a recording may hold several)."""
        impl = event.get("implementation")
        impl = impl if isinstance(impl, dict) else {}
        key = (str(impl.get("name") or "recorded"), str(impl.get("version") or "unknown"))
        reporter = self._reporters.get(key)
        if reporter is None:
            reporter = self._reporters[key] = Reporter(
                self.ctx.target,
                run_id=self.settings.run_id,
                source=SOURCE,
                primary=Implementation(*key),
                shadow=self.ctx.shadow,
                log=self.log,
                replay_target=self.settings.replay_target,
            )
        return reporter


def _decode_value(codec: Any, encoded: Any) -> Any:
    decode_value = getattr(codec, "decode_value", None)
    if callable(decode_value):
        return decode_value(encoded)
    args, _ = codec.decode({"args": [encoded], "kwargs": {}})
    return args[0]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = f" {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{name}"
    return str(exc) or type(exc).__name__


def verify_chunk(chunk: Chunk) -> ChunkResult:
    """Verify one chunk (runs in a worker process, or inline)."""
    ctx = _context(chunk.settings)
    log = EventLog(chunk.settings.log) if chunk.settings.log else None
    run = _ChunkRun(chunk, ctx, log)
    try:
        index = chunk.first_index
        stop = chunk.first_index + chunk.count
        batch: list[_Call] = []
        with _open(Path(chunk.path)) as fh:
            for _, raw in _lines(fh, chunk.start, chunk.end):
                if index >= stop:
                    break
                what, event, _ = _classify(raw)
                if what != CALL_EVENT or event is None:
                    continue
                call = run.rebuild(index, event)
                index += 1
                if call is not None:
                    batch.append(call)
                if len(batch) >= BATCH:
                    run.run(batch)
                    batch = []
        if batch:
            run.run(batch)
        if index != stop:  # the file changed under us since it was scanned
            raise VerifyError(
                f"{chunk.path} changed while it was verified: {stop - index} call(s) "
                "fewer than scanned"
            )
    finally:
        lost = 0
        if log is not None:
            log.close()
            lost = log.events_lost
    return ChunkResult(
        run.tallies, tuple(run.found), dict(run.unchecked), tuple(run.examples), lost
    )


# ---------------------------------------------------------------------------- the run


Progress = Callable[[int, int], None]
"""Called with (calls done, calls in all) as chunks finish (inline runs only)."""


def _chunks(
    scans: Sequence[RecordingScan], settings: Settings, workers: int, size: int | None
) -> list[Chunk]:
    """Calls cut into chunks of ``size`` (default: about four per worker, within
    :data:`CHUNK_MIN` .. :data:`CHUNK_MAX`), never across files."""
    if size is None:
        total = sum(s.calls for s in scans)
        size = CHUNK_MAX if workers == 1 else math.ceil(total / (workers * 4))
        size = max(CHUNK_MIN, min(CHUNK_MAX, size))
    chunks: list[Chunk] = []
    index = 0
    for scan in scans:
        offsets = scan.offsets
        for a in range(0, len(offsets), size):
            b = min(a + size, len(offsets))
            end = offsets[b] if b < len(offsets) else None
            chunks.append(Chunk(settings, scan.path, offsets[a], end, index + a, b - a))
        index += len(offsets)
    return chunks


def run_verify(
    paths: Sequence[Path],
    *,
    target: Target,
    explicit_target: bool,
    shadow: str | None = None,
    isolation: str = "process",
    timeout_s: float | None = 10.0,
    log: Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    run_id: str | None = None,
    replay_target: str | None = None,
    sys_path: Sequence[str] = (),
    progress: Progress | None = None,
    chunk_size: int | None = None,
) -> VerifyResult:
    """Verify ``paths`` against ``shadow`` (the target's default shadow when None).

    Raises :class:`VerifyError` when nothing can be checked: a recording missing or
    unreadable, another target's calls with ``explicit_target`` False, no call at all, an
    unknown or unbuildable shadow."""
    from shadow._dispatcher import new_run_id

    t0 = time.perf_counter()
    if workers < 1:
        raise VerifyError(f"--workers must be at least 1, got {workers}")
    if isolation not in ("process", "thread"):
        raise VerifyError(f"--isolation must be process or thread, got {isolation!r}")
    if not target.importable and (isolation == "process" or workers > 1 or scheduler):
        raise VerifyError(
            f"target {target.import_spec} cannot be imported by a worker process: use "
            "--isolation thread --workers 1"
        )
    shadow_name = shadow or target.default_pair[1]
    if shadow_name not in target.implementation_names:
        known = ", ".join(target.implementation_names) or "none"
        raise VerifyError(
            f"--shadow {shadow_name!r} is not an implementation of {target.import_spec} "
            f"(known: {known})"
        )
    try:
        shadow_impl = implementation_of(target.make(shadow_name), shadow_name)
    except Exception as exc:
        raise VerifyError(
            f"cannot build the shadow implementation {shadow_name!r}: {exc}"
        ) from None
    scans = [_scan(Path(p), target, explicit_target) for p in paths]
    total = sum(s.calls for s in scans)
    if total == 0:
        raise VerifyError(_nothing_to_check(scans))
    run_id = run_id or f"verify-{new_run_id()}"
    settings = Settings(
        target.import_spec,
        shadow_name,
        isolation,
        timeout_s,
        str(log) if log is not None else None,
        run_id,
        replay_target,
        tuple(sys_path),
    )
    if log is not None:
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            EventLog(log).close()
        except OSError as exc:
            raise VerifyError(f"cannot write the event log {log}: {_reason(exc)}") from None
    if chunk_size is not None and chunk_size < 1:
        raise VerifyError(f"chunk_size must be at least 1, got {chunk_size}")
    chunks = _chunks(scans, settings, workers, chunk_size)
    for scan in scans:
        scan.offsets = []  # the chunks hold what is needed
    results = _run_chunks(chunks, target, workers, scheduler, progress, total)
    tallies: dict[str, OpTally] = {}
    found: list[Found] = []
    unchecked: Counter[str] = Counter()
    examples: list[Unchecked] = []
    lost = 0
    for r in results:
        for op, t in r.tallies.items():
            tallies.setdefault(op, OpTally()).add(t)
        found.extend(r.found)
        unchecked.update(r.unchecked)
        examples.extend(r.examples)
        lost += r.events_lost
    found.sort(key=lambda f: (f.index, f.call_id))
    examples.sort(key=lambda u: u.index)
    kept: list[Unchecked] = []
    per_reason: Counter[str] = Counter()
    for u in examples:
        per_reason[u.reason] += 1
        if per_reason[u.reason] <= MAX_EXAMPLES:
            kept.append(u)
    recorded_by: Counter[str] = Counter()
    for scan in scans:
        recorded_by.update(scan.implementations)
    ordered = {op: tallies[op] for op in [*target.ops, *sorted(tallies)] if op in tallies}
    result = VerifyResult(
        run_id=run_id,
        target=target.import_spec,
        shadow=shadow_impl,
        recorded_by=tuple(recorded_by.most_common()),
        scans=tuple(scans),
        tallies=ordered,
        found=tuple(found),
        unchecked=dict(unchecked),
        examples=tuple(kept),
        log=log,
        events_lost=lost,
        workers=workers,
        isolation=isolation,
        elapsed_s=time.perf_counter() - t0,
    )
    if log is not None:
        _write_summary(result, target, log, replay_target)
    return result


def _scan(path: Path, target: Target, explicit_target: bool) -> RecordingScan:
    if not path.exists():
        raise VerifyError(f"{path}: no such file")
    if path.is_dir():
        raise VerifyError(f"{path}: is a directory (pass the recording files)")
    try:
        return scan_recording(path, target, explicit_target)
    except OSError as exc:
        raise VerifyError(f"cannot read {path}: {_reason(exc)}") from None
    except EOFError as exc:  # a cut .gz
        raise VerifyError(f"cannot read {path}: {exc}") from None


def _nothing_to_check(scans: Sequence[RecordingScan]) -> str:
    names = ", ".join(s.path for s in scans)
    skipped: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for s in scans:
        skipped.update(s.skipped)
        others.update(s.other_events)
    found = [f"{n} {what} line(s)" for what, n in sorted(skipped.items())]
    found += [f"{n} {what} event(s)" for what, n in sorted(others.items())]
    what = "; it holds " + ", ".join(found) if found else " (empty)"
    return f"no recorded call to verify in {names}{what}"


def _run_chunks(
    chunks: list[Chunk],
    target: Target,
    workers: int,
    scheduler: str | None,
    progress: Progress | None,
    total: int,
) -> list[ChunkResult]:
    if workers == 1 and scheduler is None:
        results = []
        done = 0
        try:
            for chunk in chunks:
                results.append(verify_chunk(chunk))
                done += chunk.count
                if progress is not None:
                    progress(done, total)
        finally:
            close_contexts()
        return results
    from shadow._distributed import map_tasks

    return map_tasks(verify_chunk, chunks, workers=workers, scheduler=scheduler)


def _write_summary(
    result: VerifyResult, target: Target, log: Path, replay_target: str | None
) -> None:
    recorded = result.recorded_by[0][0] if len(result.recorded_by) == 1 else "recorded"
    with EventLog(log) as events:
        reporter = Reporter(
            target,
            run_id=result.run_id,
            source=SOURCE,
            primary=Implementation(recorded),
            shadow=result.shadow,
            log=events,
            replay_target=replay_target,
        )
        reporter.summary({op: t.to_summary() for op, t in result.tallies.items()}, mode="verify")
