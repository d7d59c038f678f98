"""Vectorization (OPT-06..OPT-10): EQ throughput, batched against frame-by-frame spectrum, SIMD, the
speedup of every kernel over its loop form, and the numerical accuracy of each fast path.
"""
from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, NotSupported
from auralis_perf.results import CheckResult
from auralis_perf.signals import kernel_input
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import max_abs_diff
from auralis_perf.suites.common.evidence import use_violations
from auralis_perf.suites.common.kernels import SAMPLE_RATE, compared, kernel_pair, kernel_use
from auralis_perf.suites.common.simd import control_kernel_profile, inspect_dispatcher, numba_dispatchers, numpy_simd
from auralis_perf.suites.common.workload import warm_engine

SIZES = {
    "smoke": {"eq_frames": 44100, "spectrum_frames": 88200, "chain_frames": 11025, "envelope_frames": 44100,
              "rounds": 5, "float32_frames": 4096},
    "standard": {"eq_frames": 441000, "spectrum_frames": 441000, "chain_frames": 44100,
                 "envelope_frames": 441000, "rounds": 7, "float32_frames": 8192},
    "full": {"eq_frames": 2646000, "spectrum_frames": 2646000, "chain_frames": 441000,
             "envelope_frames": 2646000, "rounds": 9, "float32_frames": 44100},
}
#: The kernels whose fast form is vectorized or compiled code against a loop (parallelism is OPT-11..15).
VECTOR_KERNELS = {"envelope": "envelope_frames", "eq": "eq_frames", "spectrum_batched": "spectrum_frames",
                  "chain": "chain_frames"}
FLOAT32_TOLERANCE = 1e-5
#: OPT-08 runs each fast path once on this many frames, so that its compiled code exists to be read.
COMPILE_FRAMES = 22050


def _kernel_table(ctx: SuiteContext) -> list[dict[str, Any]]:
    size = ctx.sizes(SIZES)
    available = ctx.engine.kernels()
    rows = []
    for name, frames_key in VECTOR_KERNELS.items():
        if name not in available:
            continue
        row = compared(ctx, name, size[frames_key], size["rounds"]).row()
        use = kernel_use(ctx, name)
        row.update({"in_use": use["status"], "proof": use["proof"]})
        rows.append(row)
    if not rows:
        from auralis_perf.engines import NotSupported
        raise NotSupported(f"engine {ctx.engine.name!r} offers none of the kernel pairs "
                           f"{', '.join(VECTOR_KERNELS)}")
    return rows


