"""Recording real calls: the input and the primary's outcome of a sample of calls.

Why: divergence logs only hold the calls that diverged, so checking a new build of the port
against what production really calls would mean running production again (for T2, a search
on a GPU). A recording keeps a sample of *all* calls, each with what the primary answered,
and ``shadow verify`` replays it offline on any later build of the shadow
(:mod:`shadow._verify`). Fuzzing covers edge cases; a recording covers the real input
distribution.

A recording is an event log like any other (:class:`shadow._log.EventLog`: whole lines
appended with one ``write(2)``, safe across threads and processes, size-capped lines, big
values in content-addressed blobs beside it), holding one ``call`` event per recorded call
and one ``record_summary`` event when the recorder closes. The line format is in
``docs/verify.md``.

Recording never changes what the primary returns or raises and never raises into the caller:
the wrapper calls the primary exactly once, hands back the same object or re-raises the same
exception instance, and everything it does around that call is guarded. A failure of its own
(an input or value the op's codec cannot encode, a blob that cannot be stored, a write that
fails) is counted and the call is still answered. The input is encoded *before* the primary
runs, so a primary that mutates its input cannot change what was recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shadow._codec import JSON, Codec, canonical_json
from shadow._events import Implementation, attach_input, encode_call, utc_timestamp
from shadow._log import BLOB_THRESHOLD, EventLog, load_input
from shadow._outcome import ErrorInfo
from shadow._registry import Target
from shadow._warn_once import WarnOnce

__all__ = [
    "CALL_EVENT",
    "SUMMARY_EVENT",
    "RecordCounts",
    "Recorder",
    "load_value",
]

CALL_EVENT: Final = "call"
"""``event`` of a recorded call."""
SUMMARY_EVENT: Final = "record_summary"
"""``event`` written once when a recorder closes: what it saw, kept, and could not keep."""

_perf = time.perf_counter
_Pending = tuple[JSON | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RecordCounts:
    """What a recorder did with the calls of one op.

    ``calls`` = ``recorded`` + ``unsampled`` + ``errors``. ``incomplete`` calls were written
    without a replayable input or outcome (the codec could not encode it, or a blob could not
    be stored): ``shadow verify`` counts them as not checked. ``errors`` are calls not
    written because the recorder itself failed. Lines lost by the log (a full disk) are
    the log's ``events_lost``, not counted here.
    """

    calls: int = 0
    recorded: int = 0
    unsampled: int = 0
    incomplete: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "recorded": self.recorded,
            "unsampled": self.unsampled,
            "incomplete": self.incomplete,
            "errors": self.errors,
        }


class _Tally:
    """Counters of one op. ``unsampled`` is an ``itertools.count`` (atomic ``next`` without a
    lock: the path of a call that is not recorded must cost nearly nothing)."""

    __slots__ = ("errors", "incomplete", "lock", "recorded", "unsampled")

    def __init__(self) -> None:
        self.unsampled = itertools.count()
        self.recorded = 0
        self.incomplete = 0
        self.errors = 0
        self.lock = threading.Lock()

    def snapshot(self) -> RecordCounts:
        with self.lock:
            unsampled = int(repr(self.unsampled)[6:-1])  # the next value, not advanced
            calls = self.recorded + unsampled + self.errors
            return RecordCounts(calls, self.recorded, unsampled, self.incomplete, self.errors)


class Recorder:
    """Writes a ``call`` event for a sample (``rate``, 0..1) of the calls it wraps.

    ``log`` is an :class:`EventLog` (shared, left open) or a path (opened here, closed by
    :meth:`close`; opening an unwritable path raises ``OSError`` at once, before any call).
    ``implementation`` names the primary whose answers are recorded. ``rng`` draws the
    sample (a private :class:`random.Random` by default, so recording is sampled
    independently of anything else that draws from ``random``).
    """

    def __init__(
        self,
        target: Target,
        log: EventLog | str | os.PathLike[str],
        *,
        implementation: Implementation,
        run_id: str,
        rate: float = 1.0,
        source: str = "runtime",
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"record_rate must be within 0..1, got {rate}")
        self.target = target
        self.rate = rate
        self.run_id = run_id
        self.source = source
        self.implementation = implementation
        self._owns_log = not isinstance(log, EventLog)
        self.log: EventLog = log if isinstance(log, EventLog) else EventLog(log)
        self._random = (rng or random.Random()).random
        self._seq = itertools.count(1)
        self._tallies: dict[str, _Tally] = {name: _Tally() for name in target.ops}
        self._impl_json = {"name": implementation.name, "version": implementation.version}
        self._closed = False
        self._warn_once = WarnOnce("recording")

    # ------------------------------------------------------------------ wrapping

    def wrap(self, op: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (the primary's ``op``), recording a sample of its calls."""
        tally = self._tallies.setdefault(op, _Tally())
        codec = self.target.codec_for(op)
        begin, finish = self._begin, self._finish
        skip = tally.unsampled.__next__
        rate = self.rate
        draw = self._random
        always = rate >= 1.0

        def recorded(*args: Any, **kwargs: Any) -> Any:
            if not always and (rate <= 0.0 or draw() >= rate):
                skip()
                return fn(*args, **kwargs)
            pending = begin(codec, tally, args, kwargs)
            t0 = _perf()
            try:
                value = fn(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):  # the user or the program stopping
                raise
            except BaseException as exc:
                finish(op, codec, tally, pending, None, exc, _perf() - t0)
                raise
            finish(op, codec, tally, pending, value, None, _perf() - t0)
            return value

        recorded.__name__ = getattr(fn, "__name__", op)
        recorded.__doc__ = getattr(fn, "__doc__", None)
        recorded.__wrapped__ = fn  # type: ignore[attr-defined]
        return recorded

    def _begin(
        self, codec: Codec, tally: _Tally, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> _Pending | None:
        """The input as the caller passed it, encoded before the primary can change it."""
        try:
            return encode_call(codec, args, kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a hostile value: not the caller's problem
            self._failed("encode", exc)
            return None

    def _finish(
        self,
        op: str,
        codec: Codec,
        tally: _Tally,
        pending: _Pending | None,
        value: Any,
        error: BaseException | None,
        duration_s: float,
    ) -> None:
        """Build and write the call's event. Never raises (but a Ctrl-C is the user's)."""
        try:
            if pending is None:
                raise RuntimeError("the input could not be captured")
            fields = self._fields(op, codec, pending, value, error, duration_s)
            complete = fields["input"] is not None or fields["input_ref"] is not None
            complete = complete and "value_error" not in fields
            self.log.emit(CALL_EVENT, fields)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            with tally.lock:
                tally.errors += 1
            self._failed("record", exc)
            return
        with tally.lock:
            tally.recorded += 1
            if not complete:
                tally.incomplete += 1

    def _fields(
        self,
        op: str,
        codec: Codec,
        pending: _Pending,
        value: Any,
        error: BaseException | None,
        duration_s: float,
    ) -> dict[str, Any]:
        encoded, problem = pending
        fields: dict[str, Any] = {
            "ts": utc_timestamp(),
            "run_id": self.run_id,
            "call_id": f"{self.run_id}-c{next(self._seq):06d}",
            "target": self.target.import_spec,
            "op": op,
            "source": self.source,
            "implementation": self._impl_json,
        }
        attach_input(fields, encoded, self.log)
        fields.update(problem)
        if error is not None:
            fields["outcome"] = "raised"
            fields["value"] = None
            fields["value_ref"] = None
            fields["error"] = ErrorInfo.of(error).to_json()
        else:
            fields["outcome"] = "returned"
            self._attach_value(fields, codec, value)
            fields["error"] = None
        fields["duration_s"] = duration_s
        return fields

    def _attach_value(self, fields: dict[str, Any], codec: Codec, value: Any) -> None:
        """``value`` (inline) or ``value_ref`` (a blob, like a big input); ``value_error``
        says why neither holds it. Strict encoding: a value recorded as a ``repr`` could
        never be compared, so it is not recorded at all."""
        fields["value"] = None
        fields["value_ref"] = None
        try:
            encoded = codec.encode_value(value)
            size = len(orjson.dumps(encoded))
        except Exception as exc:
            fields["value_error"] = f"{type(exc).__name__}: {exc}"[:500]
            return
        if size <= BLOB_THRESHOLD:
            fields["value"] = encoded
            return
        payload = canonical_json(encoded)
        ref = self.log.store_blob(hashlib.sha256(payload).hexdigest(), payload)
        if ref is None:
            fields["value_error"] = f"the value blob ({len(payload)} bytes) could not be written"
        else:
            fields["value_ref"] = ref

    # ------------------------------------------------------------------ results

    def counts(self) -> dict[str, RecordCounts]:
        """Counts by op (every op of the target, recorded or not)."""
        return {op: tally.snapshot() for op, tally in self._tallies.items()}

    def totals(self) -> RecordCounts:
        counts = list(self.counts().values())
        names = [f.name for f in dataclasses.fields(RecordCounts)]
        return RecordCounts(**{name: sum(getattr(c, name) for c in counts) for name in names})

    @property
    def events_lost(self) -> int:
        """Lines the log could not write (a full disk, a failing device)."""
        return self.log.events_lost

    def summary_fields(self) -> dict[str, Any]:
        return {
            "ts": utc_timestamp(),
            "run_id": self.run_id,
            "target": self.target.import_spec,
            "source": self.source,
            "implementation": self._impl_json,
            "rate": self.rate,
            "counters": {op: c.to_dict() for op, c in self.counts().items()},
            "lost": self.log.events_lost,
        }

    def close(self) -> None:
        """Write the ``record_summary`` event and close the log when it was opened here.
        Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        try:
            self.log.emit(SUMMARY_EVENT, self.summary_fields())
        except Exception as exc:
            self._failed("summary", exc)
        if self._owns_log:
            self.log.close()

    def _failed(self, where: str, exc: BaseException) -> None:
        """Warn once per kind of failure; counted by the caller. Never raises."""
        self._warn_once(where, exc, stacklevel=4)


def load_value(event: Mapping[str, Any], log_path: str | os.PathLike[str]) -> JSON:
    """The encoded value of a recorded call, read from its blob when stored separately.

    Same rule as inputs (:func:`shadow._log.load_input`): ``value_ref`` must name a blob
    (``blobs/<sha256>.json``) beside the recording that hashes to its name.
    """
    if event.get("value") is not None or not event.get("value_ref"):
        return event.get("value")
    return load_input({"input": None, "input_ref": event["value_ref"]}, log_path)
