"""Parallel (OPT-11..OPT-15): CPU use per core, thread-pool efficiency, process-pool overhead, batch
speedup and thread safety, every figure judged against the cores present.

Speedups are divided by the workers that could really run at once (min(workers, cores)), and each
parallel output is compared with its sequential twin: a parallel path that changes the audio fails.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import psutil

from auralis_perf.engines import Capability, NotSupported
from auralis_perf.results import CheckResult
from auralis_perf.signals import kernel_input
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import max_abs_diff
from auralis_perf.suites.common.cpu import CpuMonitor, free_cores
from auralis_perf.suites.common.kernels import kernel_pair
from auralis_perf.suites.common.workload import library_cache, music, open_library, warm_engine

SIZES = {
    "smoke": {"analysis_s": 20.0, "busy_s": 0.6, "pool_tracks": 4, "track_s": 2.0, "rounds": 3,
              "pool_tasks": 10, "batch_executors": ("thread",), "safety_rounds": 2, "library_tracks": 1000},
    "standard": {"analysis_s": 60.0, "busy_s": 2.0, "pool_tracks": 6, "track_s": 5.0, "rounds": 4,
                 "pool_tasks": 30, "batch_executors": ("thread", "process"), "safety_rounds": 4,
                 "library_tracks": 5000},
    "full": {"analysis_s": 120.0, "busy_s": 5.0, "pool_tracks": 10, "track_s": 30.0, "rounds": 7,
             "pool_tasks": 100, "batch_executors": ("thread", "process"), "safety_rounds": 8,
             "library_tracks": 10000},
}
#: Outputs of concurrent and sequential runs of deterministic code should be identical; this allows
#: only rounding far below anything audible.
SAME_OUTPUT = 1e-12


def cores() -> int:
    return psutil.cpu_count() or 1


def _parallel_analysis(ctx: SuiteContext, audio: np.ndarray, sr: int,
                       workers: int) -> tuple[Callable[[], object], str]:
    """The engine's parallel spectrum: analyze(kind="spectrum", parallel=True) or its kernel pair."""
    if ctx.engine.has(Capability.ANALYSIS):
        return (lambda: ctx.engine.analyze(audio, sr, "spectrum", parallel=True, workers=workers),
                f"analyze(kind='spectrum', parallel=True, workers={workers})")
    pair = kernel_pair(ctx, "spectrum_parallel")
    data = kernel_input(pair, len(audio), sr)
    return (lambda: pair.fast(data), f"kernel pair spectrum_parallel ({pair.info.get('workers', '?')} workers)")


def opt11_core_use(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    audio, sr = music(ctx, size["analysis_s"], seed=11)
    n = cores()
    call, what = _parallel_analysis(ctx, audio, sr, n)
    call()  # warm-up: plans, pools, compilation
    machine = free_cores()
    calls = 0
    with CpuMonitor() as monitor:
        started = time.perf_counter()
        while calls < 2 or time.perf_counter() - started < size["busy_s"]:
            call()
            calls += 1
    use = monitor.result
    assert use is not None
    return record(ctx, "OPT-11", use.process_percent_of_machine, samples=use.per_core_percent, kind="ratio",
                  details={"what": "CPU time of this process (and its children) over wall time x cores, in "
                                   "percent, while the engine's parallel spectrum analysis runs; samples: "
                                   "system-wide use of each core over the same span (other programs included)",
                           "reading": _busy_note(use),
                           "workload": what, "calls": calls, "audio_seconds": size["analysis_s"],
                           "cores_free": machine["free_cores"], "cores_free_measured": machine, **use.to_dict()})


def _busy_note(use: Any) -> str:
    """Say when other programs held the cores: then a low figure is a lower bound, not the engine's limit."""
    if use.others_percent >= 25.0:
        return (f"other programs used about {use.others_percent:.0f} % of the machine meanwhile: the cores were "
                "not free, so this figure understates what the engine can use on an idle machine")
    return "the cores were mostly free of other work during the measurement"


def _tracks(ctx: SuiteContext, count: int, seconds: float) -> tuple[list[np.ndarray], int]:
    clips = [music(ctx, seconds, seed=60 + i) for i in range(count)]
    return [c[0] for c in clips], clips[0][1]


def opt12_thread_pool(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    tracks, sr = _tracks(ctx, size["pool_tracks"], size["track_s"])
    threads = cores()
    warm_engine(ctx)
    reference = [ctx.engine.master(t, sr) for t in tracks]
    seq, par, effs, diffs = [], [], [], []
    monitor_use = None
    machine = free_cores()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: ctx.engine.master(t, sr), tracks[:threads]))  # threads started, warm
        for i in range(size["rounds"]):
            started = time.perf_counter()
            for t in tracks:
                ctx.engine.master(t, sr)
            seq.append(time.perf_counter() - started)
            with CpuMonitor() as monitor:
                started = time.perf_counter()
                outputs = list(pool.map(lambda t: ctx.engine.master(t, sr), tracks))
                par.append(time.perf_counter() - started)
            monitor_use = monitor.result
            diffs.append(max(max_abs_diff(a, b) for a, b in zip(outputs, reference)))
            effs.append(seq[-1] / par[-1] / threads)
    violations = [f"outputs mastered in threads differ from sequential ones by {max(diffs):.3g}"] \
        if max(diffs) > SAME_OUTPUT else []
    return record(ctx, "OPT-12", statistics.median(effs), samples=effs, kind="ratio", violations=violations,
                  details={"what": "speedup of mastering tracks in a thread pool of one thread per core over "
                                   "mastering them one after another (alternating rounds), divided by the "
                                   "threads; the engine's kernels must release the GIL for this to scale",
                           "threads": threads, "cores": cores(), "cores_free": machine["free_cores"],
                           "cores_free_measured": machine, "tracks": len(tracks),
                           "track_seconds": size["track_s"], "sequential_s": seq, "threaded_s": par,
                           "speedup": statistics.median(seq) / statistics.median(par),
                           "max_abs_diff": max(diffs), "cpu_last_round": monitor_use.to_dict() if monitor_use else None,
                           "reading": _busy_note(monitor_use) if monitor_use else None})


