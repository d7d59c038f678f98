"""Memory baseline (MEM-01..MEM-05): idle footprint, one track, growth per track, ceiling, release.

MEM-01 is measured in fresh interpreters (nothing of the harness loaded); the others in the process that
does the work, with the garbage collected and freed heap handed back to the OS (`collect_garbage`)
before each reading, so that what the allocator caches is not counted as the engine's.
"""
from __future__ import annotations

import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from auralis_perf.measure.isolated import run_isolated
from auralis_perf.measure.memory import collect_garbage, peak_rss_during, rss_mb, traced_allocations
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import background
from auralis_perf.suites.common.audio import uses_user_audio
from auralis_perf.suites.common.checks import record, run_checks, scaled
from auralis_perf.suites.common.engine_spec import child_env, child_spec
from auralis_perf.suites.common.growth import judge_growth
from auralis_perf.suites.common.workload import decode, downsample_series, music_file, tiled_wav, warm_engine

SIZES = {
    "smoke": {"idle_runs": 1, "track_s": 5.0, "track_repeats": 1, "n_tracks": 4, "tracks_len_s": 3.0,
              "distinct_files": 2},
    "standard": {"idle_runs": 4, "track_s": 240.0, "track_repeats": 2, "n_tracks": 20, "tracks_len_s": 15.0,
                 "distinct_files": 4},
    "full": {"idle_runs": 6, "track_s": 240.0, "track_repeats": 5, "n_tracks": 100, "tracks_len_s": 240.0,
             "distinct_files": 8},
}

# Runs in a fresh interpreter: import the engine package, build the engine (by its spec: a registered name or
# package.module:Factory, see suites/common/engine_spec), read this process's memory.
# RSS comes from /proc before psutil is imported (so psutil's own pages are not in it); USS needs psutil.
_IDLE_CODE = """
import gc, sys, time
started = time.perf_counter()
from auralis_perf.engines import get_engine
imported = time.perf_counter()
engine = get_engine({engine!r})
created = time.perf_counter()
gc.collect()
rss_mb = None
try:
    with open("/proc/self/status") as status:
        rss_mb = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS:"))
except OSError:
    pass
own = type(engine).__module__.rpartition(".")[0] or type(engine).__module__
libraries = sorted(m for m in sys.modules if m not in ("__main__", "__mp_main__", "psutil")
                   and m != own and not m.startswith(own + "."))
import psutil
info = psutil.Process().memory_full_info()
emit({{"rss_mb": rss_mb if rss_mb is not None else info.rss / 2**20, "uss_mb": info.uss / 2**20,
       "import_s": imported - started, "create_s": created - imported, "modules_loaded": len(sys.modules),
       "numba_loaded": "numba" in sys.modules, "engine_package": own, "libraries": libraries}})
"""

# The control: a fresh interpreter that imports every module the engine's process had loaded except the
# engine's own package (the libraries it uses: NumPy, SciPy, Numba, ...), and builds nothing. Its RSS is
# what those libraries cost on this machine and these versions; the difference is the engine's own.
_CONTROL_CODE = """
import gc, importlib, json, sys
failed = []
for name in json.loads({libraries!r}):
    if name not in sys.modules:
        try:
            importlib.import_module(name)
        except Exception:  # private extension modules load only through their parent package
            failed.append(name)
gc.collect()
with open("/proc/self/status") as status:
    rss_mb = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS:"))
emit({{"rss_mb": rss_mb, "modules_loaded": len(sys.modules), "not_importable": failed}})
"""


def _idle_runs(spec: str, env: dict[str, str], count: int) -> dict[str, list[dict[str, Any]]]:
    """`count` fresh processes that build the engine, then `count` control processes (see above)."""
    code = _IDLE_CODE.format(engine=spec)
    # RSS does not depend on what else runs, so the fresh processes may start side by side
    with ThreadPoolExecutor(max(1, min(count, psutil.cpu_count() or 1))) as pool:
        engine = [r.result for r in pool.map(lambda _: run_isolated(code, env=env, timeout=300), range(count))]
        control_code = _CONTROL_CODE.format(libraries=json.dumps(engine[0]["libraries"]) if engine else "[]")
        control = [r.result for r in pool.map(lambda _: run_isolated(control_code, env=env, timeout=300),
                                              range(count))]
    return {"engine": engine, "control": control}


