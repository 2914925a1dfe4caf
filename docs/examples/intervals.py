"""Worked example for docs/fuzzing.md: shadow and fuzz two interval-merge implementations.

Nothing here is T2: ``shadow`` only needs a Target naming two implementations, one OpSpec
per method (comparison policy, codec, strategy) and the rest is generic.
"""

from __future__ import annotations

from hypothesis import strategies as st

from shadow import EXACT, FuzzSpec, OpSpec, Target, TypedCodec

Interval = tuple[int, int]


class SortingMerger:
    """The reference: sort, then extend the last interval while the next one touches it."""

    name = "sorting"
    version = "1.0"

    def merge(self, intervals: list[Interval]) -> list[Interval]:
        out: list[Interval] = []
        for lo, hi in sorted(intervals):
            if lo > hi:
                raise ValueError(f"empty interval ({lo}, {hi})")
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return out


class SweepMerger:
    """A "faster" port: a sweep over +1/-1 events. Correct, so fuzzing finds nothing."""

    name = "sweep"
    version = "2.0"

    def merge(self, intervals: list[Interval]) -> list[Interval]:
        for lo, hi in intervals:
            if lo > hi:
                raise ValueError(f"empty interval ({lo}, {hi})")
        events = sorted([(lo, 0) for lo, _ in intervals] + [(hi, 1) for _, hi in intervals])
        out: list[Interval] = []
        depth, start = 0, 0
        for x, kind in events:
            if kind == 0:
                if depth == 0:
                    # touching the previous interval: extend it
                    start = out.pop()[0] if out and out[-1][1] == x else x
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    out.append((start, x))
        return out


class OffByOneMerger(SortingMerger):
    """A buggy port: intervals that only touch ((0, 1) and (1, 2)) are not merged."""

    name = "off_by_one"

    def merge(self, intervals: list[Interval]) -> list[Interval]:
        out: list[Interval] = []
        for lo, hi in sorted(intervals):
            if lo > hi:
                raise ValueError(f"empty interval ({lo}, {hi})")
            if out and lo < out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return out


@st.composite
def _intervals(draw: st.DrawFn) -> Interval:
    lo = draw(st.integers(-20, 20))
    return (lo, lo + draw(st.integers(-1, 5)))  # length -1 is invalid: error parity too


MERGE_CALLS = st.lists(_intervals(), max_size=8).map(lambda xs: ((xs,), {}))

TARGET = Target(
    "intervals",
    "docs.examples.intervals:TARGET",
    {"sorting": SortingMerger, "sweep": SweepMerger, "off_by_one": OffByOneMerger},
    ops=[OpSpec("merge", EXACT, strategies=FuzzSpec(MERGE_CALLS))],
    default_pair=("sorting", "sweep"),
    codec=TypedCodec(),
)
