"""Shadow-mode validation: run every call on two implementations, keep one, log the differences.

Generic: nothing here knows what the implementations compute. The public API is what this
module exports (``__all__``); submodules are the implementation and may change.

Three lines to shadow a function at runtime::

    import shadow

    @shadow.experiment(shadow=port.score)
    def score(xs: list[float]) -> float: ...

A whole object (every registered op)::

    dispatcher = shadow.Dispatcher(target, mode="async", log="reports/shadow.jsonl")
    backend = dispatcher.wrap()   # same type as the primary

Heavy parts (fuzzing, the gate, review) are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_LAZY: dict[str, str] = {
    # runtime
    "Dispatcher": "shadow.dispatcher",
    "ShadowDivergenceError": "shadow.dispatcher",
    "MODES": "shadow.dispatcher",
    "experiment": "shadow.pairs",
    "pair": "shadow.pairs",
    "PairError": "shadow.pairs",
    "EventLog": "shadow.log",
    # describing a target
    "Target": "shadow.registry",
    "OpSpec": "shadow.registry",
    "DivergenceContext": "shadow.registry",
    "load_target": "shadow.registry",
    "ComparePolicy": "shadow.compare",
    "EXACT": "shadow.compare",
    "LOOSE_TYPES": "shadow.compare",
    "TypedCodec": "shadow.codec",
    # judging
    "Judge": "shadow.judge",
    "Judgement": "shadow.judge",
    "Differential": "shadow.judge",
    "Outcome": "shadow.outcome",
    # fuzzing and the gate
    "FuzzSpec": "shadow.fuzz",
    "FuzzConfig": "shadow.fuzz",
    "fuzz_target": "shadow.fuzz",
    "GateConfig": "shadow.gate",
    "run_gate": "shadow.gate",
    "differential_tests": "shadow.testing",
    "call_strategy": "shadow.strategies",
    # sessions (runner integration)
    "SessionOptions": "shadow.session",
    "ShadowSession": "shadow.session",
}

__all__ = [
    "EXACT",
    "LOOSE_TYPES",
    "MODES",
    "ComparePolicy",
    "Differential",
    "Dispatcher",
    "DivergenceContext",
    "EventLog",
    "FuzzConfig",
    "FuzzSpec",
    "GateConfig",
    "Judge",
    "Judgement",
    "OpSpec",
    "Outcome",
    "PairError",
    "SessionOptions",
    "ShadowDivergenceError",
    "ShadowSession",
    "Target",
    "TypedCodec",
    "__version__",
    "call_strategy",
    "differential_tests",
    "experiment",
    "fuzz_target",
    "load_target",
    "pair",
    "run_gate",
]

if TYPE_CHECKING:
    from shadow.codec import TypedCodec
    from shadow.compare import EXACT, LOOSE_TYPES, ComparePolicy
    from shadow.dispatcher import MODES, Dispatcher, ShadowDivergenceError
    from shadow.fuzz import FuzzConfig, FuzzSpec, fuzz_target
    from shadow.gate import GateConfig, run_gate
    from shadow.judge import Differential, Judge, Judgement
    from shadow.log import EventLog
    from shadow.outcome import Outcome
    from shadow.pairs import PairError, experiment, pair
    from shadow.registry import DivergenceContext, OpSpec, Target, load_target
    from shadow.session import SessionOptions, ShadowSession
    from shadow.strategies import call_strategy
    from shadow.testing import differential_tests


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shadow' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
