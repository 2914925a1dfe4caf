"""A shadow session for one run of a program: options, start, close, end-of-run summary.

A program that wants shadow mode behind a flag or an environment switch needs the same few
things whatever it computes: options (from its command line or from ``{PREFIX}`` and
``{PREFIX}_*`` environment variables, strictly validated so that a typo is an error rather
than a silently unshadowed run), a dispatcher built from a target, the wrapped primary to
call in place of the real one, and at the end a report it can print and pick an exit status
from. This module is that, for any target; the program only chooses the prefix and the
defaults.

Environment variables (``PREFIX`` is e.g. ``T2_SHADOW``): ``PREFIX`` switches the session
on (``1``, ``true``, ``yes``, ``on``) or off (``0``, ``false``, ``no``, ``off``, empty or
unset); ``PREFIX_MODE``, ``_PRIMARY``, ``_SHADOW``, ``_SAMPLE_RATE``, ``_TIMEOUT_S``,
``_LOG``, ``_RUN_ID``, ``_TARGET``, ``_ISOLATION``, ``_RECORD`` and ``_RECORD_RATE`` set
the fields of :class:`SessionOptions`. An empty ``PREFIX_*`` value counts as unset. Any
other value of the switch, an unknown ``PREFIX_*`` variable, a bad value, or a ``PREFIX_*``
variable set while the switch is off is a :class:`SessionOptionError` naming the variable.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shadow._counters import RunCounters
from shadow._dispatcher import MODES, Dispatcher
from shadow._log import read_events
from shadow._recording import RecordCounts
from shadow._registry import Target, load_target
from shadow._terminal import Table, Terminal, describe_os_error

ISOLATIONS: tuple[str, ...] = ("thread", "process")
SWITCH_ON: tuple[str, ...] = ("1", "true", "yes", "on")
SWITCH_OFF: tuple[str, ...] = ("0", "false", "no", "off", "")
SEVERITIES: tuple[str, ...] = ("critical", "minor", "info")
"""Most severe first; a divergence whose severity could not be read counts as critical."""
DEFAULT_LOG = Path("reports/shadow.jsonl")

_ENV_FIELDS: Mapping[str, str] = {
    "MODE": "mode",
    "PRIMARY": "primary",
    "SHADOW": "shadow",
    "SAMPLE_RATE": "sample_rate",
    "TIMEOUT_S": "timeout_s",
    "LOG": "log_path",
    "RUN_ID": "run_id",
    "TARGET": "target",
    "ISOLATION": "isolation",
    "RECORD": "record",
    "RECORD_RATE": "record_rate",
}


class SessionOptionError(ValueError):
    """A bad session option; the message is one line naming the option or variable."""


class SessionUnavailableError(RuntimeError):
    """The session cannot start: a target or implementation cannot be loaded or built, or a
    log cannot be written. The message is one line naming what and why."""


# ---------------------------------------------------------------------------- options


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rate(value: float, name: str) -> float:
    if not (_is_number(value) and 0.0 <= value <= 1.0):
        raise SessionOptionError(f"{name} must be a number within 0..1, got {value!r}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class SessionOptions:
    """What a session shadows and how. ``target`` is a :class:`Target` or its import spec
    (``"module:attr"``); ``primary``/``shadow`` name its implementations (None: the target's
    default pair). ``log_path`` receives the divergence events; ``record`` (with
    ``record_rate``) keeps a sample of all calls, for ``isolation`` see the dispatcher."""

    target: str | Target
    primary: str | None = None
    shadow: str | None = None
    mode: str = "sync"
    sample_rate: float = 1.0
    timeout_s: float = 5.0
    log_path: Path = DEFAULT_LOG
    run_id: str | None = None
    isolation: str = "thread"
    record: Path | None = None
    record_rate: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SessionOptionError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        _rate(self.sample_rate, "sample_rate")
        _rate(self.record_rate, "record_rate")
        timeout = self.timeout_s
        if not (_is_number(timeout) and math.isfinite(timeout) and timeout > 0):
            raise SessionOptionError(f"timeout_s must be a number of seconds > 0, got {timeout!r}")
        if self.isolation not in ISOLATIONS:
            raise SessionOptionError(
                f"isolation must be one of {', '.join(ISOLATIONS)}, got {self.isolation!r}"
            )
        for name in ("primary", "shadow", "run_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SessionOptionError(f"{name} must be a non-empty name, got {value!r}")
        if isinstance(self.target, str) and ":" not in self.target:
            raise SessionOptionError(f"target must be MODULE:ATTR, got {self.target!r}")
        if self.primary is not None and self.primary == self.shadow and self.mode != "off":
            raise SessionOptionError(
                f"primary and shadow are both {self.primary!r}: shadow one implementation "
                "with another"
            )

    @property
    def target_spec(self) -> str:
        return self.target if isinstance(self.target, str) else self.target.import_spec


def switch_state(prefix: str, env: Mapping[str, str]) -> bool:
    """Whether ``env[prefix]`` switches the session on; raises on a value that is neither."""
    raw = env.get(prefix, "")
    value = raw.strip().lower()
    if value in SWITCH_ON:
        return True
    if value in SWITCH_OFF:
        return False
    raise SessionOptionError(
        f"{prefix} must be one of {', '.join(SWITCH_ON)} (on) or "
        f"{', '.join(v for v in SWITCH_OFF if v)} (off), got {raw!r}"
    )


def env_settings(prefix: str, env: Mapping[str, str]) -> dict[str, str]:
    """The non-empty ``{prefix}_*`` variables, by suffix; an unknown suffix is an error."""
    found: dict[str, str] = {}
    for key, value in env.items():
        if not key.startswith(prefix + "_") or not value.strip():
            continue
        suffix = key[len(prefix) + 1 :]
        if suffix not in _ENV_FIELDS:
            known = ", ".join(f"{prefix}_{s}" for s in _ENV_FIELDS)
            raise SessionOptionError(f"{key} is not a known variable (known: {known})")
        found[suffix] = value.strip()
    return found


def _env_number(name: str, text: str, low: float, high: float | None) -> float:
    bound = f"within {low:g}..{high:g}" if high is not None else f"> {low:g}"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value) and ((low <= value <= high) if high is not None else value > low)
    if not ok:
        raise SessionOptionError(f"{name} must be a number {bound}, got {text!r}")
    return value


def options_from_env(
    prefix: str, env: Mapping[str, str], defaults: SessionOptions
) -> SessionOptions | None:
    """Options from ``{prefix}`` and ``{prefix}_*`` over ``defaults``; None when the switch
    is off (or the mode is ``off`` with no recording). See the module docstring for the
    variables."""
    on = switch_state(prefix, env)
    settings = env_settings(prefix, env)
    if not on:
        if settings:
            name = f"{prefix}_{sorted(settings)[0]}"
            raise SessionOptionError(
                f"{name} is set but {prefix} is not on: set {prefix}=1 to shadow, or unset {name}"
            )
        return None
    changes: dict[str, Any] = {}
    for suffix, text in settings.items():
        name = f"{prefix}_{suffix}"
        attr = _ENV_FIELDS[suffix]
        if suffix == "MODE":
            mode = text.lower()
            if mode not in MODES:
                raise SessionOptionError(f"{name} must be one of {', '.join(MODES)}, got {text!r}")
            changes[attr] = mode
        elif suffix == "ISOLATION":
            isolation = text.lower()
            if isolation not in ISOLATIONS:
                raise SessionOptionError(
                    f"{name} must be one of {', '.join(ISOLATIONS)}, got {text!r}"
                )
            changes[attr] = isolation
        elif suffix in ("SAMPLE_RATE", "RECORD_RATE"):
            changes[attr] = _env_number(name, text, 0.0, 1.0)
        elif suffix == "TIMEOUT_S":
            changes[attr] = _env_number(name, text, 0.0, None)
        elif suffix in ("LOG", "RECORD"):
            changes[attr] = Path(text)
        elif suffix == "TARGET" and ":" not in text:
            raise SessionOptionError(f"{name} must be MODULE:ATTR, got {text!r}")
        else:
            changes[attr] = text
    try:
        options = dataclasses.replace(defaults, **changes)
    except SessionOptionError as exc:  # a combination, e.g. primary == shadow
        raise SessionOptionError(f"{prefix}_*: {exc}") from None
    if options.mode == "off" and options.record is None:
        return None
    return options


# ---------------------------------------------------------------------------- files


def check_writable(path: Path, what: str) -> None:
    """Creates ``path``'s folder and opens the file for appending, so that an unwritable
    path is reported before any work is done, as ``cannot write <what> <path>: <why>``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise SessionUnavailableError(
            f"cannot write {what} {path}: {describe_os_error(exc)}"
        ) from None


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class SessionReport:
    """What a session found: counters by op, divergences by severity, where the log is."""

    counters: RunCounters
    mode: str
    log_path: Path | None
    primary: str = ""
    shadow: str = ""
    by_severity: Mapping[str, int] = field(default_factory=dict)
    """Divergences of this run by severity, read back from the log (``unknown`` for those
    whose event could not be read)."""
    recording: Path | None = None
    recorded: RecordCounts | None = None
    """What the recorder kept, when the session recorded calls."""
    recording_lost: int = 0

    @property
    def divergences(self) -> int:
        return self.counters.divergences

    @property
    def by_kind(self) -> dict[str, int]:
        return self.counters.by_kind

    def totals(self) -> dict[str, int]:
        """Sums over ops: calls, sampled, matched, tolerated, skipped, errors."""
        keys = ("calls", "sampled", "matched", "tolerated", "skipped", "errors")
        return {k: sum(getattr(c, k) for c in self.counters.by_op.values()) for k in keys}

    def at_least(self, severity: str) -> int:
        """Divergences at ``severity`` or worse (unknown severities count as critical)."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        worse = SEVERITIES[: SEVERITIES.index(severity) + 1]
        return sum(n for s, n in self.by_severity.items() if s in worse or s not in SEVERITIES)

    def table(self) -> Table:
        rows: list[tuple[object, ...]] = []
        for op, c in self.counters.by_op.items():
            kinds = ", ".join(f"{k}={n}" for k, n in sorted(c.diverged.items()))
            diverged = f"{c.divergences} ({kinds})" if kinds else "0"
            skipped = f"{c.skipped} (+{c.errors} errors)" if c.errors else str(c.skipped)
            rows.append((op, c.calls, c.sampled, c.matched, c.tolerated, diverged, skipped))
        headers = ("op", "calls", "sampled", "matched", "tolerated", "diverged", "skipped")
        return Table.of(
            headers,
            rows,
            title=f"shadow run {self.counters.run_id}: {self._count_text()}",
            right=headers[1:],
        )

    def _count_text(self) -> str:
        n = self.divergences
        if not n:
            return "no divergence"
        known = [(s, self.by_severity.get(s, 0)) for s in (*SEVERITIES, "unknown")]
        parts = ", ".join(f"{k} {s}" for s, k in known if k)
        return f"{n} divergence(s)" + (f" ({parts})" if parts else "")

    def verdict(self) -> str:
        """One line: what was compared, what was found, where the events are."""
        t = self.totals()
        pair = f", {self.primary} vs {self.shadow}" if self.primary and self.shadow else ""
        if self.mode == "off":
            text = "shadow (off): nothing compared"
        else:
            text = f"shadow ({self.mode}{pair}): {self._count_text()}; {t['calls']} calls, "
            text += f"{t['sampled']} sampled, {t['skipped']} skipped"
        if t["errors"]:
            text += f", {t['errors']} not compared (shadow machinery errors)"
        if self.log_path is not None:
            text += f"; events in {self.log_path}"
            if self.divergences:
                text += f"; review: shadow review {self.log_path}"
        return text + self._recording_text()

    def _recording_text(self) -> str:
        rc = self.recorded
        if rc is None or self.recording is None:
            return ""
        text = f"; {rc.recorded} of {rc.calls} calls recorded in {self.recording}"
        problems = rc.errors + rc.incomplete + self.recording_lost
        if problems:
            text += f" ({problems} not recorded whole: see the warnings)"
        return text + f"; verify: shadow verify {self.recording}"

    def render(self, terminal: Terminal | None = None) -> str:
        """The counters table (in the style ``terminal`` prints, plain when None) and the
        verdict line; both read the same counters."""
        term = terminal if terminal is not None else Terminal(style="plain")
        return term.render(self.table()) + "\n" + self.verdict()


def _severities(log_path: Path | None, run_id: str, expected: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    if log_path is not None and expected:
        try:
            for event in read_events(log_path):
                if event.get("event") == "divergence" and event.get("run_id") == run_id:
                    severity = str(event.get("severity") or "unknown")
                    counts[severity] = counts.get(severity, 0) + 1
        except OSError:
            pass
    missing = expected - sum(counts.values())
    if missing > 0:
        counts["unknown"] = counts.get("unknown", 0) + missing
    return counts


# ---------------------------------------------------------------------------- session


def _load(target: str | Target) -> Target:
    if isinstance(target, Target):
        return target
    try:
        return load_target(target)
    except Exception as exc:  # any import-time failure of user code
        raise SessionUnavailableError(f"cannot load the shadow target {target}: {exc}") from None


def _build(target: Target, name: str) -> Any:
    try:
        return target.make(name)
    except KeyError:
        known = ", ".join(target.implementation_names) or "none"
        raise SessionUnavailableError(
            f"the shadow target {target.import_spec} has no implementation {name!r} "
            f"(known: {known})"
        ) from None
    except Exception as exc:
        raise SessionUnavailableError(
            f"cannot build the implementation {name!r} of {target.import_spec}: {exc}"
        ) from None


def _accepted() -> frozenset[str]:
    return frozenset(inspect.signature(Dispatcher).parameters)


def _optional_settings(options: SessionOptions) -> dict[str, Any]:
    """Isolation and recording, passed only when not the defaults (a dispatcher that does
    not know them then still works); asking for them where unsupported is an error."""
    wanted: dict[str, Any] = {}
    if options.isolation != "thread":
        wanted["isolation"] = options.isolation
    if options.record is not None:
        wanted["record"] = options.record
        if options.record_rate != 1.0:
            wanted["record_rate"] = options.record_rate
    unsupported = sorted(set(wanted) - _accepted())
    if unsupported:
        name = unsupported[0]
        raise SessionUnavailableError(
            f"{name}={wanted[name]!s} is not supported by this version of the shadow dispatcher"
        )
    return wanted


class ShadowSession:
    """A running shadow: call :attr:`backend` in place of the primary, then :meth:`close`."""

    def __init__(self, options: SessionOptions, dispatcher: Dispatcher[Any]) -> None:
        self.options = options
        self.dispatcher = dispatcher
        self.backend: Any = dispatcher.wrap()
        self._report: SessionReport | None = None

    @classmethod
    def start(cls, options: SessionOptions) -> ShadowSession:
        """Load the target, build both implementations and the dispatcher. In ``off`` mode
        the shadow is not built and nothing is logged or compared."""
        target = _load(options.target)
        primary_name, shadow_name = target.default_pair
        primary = _build(target, options.primary or primary_name)
        if options.mode == "off":  # nothing compared; the calls may still be recorded
            recording: dict[str, Any] = {}
            if options.record is not None:
                check_writable(options.record, "the shadow recording")
                recording = {"record": options.record, "record_rate": options.record_rate}
            dispatcher = Dispatcher(
                target=target,
                primary=primary,
                shadow=primary,
                mode="off",
                run_id=options.run_id,
                **recording,
            )
            return cls(options, dispatcher)
        extra = _optional_settings(options)
        shadow: Any = _build(target, options.shadow or shadow_name)
        if options.isolation == "process" and target.importable:
            shadow = options.shadow or shadow_name  # built again in the worker, by name
        check_writable(options.log_path, "the shadow log")
        if options.record is not None:
            check_writable(options.record, "the shadow recording")
        dispatcher = Dispatcher(
            target=target,
            primary=primary,
            shadow=shadow,
            mode=options.mode,
            sample_rate=options.sample_rate,
            timeout_s=options.timeout_s,
            log=options.log_path,
            run_id=options.run_id,
            **extra,
        )
        return cls(options, dispatcher)

    @property
    def run_id(self) -> str:
        return self.dispatcher.run_id

    def close(self) -> SessionReport:
        """Finish shadow work, write the run summary event, and report (idempotent)."""
        if self._report is None:
            counters = self.dispatcher.close()
            off = self.options.mode == "off"
            log_path = None if off else self.options.log_path
            recorder = getattr(self.dispatcher, "recorder", None)
            self._report = SessionReport(
                counters,
                self.options.mode,
                log_path,
                primary="" if off else self.dispatcher.reporter.primary.name,
                shadow="" if off else self.dispatcher.reporter.shadow.name,
                by_severity=_severities(log_path, counters.run_id, counters.divergences),
                recording=None if recorder is None else self.options.record,
                recorded=None if recorder is None else recorder.totals(),
                recording_lost=0 if recorder is None else recorder.events_lost,
            )
        return self._report

    def __enter__(self) -> ShadowSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _name(impl: Any) -> str:
    name = getattr(impl, "name", None)
    return name if isinstance(name, str) else type(impl).__name__


def start_session(options: SessionOptions) -> ShadowSession:
    """Same as :meth:`ShadowSession.start`."""
    return ShadowSession.start(options)
