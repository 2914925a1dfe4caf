"""The inline sync fast path (``mode="sync"``, ``timeout_s=None``, positional atoms) decides the
common case itself, without building outcomes: it must judge every call exactly as the general
path does, hand back the primary's own object or exception, and leave a real Ctrl-C to the
user. Each Python-level fault of the fault matrix runs through both paths here."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from shadow import Dispatcher
from tests.hostile_impls import FAULT_FROM, TARGET, Primary, PrimaryError

# The faults shadow code can commit without ending the process (the native ones end it in
# any in-process path, and are the fault matrix's business with process isolation).
CONTAINED = (
    "exception",
    "base_exception",
    "system_exit",
    "keyboard_interrupt",
    "hostile_value",
    "nan",
    "negative_zero",
    "int_vs_float",
    "bool_vs_int",
)


def _judged(name: str, timeout_s: float | None, log: Path) -> tuple[int, int, dict[str, int]]:
    primary = Primary()
    d = Dispatcher(TARGET, primary=primary, shadow="hostile", timeout_s=timeout_s, log=log)
    op: Any = getattr(d.wrap(), name)
    assert op(0) is primary.last_value  # both sides agree outside the fault region
    assert op(FAULT_FROM) is primary.last_value  # the shadow's fault never reaches the caller
    with pytest.raises(PrimaryError) as raised:
        op(FAULT_FROM + 1)
    assert raised.value is primary.last_error
    c = d.close().by_op[name]
    return c.calls, c.matched, dict(c.diverged)


@pytest.mark.parametrize("name", CONTAINED)
def test_inline_path_judges_like_the_general_path(name: str, tmp_path: Path) -> None:
    inline = _judged(name, None, tmp_path / "inline.jsonl")
    general = _judged(name, 30.0, tmp_path / "general.jsonl")
    assert inline == general
    calls, matched, diverged = inline
    assert calls == 3 and matched + sum(diverged.values()) == 3
    if name != "nan":  # NaN equals NaN: the one fault that is no divergence
        assert diverged, f"{name}: the shadow's fault was not seen"


def test_inline_path_counts_agreeing_calls(tmp_path: Path) -> None:
    primary = Primary()
    d = Dispatcher(TARGET, primary=primary, shadow="hostile", timeout_s=None)
    fine: Any = d.wrap().fine
    for x in range(0, 20, 2):
        assert fine(x) == [x, "fine"]
    c = d.close().by_op["fine"]
    assert (c.calls, c.matched, dict(c.diverged)) == (10, 10, {})


def test_a_real_ctrl_c_during_an_inline_shadow_call_stops_the_caller() -> None:
    primary = Primary()
    d = Dispatcher(TARGET, primary=primary, shadow="hostile", timeout_s=None)
    hang: Any = d.wrap().hang
    assert hang(0) is primary.last_value  # the watcher is installed on the first call
    faulthandler.dump_traceback_later(120, exit=True)  # a swallowed Ctrl-C fails, never stalls
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            hang(FAULT_FROM)  # the shadow waits forever in the caller's thread
    finally:
        timer.join()
        faulthandler.cancel_dump_traceback_later()
    assert hang(2) is primary.last_value  # and the next call works
    d.close()
