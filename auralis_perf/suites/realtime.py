"""Real-time processing (RT-01..RT-20): speed against the clock, latency, throughput, optimisations.

Four groups of five checks, each a scenario on the engine protocol only:

- Real-time factor: `master()` on short, medium and long audio, warm, >= 5 timed runs each.
- Latency: first chunk of a stream on a file, per-chunk times against the chunk's deadline, and the
  playback session's timeline (buffer wait, preset switch, start of playback).
- Throughput: 5 tracks at once (thread and process executors, judged against the cores present), batch
  throughput, the job queue, a sustained run, peak RSS per track of a batch.
- Optimization effectiveness: each fast path against its plain form, timed side by side with the output
  difference beside the speedup, and the chain in a fresh process with Numba blocked.

Sizes per profile live in `SIZES`; where a profile scales a seed size down, the record says so in
`details["scaled"]`.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from ..engines import Capability, NotSupported, get_engine
from ..measure import Timing, measure_time, peak_rss_during, run_isolated, SubprocessFailed
from ..measure.stats import describe, quantile
from ..results import CheckResult
from . import SuiteContext, _audio, group
from ._checks import record, require, run_checks, scaled
from ._compare import compare_paths, max_abs_diff
from ._cpu import CpuMonitor

CATEGORY = "realtime"

#: Sizes per profile. The seed's sizes are the `full` column; tests shrink the `smoke` column.
SIZES: dict[str, dict[str, Any]] = {
    # RT-01..03: seconds of audio mastered whole (the seed: 10, 60, 600)
    "rtf_seconds": {"smoke": (10.0, 20.0, 30.0), "standard": (10.0, 60.0, 120.0), "full": (10.0, 60.0, 600.0)},
    "rtf_runs": {"smoke": 5, "standard": 7, "full": 10},
    # RT-06/RT-07/RT-14: length of the streamed file (the seed's baseline track lasts 232.7 s)
    "stream_seconds": {"smoke": 10.0, "standard": 60.0, "full": 240.0},
    "latency_repeats": {"smoke": 5, "standard": 9, "full": 15},
    # RT-08/RT-09: one real-time-paced playback session of this length, with this many preset switches
    "playback_seconds": {"smoke": 2.0, "standard": 4.0, "full": 10.0},
    "preset_switches": {"smoke": 5, "standard": 8, "full": 20},
    # RT-10: the file played (its length barely matters: only the start is timed)
    "start_seconds": {"smoke": 5.0, "standard": 10.0, "full": 30.0},
    # RT-11: 5 tracks of this length, this many interleaved rounds
    "concurrent_seconds": {"smoke": 3.0, "standard": 8.0, "full": 60.0},
    "concurrent_rounds": {"smoke": 5, "standard": 5, "full": 7},
    # RT-12 / RT-15: a batch of (tracks, seconds each)
    "batch": {"smoke": (4, 3.0), "standard": (8, 8.0), "full": (100, 30.0)},
    "batch_repeats": {"smoke": 5, "standard": 5, "full": 5},
    "memory_repeats": {"smoke": 3, "standard": 3, "full": 5},
    # RT-13: clips of this length through the job queue, per round
    "queue_jobs": {"smoke": 20, "standard": 60, "full": 200},
    "queue_clip_seconds": {"smoke": 0.5, "standard": 1.0, "full": 1.0},
    "queue_rounds": {"smoke": 5, "standard": 5, "full": 7},
    # RT-14: wall seconds of one continuous streaming run
    "sustained_wall_seconds": {"smoke": 2.0, "standard": 10.0, "full": 120.0},
    # RT-16/RT-17: input length of the kernel pairs (seconds of audio)
    "envelope_seconds": {"smoke": 1.0, "standard": 3.0, "full": 10.0},
    "eq_seconds": {"smoke": 2.0, "standard": 10.0, "full": 60.0},
    # RT-18: must stay above 60 s (the check's definition)
    "spectrum_seconds": {"smoke": 61.0, "standard": 61.0, "full": 600.0},
    # RT-19/RT-20: the whole chain, optimized against every fallback
    "chain_seconds": {"smoke": 0.5, "standard": 2.0, "full": 30.0},
    "pair_rounds": {"smoke": 5, "standard": 5, "full": 9},
}
#: Seed sizes a profile may scale down (reported in details["scaled"]).
SEED_SIZES = {"rtf_seconds": (10.0, 60.0, 600.0), "stream_seconds": 240.0}
CONCURRENT_TRACKS = 5
#: RT-20: the fallback chain must equal the compiled one within this (also the catalogue's bound).
FALLBACK_TOLERANCE = 1e-4
MB = 1024 * 1024


def size(ctx: SuiteContext, key: str) -> Any:
    return ctx.sizes(SIZES[key])


def _scaled(ctx: SuiteContext, key: str, what: str) -> dict[str, str]:
    used, seed = size(ctx, key), SEED_SIZES[key]
    return scaled(ctx.profile, what, seed, used)


def _ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000.0 for s in seconds]


def _percentile(values: Sequence[float], q: float) -> float:
    return quantile(sorted(values), q)


def _channels(audio: np.ndarray) -> int:
    return 1 if audio.ndim == 1 else audio.shape[1]


# =================================================================================== Real-time factor

def _measure_rtf(ctx: SuiteContext, seconds: float, runs: int) -> dict[str, Any]:
    """Warm `master()` on `seconds` of audio, `runs` timed calls: RTF per run and its median."""
    audio, sr = _audio.test_audio(ctx, seconds)
    engine = ctx.engine
    timing = measure_time(lambda: engine.master(audio, sr), warmup=1, repeat=runs, min_time=0.0,
                          inner_loops=1)
    audio_s = audio.shape[0] / sr
    per_run = [audio_s / s for s in timing.samples]
    return {"timing": timing, "rtf": describe(per_run).median, "rtf_samples": per_run, "audio_seconds": audio_s,
            "sample_rate": sr, "channels": _channels(audio)}


def _rtf_record(ctx: SuiteContext, check_id: str, m: dict[str, Any], extra: dict[str, Any]) -> CheckResult:
    timing: Timing = m["timing"]
    details = {"audio_seconds": m["audio_seconds"], "sample_rate": m["sample_rate"], "channels": m["channels"],
               "runs": timing.n, "warmup_runs": timing.warmup, "wall_seconds_median": timing.median,
               "stability_warning": timing.warning, **_audio.describe_source(ctx), **extra}
    return record(ctx, check_id, m["rtf"], samples=m["rtf_samples"], kind="rtf", summary=timing.summary(),
                  details=details)


@group("Real-time factor", category=CATEGORY, ids=["RT-01", "RT-02", "RT-03", "RT-04", "RT-05"])
def real_time_factor(ctx: SuiteContext) -> list[CheckResult]:
    durations = size(ctx, "rtf_seconds")
    runs = size(ctx, "rtf_runs")
    measured: dict[str, dict[str, Any]] = {}

    def by_duration(check_id: str, index: int) -> Callable[[SuiteContext], CheckResult]:
        def check(ctx: SuiteContext) -> CheckResult:
            measured[check_id] = _measure_rtf(ctx, durations[index], runs)
            seed = SEED_SIZES["rtf_seconds"][index]
            extra = scaled(ctx.profile, "audio length (s)", seed, durations[index])
            return _rtf_record(ctx, check_id, measured[check_id], extra)
        return check

    def lowest(ctx: SuiteContext) -> CheckResult:
        if not measured:
            raise RuntimeError("none of RT-01..RT-03 produced a real-time factor")
        worst = min(measured, key=lambda i: measured[i]["rtf"])
        m = measured[worst]
        rtf_by_check = {i: measured[i]["rtf"] for i in measured}
        missing = sorted({"RT-01", "RT-02", "RT-03"} - set(measured))
        return record(ctx, "RT-04", m["rtf"], samples=m["rtf_samples"], kind="rtf", summary=m["timing"].summary(),
                      details={"lowest_of": worst, "rtf_by_check": rtf_by_check,
                               "audio_seconds": m["audio_seconds"], "not_measured": missing})

    def consistency(ctx: SuiteContext) -> CheckResult:
        if "RT-02" not in measured:
            raise RuntimeError("RT-02 was not measured, so its runs' consistency cannot be judged")
        timing: Timing = measured["RT-02"]["timing"]
        cv_percent = 100.0 * timing.cv
        return record(ctx, "RT-05", cv_percent, samples=timing.samples, kind="time", summary=timing.summary(),
                      details={"runs_of": "RT-02", "runs": timing.n, "wall_seconds": timing.samples,
                               "audio_seconds": measured["RT-02"]["audio_seconds"],
                               "note": "samples are the wall seconds of RT-02's timed runs; value = their CV"})

    return run_checks(ctx, [("RT-01", by_duration("RT-01", 0)), ("RT-02", by_duration("RT-02", 1)),
                            ("RT-03", by_duration("RT-03", 2)), ("RT-04", lowest), ("RT-05", consistency)])


# ============================================================================================ Latency

def _first_chunk_seconds(engine: Any, path: Path) -> float:
    """Seconds from asking for a stream on `path` to holding its first processed chunk."""
    start = time.perf_counter()
    stream = engine.stream(path)
    try:
        chunk = next(iter(stream))
        elapsed = time.perf_counter() - start
        if np.asarray(chunk).size == 0:
            raise RuntimeError(f"the first chunk of {path} is empty")
    finally:
        stream.close()
    return elapsed


def check_first_chunk(ctx: SuiteContext) -> CheckResult:
    path = _audio.audio_file(ctx, size(ctx, "stream_seconds"))
    repeats = size(ctx, "latency_repeats")
    _first_chunk_seconds(ctx.engine, path)  # warm-up: imports, compiled kernels, the file in the page cache
    timing = Timing.from_samples([_first_chunk_seconds(ctx.engine, path) for _ in range(repeats)], warmup=1)
    samples = _ms(timing.samples)
    return record(ctx, "RT-06", describe(samples).median, samples=samples, kind="time", summary=timing.summary(),
                  details={"file": path.name, "file_seconds": _audio.file_seconds(path), "repeats": timing.n,
                           "p95_ms": _percentile(samples, 0.95), "max_ms": max(samples),
                           "stability_warning": timing.warning, **_audio.describe_source(ctx)})


def _chunk_times(stream: Any) -> tuple[list[float], list[int]]:
    """Seconds taken by each `next()` of a stream, and each chunk's frame count."""
    times: list[float] = []
    frames: list[int] = []
    iterator = iter(stream)
    while True:
        start = time.perf_counter()
        try:
            chunk = next(iterator)
        except StopIteration:
            break
        times.append(time.perf_counter() - start)
        frames.append(int(np.asarray(chunk).shape[0]))
    return times, frames