def _idle_args(ctx: SuiteContext) -> tuple[str, dict[str, str], int]:
    return child_spec(ctx), child_env(ctx), ctx.sizes(SIZES)["idle_runs"]


def start_idle_runs(ctx: SuiteContext) -> None:
    """Start MEM-01's fresh processes now; the in-process checks run meanwhile."""
    background.start(ctx, "MEM-01", _idle_runs, *_idle_args(ctx))


def mem01_idle_footprint(ctx: SuiteContext) -> CheckResult:
    both = background.result(ctx, "MEM-01", _idle_runs, *_idle_args(ctx))
    runs, control = both["engine"], both["control"]
    if not runs:
        raise RuntimeError("no fresh process was started (idle_runs is 0)")
    rss = [r["rss_mb"] for r in runs]
    uss = [r["uss_mb"] for r in runs]
    control_rss = statistics.median(r["rss_mb"] for r in control)
    own = [r - control_rss for r in rss]
    return record(ctx, "MEM-01", statistics.median(own), samples=own, kind="rss", details={
        "what": "RSS of a fresh Python process after `from auralis_perf.engines import get_engine` and "
                "building the engine, before any processing, minus the RSS of a fresh control process that "
                "imports the same libraries (every module the first had loaded outside the engine's own "
                "package) and builds nothing: the engine's own idle memory; the total and USS beside it",
        "total_rss_mb": statistics.median(rss), "total_rss_samples_mb": rss,
        "control_rss_mb": control_rss, "control_rss_samples_mb": [r["rss_mb"] for r in control],
        "engine_package": runs[0]["engine_package"], "libraries_imported": len(runs[0]["libraries"]),
        "control_not_importable": control[0]["not_importable"] if control else None,
        "uss_mb": uss, "uss_median_mb": statistics.median(uss),
        "import_s": [r["import_s"] for r in runs], "create_s": [r["create_s"] for r in runs],
        "modules_loaded": runs[0]["modules_loaded"], "numba_loaded": runs[0]["numba_loaded"],
        "processes": len(runs)})


