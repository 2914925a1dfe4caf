"""Candidate enumeration and scoring, as the original runner did it (design §3.1)."""

from __future__ import annotations

import math

from runners.reference import checks
from runners.types import CandidateTable, SearchSpace
from t2_sidecar import errors

_VEC_BONUS = {1: 0.0, 2: 0.8, 4: 1.6, 8: 2.1}
MAX_LOCAL_DIM = 1024
MAX_WORK_GROUP = 1024


def kernel_bias(kernel: str) -> float:
    if "v3" in kernel:
        return 10.0
    if "tile24" in kernel:
        return 8.0
    if "tile20" in kernel:
        return 6.5
    return 5.0


def vector_bonus(width: int) -> float:
    bonus = _VEC_BONUS.get(width)
    return bonus if bonus is not None else 1.0 + 0.25 * math.log2(width)


def score(kernel: str, width: int, unroll: int, x: int, y: int) -> float:
    """Left to right in IEEE doubles; the Rust port must keep this exact order."""
    threads = x * y
    penalty = 0.01 * (threads - 256) if threads > 256 else 0.0
    return (
        kernel_bias(kernel)
        + vector_bonus(width)
        + 0.12 * unroll
        - 0.015 * abs(threads - 100)
        - penalty
    )


def candidate_id(kernel: str, width: int, unroll: int, x: int, y: int) -> str:
    return f"{kernel}_vw{width}_u{unroll}_l{x}x{y}"


def validate_space(space: object) -> tuple[list[str], list[int], list[int], list[tuple[int, int]]]:
    """Check a space in the contract's order; returns its lists, normalized."""
    checks.instance(space, SearchSpace, "space")
    assert isinstance(space, SearchSpace)

    kernels = [
        checks.name(k, "kernels") for k in checks.non_empty_sequence(space.kernels, "kernels")
    ]
    checks.no_duplicates(kernels, "kernels")

    widths = [
        checks.int_in(w, "vector_widths", 1, 16)
        for w in checks.non_empty_sequence(space.vector_widths, "vector_widths")
    ]
    checks.no_duplicates(widths, "vector_widths")

    unrolls = [
        checks.int_in(u, "unroll_k_values", 0, 64)
        for u in checks.non_empty_sequence(space.unroll_k_values, "unroll_k_values")
    ]
    checks.no_duplicates(unrolls, "unroll_k_values")

    locals_: list[tuple[int, int]] = []
    for pair in checks.non_empty_sequence(space.local_sizes, "local_sizes"):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            checks.fail(errors.WRONG_TYPE, "local_sizes", f"expected an (x, y) pair, got {pair!r}")
        x = checks.int_in(pair[0], "local_sizes", 1, MAX_LOCAL_DIM)
        y = checks.int_in(pair[1], "local_sizes", 1, MAX_LOCAL_DIM)
        if x * y > MAX_WORK_GROUP:
            checks.fail(
                errors.OUT_OF_RANGE, "local_sizes", f"{x}x{y} exceeds {MAX_WORK_GROUP} work-items"
            )
        locals_.append((x, y))
    checks.no_duplicates(locals_, "local_sizes")

    if space.top_k is not None:
        checks.int_in(space.top_k, "top_k", 1)
    cap = checks.int_in(space.max_candidates, "max_candidates", 1)

    total = len(kernels) * len(widths) * len(unrolls) * len(locals_)
    if total > cap:
        checks.fail(errors.TOO_LARGE, "space", f"{total} candidates exceed the cap of {cap}")
    return kernels, widths, unrolls, locals_


def enumerate_candidates(space: SearchSpace) -> CandidateTable:
    kernels, widths, unrolls, locals_ = validate_space(space)
    total = len(kernels) * len(widths) * len(unrolls) * len(locals_)

    ids: list[str] = []
    scores: list[float] = []
    for kernel in kernels:
        for width in widths:
            for unroll in unrolls:
                for x, y in locals_:
                    ids.append(candidate_id(kernel, width, unroll, x, y))
                    scores.append(score(kernel, width, unroll, x, y))

    # Best score first, ties by id (code points): sort by id, then stably by score. Two
    # plain-key sorts build no key tuples, which keeps a million-candidate space small.
    order = sorted(range(total), key=ids.__getitem__)
    order.sort(key=scores.__getitem__, reverse=True)  # reverse keeps equal keys in order
    if space.top_k is not None:
        del order[space.top_k :]

    # Position i of the nested loops above decodes back to its list indexes (mixed radix).
    n_l, n_u, n_w = len(locals_), len(unrolls), len(widths)
    return CandidateTable(
        candidate_ids=tuple(ids[i] for i in order),
        kernels=tuple(kernels[i // (n_l * n_u * n_w)] for i in order),
        vector_widths=tuple(widths[i // (n_l * n_u) % n_w] for i in order),
        unroll_ks=tuple(unrolls[i // n_l % n_u] for i in order),
        local_xs=tuple(locals_[i % n_l][0] for i in order),
        local_ys=tuple(locals_[i % n_l][1] for i in order),
        scores=tuple(scores[i] for i in order),
        total=total,
    )
