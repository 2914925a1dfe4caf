"""portlib registered with ``shadow``: ``--target examples.portlib.target:TARGET``.

Implementations: ``reference`` (the Python original), ``faithful`` (a port that agrees),
``planted`` (the port with every planted divergence on). The default pair is
``("reference", "planted")``: the benchmark pair. Every op is compared exactly (the
original's quirks are the contract). No strategy is written by hand: the fuzzer derives
each op's from the reference function's type hints (:mod:`shadow._strategies`), as it would
for any user's pair.
"""

from __future__ import annotations

from examples.portlib import OPS, faithful, planted, reference
from examples.portlib.model import Job, LatencySummary
from shadow import EXACT, OpSpec, Target, TypedCodec

CODEC = TypedCodec([Job, LatencySummary])


def make_target(import_spec: str) -> Target:
    """The portlib target (no strategies: the fuzzer derives them from type hints)."""
    return Target(
        "portlib",
        import_spec,
        {"reference": lambda: reference, "faithful": lambda: faithful, "planted": planted.make},
        ops=[OpSpec(op, EXACT) for op in OPS],
        default_pair=("reference", "planted"),
        codec=CODEC,
    )


TARGET = make_target("examples.portlib.target:TARGET")
