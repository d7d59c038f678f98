"""RT-06..RT-10: latency of streams and of the playback session against the chunk's deadline."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, Engine, Stream
from auralis_perf.measure import Timing
from auralis_perf.measure.stats import describe
from auralis_perf.results import CheckResult, skipped
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import audio as suite_audio
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.cpu import CpuMonitor, free_cores
from auralis_perf.suites.common.playback import PacedPlayback
from auralis_perf.suites.realtime.common import ms, percentile, seed_scaled, shared_once, size


def _first_chunk_seconds(engine: Engine, path: Path) -> float:
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
    path = suite_audio.audio_file(ctx, size(ctx, "stream_seconds"))
    repeats = size(ctx, "latency_repeats")
    _first_chunk_seconds(ctx.engine, path)  # warm-up: imports, compiled kernels, the file in the page cache
    timing = Timing.from_samples([_first_chunk_seconds(ctx.engine, path) for _ in range(repeats)], warmup=1)
    samples = ms(timing.samples)
    return record(ctx, "RT-06", describe(samples).median, samples=samples, kind="time", summary=timing.summary(),
                  details={"file": path.name, "file_seconds": suite_audio.file_seconds(path), "repeats": timing.n,
                           "p95_ms": percentile(samples, 0.95), "max_ms": max(samples),
                           "stability_warning": timing.warning, **suite_audio.describe_source(ctx)})


def chunk_times(stream: Stream) -> tuple[list[float], list[int]]:
    """Seconds taken by each `next()` of a stream, and each chunk's frame count."""
    times, _cpu, frames = chunk_costs(stream)
    return times, frames


def chunk_costs(stream: Stream) -> tuple[list[float], list[float], list[int]]:
    """Wall seconds and process CPU seconds (the engine's threads included) of each `next()` of a stream,
    and each chunk's frame count. The CPU clock is read outside the wall-clock window, so the wall
    figures are those chunk_times always gave."""
    times: list[float] = []
    cpu: list[float] = []
    frames: list[int] = []
    iterator = iter(stream)
    while True:
        cpu_start = time.process_time()
        start = time.perf_counter()
        try:
            chunk = next(iterator)
        except StopIteration:
            break
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        frames.append(int(np.asarray(chunk).shape[0]))
    return times, cpu, frames


def check_chunk_times(ctx: SuiteContext) -> CheckResult:
    seconds = size(ctx, "stream_seconds")
    path = suite_audio.audio_file(ctx, seconds)
    with ctx.engine.stream(path) as warm:  # warm-up: a few chunks
        for _, _chunk in zip(range(4), warm):
            pass
    with ctx.engine.stream(path) as stream:
        sr, chunk_size = stream.sample_rate, stream.chunk_size
        times, _frames = chunk_times(stream)
    if not times:
        raise RuntimeError(f"streaming {path} yielded no chunk")
    # the deadline is the device's period, one full chunk (a short last chunk is padded by a player)
    deadline = chunk_size / sr
    percent = [100.0 * t / deadline for t in times]
    chunk_ms = ms(times)
    p99 = percentile(percent, 0.99)
    return record(ctx, "RT-07", p99, samples=percent, kind="time", summary=Timing.from_samples(times).summary(),
                  details={"chunk_size": chunk_size, "sample_rate": sr, "deadline_ms": deadline * 1000.0,
                           "chunks": len(times), "median_ms": describe(chunk_ms).median,
                           "p99_ms": percentile(chunk_ms, 0.99), "max_ms": max(chunk_ms),
                           "median_percent": describe(percent).median, "max_percent": max(percent),
                           "missed_deadlines": sum(p > 100.0 for p in percent), "chunk_ms": chunk_ms,
                           "file": path.name, "file_seconds": suite_audio.file_seconds(path),
                           **seed_scaled(ctx, "stream_seconds", "streamed track (s)"), **suite_audio.describe_source(ctx)})