def check_chunk_times(ctx: SuiteContext) -> CheckResult:
    seconds = size(ctx, "stream_seconds")
    path = _audio.audio_file(ctx, seconds)
    with ctx.engine.stream(path) as warm:  # warm-up: a few chunks
        for _, _chunk in zip(range(4), warm):
            pass
    with ctx.engine.stream(path) as stream:
        sr, chunk_size = stream.sample_rate, stream.chunk_size
        times, frames = _chunk_times(stream)
    if not times:
        raise RuntimeError(f"streaming {path} yielded no chunk")
    deadline = chunk_size / sr
    # a short last chunk has a shorter deadline: judge each chunk against its own duration
    percent = [100.0 * t / (f / sr) for t, f in zip(times, frames) if f > 0]
    chunk_ms = _ms(times)
    p99 = _percentile(percent, 0.99)
    return record(ctx, "RT-07", p99, samples=percent, kind="time", summary=Timing.from_samples(times).summary(),
                  details={"chunk_size": chunk_size, "sample_rate": sr, "deadline_ms": deadline * 1000.0,
                           "chunks": len(times), "median_ms": describe(chunk_ms).median,
                           "p99_ms": _percentile(chunk_ms, 0.99), "max_ms": max(chunk_ms),
                           "median_percent": describe(percent).median, "max_percent": max(percent),
                           "missed_deadlines": sum(p > 100.0 for p in percent), "chunk_ms": chunk_ms,
                           "file": path.name, "file_seconds": _audio.file_seconds(path),
                           **_scaled(ctx, "stream_seconds", "streamed track (s)"), **_audio.describe_source(ctx)})


