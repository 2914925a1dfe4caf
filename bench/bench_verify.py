"""Recording and verify costs, side by side in one process, printed as ratios.

Run: ``.venv/bin/python bench/bench_verify.py [--calls N] [--quick]``. The machine's 2 cores
are shared: read the ratios, not the last digit.

Measured:

1. **Verify throughput.** A recording of ``--calls`` (default 100,000) T2 calls: the real
   calls of the three recorded RX 580 searches (Python primary, recorded with the shadow
   off), repeated with fresh call ids until there are that many. ``shadow verify``'s engine
   (:func:`shadow._verify.run_verify`: scan, decode, run the Rust shadow, judge, write the
   run summary) against the floor: calling the Rust backend directly, in a loop, on the
   same inputs already decoded. The ratio is the framework's overhead per call, for thread
   isolation, process isolation, and process isolation with two workers.
2. **Recording's cost.** The expanded recorded search shadowed (sync, Python primary, Rust
   shadow), with ``--shadow-record`` against without, the two run in turns, best and median
   of many runs; and the same search unshadowed (shadow off) with and without recording.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from runners.backends import get_backend
from runners.executors.recorded import RecordedExecutor
from runners.search import run_search
from runners.shadow_t2 import CODEC, TARGET, ShadowOptions, start_shadow
from shadow._log import read_events
from shadow._verify import run_verify

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "rx580"


def fixtures() -> list[Path]:
    import os

    folder = Path(os.environ.get("T2_FIXTURES_DIR") or FIXTURES)
    found = sorted(folder.glob("*.json"))
    if len(found) < 3:
        sys.exit(f"bench_verify: the recorded RX 580 searches are not in {folder}")
    return found


def search(path: Path, options: ShadowOptions | None) -> None:
    executor = RecordedExecutor(path)
    if options is None:
        run_search(executor.defaults.to_config(), get_backend("python"), executor)
        return
    session = start_shadow(options)
    run_search(executor.defaults.to_config(), session.backend, executor)
    session.close()


def make_recording(folder: Path, calls: int) -> Path:
    base = folder / "base.jsonl"
    for path in fixtures():
        search(path, ShadowOptions(mode="off", record=base))
    lines = [e for e in read_events(base) if e["event"] == "call"]
    out = folder / "recording.jsonl"
    with out.open("wb") as fh:
        for i in range(calls):
            event = dict(lines[i % len(lines)])
            event["call_id"] = f"bench-c{i:07d}"
            fh.write(orjson.dumps(event) + b"\n")
    return out


def direct_loop(recording: Path) -> tuple[float, float, int]:
    """Seconds to call the Rust backend on every recorded input decoded beforehand (the
    floor), and to decode each input then call (the floor of any verifier that reads
    inputs from JSON)."""
    rust = get_backend("rust")
    encoded = []
    decoded = []
    for event in read_events(recording):
        if event["event"] == "call":
            fn = getattr(rust, event["op"])
            args, kwargs = CODEC.decode(event["input"])
            encoded.append((fn, event["input"]))
            decoded.append((fn, args, kwargs))
    best = with_decoding = float("inf")
    decode = CODEC.decode
    for _ in range(3):
        t0 = time.perf_counter()
        for fn, args, kwargs in decoded:
            try:  # noqa: SIM105 (a with-statement would add to the floor being measured)
                fn(*args, **kwargs)
            except ValueError:
                pass
        best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for fn, data in encoded:
            args, kwargs = decode(data)
            try:  # noqa: SIM105
                fn(*args, **kwargs)
            except ValueError:
                pass
        with_decoding = min(with_decoding, time.perf_counter() - t0)
    return best, with_decoding, len(decoded)


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_verify(folder: Path, calls: int) -> None:
    t0 = time.perf_counter()
    recording = make_recording(folder, calls)
    size = recording.stat().st_size / 2**20
    print(f"recording: {calls} calls, {size:.1f} MiB, made in {time.perf_counter() - t0:.1f} s")
    direct, decoding, n = direct_loop(recording)
    print(f"direct Rust calls on decoded inputs   {direct:8.3f} s   {n / direct:10.0f} calls/s")
    print(
        f"decode each input, then call          {decoding:8.3f} s   {n / decoding:10.0f} calls/s"
        f"   ratio to direct {decoding / direct:6.1f}x"
    )
    for isolation, workers in (("thread", 1), ("process", 1), ("process", 2)):
        t0 = time.perf_counter()
        r = run_verify(
            [recording],
            target=TARGET,
            explicit_target=False,
            shadow="rust",
            isolation=isolation,
            workers=workers,
            log=folder / f"verify-{isolation}-{workers}.jsonl",
        )
        seconds = time.perf_counter() - t0
        assert r.exit_code == 0 and r.checked == n, (r.exit_code, r.checked, r.unchecked)
        print(
            f"verify {isolation:<7} x{workers} worker(s)       {seconds:8.3f} s   "
            f"{n / seconds:10.0f} calls/s   ratio to direct {seconds / direct:6.1f}x, "
            f"to decode+call {seconds / decoding:5.1f}x"
        )


def bench_recording(folder: Path, repeats: int) -> None:
    expanded = next(p for p in fixtures() if "expanded" in p.name)
    variants: dict[str, Callable[[int], ShadowOptions | None]] = {
        "shadowed": lambda i: ShadowOptions(log_path=folder / "s.jsonl"),
        "shadowed + recording": lambda i: ShadowOptions(
            log_path=folder / "s.jsonl", record=folder / f"r{i}.jsonl"
        ),
        "unshadowed (off)": lambda i: ShadowOptions(mode="off"),
        "off + recording": lambda i: ShadowOptions(mode="off", record=folder / f"o{i}.jsonl"),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for make in variants.values():  # warm-up: imports, caches
        search(expanded, make(-1))
    for i in range(repeats):  # in turns, so each variant sees the same noise
        for name, make in variants.items():
            options = make(i)
            times[name].append(timed(lambda options=options: search(expanded, options)))
    calls = sum(1 for e in read_events(folder / "r0.jsonl") if e["event"] == "call")
    print(f"\nrecorded search {expanded.name}: {calls} core calls, {repeats} runs each")
    for name, values in times.items():
        print(
            f"{name:<22} best {min(values) * 1e3:7.2f} ms   "
            f"median {statistics.median(values) * 1e3:7.2f} ms"
        )
    for with_, without in (
        ("shadowed + recording", "shadowed"),
        ("off + recording", "unshadowed (off)"),
    ):
        best = min(times[with_]) / min(times[without])
        median = statistics.median(times[with_]) / statistics.median(times[without])
        per_call = (min(times[with_]) - min(times[without])) / calls * 1e6
        print(
            f"ratio {with_} / {without}: best {best:.3f}, median {median:.3f} "
            f"({per_call:+.0f} us per recorded call, best against best)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000, help="recorded calls to verify")
    parser.add_argument("--repeats", type=int, default=60, help="runs of each search variant")
    parser.add_argument("--quick", action="store_true", help="10,000 calls, 10 runs")
    args = parser.parse_args()
    calls, repeats = (10_000, 10) if args.quick else (args.calls, args.repeats)
    with tempfile.TemporaryDirectory(prefix="bench_verify_") as tmp:
        bench_verify(Path(tmp), calls)
        bench_recording(Path(tmp), repeats)


if __name__ == "__main__":
    main()
