"""Hypothesis strategies for valid T2 core inputs, shared by the core property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from runners.types import Measurement, ReplaySample, SearchSpace

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
kernel_names = st.one_of(
    names,
    st.sampled_from(["tile20", "tile24", "t20_v3vec", "tile24_v3", "gemm"]),
    st.builds(lambda a, b: a + b, names, st.sampled_from(["tile20", "tile24", "v3"])),
)


@st.composite
def local_sizes(draw: st.DrawFn) -> tuple[int, int]:
    x = draw(st.integers(1, 1024))
    y = draw(st.integers(1, 1024 // x))
    return (x, y)


spaces = st.builds(
    SearchSpace,
    kernels=st.lists(kernel_names, min_size=1, max_size=4, unique=True),
    vector_widths=st.lists(st.integers(1, 16), min_size=1, max_size=5, unique=True),
    unroll_k_values=st.lists(st.integers(0, 64), min_size=1, max_size=5, unique=True),
    local_sizes=st.lists(local_sizes(), min_size=1, max_size=5, unique=True),
    top_k=st.none() | st.integers(1, 50),
)

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
samples = st.lists(finite, min_size=1, max_size=60) | st.lists(
    st.sampled_from([0.0, 1.0, 2.5, -3.0]), min_size=1, max_size=20
)
non_negative = st.floats(min_value=0.0, max_value=5e3, allow_nan=False)
errors_ = st.sampled_from([0.0, 1e-4, 5e-4, 1e-3, 1.0000000000000002e-3, 2e-3])


@st.composite
def measurement_sets(draw: st.DrawFn) -> list[Measurement]:
    ids = draw(
        st.lists(
            st.sampled_from(["t20_prod_v4_u10_l10", "t24_prod_v4_u0_l12", "a", "b", "c"]),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    sizes = draw(
        st.lists(
            st.sampled_from([512, 1024, 1799, 1800, 2048]), min_size=1, max_size=4, unique=True
        )
    )
    out = []
    for cid in ids:
        for size in sizes:
            if draw(st.booleans()) or draw(st.booleans()):
                status = draw(st.sampled_from(["completed", "completed", "completed", "failed"]))
                gflops = draw(non_negative | st.sampled_from([100.0, 110.0, 0.0]))
                out.append(
                    Measurement(cid, size, status, gflops, draw(non_negative), draw(errors_))
                )
    return draw(st.permutations(out))


replay_samples = st.lists(
    st.builds(
        ReplaySample,
        st.floats(0.0, 2000.0) | st.sampled_from([100.0, 110.0]),
        non_negative,
        errors_,
    ),
    min_size=1,
    max_size=10,
)