def _playback_session_run(ctx: SuiteContext) -> dict[str, Any]:
    """One real-time-paced playback at the default buffer size, switching presets along the way."""
    require(ctx, Capability.PLAYBACK)
    engine = ctx.engine
    path = _audio.audio_file(ctx, size(ctx, "playback_seconds"))
    length = _audio.file_seconds(path)
    switches = size(ctx, "preset_switches")
    presets = [p for p in engine.presets if p != "default"] or list(engine.presets)
    with engine.open_playback(path, realtime=True) as session:
        session.start()
        # switch evenly over the middle of the track, away from its start and end
        step = length * 0.8 / (switches + 1)
        began = time.perf_counter()
        for i in range(switches):
            pause = began + length * 0.1 + step * (i + 1) - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # the session plays in real time: wait for the next switch point
            session.set_preset(presets[i % len(presets)] if i % 2 == 0 else "default")
        if not session.wait(timeout=length * 3 + 10):
            raise RuntimeError(f"the playback session of {path.name} did not finish in {length * 3 + 10:.0f} s")
        timeline = dict(session.timeline())
    timeline["file"] = path.name
    timeline["file_seconds"] = length
    timeline["presets_used"] = presets
    return timeline


def _shared_once(ctx: SuiteContext, key: str, compute: Callable[[SuiteContext], Any]) -> Any:
    """Compute once per run and share between checks (a failure is re-raised for each of them)."""
    store = ctx.shared.setdefault("realtime", {})
    if key not in store:
        try:
            store[key] = ("ok", compute(ctx))
        except Exception as exc:  # noqa: BLE001 - re-raised for every check that needs it
            store[key] = ("error", exc)
    status, value = store[key]
    if status == "error":
        raise value
    return value


