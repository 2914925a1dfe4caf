"""Benchmarks candidates on a real OpenCL device with PyOpenCL.

Without a GPU it runs on PoCL's CPU device (the ``pocl-binary-distribution`` wheel), so a
search works on any Linux machine. Times come from the device's profiling events (launch
overhead of Python is not measured); inputs are seeded standard-normal float32 matrices and
every result is checked against NumPy's float32 product.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from runners.executors.base import ExecResult, ExecutorError, gflops_of
from runners.kernels import KERNEL_NAME, KernelConfig, config_for, kernel_source
from runners.types import Candidate

cl: Any
try:  # the module is imported only for --executor opencl; fail there with a clear message
    import pyopencl as cl
except ImportError:  # pragma: no cover - exercised only on machines without PyOpenCL
    cl = None

_REASON_CHARS = 600
Matrix = npt.NDArray[np.float32]


def _short(text: str) -> str:
    """First meaningful lines of a (possibly huge) build log, for a one-cell reason."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = " | ".join(lines)
    return out if len(out) <= _REASON_CHARS else out[: _REASON_CHARS - 3] + "..."


def list_devices() -> list[tuple[Any, Any]]:
    """Every (platform, device) pair PyOpenCL sees, in platform order."""
    if cl is None:
        raise ExecutorError("PyOpenCL is not installed (pip install pyopencl)")
    try:
        platforms = cl.get_platforms()
    except cl.Error as exc:
        raise ExecutorError(f"no OpenCL platform found: {exc}") from exc
    pairs: list[tuple[Any, Any]] = []
    for platform in platforms:
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue
        pairs.extend((platform, device) for device in devices)
    return pairs


def describe_pair(platform: Any, device: Any) -> str:
    return f"{platform.name.strip()} | {device.name.strip()}"


_PROBE_SOURCE = "__kernel void probe(__global float *a) { a[get_global_id(0)] *= 2.0f; }"
_probe_results: dict[str, str | None] = {}


def compile_problem(platform: Any, device: Any) -> str | None:
    """Why ``device`` cannot compile OpenCL C, or None when it can (cached per device).

    Why probe: an installed driver is not a working one. PoCL's LLVM, for instance, rejects
    CPUs newer than itself ("unknown target CPU 'generic'"), and the search would then mark
    every candidate failed instead of choosing a device that works.
    """
    key = describe_pair(platform, device)
    if key not in _probe_results:
        try:
            context = cl.Context([device])
            cl.Program(context, _PROBE_SOURCE).build()
            _probe_results[key] = None
        except Exception as exc:  # any driver failure means "not usable"
            _probe_results[key] = _short(str(exc))
    return _probe_results[key]


def select_device(selector: str | None = None) -> tuple[Any, Any]:
    """The device to use.

    ``selector`` is a case-insensitive substring of "platform | device" (e.g. "pocl",
    "rx 580", "nvidia"). Without one: the first GPU, else PoCL's CPU device, else the
    first device of any kind, skipping devices that cannot compile a trivial kernel.
    """
    pairs = list_devices()
    if not pairs:
        raise ExecutorError("no OpenCL device found (is pocl-binary-distribution installed?)")
    if selector:
        wanted = selector.lower()
        for platform, device in pairs:
            if wanted in describe_pair(platform, device).lower():
                return platform, device
        known = "; ".join(describe_pair(p, d) for p, d in pairs)
        raise ExecutorError(f"no OpenCL device matches {selector!r}; available: {known}")

    def rank(pair: tuple[Any, Any]) -> int:
        platform, device = pair
        if device.type & cl.device_type.GPU:
            return 0
        name = platform.name.lower()
        return 1 if "portable computing language" in name or "pocl" in name else 2

    problems = []
    for platform, device in sorted(pairs, key=rank):
        problem = compile_problem(platform, device)
        if problem is None:
            return platform, device
        problems.append(f"{describe_pair(platform, device)}: {problem}")
    raise ExecutorError(
        "no OpenCL device can compile a kernel (on Debian: apt-get install pocl-opencl-icd): "
        + "; ".join(problems)
    )


@dataclass(frozen=True)
class Inputs:
    a: Matrix
    b: Matrix
    reference: Matrix


