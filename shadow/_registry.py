"""Targets: what a user registers so ``shadow`` can compare, log and replay their ops.

A :class:`Target` names a pair of interchangeable implementations (built on demand by name,
so ``shadow replay`` in a fresh process can rebuild both) and one :class:`OpSpec` per method
worth shadowing: how to compare its outputs, how to encode its input, how bad a divergence
is, and (for the fuzzer) how to generate inputs. The target's ``import_spec``
(``"package.module:attr"``) is written into every event so tools can re-import it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shadow._codec import Codec
from shadow._compare import EXACT, ComparePolicy, DiffEntry
from shadow._outcome import Outcome

Severity = Literal["critical", "minor", "info"]


@dataclass(frozen=True)
class DivergenceContext:
    """What a severity classifier sees about one divergence."""

    op: str
    kind: str
    primary: Outcome
    shadow: Outcome
    diff: tuple[DiffEntry, ...]


SeverityClassifier = Callable[[DivergenceContext], "Severity | None"]
"""Returns the severity of a divergence, or None for the kind's default."""

DEFAULT_SEVERITY: Mapping[str, Severity] = {
    "value_mismatch": "critical",
    "error_mismatch": "critical",
    "primary_error_only": "critical",
    "shadow_error_only": "critical",
    "shadow_error": "critical",
    "shadow_crash": "critical",
    "shadow_unsendable": "critical",
    "mutated_input": "critical",
    "shadow_timeout": "minor",
}
"""Unexplained differences are critical: a target lowers a severity only by declaring why
(a ``severity_classifier`` that knows which differences change nothing downstream). A
timeout says the port is slow, not wrong: minor."""

GroupBy = Callable[[DivergenceContext], "str | None"]
"""Returns a target's own grouping key for a divergence (None: the default signature)."""


@dataclass(frozen=True)
class OpSpec:
    """One shadowed operation (a method name of the implementations).

    ``strategies`` is for the fuzzer: a Hypothesis strategy of ``(args, kwargs)`` or a
    :class:`shadow._fuzz.FuzzSpec`; None lets the fuzzer derive one from the primary's type
    hints. ``group_by`` replaces the default signature shape with a key of the target's
    (for example a record id or a decision). ``key_by`` (path regex -> field) is merged
    into the policy: lists of records are matched by that field instead of by position.
    """

    name: str
    policy: ComparePolicy = EXACT
    codec: Codec | None = None
    severity_classifier: SeverityClassifier | None = None
    strategies: Any = None
    group_by: GroupBy | None = None
    key_by: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.key_by:
            merged = {**self.policy.key_by, **self.key_by}
            object.__setattr__(self, "policy", dataclasses.replace(self.policy, key_by=merged))

    def severity(self, ctx: DivergenceContext) -> Severity:
        if self.severity_classifier is not None:
            chosen = self.severity_classifier(ctx)
            if chosen is not None:
                return chosen
        return DEFAULT_SEVERITY.get(ctx.kind, "critical")

    def group_key(self, ctx: DivergenceContext) -> str | None:
        if self.group_by is None:
            return None
        key = self.group_by(ctx)
        return None if key is None else str(key)


class Target:
    """A registered pair of implementations and their ops.

    ``implementations`` maps a name (as written in events, e.g. ``"python"``) to a
    zero-argument factory. ``default_pair`` is ``(primary_name, shadow_name)``.
    """

    def __init__(
        self,
        name: str,
        import_spec: str,
        implementations: Mapping[str, Callable[[], Any]],
        ops: Iterable[OpSpec] = (),
        default_pair: tuple[str, str] | None = None,
        codec: Codec | None = None,
    ) -> None:
        if ":" not in import_spec:
            raise ValueError(f"import_spec must be 'module:attr', got {import_spec!r}")
        self.name = name
        self.import_spec = import_spec
        self._factories = dict(implementations)
        self.codec = codec
        self._ops: dict[str, OpSpec] = {}
        names = tuple(self._factories)
        self.default_pair = default_pair or ((names[0], names[1]) if len(names) >= 2 else ("", ""))
        for spec in ops:
            self.register(spec)

    def register(self, spec: OpSpec) -> OpSpec:
        if spec.name in self._ops:
            raise ValueError(f"op {spec.name!r} is already registered on target {self.name!r}")
        if spec.codec is None and self.codec is None:
            raise ValueError(f"op {spec.name!r} has no codec and target {self.name!r} none either")
        self._ops[spec.name] = spec
        return spec

    @property
    def importable(self) -> bool:
        """Can another process rebuild this target from ``import_spec``?"""
        return not self.import_spec.startswith("__main__:<")

    @property
    def ops(self) -> Mapping[str, OpSpec]:
        return self._ops

    def op(self, name: str) -> OpSpec:
        try:
            return self._ops[name]
        except KeyError:
            raise KeyError(f"target {self.name!r} has no op {name!r}") from None

    def codec_for(self, op: str) -> Codec:
        spec = self.op(op)
        codec = spec.codec or self.codec
        assert codec is not None  # register() guarantees one
        return codec

    @property
    def implementation_names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def add_implementation(self, name: str, factory: Callable[[], Any]) -> None:
        self._factories[name] = factory

    def make(self, name: str) -> Any:
        """Build the implementation called ``name`` (raises KeyError for unknown names)."""
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(self._factories) or "none"
            raise KeyError(
                f"target {self.name!r} has no implementation {name!r} ({known})"
            ) from None
        return factory()

    def implementations(self) -> tuple[Any, Any]:
        """The default (primary, shadow) pair, freshly built."""
        primary, shadow = self.default_pair
        return self.make(primary), self.make(shadow)


def load_target(import_spec: str) -> Target:
    """Import ``"module:attr"`` (or build a ``"pair:A,B"``) and return the :class:`Target`."""
    if import_spec.startswith("pair:"):
        from shadow._pairs import load_pair

        return load_pair(import_spec)
    module_name, _, attr = import_spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, Target):
        obj = obj()
    if not isinstance(obj, Target):
        raise TypeError(f"{import_spec!r} is a {type(obj).__name__}, not a shadow Target")
    return obj