def check_buffer_wait(ctx: SuiteContext) -> CheckResult:
    timeline = _shared_once(ctx, "playback", _playback_session_run)
    waits = _ms(timeline.get("buffer_waits") or [])
    if not waits:
        raise RuntimeError("the playback session recorded no buffer wait")
    return record(ctx, "RT-08", describe(waits).median, samples=waits, kind="time",
                  details={"buffer_chunks": "engine default", "chunks": timeline.get("chunks"),
                           "p95_ms": _percentile(waits, 0.95), "max_ms": max(waits),
                           "missed_deadlines": timeline.get("missed_deadlines"), "realtime": True,
                           "file": timeline["file"], "file_seconds": timeline["file_seconds"],
                           "note": "measured in the same real-time-paced session as RT-09's preset switches"})


def _switch_latencies_from_stream(ctx: SuiteContext) -> list[float]:
    """Preset switch latency on a plain stream: set_preset, then the next chunk in hand (no playback)."""
    require(ctx, Capability.PRESET_SWITCH)
    path = _audio.audio_file(ctx, size(ctx, "stream_seconds"))
    presets = [p for p in ctx.engine.presets if p != "default"] or list(ctx.engine.presets)
    latencies = []
    with ctx.engine.stream(path) as stream:
        iterator = iter(stream)
        for i in range(size(ctx, "preset_switches")):
            if next(iterator, None) is None:  # one chunk with the previous preset between switches
                break
            start = time.perf_counter()
            stream.set_preset(presets[i % len(presets)] if i % 2 == 0 else "default")
            if next(iterator, None) is None:
                break
            latencies.append(time.perf_counter() - start)
    return latencies


def check_preset_switch(ctx: SuiteContext) -> CheckResult:
    if ctx.engine.has(Capability.PLAYBACK):
        timeline = _shared_once(ctx, "playback", _playback_session_run)
        pairs = timeline.get("preset_switches") or []
        pending = [p for p in pairs if p[1] is None]
        latencies = [applied - requested for requested, applied in pairs if applied is not None]
        source = "playback session timeline (real-time paced)"
    else:
        pending, latencies = [], _switch_latencies_from_stream(ctx)
        source = "stream: set_preset to the next chunk in hand"
    if not latencies:
        raise RuntimeError("no preset switch took effect")
    samples = _ms(latencies)
    violations = [f"{len(pending)} preset switch(es) never took effect"] if pending else []
    return record(ctx, "RT-09", describe(samples).median, samples=samples, kind="time", violations=violations,
                  details={"switches": len(samples), "p95_ms": _percentile(samples, 0.95), "max_ms": max(samples),
                           "source": source})


def _playback_start_seconds(engine: Any, path: Path) -> dict[str, float]:
    """From "play this file" to its first buffer ready, with the session's own stamps on the way."""
    start = time.perf_counter()
    session = engine.open_playback(path, realtime=True)
    try:
        session.start()
        deadline = start + 30.0
        while True:
            timeline = session.timeline()
            if timeline.get("first_chunk") is not None:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the playback of {path.name} produced no buffer in 30 s")
            time.sleep(0.0005)  # poll the background thread's stamp (it is set once, by the session)
    finally:
        session.close()
    stamps = {k: timeline.get(k) for k in ("opened", "first_chunk", "playback_start")}
    return {f"{k}_ms": (v - start) * 1000.0 for k, v in stamps.items() if v is not None}


def check_playback_start(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.PLAYBACK)
    path = _audio.audio_file(ctx, size(ctx, "start_seconds"))
    _playback_start_seconds(ctx.engine, path)  # warm-up
    runs = [_playback_start_seconds(ctx.engine, path) for _ in range(size(ctx, "latency_repeats"))]
    samples = [r["first_chunk_ms"] for r in runs]
    return record(ctx, "RT-10", describe(samples).median, samples=samples, kind="time",
                  summary=Timing.from_samples([s / 1000 for s in samples]).summary(),
                  details={"runs": runs, "file": path.name, "file_seconds": _audio.file_seconds(path),
                           "p95_ms": _percentile(samples, 0.95), "max_ms": max(samples),
                           "measured_to": "first processed buffer ready in the session's output buffer"})


@group("Latency", category=CATEGORY, ids=["RT-06", "RT-07", "RT-08", "RT-09", "RT-10"])
def latency(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-06", check_first_chunk), ("RT-07", check_chunk_times),
                            ("RT-08", check_buffer_wait), ("RT-09", check_preset_switch),
                            ("RT-10", check_playback_start)])