def _playback_session_run(ctx: SuiteContext) -> dict[str, Any]:
    """One real-time-paced playback at the default buffer size, switching presets along the way."""
    require(ctx, Capability.PLAYBACK)
    engine = ctx.engine
    path = suite_audio.audio_file(ctx, size(ctx, "playback_seconds"))
    length = suite_audio.file_seconds(path)
    switches = size(ctx, "preset_switches")
    presets = [p for p in engine.presets if p != "default"] or list(engine.presets)
    with PacedPlayback(engine, path, realtime=True) as session, CpuMonitor() as cpu:
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
    timeline["cpu"] = cpu.result.to_dict() if cpu.result else None  # who held the cores during the session
    timeline["file"] = path.name
    timeline["file_seconds"] = length
    timeline["presets_used"] = presets
    return timeline


def output_latency(timeline: dict[str, Any]) -> dict[str, Any]:
    """RT-08's judgement of a real-time-paced playback timeline.

    A chunk's output latency is how long it waited in the output buffer before the device took it, plus
    the time the device spent inside the engine's hand-over (`pull_times`, when the timeline has them: an
    engine that processes on demand makes the device wait there instead). The value is its 95th
    percentile; a deep buffer shows there. A slow engine shows as missed deadlines (a chunk not ready when
    the device needed it: a gap the listener hears), each one a violation: the wait alone is capped at
    what the engine keeps ahead, so a slower engine would otherwise score better.
    """
    waits = list(timeline.get("buffer_waits") or [])
    if not waits:
        raise RuntimeError("the playback session recorded no buffer wait")
    pulls = list(timeline.get("pull_times") or [])
    if len(pulls) >= len(waits):  # the device's own pull times (those of underruns come on top)
        latencies = [w + p for w, p in zip(waits, pulls[-len(waits):])]
    else:
        latencies = waits
    latency_ms = ms(latencies)
    missed = int(timeline.get("missed_deadlines") or 0)
    chunks = int(timeline.get("chunks") or len(waits))
    violations = [f"{missed} missed deadline(s) in {chunks} chunks: the output ran dry while the device "
                  "waited for the engine"] if missed else []
    return {"p95_ms": percentile(latency_ms, 0.95), "latency_ms": latency_ms, "violations": violations,
            "missed_deadlines": missed, "chunks": chunks, "median_ms": describe(latency_ms).median,
            "max_ms": max(latency_ms), "buffer_wait_median_ms": describe(ms(waits)).median,
            "includes_pull_time": latencies is not waits}


#: RT-08: missed deadlines are the machine's, not the engine's, when other programs left the session less
#: than this many cores while the session itself needed under `STARVED_NEED` CPU seconds per audio second.
STARVED_CORES = 1.0
STARVED_NEED = 0.5


def starved_by_others(cpu: dict[str, Any] | None, audio_seconds: float) -> str | None:
    """Why missed deadlines of a real-time session say nothing about the engine, or None when they do.

    `cpu` is the session's `CpuUse.to_dict()`. The player needs one core now and then (a device thread, a
    processing thread); when other programs held the cores so that less than one was left, and the
    session's own CPU time shows it needed well under one core, the output ran dry because the scheduler
    did not run the player, not because the engine was too slow: the verdict is inconclusive.
    """
    if not cpu or audio_seconds <= 0:
        return None
    left = cpu["cores"] * (1.0 - cpu["others_percent"] / 100.0)
    need = cpu["cpu_s"] / audio_seconds
    if left < STARVED_CORES and need < STARVED_NEED:
        return (f"other programs held {cpu['cores'] - left:.1f} of {cpu['cores']} cores during the session, "
                f"leaving {left:.2f}; the session itself used {need:.3f} CPU s per second of audio")
    return None


def check_buffer_wait(ctx: SuiteContext) -> CheckResult:
    timeline = shared_once(ctx, "playback", _playback_session_run)
    return judge_buffer_wait(ctx, timeline, free_cores())  # cores free right after the session: the record's


