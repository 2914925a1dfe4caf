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
    "Dispatcher": "shadow._dispatcher",
    "ShadowDivergenceError": "shadow._dispatcher",
    "MODES": "shadow._dispatcher",
    "experiment": "shadow._pairs",
    "pair": "shadow._pairs",
    "PairError": "shadow._pairs",
    "EventLog": "shadow._log",
    # describing a target
    "Target": "shadow._registry",
    "OpSpec": "shadow._registry",
    "DivergenceContext": "shadow._registry",
    "load_target": "shadow._registry",
    "ComparePolicy": "shadow._compare",
    "EXACT": "shadow._compare",
    "LOOSE_TYPES": "shadow._compare",
    "TypedCodec": "shadow._codec",
    # judging
    "Judge": "shadow._judge",
    "Judgement": "shadow._judge",
    "Differential": "shadow._judge",
    "Outcome": "shadow._outcome",
    # fuzzing and the gate
    "FuzzSpec": "shadow._fuzz",
    "FuzzConfig": "shadow._fuzz",
    "fuzz_target": "shadow._fuzz",
    "GateConfig": "shadow._gate",
    "run_gate": "shadow._gate",
    "differential_tests": "shadow._testing",
    "call_strategy": "shadow._strategies",
    # sessions (runner integration)
    "SessionOptions": "shadow._session",
    "ShadowSession": "shadow._session",
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
    from shadow._codec import TypedCodec
    from shadow._compare import EXACT, LOOSE_TYPES, ComparePolicy
    from shadow._dispatcher import MODES, Dispatcher, ShadowDivergenceError
    from shadow._fuzz import FuzzConfig, FuzzSpec, fuzz_target
    from shadow._gate import GateConfig, run_gate
    from shadow._judge import Differential, Judge, Judgement
    from shadow._log import EventLog
    from shadow._outcome import Outcome
    from shadow._pairs import PairError, experiment, pair
    from shadow._registry import DivergenceContext, OpSpec, Target, load_target
    from shadow._session import SessionOptions, ShadowSession
    from shadow._strategies import call_strategy
    from shadow._testing import differential_tests


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shadow' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