def make_inputs(size: int, seed: int) -> Inputs:
    """Seeded standard-normal operands and NumPy's float32 product of them."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    return Inputs(a, b, a @ b)


class OpenCLExecutor:
    """Builds each schedule once (cached per build options) and times it with events."""

    name = "opencl"

    def __init__(self, device: str | None = None, kernel_source_text: str | None = None) -> None:
        """``kernel_source_text`` replaces gemm.cl (tests use it to feed a broken kernel)."""
        self.platform, self.device = select_device(device)
        try:
            self.context = cl.Context([self.device])
            self.queue = cl.CommandQueue(
                self.context, properties=cl.command_queue_properties.PROFILING_ENABLE
            )
        except cl.Error as exc:
            raise ExecutorError(
                f"cannot open {describe_pair(self.platform, self.device)}: {exc}"
            ) from exc
        self._source = kernel_source_text if kernel_source_text is not None else kernel_source()
        self._kernels: dict[KernelConfig, Any] = {}
        self._build_errors: dict[KernelConfig, str] = {}

    # ------------------------------------------------------------------ device facts

    def describe(self) -> dict[str, Any]:
        d = self.device
        return {
            "executor": self.name,
            "platform": self.platform.name.strip(),
            "device": d.name.strip(),
            "device_type": cl.device_type.to_string(d.type),
            "driver_version": d.driver_version,
            "opencl_version": d.version,
            "compute_units": d.max_compute_units,
            "max_work_group_size": d.max_work_group_size,
            "local_mem_bytes": d.local_mem_size,
        }

    def validity_problem(self, candidate: Candidate) -> str | None:
        try:
            config = config_for(candidate)
        except ValueError as exc:
            return str(exc)
        d = self.device
        threads = config.local_x * config.local_y
        if threads > d.max_work_group_size:
            return f"work-group {threads} exceeds the device maximum {d.max_work_group_size}"
        dims = d.max_work_item_sizes
        if config.local_x > dims[0] or config.local_y > dims[1]:
            return f"local size {config.local_x}x{config.local_y} exceeds item sizes {dims[:2]}"
        if config.local_mem_bytes > d.local_mem_size:
            return (
                f"needs {config.local_mem_bytes} B of local memory, device has {d.local_mem_size}"
            )
        return None

    # ------------------------------------------------------------------ build

    def _kernel(self, config: KernelConfig) -> Any:
        """The built kernel for a configuration; raises RuntimeError with the reason."""
        if config in self._kernels:
            return self._kernels[config]
        if config in self._build_errors:
            raise RuntimeError(self._build_errors[config])
        try:
            with warnings.catch_warnings():  # a build that succeeds with a log is not news
                warnings.simplefilter("ignore", cl.CompilerWarning)
                program = cl.Program(self.context, self._source).build(
                    options=config.build_options()
                )
            kernel = getattr(program, KERNEL_NAME)
            limit = kernel.get_work_group_info(
                cl.kernel_work_group_info.WORK_GROUP_SIZE, self.device
            )
            threads = config.local_x * config.local_y
            if threads > limit:
                raise RuntimeError(f"kernel allows {limit} work-items per group, needs {threads}")
        except Exception as exc:
            reason = f"build failed: {_short(str(exc))}"
            self._build_errors[config] = reason
            raise RuntimeError(reason) from exc
        self._kernels[config] = kernel
        return kernel

    # ------------------------------------------------------------------ runs

    def _launch(
        self, kernel: Any, config: KernelConfig, size: int, bufs: tuple[Any, Any, Any]
    ) -> float:
        """One launch; its device time in milliseconds from the profiling event."""
        n = np.int32(size)
        kernel.set_args(n, n, n, *bufs)
        event = cl.enqueue_nd_range_kernel(
            self.queue, kernel, config.global_size(size, size), (config.local_x, config.local_y)
        )
        event.wait()
        return float(event.profile.end - event.profile.start) * 1e-6

    def _buffers(self, inputs: Inputs) -> tuple[Any, Any, Any]:
        mf = cl.mem_flags
        a = cl.Buffer(self.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=inputs.a)
        b = cl.Buffer(self.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=inputs.b)
        c = cl.Buffer(self.context, mf.WRITE_ONLY, inputs.reference.nbytes)
        return a, b, c

    def _error(self, c_buf: Any, inputs: Inputs) -> float:
        out = np.empty_like(inputs.reference)
        cl.enqueue_copy(self.queue, out, c_buf).wait()
        diff = float(np.max(np.abs(out - inputs.reference)))
        return diff if math.isfinite(diff) else math.inf

    def measure(
        self, candidate: Candidate, size: int, runs: int, warmup: int, seed: int
    ) -> ExecResult:
        cid = candidate.candidate_id
        try:
            config = config_for(candidate)
            kernel = self._kernel(config)
            inputs = make_inputs(size, seed)
            bufs = self._buffers(inputs)
            for _ in range(warmup):
                self._launch(kernel, config, size, bufs)
            times = [self._launch(kernel, config, size, bufs) for _ in range(runs)]
            error = self._error(bufs[2], inputs)
        except Exception as exc:  # a failing candidate never ends the run
            return ExecResult.failed(cid, size, _reason(exc))
        return _result(cid, size, times, error)

    def replay_session(
        self,
        candidate: Candidate,
        size: int,
        session: int,
        sessions: int,
        seeds: Sequence[int],
        warmup: int,
    ) -> ExecResult:
        """Fresh seeded inputs per run (one per plan seed); warm-up on the first seed."""
        cid = candidate.candidate_id
        try:
            config = config_for(candidate)
            kernel = self._kernel(config)
            times: list[float] = []
            error = 0.0
            for index, seed in enumerate(seeds):
                inputs = make_inputs(size, seed)
                bufs = self._buffers(inputs)
                if index == 0:
                    for _ in range(warmup):
                        self._launch(kernel, config, size, bufs)
                times.append(self._launch(kernel, config, size, bufs))
                error = max(error, self._error(bufs[2], inputs))
        except Exception as exc:
            return ExecResult.failed(cid, size, _reason(exc))
        return _result(cid, size, times, error)

    def close(self) -> None:
        self._kernels.clear()
        self.queue.finish()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("build failed"):
        return text
    return f"{type(exc).__name__}: {_short(text)}"


def _result(cid: str, size: int, times: list[float], error: float) -> ExecResult:
    avg = sum(times) / len(times)
    if not math.isfinite(error):
        return ExecResult.failed(cid, size, "result contains NaN or infinity")
    if avg <= 0.0:
        return ExecResult.failed(cid, size, "device reported a zero kernel time")
    return ExecResult(
        cid, size, "completed", gflops_of(size, avg), avg, error, len(times), times_ms=tuple(times)
    )
