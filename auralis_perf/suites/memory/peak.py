"""Peak memory (MEM-11..MEM-15): mastering in memory, concurrent tracks, a large file streamed from
disk, analysis of a long signal, and swap.

Peaks are RSS high-water marks of the process doing the work (the kernel's mark, reset before each call,
where Linux allows it), taken after garbage collection so that each call starts from a clean heap. The
large file is measured at two sizes: a streaming engine's peak must not grow with the file.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from auralis_perf.engines import Capability, NotSupported
from auralis_perf.measure.isolated import run_isolated
from auralis_perf.measure.memory import (
    MB,
    collect_garbage,
    peak_rss_during,
    process_swap_mb,
    rss_mb,
    system_swap_counters,
    traced_allocations,
)
from auralis_perf.results import CheckResult, skipped
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import background
from auralis_perf.suites.common.checks import record, require, run_checks, scaled
from auralis_perf.suites.common.engine_spec import child_env, child_spec, engine_from_spec
from auralis_perf.suites.common.workload import downsample_series, long_wav, music, warm_engine

SIZES = {
    "smoke": {"in_memory_s": 10.0, "repeats": 1, "concurrent_s": 2.0, "executors": ("thread",),
              "large_mb": (10, 30), "analysis_s": 20.0},
    "standard": {"in_memory_s": 60.0, "repeats": 2, "concurrent_s": 10.0, "executors": ("thread", "process"),
                 "large_mb": (50, 200), "analysis_s": 300.0},
    "full": {"in_memory_s": 60.0, "repeats": 5, "concurrent_s": 60.0, "executors": ("thread", "process"),
             "large_mb": (250, 1024), "analysis_s": 600.0},
}
CONCURRENT_TRACKS = 5  # RT-11's five tracks at once
LARGE_CHUNK = 65536
SWAP_START_KEY = "memopt_swap_start"


def note_swap_start(ctx: SuiteContext) -> None:
    """Remember the system's swap counters when the category starts (MEM-15 looks at the run's span)."""
    ctx.shared.setdefault(SWAP_START_KEY, {"time": time.time(), **system_swap_counters()})


def mem11_in_memory(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    audio, sr = music(ctx, size["in_memory_s"], seed=11)
    warm_engine(ctx)
    ratios, deltas = [], []
    peak = None
    for _ in range(size["repeats"]):
        collect_garbage()
        out, peak = peak_rss_during(lambda: ctx.engine.master(audio, sr))
        del out
        deltas.append(peak.delta_mb)
        ratios.append(peak.delta_mb * MB / audio.nbytes)
    collect_garbage()
    out, traced = traced_allocations(lambda: ctx.engine.master(audio, sr))
    del out
    assert peak is not None
    return record(ctx, "MEM-11", statistics.median(ratios), samples=ratios, kind="peak_rss", details={
        "what": "peak RSS above the RSS before the call while mastering the whole signal in memory, over "
                "the input array's size (the input is already resident before the call)",
        "input_mb": audio.nbytes / MB, "input_dtype": str(audio.dtype), "input_seconds": len(audio) / sr,
        "peak_delta_mb": deltas, "peak_method": peak.method,
        "traced_peak_mb": traced.peak_mb, "traced_peak_x_input": traced.peak_bytes / audio.nbytes,
        "series": downsample_series(peak.times_s, peak.series_mb),
        **scaled(ctx.profile, "signal", "60 s", f"{size['in_memory_s']:g} s")})


def mem12_concurrent(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    size = ctx.sizes(SIZES)
    items = [music(ctx, size["concurrent_s"], seed=40 + i) for i in range(CONCURRENT_TRACKS)]  # (audio, sr)
    workers = min(CONCURRENT_TRACKS, psutil.cpu_count() or 1)  # as RT-11
    in_flight = min(workers, len(items))
    warm_engine(ctx)
    by_executor = {}
    for executor in size["executors"]:
        def batch() -> list[Any]:
            return ctx.engine.process_batch(items, workers=workers, executor=executor)

        # the first batch starts the executor (worker processes, their imports): its peak is context only
        collect_garbage()
        outputs, first = peak_rss_during(batch, interval=0.01, include_children=True)
        del outputs
        collect_garbage()
        outputs, peak = peak_rss_during(batch, interval=0.01, include_children=True)
        if len(outputs) != len(items):
            raise RuntimeError(f"process_batch returned {len(outputs)} outputs for {len(items)} tracks")
        outputs_mb = sum(np.asarray(o).nbytes for o in outputs) / MB
        del outputs
        by_executor[executor] = {
            "mb_per_track_in_flight": max(0.0, peak.delta_mb - outputs_mb) / in_flight,
            "added_mb": peak.delta_mb, "outputs_mb": outputs_mb, "peak_total_mb": peak.peak_mb,
            "all_processes_before_mb": peak.baseline_mb,
            "first_batch_added_mb": first.delta_mb, "first_batch_peak_total_mb": first.peak_mb,
            "series": downsample_series(peak.times_s, peak.series_mb)}
    worst = max(by_executor, key=lambda e: by_executor[e]["mb_per_track_in_flight"])
    return record(ctx, "MEM-12", by_executor[worst]["mb_per_track_in_flight"],
                  samples=[f["mb_per_track_in_flight"] for f in by_executor.values()], kind="peak_rss", details={
        "what": "while five tracks are mastered concurrently (RT-11's scenario: process_batch with min(5, cores) "
                "workers, the executor already started), the highest sum of RSS over this process and its worker "
                "processes above that sum before, less the outputs the batch returns, per track in flight; the "
                "value is the larger executor's. The first batch, which starts the executor (whole worker "
                "processes), is beside it as context; pages shared between processes count once per process",
        "workers": workers, "tracks_in_flight": in_flight, "cores": psutil.cpu_count(), "tracks": len(items),
        "track_seconds": size["concurrent_s"], "by_executor": by_executor, "largest": worst,
        **({} if "process" in size["executors"] else {
            "scaled": "executors: thread only (smoke profile; standard and full also start the process "
                      "executor's worker processes, which take seconds to start)"})})


def stream_peaks(spec: str, paths: list[str], chunk: int) -> dict[str, Any]:
    """Runs in a fresh process: stream each file through the engine (built from `engine_spec`); its peak RSS,
    absolute and added."""
    eng = engine_from_spec(spec)
    with eng.stream(paths[0], chunk_size=chunk) as warm:  # compile (or load) the kernels first
        for i, _ in enumerate(warm):
            if i >= 2:
                break
    collect_garbage()
    idle = rss_mb()
    runs = []
    for path in paths:
        frames = 0

        def consume() -> None:
            nonlocal frames
            with eng.stream(path, chunk_size=chunk) as stream:
                for block in stream:
                    frames += len(block)

        collect_garbage()
        started = time.perf_counter()
        _, peak = peak_rss_during(consume, interval=0.02)
        runs.append({"file_mb": Path(path).stat().st_size / MB, "frames": frames,
                     "wall_s": time.perf_counter() - started, "peak_mb": peak.peak_mb, "before_mb": peak.baseline_mb,
                     "delta_mb": peak.delta_mb, "method": peak.method,
                     "series": downsample_series(peak.times_s, peak.series_mb)})
    return {"idle_mb": idle, "runs": runs}


def _large_files(ctx: SuiteContext) -> list[Path]:
    return [long_wav(ctx, target_mb * MB) for target_mb in ctx.sizes(SIZES)["large_mb"]]


def start_large_stream(ctx: SuiteContext) -> None:
    """Write MEM-13's files and start streaming them in a fresh process; collected by the check."""
    if not ctx.asked("MEM-13"):
        return
    paths = [str(p) for p in _large_files(ctx)]
    background.start(ctx, "MEM-13", run_isolated, stream_peaks, args=(child_spec(ctx), paths, LARGE_CHUNK),
                     env=child_env(ctx), timeout=3600)