# ========================================================================================= Throughput

#: Batch tracks are drawn from this many different pieces (rendering music-like audio is slow).
TRACK_PIECES = 3


def _tracks(ctx: SuiteContext, count: int, seconds: float) -> tuple[list[np.ndarray], int]:
    """`count` tracks, each its own array: a few different pieces, each copy at another level."""
    tracks, rates = [], set()
    for i in range(count):
        audio, sr = _audio.test_audio(ctx, seconds, seed=i % TRACK_PIECES)
        tracks.append(audio * np.float32(1.0 - 0.5 * i / max(1, count)))  # levels differ: loudness works
        rates.add(sr)
    if len(rates) != 1:
        raise RuntimeError(f"test tracks came at several sample rates: {sorted(rates)}")
    return tracks, rates.pop()


def _batch_items(tracks: list[np.ndarray], sr: int) -> list[Any]:
    return [(t, sr) for t in tracks]


def _cores() -> int:
    return psutil.cpu_count(logical=True) or 1


def _concurrent_run(ctx: SuiteContext) -> dict[str, Any]:
    require(ctx, Capability.BATCH)
    engine = ctx.engine
    tracks, sr = _tracks(ctx, CONCURRENT_TRACKS, size(ctx, "concurrent_seconds"))
    items = _batch_items(tracks, sr)
    workers = min(CONCURRENT_TRACKS, _cores())
    modes = {"serial": ("serial", 1), "thread": ("thread", workers), "process": ("process", workers)}
    times: dict[str, list[float]] = {m: [] for m in modes}
    outputs: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    for mode, (executor, n) in modes.items():  # warm-up each executor (pools, imports in workers)
        outputs[mode] = engine.process_batch(items, workers=n, executor=executor)
    diffs = {m: max_abs_diff(outputs["serial"], outputs[m]) for m in ("thread", "process")}
    del outputs
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
    result: dict[str, Any] = {"workers": workers, "cores": _cores(), "tracks": CONCURRENT_TRACKS,
                              "track_seconds": size(ctx, "concurrent_seconds"), "audio_seconds": audio_s,
                              "times": times, "max_abs_diff": diffs, "executors": {}}
    ideal = min(CONCURRENT_TRACKS, _cores())
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
    run = _shared_once(ctx, "concurrent", _concurrent_run)
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
        return _shared_once(ctx, "concurrent", _concurrent_run)["best_executor"]
    except NotSupported:
        raise
    except Exception:  # noqa: BLE001 - RT-11 reports its own failure; batch checks fall back to threads
        return "thread"