#: OPT-13's trivial items last this long: the engine's work is negligible, what is timed is the pool.
TRIVIAL_ITEM_SECONDS = 0.05
#: A pool kept between batches costs milliseconds per trivial task; a batch costing this much more in
#: processes than in threads (warm, plus 2 ms per task) means the engine starts its processes per batch.
PER_BATCH_RESTART_MS = 250.0


def _batch_seconds(ctx: SuiteContext, items: list[Any], workers: int, executor: str) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    outputs = ctx.engine.process_batch(items, workers=workers, executor=executor)
    return time.perf_counter() - started, outputs


def opt13_process_pool(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    size = ctx.sizes(SIZES)
    tasks, workers = size["pool_tasks"], cores()
    piece, sr = music(ctx, TRIVIAL_ITEM_SECONDS * tasks, seed=13)
    frames = piece.shape[0] // tasks
    items = [(np.ascontiguousarray(piece[i * frames:(i + 1) * frames]), sr) for i in range(tasks)]
    # the first batch of each executor: start-up (workers, imports) included
    cold = {e: _batch_seconds(ctx, items, workers, e)[0] for e in ("process", "thread")}
    warm: dict[str, list[float]] = {"process": [], "thread": []}
    diff = 0.0
    for round_index in range(size["rounds"]):
        order = ("process", "thread") if round_index % 2 == 0 else ("thread", "process")  # fair to both
        outputs = {}
        for executor in order:
            elapsed, outputs[executor] = _batch_seconds(ctx, items, workers, executor)
            warm[executor].append(elapsed)
        diff = max(diff, max(max_abs_diff(a, b) for a, b in zip(outputs["process"], outputs["thread"])))
    per_task = {e: [t / tasks * 1e3 for t in times] for e, times in warm.items()}
    overhead_ms = [(p - t) / tasks * 1e3 for p, t in zip(warm["process"], warm["thread"])]
    batch_overhead_ms = (statistics.median(warm["process"]) - statistics.median(warm["thread"])) * 1e3
    violations = []
    if diff > SAME_OUTPUT:
        violations.append(f"process_batch in processes changed the output by {diff:.3g} against threads")
    if batch_overhead_ms > PER_BATCH_RESTART_MS + 2.0 * tasks:
        violations.append(f"every warm batch of {tasks} trivial items costs {batch_overhead_ms:.0f} ms more in "
                          "processes than in threads: the engine starts its processes per batch instead of "
                          "keeping a pool")
    return record(ctx, "OPT-13", statistics.median(overhead_ms), samples=overhead_ms, kind="time",
                  violations=violations, details={
                      "what": f"the engine's process_batch on {tasks} trivial items ({TRIVIAL_ITEM_SECONDS:g} s "
                              "each: the pool, not the work, is timed), executor 'process' against 'thread', "
                              "warm, interleaved rounds; the value is the extra ms per task in processes",
                      "workers": workers, "tasks": tasks, "item_kb": items[0][0].nbytes / 1024,
                      "startup_ms": {e: (cold[e] - statistics.median(warm[e])) * 1e3 for e in cold},
                      "first_batch_ms": {e: t * 1e3 for e, t in cold.items()},
                      "per_task_ms": {e: statistics.median(v) for e, v in per_task.items()},
                      "per_task_samples_ms": per_task, "batch_overhead_ms": batch_overhead_ms,
                      "max_abs_diff_process_vs_thread": diff})


def opt14_batch_speedup(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BATCH)
    size = ctx.sizes(SIZES)
    n_cores = cores()
    tracks, sr = _tracks(ctx, max(2 * n_cores, size["pool_tracks"]), size["track_s"])
    warm_engine(ctx)
    items = [(t, sr) for t in tracks]
    reference = ctx.engine.process_batch(items, workers=1, executor="serial")
    machine = free_cores()
    usable = min(n_cores, len(tracks))
    figures: dict[str, dict[str, Any]] = {}
    serial_s: list[float] = []
    for executor in size["batch_executors"]:
        figures[executor] = {"seconds": [], "efficiency": [], "max_abs_diff": 0.0}
    for _ in range(size["rounds"]):
        started = time.perf_counter()
        ctx.engine.process_batch(items, workers=1, executor="serial")
        serial_s.append(time.perf_counter() - started)
        for executor, fig in figures.items():
            with CpuMonitor() as monitor:
                started = time.perf_counter()
                outputs = ctx.engine.process_batch(items, workers=n_cores, executor=executor)
                elapsed = time.perf_counter() - started
            fig["seconds"].append(elapsed)
            fig["efficiency"].append(serial_s[-1] / elapsed / usable)
            fig["cpu"] = monitor.result.to_dict() if monitor.result else None
            fig["reading"] = _busy_note(monitor.result) if monitor.result else None
            fig["max_abs_diff"] = max(fig["max_abs_diff"], max(max_abs_diff(a, b) for a, b in zip(outputs, reference)))
    for fig in figures.values():
        fig["median_efficiency"] = statistics.median(fig["efficiency"])
        fig["speedup"] = statistics.median(serial_s) / statistics.median(fig["seconds"])
    best = max(figures, key=lambda e: figures[e]["median_efficiency"])
    violations = [f"{e} batch outputs differ from serial by {f['max_abs_diff']:.3g}"
                  for e, f in figures.items() if f["max_abs_diff"] > SAME_OUTPUT]
    return record(ctx, "OPT-14", figures[best]["median_efficiency"], samples=figures[best]["efficiency"],
                  kind="ratio", violations=violations, details={
                      "what": "serial batch time over parallel batch time (process_batch with one worker per core), "
                              "divided by the workers that can run at once (min(cores, tracks)); the value is "
                              "the better executor's median",
                      "cores": n_cores, "cores_free": machine["free_cores"], "cores_free_measured": machine,
                      "workers": n_cores, "tracks": len(tracks), "track_seconds": size["track_s"],
                      "serial_s": serial_s, "by_executor": figures, "best_executor": best,
                      "reading": "; ".join(f"{e}: {f['reading']}" for e, f in figures.items())})


def _concurrent_master_mismatches(ctx: SuiteContext, rounds: int) -> dict[str, Any]:
    tracks, sr = _tracks(ctx, 4, 1.5)
    reference = [ctx.engine.master(t, sr) for t in tracks]
    mismatches, worst = 0, 0.0
    with ThreadPoolExecutor(4) as pool:
        for r in range(rounds):
            order = list(range(len(tracks)))[r % len(tracks):] + list(range(len(tracks)))[: r % len(tracks)]
            outputs = list(pool.map(lambda i: (i, ctx.engine.master(tracks[i], sr)), order))
            for i, out in outputs:
                diff = max_abs_diff(out, reference[i])
                worst = max(worst, diff)
                mismatches += diff > SAME_OUTPUT
    return {"name": "master, 4 threads", "scenario": "master() of 4 tracks from 4 threads at once",
            "outputs": rounds * len(tracks),
            "mismatches": mismatches, "max_abs_diff": worst}


def _concurrent_stream_mismatches(ctx: SuiteContext) -> dict[str, Any]:
    tracks, sr = _tracks(ctx, 3, 1.5)

    def streamed(audio: np.ndarray) -> np.ndarray:
        with ctx.engine.stream(audio, sample_rate=sr, chunk_size=1024) as stream:
            return np.concatenate([np.array(chunk, copy=True) for chunk in stream])

    reference = [streamed(t) for t in tracks]
    with ThreadPoolExecutor(3) as pool:
        outputs = list(pool.map(streamed, tracks))
    diffs = [max_abs_diff(a, b) for a, b in zip(outputs, reference)]
    return {"name": "3 streams, 3 threads", "scenario": "3 streams of one engine consumed from 3 threads at once",
            "outputs": len(diffs),
            "mismatches": sum(d > SAME_OUTPUT for d in diffs), "max_abs_diff": max(diffs)}


#: Pages of the title listing read by OPT-15's shared-cache scenario on a library whose only cache is a query
#: cache (more pages than the cache holds, so that it evicts while the threads read).
CACHE_SCENARIO_PAGE = 10
CACHE_SCENARIO_PAGES = 100


def _shared_cache_reads(lib: Any, track_ids: list[int]) -> tuple[str, Any, list[tuple[str, dict[str, Any]]], int]:
    """What OPT-15's shared-cache scenario reads: track records through the track cache, or, for a library
    whose caches serve no get_track (Auralis: one query cache), pages of the title listing through the cache
    that serves list_tracks. (read, its cache, the distinct calls, calls per thread); NotSupported if neither."""
    if lib.caches.cache_for("get_track") is not None:
        return ("get_track", library_cache(lib, "get_track"),
                [("get_track", {"track_id": i}) for i in track_ids[:400]], 600)
    cache = library_cache(lib, "list_tracks")  # NotSupported (named) when no cache serves it either
    pages = min(CACHE_SCENARIO_PAGES, max(1, len(track_ids) // CACHE_SCENARIO_PAGE))
    return ("list_tracks", cache, [("list_tracks", {"sort": "title", "limit": CACHE_SCENARIO_PAGE,
                                                    "offset": k * CACHE_SCENARIO_PAGE}) for k in range(pages)], 150)


def shared_cache_consistency(ctx: SuiteContext, n_tracks: int) -> dict[str, Any]:
    """OPT-15's shared-cache scenario: 4 threads read through a small library cache; wrong results and
    statistics that do not add up are mismatches."""
    lib, track_ids = open_library(ctx, n_tracks, cache_entries=max(50, n_tracks // 20))
    try:
        read, cache, calls, per_thread = _shared_cache_reads(lib, track_ids)
        truth = [getattr(lib.repo, name)(**params) for name, params in calls]
        cache.clear()
        before = dict(cache.stats())
        threads = 4

        def reader(seed: int) -> int:
            rng = np.random.default_rng(seed)
            wrong = 0
            for k in rng.integers(len(calls), size=per_thread):
                name, params = calls[int(k)]
                wrong += getattr(lib.cached, name)(**params) != truth[int(k)]
            return wrong

        with ThreadPoolExecutor(threads) as pool:
            wrong = sum(pool.map(reader, range(threads)))
        stats = dict(cache.stats())
    finally:
        lib.close()
    lookups = threads * per_thread
    counted = stats["hits"] + stats["misses"] - before["hits"] - before["misses"]
    return {"name": f"{read} cache, 4 threads",
            "scenario": f"library cache serving {read} read from 4 threads (small cache: constant eviction)",
            "read": read, "distinct_calls": len(calls),
            "outputs": lookups, "mismatches": wrong + (counted != lookups),
            "wrong_results": wrong, "lookups": lookups, "hits_plus_misses": counted,
            "entries": stats["entries"], "max_entries": stats["max_entries"]}


def opt15_thread_safety(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    warm_engine(ctx)
    scenarios = [_concurrent_master_mismatches(ctx, size["safety_rounds"])]
    scenarios.append(_concurrent_stream_mismatches(ctx))
    not_measured = {}
    if ctx.engine.has(Capability.LIBRARY):
        try:
            scenarios.append(shared_cache_consistency(ctx, size["library_tracks"]))
        except NotSupported as exc:  # the engine's own concurrency is still measured; the record says why not this
            not_measured["shared library cache"] = str(exc)
    total = sum(s["mismatches"] for s in scenarios)
    return record(ctx, "OPT-15", float(total), samples=[float(s["mismatches"]) for s in scenarios], kind="count",
                  details={"what": "outputs of concurrent processing that differ from the sequential ones, and "
                                   "shared-cache reads that return a wrong record or whose statistics do not add "
                                   "up, over every scenario", "scenarios": scenarios, "not_measured": not_measured})


CHECKS = [("OPT-11", opt11_core_use), ("OPT-12", opt12_thread_pool), ("OPT-13", opt13_process_pool),
          ("OPT-14", opt14_batch_speedup), ("OPT-15", opt15_thread_safety)]