def mem02_single_track(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    # the user's own file, or a 4-minute WAV tiled from a rendered block (rendering 240 s costs seconds)
    path = (music_file(ctx, size["track_s"], seed=1) if uses_user_audio(ctx)
            else tiled_wav(ctx, size["track_s"], name=f"memopt-track-{size['track_s']:g}s"))
    warm_engine(ctx)

    def streamed() -> int:  # how a player processes a track from a file: chunk by chunk
        with ctx.engine.stream(path, chunk_size=4096) as stream:
            return sum(len(chunk) for chunk in stream)

    def whole() -> tuple[int, ...]:  # for comparison: decode the whole file, master it in memory
        audio, sr = decode(ctx, path)
        return ctx.engine.master(audio, sr).shape

    deltas, peaks = [], []
    for _ in range(size["track_repeats"]):
        collect_garbage()
        _, peak = peak_rss_during(streamed)
        deltas.append(peak.delta_mb)
        peaks.append(peak)
    collect_garbage()
    _, traced = traced_allocations(streamed)
    collect_garbage()
    _, whole_peak = peak_rss_during(whole)
    file_mb = path.stat().st_size / 2**20
    return record(ctx, "MEM-02", statistics.median(deltas), samples=deltas, kind="peak_rss", details={
        "what": "peak RSS above the RSS before the call while the engine processes one track from its file, "
                "streamed chunk by chunk (output consumed); beside it, the same track decoded whole and "
                "mastered in memory",
        "track_seconds": size["track_s"], "file_mb": file_mb, "peak_method": peaks[0].method,
        "traced_peak_mb": traced.peak_mb, "traced_net_mb": traced.net_mb,
        "whole_file_in_memory_peak_mb": whole_peak.delta_mb,
        "baseline_rss_mb": [p.baseline_mb for p in peaks],
        "series": downsample_series(peaks[-1].times_s, peaks[-1].series_mb),
        **scaled(ctx.profile, "track length", "240 s", f"{size['track_s']:g} s")})


def _many_tracks(ctx: SuiteContext) -> dict[str, Any]:
    """Process N tracks from files in one session; RSS after each (collected) and the peaks."""
    if "memopt_many_tracks" in ctx.shared:
        return ctx.shared["memopt_many_tracks"]
    size = ctx.sizes(SIZES)
    paths = [music_file(ctx, size["tracks_len_s"], seed=10 + i) for i in range(size["distinct_files"])]
    warm_engine(ctx)
    collect_garbage()
    before = rss_mb()
    retained, peaks, times, series = [], [], [], []
    offset = 0.0
    for i in range(size["n_tracks"]):
        path = paths[i % len(paths)]

        def one_track() -> None:
            audio, sr = decode(ctx, path)
            ctx.engine.master(audio, sr)

        _, peak = peak_rss_during(one_track)
        collect_garbage()
        retained.append(rss_mb())
        peaks.append(peak.peak_mb)
        times.extend(t + offset for t in peak.times_s)
        series.extend(peak.series_mb)
        offset += peak.duration_s
    collect_garbage()
    after = rss_mb()
    result = {"before_mb": before, "after_mb": after, "retained_mb": retained, "peaks_mb": peaks,
              "series": downsample_series(times, series), "n_tracks": size["n_tracks"],
              "track_seconds": size["tracks_len_s"], "distinct_files": len(paths)}
    ctx.shared["memopt_many_tracks"] = result
    return result


def mem03_growth_per_track(ctx: SuiteContext) -> CheckResult:
    run = _many_tracks(ctx)
    x = list(range(1, run["n_tracks"] + 1))
    growth = judge_growth(x, run["retained_mb"], per=1, tolerance=1.0)  # the target: 1 MB per track
    return record(ctx, "MEM-03", growth["value"], samples=run["retained_mb"], kind="rss", details={
        "what": "slope of RSS (after garbage collection) against tracks processed, least squares",
        "fit": growth["fit"], "ci_mb_per_track": growth["ci"], "leak_beyond_doubt": growth["leak_beyond_doubt"],
        "tracks": x, "retained_mb": run["retained_mb"], "before_mb": run["before_mb"],
        "track_seconds": run["track_seconds"], "distinct_files": run["distinct_files"],
        **scaled(ctx.profile, "tracks", 100, run["n_tracks"])})


def mem04_ceiling(ctx: SuiteContext) -> CheckResult:
    run = _many_tracks(ctx)
    above = [p - run["before_mb"] for p in run["peaks_mb"]]
    return record(ctx, "MEM-04", max(above), samples=above, kind="peak_rss", details={
        "what": "highest RSS while processing the tracks one after another in one session, above the "
                "session's RSS before the first track (the 'idle' of the criterion)",
        "before_mb": run["before_mb"], "peak_mb": max(run["peaks_mb"]), "series": run["series"],
        "n_tracks": run["n_tracks"], "track_seconds": run["track_seconds"],
        **scaled(ctx.profile, "tracks", 100, run["n_tracks"])})


def mem05_release(ctx: SuiteContext) -> CheckResult:
    run = _many_tracks(ctx)
    held = [r - run["before_mb"] for r in run["retained_mb"]]
    value = run["after_mb"] - run["before_mb"]
    return record(ctx, "MEM-05", value, samples=held, kind="rss", details={
        "what": "RSS after processing every track and collecting garbage, minus RSS before the first",
        "before_mb": run["before_mb"], "after_mb": run["after_mb"], "held_after_each_track_mb": held})


CHECKS = [("MEM-01", mem01_idle_footprint), ("MEM-02", mem02_single_track), ("MEM-03", mem03_growth_per_track),
          ("MEM-04", mem04_ceiling), ("MEM-05", mem05_release)]


def measure(ctx: SuiteContext) -> list[CheckResult]:
    """The group: MEM-01's fresh processes start first and are collected last."""
    start_idle_runs(ctx)
    records = run_checks(ctx, CHECKS[1:] + CHECKS[:1])
    return sorted(records, key=lambda r: r.id)
