"""The project's own OpenCL GEMM kernels and the mapping from a candidate to build options.

A candidate's kernel family names its tile (``tile16`` -> 16x16 tiles); an optional
``_pad`` suffix pads the local-memory rows. Vector width, k-loop unroll factor and
work-group shape come from the candidate itself. Everything is a ``-D`` option of the one
source ``gemm.cl``, so the executor builds exactly one program per distinct schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from runners.types import Candidate

KERNEL_FILE = Path(__file__).with_name("gemm.cl")
KERNEL_NAME = "gemm"
VECTOR_WIDTHS = (1, 2, 4, 8, 16)
MAX_OUTPUTS_PER_ITEM = 64
"""Register-block cap: more accumulators than this per work-item spills on any device."""

_FAMILY = re.compile(r"tile(?P<tile>[1-9][0-9]?)(?P<pad>_pad)?")


@cache
def kernel_source() -> str:
    """The OpenCL C source, read once."""
    return KERNEL_FILE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class KernelConfig:
    """Compile-time parameters of one GEMM build (see the header of gemm.cl)."""

    tile: int
    local_x: int
    local_y: int
    vector_width: int
    unroll: int
    pad: int

    def build_options(self) -> list[str]:
        return [
            f"-DTILE={self.tile}",
            f"-DLX={self.local_x}",
            f"-DLY={self.local_y}",
            f"-DVW={self.vector_width}",
            f"-DUNROLL={self.unroll}",
            f"-DPAD={self.pad}",
        ]

    @property
    def local_mem_bytes(self) -> int:
        """Two float tiles of TILE x (TILE + PAD)."""
        return 2 * self.tile * (self.tile + self.pad) * 4

    def global_size(self, m: int, n: int) -> tuple[int, int]:
        """One work-group per TILE x TILE block of C, rounded up (edges are bounds-checked)."""
        groups_x = -(-n // self.tile)
        groups_y = -(-m // self.tile)
        return (groups_x * self.local_x, groups_y * self.local_y)


def parse_family(kernel: str) -> tuple[int, int] | None:
    """(tile, pad) of a family name like ``tile20`` or ``tile24_pad``; None if unknown."""
    match = _FAMILY.fullmatch(kernel)
    if match is None:
        return None
    return int(match["tile"]), 1 if match["pad"] else 0


def config_for(candidate: Candidate) -> KernelConfig:
    """Build parameters of a candidate; raises ValueError when it cannot be built at all."""
    family = parse_family(candidate.kernel)
    if family is None:
        raise ValueError(
            f"unknown kernel family {candidate.kernel!r} (expected tileNN or tileNN_pad)"
        )
    tile, pad = family
    config = KernelConfig(
        tile=tile,
        local_x=candidate.local_x,
        local_y=candidate.local_y,
        vector_width=candidate.vector_width,
        unroll=candidate.unroll_k,
        pad=pad,
    )
    problem = structural_problem(config)
    if problem is not None:
        raise ValueError(problem)
    return config


def structural_problem(config: KernelConfig) -> str | None:
    """Why a configuration is not a valid kernel on any device, or None."""
    if config.vector_width not in VECTOR_WIDTHS:
        return f"vector width {config.vector_width} is not one of {VECTOR_WIDTHS}"
    if config.tile % config.vector_width:
        return f"vector width {config.vector_width} does not divide tile {config.tile}"
    if config.tile % config.local_x or config.tile % config.local_y:
        return f"local size {config.local_x}x{config.local_y} does not divide tile {config.tile}"
    outputs = (config.tile // config.local_x) * (config.tile // config.local_y)
    if outputs > MAX_OUTPUTS_PER_ITEM:
        return (
            f"{outputs} outputs per work-item exceed the register-block cap {MAX_OUTPUTS_PER_ITEM}"
        )
    return None