def judge_buffer_wait(ctx: SuiteContext, timeline: dict[str, Any], machine: dict[str, Any]) -> CheckResult:
    """RT-08's record from a playback timeline (with the session's CPU use in `timeline["cpu"]`)."""
    judged = output_latency(timeline)
    starved = starved_by_others(timeline.get("cpu"), float(timeline["file_seconds"])) \
        if judged["missed_deadlines"] else None
    details = {"buffer_chunks": "engine default", "chunks": judged["chunks"],
               "p95_ms": judged["p95_ms"], "median_ms": judged["median_ms"], "max_ms": judged["max_ms"],
               "buffer_wait_median_ms": judged["buffer_wait_median_ms"],
               "includes_pull_time": judged["includes_pull_time"],
               "missed_deadlines": judged["missed_deadlines"], "realtime": True,
               "cpu_during_session": timeline.get("cpu"),
               "cores_free": machine.get("free_cores"), "cores_free_measured": machine,
               "file": timeline.get("file"), "file_seconds": timeline["file_seconds"],
               "value_is": "95th percentile of the output latency per chunk (buffer wait, plus the device's time "
                           "inside the engine's hand-over where recorded); every missed deadline is a violation, "
                           "unless other programs starved the session (then the check is inconclusive: skip)",
               "note": "measured in the same real-time-paced session as RT-09's preset switches"}
    if starved and record(ctx, "RT-08", judged["p95_ms"]).status == "pass":
        # the latency held its bound; only the missed deadlines would fail it, and the machine explains them
        result = skipped(ctx.catalog["RT-08"], f"inconclusive: {judged['violations'][0]}, but {starved}: "
                                               "the machine starved the player; run again on a quieter machine")
        result.details.update({**details, "p95_ms_unjudged": judged["p95_ms"], "starved": starved})
        return result
    return record(ctx, "RT-08", judged["p95_ms"], samples=judged["latency_ms"], kind="time",
                  violations=judged["violations"], details=details)


def _switch_latencies_from_stream(ctx: SuiteContext) -> list[float]:
    """Preset switch latency on a plain stream: set_preset, then the next chunk in hand (no playback)."""
    require(ctx, Capability.PRESET_SWITCH)
    path = suite_audio.audio_file(ctx, size(ctx, "stream_seconds"))
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
        timeline = shared_once(ctx, "playback", _playback_session_run)
        pairs = timeline.get("preset_switches") or []
        pending = [p for p in pairs if p[1] is None]
        latencies = [applied - requested for requested, applied in pairs if applied is not None]
        source = "playback session timeline (real-time paced)"
    else:
        pending, latencies = [], _switch_latencies_from_stream(ctx)
        source = "stream: set_preset to the next chunk in hand"
    if not latencies:
        raise RuntimeError("no preset switch took effect")
    samples = ms(latencies)
    violations = [f"{len(pending)} preset switch(es) never took effect"] if pending else []
    return record(ctx, "RT-09", describe(samples).median, samples=samples, kind="time", violations=violations,
                  details={"switches": len(samples), "p95_ms": percentile(samples, 0.95), "max_ms": max(samples),
                           "source": source})


def _playback_start_seconds(engine: Engine, path: Path) -> dict[str, float]:
    """From "play this file" to its first buffer ready, with the session's own stamps on the way."""
    start = time.perf_counter()
    session = PacedPlayback(engine, path, realtime=True)
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
    path = suite_audio.audio_file(ctx, size(ctx, "start_seconds"))
    _playback_start_seconds(ctx.engine, path)  # warm-up
    runs = [_playback_start_seconds(ctx.engine, path) for _ in range(size(ctx, "latency_repeats"))]
    samples = [r["first_chunk_ms"] for r in runs]
    return record(ctx, "RT-10", describe(samples).median, samples=samples, kind="time",
                  summary=Timing.from_samples([s / 1000 for s in samples]).summary(),
                  details={"runs": runs, "file": path.name, "file_seconds": suite_audio.file_seconds(path),
                           "p95_ms": percentile(samples, 0.95), "max_ms": max(samples),
                           "measured_to": "first processed buffer ready in the session's output buffer"})
