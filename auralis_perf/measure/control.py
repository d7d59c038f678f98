"""The control workload: fixed, engine-independent kernels measured in every run.

When runs from two machines are compared (only on request), each time is divided by the ratio of the
two machines' control figures; a change to these kernels therefore changes `CONTROL_VERSION`, and runs
with different versions must not be normalised against each other.

- "cpu": one 192x192 float64 matrix product (BLAS, limited to one thread) plus one real FFT of 2**15
  points (NumPy's pocketfft, no BLAS), so that a machine is not judged by its BLAS build alone;
- "memory": a copy of a 48 MiB float64 array into another (more than most last-level caches), whose
  time gives a read+write bandwidth.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from auralis_perf.measure.timing import Timing, measure_time

CONTROL_VERSION = 1
_MATRIX_SIZE = 192
_FFT_SIZE = 2**15
_COPY_BYTES = 48 * 2**20
_SEED = 20_240_601


def _cpu_kernel() -> Any:
    rng = np.random.default_rng(_SEED)
    a = rng.standard_normal((_MATRIX_SIZE, _MATRIX_SIZE))
    b = rng.standard_normal((_MATRIX_SIZE, _MATRIX_SIZE))
    signal = rng.standard_normal(_FFT_SIZE)

    def kernel() -> None:
        a @ b
        np.fft.rfft(signal)

    return kernel


def _memory_kernel() -> tuple[Any, np.ndarray, np.ndarray]:
    source = np.random.default_rng(_SEED).standard_normal(_COPY_BYTES // 8)
    target = np.empty_like(source)
    target.fill(0.0)  # touch the pages now, so page faults do not land in the first sample

    def kernel() -> None:
        np.copyto(target, source)

    return kernel, source, target


def _entry(timing: Timing, description: str) -> dict[str, Any]:
    return {"description": description, "median_s": timing.median, "samples_s": timing.samples,
            "summary": timing.summary(), "stable": timing.stable, "warning": timing.warning}


def run_control_workload(budget_s: float = 2.0) -> dict[str, Any]:
    """Measure the control kernels within about `budget_s` seconds (split between them).

    Returns {"version", "budget_s", "cpu": {...}, "memory": {...}} where each kernel has `median_s`
    (seconds per call), `samples_s` (raw per-call samples), `summary`, `stable` and `warning`; memory
    also has `bandwidth_gb_s` (bytes read + written per second, in 1e9 bytes).
    """
    if budget_s <= 0:
        raise ValueError(f"budget_s must be positive, got {budget_s!r}")
    share = budget_s / 2
    with threadpool_limits(limits=1):  # one thread: the figure must not depend on how many cores are idle
        cpu = measure_time(_cpu_kernel(), warmup=2, repeat=5, min_time=share * 0.6, max_time=share * 0.8)
        copy, source, _target = _memory_kernel()
        memory = measure_time(copy, warmup=1, repeat=5, min_time=share * 0.6, max_time=share * 0.8)
    result = {
        "version": CONTROL_VERSION,
        "budget_s": budget_s,
        "cpu": _entry(cpu, f"{_MATRIX_SIZE}x{_MATRIX_SIZE} float64 matmul (1 thread) + rfft of {_FFT_SIZE}"),
        "memory": _entry(memory, f"copy of {source.nbytes // 2**20} MiB float64"),
    }
    result["memory"]["bandwidth_gb_s"] = 2 * source.nbytes / memory.median / 1e9
    return result


#: Seconds of control workload around each notebook: how fast the machine was while that category ran.
NOTEBOOK_CONTROL_BUDGET_S = 0.4


def measure_control(profile: str, budget_s: float | None = None) -> dict[str, Any] | None:
    """The control workload for run["control"] (1 s on smoke, else 2 s, unless `budget_s`); None on failure."""
    try:
        return run_control_workload(budget_s=budget_s or (1.0 if profile == "smoke" else 2.0))
    except Exception as exc:  # a missing control only makes cross-machine comparisons inconclusive
        print(f"warning: the control workload could not be measured: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


__all__ = ["CONTROL_VERSION", "NOTEBOOK_CONTROL_BUDGET_S", "measure_control", "run_control_workload"]
