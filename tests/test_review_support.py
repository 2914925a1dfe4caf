"""Synthetic shadow logs for the review tests, written fast enough for a million events.

Why templates: dumping a million dicts with orjson would dominate the test's time.  Each
(signature, input variant) pair is rendered once to a JSON line with ``%s`` holes for the
timestamp and call id; the million lines are then plain string formatting.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

SCHEMA = "shadow.event/1"
OPS = ("enumerate", "plan", "summarize", "rank")
KINDS = ("value_mismatch", "error_mismatch", "shadow_error", "primary_error_only")
N_SIGNATURES = 20
N_VARIANTS = 3
RUNS = 4
BASE_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z

GARBAGE: tuple[tuple[str, bytes], ...] = (
    ("truncated", b'{"schema":"shadow.event/1","event":"divergence","ts":"2025-01-01T00:0'),
    ("not_json", b"Traceback (most recent call last):"),
    ("binary", bytes(range(128, 256)) + b"\x00\x01\xff"),
    ("foreign", b'{"level":"info","msg":"server started","port":8080}'),
    ("unknown_schema", b'{"schema":"shadow.event/99","event":"divergence","signature":"x"}'),
    ("not_object", b"[1, 2, 3]"),
    ("unknown_event", b'{"schema":"shadow.event/1","event":"heartbeat"}'),
    ("missing_fields", b'{"schema":"shadow.event/1","event":"divergence","op":"rank"}'),
    ("blank", b"   "),
)


def signature_of(i: int) -> str:
    return f"{0xA5A5_0000_0000_0000 + i * 0x1_0001:016x}"


def severity_of(i: int) -> str:
    return "critical" if i % 5 == 0 else ("minor" if i % 5 != 4 else "info")


def input_of(i: int, variant: int) -> dict[str, Any]:
    """Variant 1 is the smallest input of every signature (so 'first seen' is not enough)."""
    length = {0: 6, 1: 2, 2: 9}[variant]
    return {"args": [[float(i + k) for k in range(length)]], "kwargs": {"label": f"s{i}"}}


def event(i: int, variant: int, ts: str, call_id: str, run_id: str) -> dict[str, Any]:
    op = OPS[i % len(OPS)]
    return {
        "schema": SCHEMA,
        "event": "divergence",
        "ts": ts,
        "run_id": run_id,
        "call_id": call_id,
        "target": "tests.toy:TARGET",
        "op": op,
        "kind": KINDS[i % len(KINDS)],
        "severity": severity_of(i),
        "source": "runtime",
        "primary": {"name": "py", "version": "1", "duration_s": 1e-5, "summary": "list[3]"},
        "shadow": {"name": "rs", "version": "1", "duration_s": 2e-6, "summary": "list[3]"},
        "input_digest": "sha256:" + "0" * 16,
        "input": input_of(i, variant),
        "input_ref": None,
        "diff": [{"path": f"[{i}].score", "primary": 1.5, "shadow": 1.25 + i}],
        "diff_count": 1,
        "signature": signature_of(i),
        "replay": f"shadow replay x --call {call_id}",
    }


def ts_of(seq: int) -> str:
    """Half a second apart; integer arithmetic instead of datetime for speed."""
    secs, half = divmod(seq, 2)
    days, rem = divmod(secs, 86400)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return f"2025-01-{days + 1:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{half * 500000:06d}Z"


@dataclass
class Expected:
    """What a correct review of the generated log must find."""

    counts: Counter[str] = field(default_factory=Counter)
    smallest_call: dict[str, str] = field(default_factory=dict)
    sampled: Counter[str] = field(default_factory=Counter)
    diverged: Counter[str] = field(default_factory=Counter)
    garbage: Counter[str] = field(default_factory=Counter)
    first_ts: dict[str, str] = field(default_factory=dict)
    last_ts: dict[str, str] = field(default_factory=dict)


def write_log(
    path: Path, n_events: int, *, garbage_every: int = 0, seed: int = 7, chunk: int = 20_000
) -> Expected:
    """Write ``n_events`` divergence events over ``RUNS`` runs (each closed by a run_summary).

    With ``garbage_every`` > 0 a junk line from ``GARBAGE`` follows every that many events.
    Signature ``i`` gets weight ``i + 1``: counts differ, so a mix-up cannot pass the test.
    """
    rng = random.Random(seed)
    pattern = [i for i in range(N_SIGNATURES) for _ in range(i + 1)]
    rng.shuffle(pattern)
    marker_ts, marker_id, marker_run = "@@TS@@", "@@ID@@", "@@RUN@@"
    templates = [
        [
            orjson.dumps(event(i, v, marker_ts, marker_id, marker_run))
            .decode()
            .replace("%", "%%")
            .replace(marker_ts, "%s")
            .replace(marker_id, "%s")
            .replace(marker_run, "%s")
            + "\n"
            for v in range(N_VARIANTS)
        ]
        for i in range(N_SIGNATURES)
    ]
    # Holes, in key order: ts, run_id, call_id, and the call id again inside "replay".
    assert all(t.isascii() for variants in templates for t in variants)
    order = orjson.loads(templates[0][0].replace("%s", "0"))
    assert list(order).index("ts") < list(order).index("run_id") < list(order).index("call_id")

    exp = Expected()
    per_run = -(-n_events // RUNS)
    buf: list[str] = []
    op_events: Counter[str] = Counter()
    # latin-1 maps code points 0-255 to single bytes: the ASCII JSON is unchanged and the
    # binary junk line is written as raw (non-UTF-8) bytes.
    with path.open("w", encoding="latin-1", newline="\n") as f:
        for seq in range(n_events):
            run = seq // per_run
            run_id = f"run{run}"
            i = pattern[seq % len(pattern)]
            variant = (seq // len(pattern)) % N_VARIANTS
            sig = signature_of(i)
            call_id = f"{run_id}-{seq:06d}"
            ts = ts_of(seq)
            buf.append(templates[i][variant] % (ts, run_id, call_id, call_id))
            exp.counts[sig] += 1
            op_events[OPS[i % len(OPS)]] += 1
            if variant == 1 and sig not in exp.smallest_call:
                exp.smallest_call[sig] = call_id
            exp.first_ts.setdefault(sig, ts)
            exp.last_ts[sig] = ts
            if garbage_every and seq % garbage_every == garbage_every - 1:
                reason, junk = GARBAGE[(seq // garbage_every) % len(GARBAGE)]
                buf.append(junk.decode("latin-1") + "\n")
                exp.garbage[reason] += 1
            last_of_run = seq == n_events - 1 or (seq + 1) // per_run != run
            if last_of_run:
                counters = {
                    op: {
                        "calls": 20 * n,
                        "sampled": 10 * n,
                        "matched": 9 * n,
                        "tolerated": 0,
                        "diverged": {"value_mismatch": n},
                        "skipped": 0,
                    }
                    for op, n in op_events.items()
                }
                for op, n in op_events.items():
                    exp.sampled[op] += 10 * n
                    exp.diverged[op] += n
                op_events.clear()
                summary = {
                    "schema": SCHEMA,
                    "event": "run_summary",
                    "run_id": run_id,
                    "ts": ts,
                    "target": "tests.toy:TARGET",
                    "counters": counters,
                }
                buf.append(orjson.dumps(summary).decode() + "\n")
            if len(buf) >= chunk:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return exp


def test_generator_is_valid_json(tmp_path: Path) -> None:
    """The templates must stay valid events whatever their key order."""
    path = tmp_path / "small.jsonl"
    exp = write_log(path, 500)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 500 + RUNS
    objs = [orjson.loads(line) for line in lines]
    assert sum(1 for o in objs if o["event"] == "divergence") == 500
    assert sum(exp.counts.values()) == 500
    assert {o["call_id"] for o in objs if o["event"] == "divergence"} == {
        f"run{s * RUNS // 500}-{s:06d}" for s in range(500)
    }