def check_batch_throughput(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    count, seconds = size(ctx, "batch")
    tracks, sr = _tracks(ctx, count, seconds)
    items = _batch_items(tracks, sr)
    executor, workers = _best_executor(ctx), _cores()
    ctx.engine.process_batch(items[:workers], workers=workers, executor=executor)  # warm-up
    timing = measure_time(lambda: ctx.engine.process_batch(items, workers=workers, executor=executor),
                          warmup=0, repeat=size(ctx, "batch_repeats"), min_time=0.0, inner_loops=1)
    audio_s = sum(t.shape[0] for t in tracks) / sr
    per_run = [audio_s / s for s in timing.samples]
    return record(ctx, "RT-12", describe(per_run).median, samples=per_run, kind="rtf", summary=timing.summary(),
                  details={"tracks": count, "track_seconds": seconds, "audio_seconds": audio_s,
                           "executor": executor, "workers": workers, "cores": _cores(),
                           "wall_seconds": timing.samples})


#: RT-13 cycles through this many different clips (consecutive excerpts of one piece).
QUEUE_CLIPS = 8


def check_queue_rate(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    jobs = size(ctx, "queue_jobs")
    clip_seconds = size(ctx, "queue_clip_seconds")
    piece, sr = _audio.test_audio(ctx, clip_seconds * QUEUE_CLIPS)
    clip_frames = piece.shape[0] // QUEUE_CLIPS
    clips = [(piece[i * clip_frames:(i + 1) * clip_frames], sr) for i in range(QUEUE_CLIPS)]
    workers = _cores()
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
    wait_ms, run_ms = _ms(waits), _ms(runs)
    return record(ctx, "RT-13", describe(rates).median, samples=rates, kind="throughput",
                  details={"jobs_per_round": jobs, "rounds": len(rates), "clip_seconds": size(ctx, "queue_clip_seconds"),
                           "workers": workers, "wait_p95_ms": _percentile(wait_ms, 0.95) if wait_ms else None,
                           "wait_median_ms": describe(wait_ms).median if wait_ms else None,
                           "run_median_ms": describe(run_ms).median if run_ms else None,
                           "run_p95_ms": _percentile(run_ms, 0.95) if run_ms else None})


def check_sustained(ctx: SuiteContext) -> CheckResult:
    """One continuous streaming run of fixed wall time; RTF of its last tenth against its first."""
    wall = size(ctx, "sustained_wall_seconds")
    audio, sr = _audio.test_audio(ctx, size(ctx, "stream_seconds"))
    times: list[float] = []
    frames: list[int] = []
    ctx.engine.master(audio[: sr], sr)  # warm
    start = time.perf_counter()
    passes = 0
    while time.perf_counter() - start < wall:
        with ctx.engine.stream(audio, sample_rate=sr) as stream:
            t, f = _chunk_times(stream)
        times += t
        frames += f
        passes += 1
    if len(times) < 20:
        raise RuntimeError(f"the sustained run produced only {len(times)} chunks; it needs at least 20")
    tenth = len(times) // 10
    tenths = [(times[i * tenth:(i + 1) * tenth], frames[i * tenth:(i + 1) * tenth]) for i in range(10)]
    # RTF of a tenth from its median chunk: robust to a single burst of load from other programs
    rtf_median = [describe([f / sr / t for t, f in zip(ts, fs)]).median for ts, fs in tenths]
    rtf_total = [sum(fs) / sr / sum(ts) for ts, fs in tenths]
    ratios = [r / rtf_median[0] for r in rtf_median]
    return record(ctx, "RT-14", ratios[-1], samples=ratios, kind="ratio",
                  details={"wall_seconds": time.perf_counter() - start, "chunks": len(times), "passes": passes,
                           "rtf_per_tenth": rtf_median, "rtf_per_tenth_total_time": rtf_total,
                           "ratio_total_time": rtf_total[-1] / rtf_total[0],
                           "rtf_estimator": "chunk duration / median chunk time within each tenth"})


def check_batch_memory(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    count, seconds = size(ctx, "batch")
    tracks, sr = _tracks(ctx, count, seconds)
    items = _batch_items(tracks, sr)
    workers = _cores()
    # in-process threads: the peak of this one process is the batch's whole footprint
    ctx.engine.process_batch(items[:workers], workers=workers, executor="thread")  # warm-up
    growths, peaks = [], []
    for _ in range(size(ctx, "memory_repeats")):
        outputs, peak = peak_rss_during(lambda: ctx.engine.process_batch(items, workers=workers, executor="thread"))
        output_mb = sum(np.asarray(o).nbytes for o in outputs) / MB
        del outputs
        growths.append(peak.delta_mb / count)
        peaks.append({**{k: v for k, v in peak.to_dict().items() if k not in ("times_s", "series_mb")},
                      "outputs_mb": output_mb})
    return record(ctx, "RT-15", max(growths), samples=growths, kind="peak_rss",
                  details={"tracks": count, "track_seconds": seconds, "executor": "thread", "workers": workers,
                           "input_mb_per_track": tracks[0].nbytes / MB, "runs": peaks,
                           "value_is": "largest peak-RSS growth per track over the runs (peak - RSS before)"})


@group("Throughput", category=CATEGORY, ids=["RT-11", "RT-12", "RT-13", "RT-14", "RT-15"])
def throughput(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-11", check_concurrent), ("RT-12", check_batch_throughput),
                            ("RT-13", check_queue_rate), ("RT-14", check_sustained),
                            ("RT-15", check_batch_memory)])


# ========================================================================= Optimization effectiveness

def _kernel(ctx: SuiteContext, name: str) -> Any:
    require(ctx, Capability.KERNELS)
    kernels = ctx.engine.kernels()
    if name not in kernels:
        raise NotSupported(f"engine {ctx.engine.name!r} offers no {name!r} kernel pair "
                           f"(it has: {', '.join(sorted(kernels)) or 'none'})")
    return kernels[name]


def _evidence_around_master(ctx: SuiteContext, pair: Any) -> dict[str, Any]:
    """The pair's evidence before and after one `master()` call: proof that master uses the fast path."""
    audio, sr = _audio.test_audio(ctx, 1.0)
    before = pair.evidence()
    ctx.engine.master(audio, sr)
    after = pair.evidence()
    return {"before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None}


def judge_evidence(name: str, before: Mapping[str, Any] | None,
                   after: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """(verdict in words, violations) from a pair's evidence taken before and after one `master()` call.

    An engine shows which path served `master()` with call counters (`master_calls_compiled`,
    `master_calls_plain`: the compiled one must have grown) or says so with `used_by_master: False`.
    Evidence of None means the engine cannot tell, which is not a violation.
    """
    if not after:
        return "the engine gives no evidence for this pair", []
    if after.get("used_by_master") is False:
        reason = after.get("reason") or ""
        return "not used", [f"the {name} fast path is not what master() uses{': ' + str(reason) if reason else ''}"]
    grown = {}
    for key in ("master_calls_compiled", "master_calls_plain"):
        now, then = after.get(key), (before or {}).get(key, 0)
        if isinstance(now, (int, float)) and isinstance(then, (int, float)):
            grown[key] = now - then
    if len(grown) < 2:
        return "the evidence has no call counters; see the raw evidence", []
    counts = f"compiled calls +{grown['master_calls_compiled']:g}, plain calls +{grown['master_calls_plain']:g}"
    if grown["master_calls_compiled"] <= 0 and grown["master_calls_plain"] > 0:
        return f"not used ({counts})", [f"master() ran the plain {name} path, not the fast one ({counts})"]
    if grown["master_calls_compiled"] > 0:
        return f"in use: one master() call made {counts}", []
    return f"no call seen during one master() call ({counts})", []


def _plain_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able part of a pair's info (engines may put callables there)."""
    simple = (str, int, float, bool, type(None))
    return {k: v for k, v in info.items()
            if isinstance(v, simple) or (isinstance(v, (list, tuple)) and all(isinstance(x, simple) for x in v))}


def _pair_record(ctx: SuiteContext, check_id: str, name: str, seconds_key: str, *,
                 value_of: Callable[[Any, Any], float] | None = None,
                 extra: Callable[[Any, Any, Any], dict[str, Any]] | None = None) -> CheckResult:
    """A kernel pair timed side by side, its output difference and evidence in the record."""
    pair = _kernel(ctx, name)
    sr = _audio.DEFAULT_SAMPLE_RATE
    n_frames = int(size(ctx, seconds_key) * sr)
    evidence = _evidence_around_master(ctx, pair)
    data = pair.make_input(n_frames, sr)  # once: making music-like input is slow
    comparison = compare_paths(lambda: pair.fast(data), lambda: pair.plain(data), rounds=size(ctx, "pair_rounds"),
                               tolerance=pair.tolerance)
    violations = [] if comparison.within_tolerance else [
        f"the fast {name} path changed the output by {comparison.max_abs_diff:.3g} "
        f"(tolerance {comparison.tolerance:g})"]
    evidence["verdict"], used_violations = judge_evidence(name, evidence["before"], evidence["after"])
    violations += used_violations
    value = value_of(pair, comparison) if value_of else comparison.speedup
    details = {**comparison.row(), "input_seconds": n_frames / sr, "description": pair.description,
               "info": _plain_info(pair.info), "evidence": evidence, "speedup_samples": comparison.speedups,
               **(extra(pair, comparison, data) if extra else {})}
    samples = comparison.speedups
    if value_of is not None:
        scale = value / comparison.speedup if comparison.speedup else 1.0
        samples = [s * scale for s in comparison.speedups]
    return record(ctx, check_id, value, samples=samples, kind="ratio", summary=comparison.fast.summary(),
                  violations=violations, details=details)


def check_envelope(ctx: SuiteContext) -> CheckResult:
    return _pair_record(ctx, "RT-16", "envelope", "envelope_seconds")


def check_eq(ctx: SuiteContext) -> CheckResult:
    return _pair_record(ctx, "RT-17", "eq", "eq_seconds")


def check_spectrum_parallel(ctx: SuiteContext) -> CheckResult:
    def workers_of(pair: Any) -> int:
        return int(pair.info.get("workers") or 1)

    def efficiency(pair: Any, comparison: Any) -> float:
        return comparison.speedup / workers_of(pair)

    def cpu_use(pair: Any, comparison: Any, data: Any) -> dict[str, Any]:
        with CpuMonitor() as parallel:  # one more parallel call, watched: threads and CPU per core
            pair.fast(data)
        workers = workers_of(pair)
        used = parallel.result
        return {"cores": _cores(), "physical_cores": psutil.cpu_count(logical=False), "workers": workers,
                "speedup": comparison.speedup, "cpu_parallel": used.to_dict() if used else None,
                "cpu_per_worker_percent": 100.0 * used.cores_busy / workers if used else None,
                "value_is": "speedup / workers used"}

    return _pair_record(ctx, "RT-18", "spectrum_parallel", "spectrum_seconds", value_of=efficiency,
                        extra=cpu_use)


def check_chain(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.FALLBACKS)
    seconds = size(ctx, "chain_seconds")
    audio32, sr = _audio.test_audio(ctx, seconds)
    audio = audio32.astype(np.float64)  # the engines' equality contract is stated in float64
    tolerance = 1e-9
    if ctx.engine.has(Capability.KERNELS) and "chain" in ctx.engine.kernels():
        tolerance = ctx.engine.kernels()["chain"].tolerance
    engine = ctx.engine
    comparison = compare_paths(lambda: engine.master(audio, sr), lambda: engine.master(audio, sr, optimized=False),
                               rounds=size(ctx, "pair_rounds"), tolerance=tolerance,
                               units=audio.shape[0] / sr)
    violations = [] if comparison.within_tolerance else [
        f"the optimized chain changed the output by {comparison.max_abs_diff:.3g} (tolerance {tolerance:g})"]
    return record(ctx, "RT-19", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  summary=comparison.fast.summary(), violations=violations,
                  details={**comparison.row(), "audio_seconds": audio.shape[0] / sr,
                           "rtf_optimized": comparison.throughput("fast")[0],
                           "rtf_fallbacks": comparison.throughput("plain")[0]})


def fallback_child(engine_name: str, seconds: float, seed: int, audio_files: list[str], workdir: str,
                   output_path: str) -> dict[str, Any]:
    """Runs in a fresh process with Numba blocked: master the test audio, save it, report the timings."""
    try:
        import numba  # noqa: F401
        numba_blocked = False
    except ImportError:
        numba_blocked = True
    engine = get_engine(engine_name)
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=Path(workdir), audio_files=list(audio_files))
    audio32, sr = _audio.test_audio(ctx, seconds, seed=seed)
    audio = audio32.astype(np.float64)
    times = []
    output = None
    for _ in range(2):  # the first call in a fresh process pays first-use costs; the second is warm
        start = time.perf_counter()
        output = engine.master(audio, sr)
        times.append(time.perf_counter() - start)
    np.save(output_path, np.asarray(output))
    engine.close()
    return {"numba_blocked": numba_blocked, "times": times, "audio_seconds": audio.shape[0] / sr,
            "engine": engine.describe()}


def check_without_numba(ctx: SuiteContext) -> CheckResult:
    seconds = size(ctx, "chain_seconds")
    seed = 0
    output_path = ctx.workdir / f"rt20-fallback-{os.getpid()}.npy"
    try:
        child = run_isolated(fallback_child, args=(ctx.engine.name, seconds, seed,
                                                   [str(p) for p in ctx.audio_files], str(ctx.workdir),
                                                   str(output_path)),
                             block_numba=True, timeout=600.0)
    except SubprocessFailed as exc:
        return record(ctx, "RT-20", None, violations=[f"the chain did not complete without Numba: {exc}"],
                      details={"child_traceback": exc.child_traceback, "stderr": exc.stderr[-2000:]})
    try:
        fallback = np.load(output_path)
    finally:
        output_path.unlink(missing_ok=True)
    audio32, sr = _audio.test_audio(ctx, seconds, seed=seed)
    audio = audio32.astype(np.float64)
    ctx.engine.master(audio, sr)  # warm
    start = time.perf_counter()
    compiled = np.asarray(ctx.engine.master(audio, sr))
    compiled_s = time.perf_counter() - start
    diff = max_abs_diff(compiled, fallback)
    result = child.result
    audio_s = result["audio_seconds"]
    violations = []
    if not result["numba_blocked"]:
        violations.append("Numba could still be imported in the child process: the fallback was not exercised")
    if diff > FALLBACK_TOLERANCE:
        violations.append(f"the fallback output differs from the compiled path by {diff:.3g} "
                          f"(tolerance {FALLBACK_TOLERANCE:g})")
    return record(ctx, "RT-20", diff, samples=[diff], kind="diff", violations=violations,
                  details={"max_abs_diff": diff, "tolerance": FALLBACK_TOLERANCE, "completed": True,
                           "numba_blocked": result["numba_blocked"], "audio_seconds": audio_s,
                           "fallback_rtf_first_call": audio_s / result["times"][0],
                           "fallback_rtf": audio_s / result["times"][-1],
                           "compiled_rtf": audio_s / compiled_s, "child_wall_s": child.wall_s,
                           "child_process_s": child.process_s, "child_peak_rss_mb": child.peak_rss_mb,
                           "child_engine": result["engine"]})


@group("Optimization effectiveness", category=CATEGORY, ids=["RT-16", "RT-17", "RT-18", "RT-19", "RT-20"])
def optimization_effectiveness(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-16", check_envelope), ("RT-17", check_eq), ("RT-18", check_spectrum_parallel),
                            ("RT-19", check_chain), ("RT-20", check_without_numba)])


__all__ = ["SIZES", "fallback_child", "judge_evidence", "latency", "optimization_effectiveness",
           "real_time_factor", "throughput"]