def mem13_large_file(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    paths = [str(p) for p in _large_files(ctx)]
    try:
        child = background.result(ctx, "MEM-13", run_isolated, stream_peaks,
                                  args=(child_spec(ctx), paths, LARGE_CHUNK),
                                  env=child_env(ctx), timeout=3600)
    finally:
        for path in paths:
            Path(path).unlink(missing_ok=True)  # gigabytes of scratch must not outlive the check
    runs = child.result["runs"]
    small, large = runs[0], runs[-1]
    growth = large["delta_mb"] - small["delta_mb"]
    violations = []
    if growth > 8.0 + 0.25 * max(small["delta_mb"], 0.0):
        violations.append(f"peak RSS grows with the file: +{small['delta_mb']:.1f} MB for {small['file_mb']:.0f} MB, "
                          f"+{large['delta_mb']:.1f} MB for {large['file_mb']:.0f} MB")
    return record(ctx, "MEM-13", large["peak_mb"], samples=[r["peak_mb"] for r in runs], kind="peak_rss",
                  violations=violations, details={
                      "what": "peak RSS of a fresh process that imports the engine and stream-processes a WAV from "
                              f"disk ({LARGE_CHUNK}-frame chunks, output consumed and dropped), at two file sizes; "
                              "flat means the larger file adds no more than 8 MB + 25 % over the smaller",
                      "idle_mb": child.result["idle_mb"], "runs": runs, "growth_mb": growth,
                      "child_process_s": child.process_s,
                      **scaled(ctx.profile, "file", "1024 MB", f"{size['large_mb'][-1]} MB")})


def mem14_analysis(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.ANALYSIS)
    size = ctx.sizes(SIZES)
    block, sr = music(ctx, min(60.0, size["analysis_s"]), seed=14)
    repeats = int(np.ceil(size["analysis_s"] / (len(block) / sr)))
    audio = np.ascontiguousarray(np.tile(block, (repeats, 1))[: int(size["analysis_s"] * sr)])
    warm_engine(ctx)
    kinds, absent = {}, {}
    for kind in ("spectrum", "waveform", "fingerprint"):
        try:
            ctx.engine.analyze(audio[: sr * 2], sr, kind)  # warm-up on 2 s: compilation, plans
        except NotSupported as exc:  # an analysis the engine lacks: the others are still measured
            absent[kind] = str(exc)
            continue
        collect_garbage()
        result, peak = peak_rss_during(lambda: ctx.engine.analyze(audio, sr, kind), interval=0.01)
        del result
        kinds[kind] = {"delta_mb": peak.delta_mb, "peak_mb": peak.peak_mb, "before_mb": peak.baseline_mb,
                       "seconds": peak.duration_s, "series": downsample_series(peak.times_s, peak.series_mb)}
    if not kinds:
        raise NotSupported("the engine has none of the analyses spectrum, waveform, fingerprint: "
                           + "; ".join(absent.values()))
    input_mb = audio.nbytes / MB
    for figures in kinds.values():
        figures["x_input"] = figures["delta_mb"] / input_mb
    ratios = [k["x_input"] for k in kinds.values()]
    return record(ctx, "MEM-14", max(ratios), samples=ratios, kind="peak_rss", details={
        "kinds_not_offered": absent,
        "what": "peak RSS above the RSS before each analysis (input already resident) over the input's size, "
                "the largest of spectrum, waveform and fingerprint",
        "largest_delta_mb": max(k["delta_mb"] for k in kinds.values()),
        "input_mb": input_mb, "input_seconds": len(audio) / sr, "by_kind": kinds,
        **scaled(ctx.profile, "signal", "600 s", f"{size['analysis_s']:g} s")})


def mem15_swap(ctx: SuiteContext) -> CheckResult:
    start = ctx.shared.get(SWAP_START_KEY) or {"time": time.time(), **system_swap_counters()}
    return judge_swap(ctx, start, system_swap_counters(), process_swap_mb(include_children=True))


def judge_swap(ctx: SuiteContext, start: dict[str, Any], now: dict[str, Any], own_mb: float | None) -> CheckResult:
    """MEM-15 from the system's swap counters (at the category's start and now) and the swap of this
    process tree (VmSwap of this process and its children, None where the OS hides it).

    The value is this process tree's own swap: the system's swap-in over the span counts other programs
    too, so it is context, never the verdict. Without swap configured nothing can be swapped: `skip`.
    """
    swap_in = None
    if start.get("sin_bytes") is not None and now.get("sin_bytes") is not None:
        swap_in = (now["sin_bytes"] - start["sin_bytes"]) / MB
    details = {"what": "swap used by this process and its children (VmSwap) at the end of the memory "
                       "category; the system's swap-in since the category started (other programs included) "
                       "is context only",
               "process_swap_mb": own_mb, "system_swap_in_mb": swap_in, "system_swap_total_mb": now["total_mb"],
               "system_swap_used_mb": now["used_mb"], "span_s": time.time() - start["time"]}
    reason = None
    if not now["total_mb"]:
        reason = "no swap configured on this machine: nothing can be swapped, so swap use cannot be measured"
    elif own_mb is None:
        reason = "the OS does not show this process's swap (VmSwap), so its swap use cannot be measured"
    if reason:
        result = skipped(ctx.catalog["MEM-15"], reason)
        result.details.update(details)
        return result
    return record(ctx, "MEM-15", own_mb, samples=[own_mb], kind="swap", details=details)


CHECKS = [("MEM-11", mem11_in_memory), ("MEM-12", mem12_concurrent), ("MEM-13", mem13_large_file),
          ("MEM-14", mem14_analysis), ("MEM-15", mem15_swap)]


def measure(ctx: SuiteContext) -> list[CheckResult]:
    """The group: MEM-13's fresh process streams its files while the other checks run here."""
    try:
        start_large_stream(ctx)
    except Exception:  # noqa: BLE001 - MEM-13 tries again itself and reports the error as its own
        pass
    order = [c for c in CHECKS if c[0] != "MEM-13"] + [c for c in CHECKS if c[0] == "MEM-13"]
    return sorted(run_checks(ctx, order), key=lambda r: r.id)