def opt06_eq_throughput(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    comparison = compared(ctx, "eq", size["eq_frames"], size["rounds"])
    value, per_sample = comparison.throughput("fast")
    plain, _ = comparison.throughput("plain")
    use = kernel_use(ctx, "eq")
    violations = use_violations("EQ", use)
    if not comparison.within_tolerance:
        violations.append(f"the fast EQ differs from band by band by {comparison.max_abs_diff:.3g}")
    return record(ctx, "OPT-06", value / 1e6, samples=[v / 1e6 for v in per_sample], kind="throughput",
                  summary=comparison.fast.summary(), violations=violations, details={
                      "what": "samples (frames x channels) per second through the engine's EQ, fast path",
                      "plain_msamples_s": plain / 1e6, "speedup": comparison.speedup,
                      "max_abs_diff": comparison.max_abs_diff, "in_use": use["status"], "proof": use["proof"],
                      "description": kernel_pair(ctx, "eq").description, **comparison.row()})


def opt07_spectrum(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    comparison = compared(ctx, "spectrum_batched", size["spectrum_frames"], size["rounds"])
    violations = [] if comparison.within_tolerance else [
        f"the batched spectrum differs from frame by frame by {comparison.max_abs_diff:.3g}"]
    return record(ctx, "OPT-07", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  violations=violations, details={
                      "what": "frame-by-frame time over batched time for the same STFT, timed in alternation",
                      "max_abs_diff": comparison.max_abs_diff,
                      "description": kernel_pair(ctx, "spectrum_batched").description, **comparison.row()})


def _compiled_kernels(ctx: SuiteContext) -> list[dict[str, Any]]:
    rows = []
    seen: set[int] = set()
    for name, pair in ctx.engine.kernels().items():
        if name != "chain":  # compile what the fast path runs (master() compiled the chain's kernels)
            pair.fast(kernel_input(pair, COMPILE_FRAMES, SAMPLE_RATE))
        for dispatcher in numba_dispatchers([pair.fast, pair.info]):
            if id(dispatcher) in seen:
                continue
            seen.add(id(dispatcher))
            for row in inspect_dispatcher(dispatcher):
                row["pair"] = name
                rows.append(row)
    return rows


def opt08_simd(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.KERNELS)
    warm_engine(ctx)  # master() once, so each kernel is compiled for the signatures the pipeline uses
    control = control_kernel_profile()
    if control is None:
        raise NotSupported("Numba is not available here, so no compiled code can be read")
    if not control["packed"]:
        raise NotSupported("this CPU and compiler emit no packed SIMD instruction even for a plainly "
                           "vectorizable control loop: SIMD use cannot be judged here")
    compiled = _compiled_kernels(ctx)
    if not compiled:
        raise NotSupported(f"engine {ctx.engine.name!r} exposes no compiled kernel whose machine code can be read "
                           "(Numba dispatchers reachable from its kernel pairs)")
    packed = [r for r in compiled if r["packed"] > 0]
    reading = [f"{r['function']} {r['signature']}: {r['packed']} packed / {r['scalar']} scalar FP instructions; "
               + ("packed vector code present" if r["packed"] else
                  "scalar only (a recursive loop cannot be vectorized along time, but could be across channels)")
               for r in compiled]
    violations = [] if packed else [
        f"none of the engine's {len(compiled)} compiled kernels holds a packed SIMD instruction, while this CPU "
        f"and compiler vectorize the control loop ({control['packed']} packed instructions)"]
    return record(ctx, "OPT-08", float(len(packed)), samples=[float(r["packed"]) for r in compiled], kind="count",
                  violations=violations, details={
                      "what": "the engine's compiled kernels (Numba, reachable from its kernel pairs) read back as "
                              "machine code: how many hold packed (vector) floating-point instructions, against a "
                              "control loop that vectorizes on this CPU; samples: packed instructions per kernel",
                      "compiled_kernels": compiled, "kernels_with_packed_code": len(packed),
                      "control_kernel": control, "reading": reading,
                      "numpy_context": numpy_simd(),  # a property of NumPy's build, not of the engine: context only
                  })


def opt09_speedup_table(ctx: SuiteContext) -> CheckResult:
    rows = _kernel_table(ctx)
    violations = [f"{r['kernel']}: fast output differs by {r['max_abs_diff']:.3g} (tolerance {r['tolerance']:.0e})"
                  for r in rows if not r["within_tolerance"]]
    for r in rows:
        violations += use_violations(r["kernel"], {"status": r["in_use"], "proof": r["proof"]})
    slowest = min(rows, key=lambda r: r["speedup"])
    return record(ctx, "OPT-09", slowest["speedup"], samples=[r["speedup"] for r in rows], kind="ratio",
                  violations=violations, details={
                      "what": "loop (plain) time over vectorized/compiled (fast) time for each kernel, side by "
                              "side; the value is the smallest speedup (the criterion holds for each)",
                      "table": rows, "slowest_kernel": slowest["kernel"]})


def _as_float32(data: Any) -> Any:
    if isinstance(data, np.ndarray) and data.dtype == np.float64:
        return data.astype(np.float32)
    if isinstance(data, tuple):
        return tuple(_as_float32(item) for item in data)
    return data


def _float32_check(ctx: SuiteContext, name: str, frames: int) -> dict[str, Any]:
    pair = kernel_pair(ctx, name)
    data = _as_float32(kernel_input(pair, frames, SAMPLE_RATE))
    try:
        diff = max_abs_diff(pair.fast(data), pair.plain(data))
    except (TypeError, ValueError) as exc:  # a kernel that only takes float64 says so
        return {"kernel": name, "float32": f"not accepted: {type(exc).__name__}: {exc}"}
    return {"kernel": name, "float32_max_abs_diff": diff, "within": diff <= FLOAT32_TOLERANCE}


def opt10_accuracy(ctx: SuiteContext) -> CheckResult:
    rows = _kernel_table(ctx)
    size = ctx.sizes(SIZES)
    f32 = [_float32_check(ctx, r["kernel"], size["float32_frames"]) for r in rows if r["kernel"] != "chain"]
    diffs = [r["max_abs_diff"] for r in rows]
    violations = [f"{r['kernel']} in float32 differs by {r['float32_max_abs_diff']:.3g} (> {FLOAT32_TOLERANCE:g})"
                  for r in f32 if r.get("within") is False]
    return record(ctx, "OPT-10", max(diffs), samples=diffs, kind="max_abs_diff", violations=violations, details={
        "what": "largest absolute difference between each fast path and its loop reference in float64 (the "
                "value, the largest over kernels), and the same in float32 on a short input",
        "float64": [{"kernel": r["kernel"], "max_abs_diff": r["max_abs_diff"], "input_dtype": r["input_dtype"]}
                    for r in rows],
        "float32": f32, "float32_tolerance": FLOAT32_TOLERANCE,
        "median_float64_diff": statistics.median(diffs)})


CHECKS = [("OPT-06", opt06_eq_throughput), ("OPT-07", opt07_spectrum), ("OPT-08", opt08_simd),
          ("OPT-09", opt09_speedup_table), ("OPT-10", opt10_accuracy)]
