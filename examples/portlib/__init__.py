"""portlib: eight helpers of a build farm's job queue, and three implementations of them.

Why it exists: the fuzzer and the gate were tuned on T2, whose strategies were written
together with its implementations. portlib is a pair they were not tuned to, shaped like
what a team really ports from Python to Rust: plain functions with typed signatures over
ints, floats, strings, lists, dicts, optional arguments and frozen dataclasses.

- :mod:`.reference` is the Python original.
- :mod:`.faithful` is a port written the way a Rust port is (explicit loops, i64/i128
  arithmetic with explicit checks, hand-rolled rounding) that agrees on every input.
- :mod:`.planted` is the same port with planted divergences, each toggleable by id;
  :mod:`.manifest` lists them with a minimal triggering input, and
  :func:`.attribution.attribute` says which of them an input triggers.
- :mod:`.target` registers the pair with ``shadow``.
"""

OPS: tuple[str, ...] = (
    "normalize_tag",
    "quantize",
    "scale_scores",
    "rank_jobs",
    "split_budget",
    "backoff_delay",
    "log_histogram",
    "summarize_latencies",
)
"""The library's functions, in the order the target registers them."""
