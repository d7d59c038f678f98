"""RT-11..RT-15: concurrency, batch and queue throughput, a sustained run, memory per track of a batch."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, NotSupported
from auralis_perf.measure import SubprocessFailed, measure_time, peak_rss_during, run_isolated
from auralis_perf.measure.memory import collect_garbage
from auralis_perf.measure.stats import describe
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import audio as suite_audio
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import max_abs_diff
from auralis_perf.suites.common.cpu import CpuMonitor, free_cores
from auralis_perf.suites.common.engine_spec import child_env, child_spec, engine_from_spec
from auralis_perf.suites.realtime.common import (
    CONCURRENT_TRACKS,
    MB,
    cores,
    ms,
    percentile,
    seed_scaled,
    shared_once,
    size,
)
from auralis_perf.suites.realtime.latency import chunk_costs, chunk_times

#: Batch tracks are drawn from this many different pieces (rendering music-like audio is slow).
TRACK_PIECES = 3


def _tracks(ctx: SuiteContext, count: int, seconds: float) -> tuple[list[np.ndarray], int]:
    """`count` tracks, each its own array: a few different pieces, each copy at another level."""
    tracks, rates = [], set()
    for i in range(count):
        audio, sr = suite_audio.test_audio(ctx, seconds, seed=i % TRACK_PIECES)
        tracks.append(audio * np.float32(1.0 - 0.5 * i / max(1, count)))  # levels differ: loudness works
        rates.add(sr)
    if len(rates) != 1:
        raise RuntimeError(f"test tracks came at several sample rates: {sorted(rates)}")
    return tracks, rates.pop()


def _batch_items(tracks: list[np.ndarray], sr: int) -> list[Any]:
    return [(t, sr) for t in tracks]


def _concurrent_run(ctx: SuiteContext) -> dict[str, Any]:
    require(ctx, Capability.BATCH)
    engine = ctx.engine
    tracks, sr = _tracks(ctx, CONCURRENT_TRACKS, size(ctx, "concurrent_seconds"))
    items = _batch_items(tracks, sr)
    workers = min(CONCURRENT_TRACKS, cores())
    modes = {"serial": ("serial", 1), "thread": ("thread", workers), "process": ("process", workers)}
    times: dict[str, list[float]] = {m: [] for m in modes}
    outputs: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    for mode, (executor, n) in modes.items():  # warm-up each executor (pools, imports in workers)
        outputs[mode] = engine.process_batch(items, workers=n, executor=executor)
    diffs = {m: max_abs_diff(outputs["serial"], outputs[m]) for m in ("thread", "process")}
    del outputs
    machine = free_cores()  # for the record: on a machine others keep busy the speedup is bounded there
    for round_index in range(size(ctx, "concurrent_rounds")):
        order = list(modes) if round_index % 2 == 0 else list(reversed(modes))  # fair to each side
        for mode in order:
            executor, n = modes[mode]
            with CpuMonitor() as monitor:
                start = time.perf_counter()
                engine.process_batch(items, workers=n, executor=executor)
                times[mode].append(time.perf_counter() - start)
            cpu.setdefault(mode, []).append(monitor.result.to_dict() if monitor.result else None)
    audio_s = sum(t.shape[0] for t in tracks) / sr
    result: dict[str, Any] = {"workers": workers, "cores": cores(), "cores_free": machine["free_cores"],
                              "cores_free_measured": machine, "tracks": CONCURRENT_TRACKS,
                              "track_seconds": size(ctx, "concurrent_seconds"), "audio_seconds": audio_s,
                              "times": times, "max_abs_diff": diffs, "executors": {}}
    ideal = min(CONCURRENT_TRACKS, cores())
    for mode in ("thread", "process"):
        speedups = [s / p for s, p in zip(times["serial"], times[mode])]
        result["executors"][mode] = {
            "speedup": describe(speedups).median, "efficiency": describe(speedups).median / ideal,
            "efficiency_samples": [s / ideal for s in speedups],
            "aggregate_rtf": audio_s / describe(times[mode]).median, "wall_s_median": describe(times[mode]).median,
            "cores_busy_median": describe([c["cores_busy"] for c in cpu[mode] if c]).median
            if any(cpu[mode]) else None,
            "max_abs_diff_vs_serial": diffs[mode]}
    result["serial_rtf"] = audio_s / describe(times["serial"]).median
    result["best_executor"] = max(("thread", "process"), key=lambda m: result["executors"][m]["efficiency"])
    return result


def check_concurrent(ctx: SuiteContext) -> CheckResult:
    run = shared_once(ctx, "concurrent", _concurrent_run)
    best = run["best_executor"]
    chosen = run["executors"][best]
    violations = [f"{mode} executor changed the output by {d:.3g} against one-by-one"
                  for mode, d in run["max_abs_diff"].items() if d > 1e-9]
    return record(ctx, "RT-11", chosen["efficiency"], samples=chosen["efficiency_samples"], kind="ratio",
                  violations=violations,
                  details={**{k: v for k, v in run.items() if k != "times"},
                           "times_s": run["times"], "max_abs_diff": max(run["max_abs_diff"].values()),
                           "ideal_speedup": min(CONCURRENT_TRACKS, run["cores"]),
                           "value_is": f"efficiency of the {best} executor (the better one)"})


def _best_executor(ctx: SuiteContext) -> str:
    try:
        return shared_once(ctx, "concurrent", _concurrent_run)["best_executor"]
    except NotSupported:
        raise
    except Exception:  # noqa: BLE001 - RT-11 reports its own failure; batch checks fall back to threads
        return "thread"


def check_batch_throughput(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    count, seconds = size(ctx, "batch")
    tracks, sr = _tracks(ctx, count, seconds)
    items = _batch_items(tracks, sr)
    executor, workers = _best_executor(ctx), cores()
    ctx.engine.process_batch(items[:workers], workers=workers, executor=executor)  # warm-up
    timing = measure_time(lambda: ctx.engine.process_batch(items, workers=workers, executor=executor),
                          warmup=0, repeat=size(ctx, "batch_repeats"), min_time=0.0, inner_loops=1)
    audio_s = sum(t.shape[0] for t in tracks) / sr
    per_run = [audio_s / s for s in timing.samples]
    return record(ctx, "RT-12", describe(per_run).median, samples=per_run, kind="rtf", summary=timing.summary(),
                  details={"tracks": count, "track_seconds": seconds, "audio_seconds": audio_s,
                           "executor": executor, "workers": workers, "cores": cores(),
                           "wall_seconds": timing.samples})


#: RT-13 cycles through this many different clips (consecutive excerpts of one piece).
QUEUE_CLIPS = 8


def check_queue_rate(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    jobs = size(ctx, "queue_jobs")
    clip_seconds = size(ctx, "queue_clip_seconds")
    piece, sr = suite_audio.test_audio(ctx, clip_seconds * QUEUE_CLIPS)
    clip_frames = piece.shape[0] // QUEUE_CLIPS
    clips = [(piece[i * clip_frames:(i + 1) * clip_frames], sr) for i in range(QUEUE_CLIPS)]
    workers = cores()
    queue = ctx.engine.job_queue(workers=workers)
    rates, waits, runs = [], [], []
    try:
        for clip, sr in clips[:workers]:  # warm-up
            queue.submit(clip, sr, "default").result()
        seen = len(queue.stats())
        for _ in range(size(ctx, "queue_rounds")):
            start = time.perf_counter()
            futures = [queue.submit(clips[i % len(clips)][0], clips[i % len(clips)][1], "default")
                       for i in range(jobs)]
            for future in futures:
                future.result()
            rates.append(jobs / (time.perf_counter() - start))
            stats = list(queue.stats())
            waits += [s["wait"] for s in stats[seen:]]
            runs += [s["run"] for s in stats[seen:]]
            seen = len(stats)
    finally:
        queue.close()
    wait_ms, run_ms = ms(waits), ms(runs)
    # judged as audio seconds per wall second, so the bound does not depend on the profile's clip length
    audio_rates = [rate * clip_seconds for rate in rates]
    return record(ctx, "RT-13", describe(audio_rates).median, samples=audio_rates, kind="rtf",
                  details={"jobs_per_s": describe(rates).median, "jobs_per_s_samples": rates,
                           "jobs_per_round": jobs, "rounds": len(rates), "clip_seconds": clip_seconds,
                           "workers": workers, "wait_p95_ms": percentile(wait_ms, 0.95) if wait_ms else None,
                           "wait_median_ms": describe(wait_ms).median if wait_ms else None,
                           "run_median_ms": describe(run_ms).median if run_ms else None,
                           "run_p95_ms": percentile(run_ms, 0.95) if run_ms else None})


#: RT-14's one stream is a rendered block tiled to length; its array stays below this many bytes.
SUSTAINED_MAX_BYTES = 3 * 2**29  # 1.5 GiB
SUSTAINED_BLOCK_SECONDS = 30.0


def _sustained_source(ctx: SuiteContext, wall: float) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Audio long enough to keep ONE stream busy for `wall` seconds at the engine's own speed: a rendered
    block tiled with a slowly changing gain, sized from a short timed warm-up stream (capped in bytes)."""
    block, sr = suite_audio.test_audio(ctx, min(SUSTAINED_BLOCK_SECONDS, size(ctx, "stream_seconds")))
    with ctx.engine.stream(block, sample_rate=sr) as warm:  # warm-up, and the engine's streaming speed
        times, frames = chunk_times(warm)
    rate = sum(frames) / sum(times) if sum(times) > 0 else float(sr) * 100.0  # frames per second
    wanted = int(rate * wall * 1.2)
    limit = SUSTAINED_MAX_BYTES // (block.shape[1] * block.dtype.itemsize)
    frames_total = max(block.shape[0], min(wanted, limit))
    repeats = -(-frames_total // block.shape[0])
    gains = (0.7 + 0.3 * np.sin(0.7 * np.arange(repeats))).astype(np.float32)
    audio = (block[None, :, :] * gains[:, None, None]).reshape(-1, block.shape[1])[:frames_total]
    info = {"source_seconds": frames_total / sr, "warmup_stream_rtf": rate / sr,
            "source_capped": wanted > limit,
            "source": f"{block.shape[0] / sr:g} s rendered block tiled with a slowly changing gain"}
    return audio, sr, info


def check_sustained(ctx: SuiteContext) -> CheckResult:
    """ONE continuous stream of about the profile's wall time; RTF of its last tenth against its first."""
    wall = size(ctx, "sustained_wall_seconds")
    audio, sr, source = _sustained_source(ctx, wall)
    start = time.perf_counter()
    with ctx.engine.stream(audio, sample_rate=sr) as stream:
        times, cpu, frames = chunk_costs(stream)
    elapsed = time.perf_counter() - start
    del audio
    if len(times) < 20:
        raise RuntimeError(f"the sustained run produced only {len(times)} chunks; it needs at least 20")
    tenth = len(times) // 10
    tenths = [(times[i * tenth:(i + 1) * tenth], frames[i * tenth:(i + 1) * tenth]) for i in range(10)]
    # RTF of a tenth from its median chunk: robust to a single burst of load from other programs
    rtf_median = [describe([f / sr / t for t, f in zip(ts, fs)]).median for ts, fs in tenths]
    rtf_total = [sum(fs) / sr / sum(ts) for ts, fs in tenths]
    ratios = [r / rtf_median[0] for r in rtf_median]
    notes = {}
    # The same ratio by process CPU time (audio seconds per CPU second of each tenth, against the first):
    # a neighbour that takes the core between tenths does not move it. --against compares the two sides'
    # streams, run minutes apart, by these (regress/drift_guard.py); the value stays the wall-clock ratio.
    rtf_cpu = [sum(fs) / sr / sum(cs) if sum(cs) > 0 else None
               for cs, fs in ((cpu[i * tenth:(i + 1) * tenth], frames[i * tenth:(i + 1) * tenth]) for i in range(10))]
    if all(rtf_cpu):
        notes["rtf_per_tenth_cpu"] = rtf_cpu
        notes["cpu_samples"] = [r / rtf_cpu[0] for r in rtf_cpu]
    if source["source_capped"]:
        notes["short_of_wall_time"] = (f"the stream's source was capped at {SUSTAINED_MAX_BYTES / 2**30:g} GiB of "
                                       f"audio, so the run lasted {elapsed:.0f} s instead of {wall:g} s")
    return record(ctx, "RT-14", ratios[-1], samples=ratios, kind="ratio",
                  details={"wall_seconds": elapsed, "wall_seconds_asked": wall, "chunks": len(times),
                           "streams": 1, "rtf_per_tenth": rtf_median, "rtf_per_tenth_total_time": rtf_total,
                           "ratio_total_time": rtf_total[-1] / rtf_total[0], **source, **notes,
                           **seed_scaled(ctx, "sustained_wall_seconds", "continuous run (wall s; the seed gives no length)"),
                           "rtf_estimator": "chunk duration / median chunk time within each tenth"})


def batch_memory_run(delta_mb: float, outputs_mb: float, in_flight: int) -> dict[str, Any]:
    """RT-15's figures for one batch: working memory per track in flight, and whether the reading is blind.

    The batch returns every output, so its peak holds them all (`outputs_mb`) plus the working memory of
    the tracks being processed at once (`in_flight`). A peak growth below the outputs it holds means the
    high-water mark never moved (memory the allocator kept from earlier work served the batch): such a
    reading is blind and says nothing about the engine.
    """
    if in_flight < 1:
        raise ValueError(f"tracks in flight must be at least 1, got {in_flight!r}")
    blind = delta_mb < outputs_mb
    return {"peak_growth_mb": delta_mb, "outputs_mb": outputs_mb, "in_flight": in_flight, "blind": blind,
            "working_mb_per_track": max(0.0, delta_mb - outputs_mb) / in_flight}


def batch_memory_child(spec: str, audio_files: list[str], workdir: str, count: int, seconds: float,
                       workers: int, repeats: int) -> list[dict[str, Any]]:
    """Runs in a fresh process: RT-15's batches, each after garbage collection and malloc_trim.

    A fresh interpreter has no heap kept from earlier work (in a long-lived notebook kernel the batch is
    served from memory the allocator already holds, and the high-water mark does not move). Only a short
    clip is mastered first (kernels compiled or loaded), so the batch's own memory is what the peak sees.
    """
    engine = engine_from_spec(spec)
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=Path(workdir), audio_files=list(audio_files))
    tracks, sr = _tracks(ctx, count, seconds)
    items = _batch_items(tracks, sr)
    in_flight = min(workers, count)  # a thread executor processes this many tracks at once
    engine.process_batch([(tracks[0][: sr // 4], sr)], workers=1, executor="thread")  # compile, import
    runs = []
    for _ in range(repeats):
        collect_garbage(trim=True)  # free and trim first
        outputs, peak = peak_rss_during(lambda: engine.process_batch(items, workers=workers, executor="thread"))
        output_mb = sum(np.asarray(o).nbytes for o in outputs) / MB
        del outputs
        runs.append({**batch_memory_run(peak.delta_mb, output_mb, in_flight), "method": peak.method,
                     "baseline_mb": peak.baseline_mb, "peak_mb": peak.peak_mb, "duration_s": peak.duration_s,
                     "input_mb_per_track": tracks[0].nbytes / MB})
    engine.close()
    return runs


def check_batch_memory(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    count, seconds = size(ctx, "batch")
    workers = cores()
    suite_audio.test_audio(ctx, seconds)  # an unreadable input is an error here, not in the child
    try:
        child = run_isolated(batch_memory_child, args=(child_spec(ctx), [str(p) for p in ctx.audio_files],
                                                       str(ctx.workdir), count, seconds, workers,
                                                       size(ctx, "memory_repeats")), timeout=1800.0,
                             env=child_env(ctx))
    except SubprocessFailed as exc:
        raise RuntimeError(f"RT-15's fresh process failed: {exc}\n{exc.child_traceback[-1500:]}") from exc
    runs = child.result
    seen = [r for r in runs if not r["blind"]]
    if not seen:
        raise RuntimeError(f"blind measurement: in each of {len(runs)} batches the peak RSS grew less than the "
                           f"outputs the batch holds ({runs[0]['peak_growth_mb']:.1f} MB against "
                           f"{runs[0]['outputs_mb']:.1f} MB), so the high-water mark never saw the batch")
    values = [r["working_mb_per_track"] for r in seen]
    return record(ctx, "RT-15", max(values), samples=values, kind="peak_rss",
                  details={"tracks": count, "track_seconds": seconds, "executor": "thread", "workers": workers,
                           "tracks_in_flight": runs[0]["in_flight"],
                           "input_mb_per_track": runs[0]["input_mb_per_track"], "runs": runs,
                           "blind_runs": len(runs) - len(seen), "child_process_s": child.process_s,
                           "value_is": "largest over the runs of (peak RSS growth - the outputs the batch "
                                       "returns) / tracks in flight; measured in a fresh process, each batch "
                                       "after garbage collection and malloc_trim; blind runs (growth below the "
                                       "outputs) left out"})
