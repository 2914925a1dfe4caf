"""portlib registered with ``shadow``: ``--target examples.portlib.target:TARGET``.

Implementations: ``reference`` (the Python original), ``faithful`` (a port that agrees),
``planted`` (the port with every planted divergence on). The default pair is
``("reference", "planted")``: the benchmark pair. Every op is compared exactly (the
original's quirks are the contract). No strategy is written by hand: each op's comes from
the reference function's type hints (through the stand-in helper until ``shadow`` derives
them itself). ``BOUNDARY_TARGET`` is the same pair with boundary values mixed into those
strategies, for comparison.
"""

from __future__ import annotations

from examples.portlib import OPS, faithful, planted, reference
from examples.portlib.model import Job, LatencySummary
from examples.portlib.typed_strategies import call_strategy
from shadow.codec import TypedCodec
from shadow.compare import EXACT
from shadow.registry import OpSpec, Target

CODEC = TypedCodec([Job, LatencySummary])


def make_target(import_spec: str, *, boundaries: bool = False) -> Target:
    """The portlib target; ``boundaries`` mixes boundary values into the stand-in strategies."""
    ops = [
        OpSpec(op, EXACT, strategies=call_strategy(getattr(reference, op), boundaries=boundaries))
        for op in OPS
    ]
    return Target(
        "portlib",
        import_spec,
        {"reference": lambda: reference, "faithful": lambda: faithful, "planted": planted.make},
        ops=ops,
        default_pair=("reference", "planted"),
        codec=CODEC,
    )


TARGET = make_target("examples.portlib.target:TARGET")
"""The benchmark target: strategies from plain ``st.from_type`` of the type hints."""

BOUNDARY_TARGET = make_target("examples.portlib.target:BOUNDARY_TARGET", boundaries=True)
"""The same with boundary values mixed in (what issue 12's derived strategies will do)."""
