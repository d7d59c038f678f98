"""Running a check's group on a double at tiny sizes, in worker processes (two, one per core here).

Each (double, group) pair runs once, in a fresh folder of its own, in a spawned worker whose suite sizes
are shrunk for its whole life (`TINY`). The faults are large enough that a neighbouring run on the other
core cannot hide them: they are sleeps, memory held, outputs that move, or counts, never a margin of a
few per cent on a timing.

    runs = GroupRuns(workdir)
    runs.submit("broken_engines.audio:SlowStart", "RT-06")   # starts the Latency group on that double
    runs.records("broken_engines.audio:SlowStart", "RT-06")  # waits for it: {check id: CheckResult}
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from auralis_perf.catalog import load_catalog
from auralis_perf.results import CheckResult
from auralis_perf.suites import Group, SuiteContext, groups, run_group
from auralis_perf.suites.cache import groups as cache_groups
from auralis_perf.suites.database import groups as db_groups
from auralis_perf.suites.library_workload import audio_cache as audio_cache_workload
from auralis_perf.suites.library_workload.workload import release_libraries
from auralis_perf.suites.memory import baseline as mem_baseline
from auralis_perf.suites.memory import efficiency as mem_efficiency
from auralis_perf.suites.memory import leaks as mem_leaks
from auralis_perf.suites.memory import peak as mem_peak
from auralis_perf.suites.optimization import algorithm as opt_algorithm
from auralis_perf.suites.optimization import jit as opt_jit
from auralis_perf.suites.optimization import parallel as opt_parallel
from auralis_perf.suites.optimization import vectorization as opt_vectorization
from auralis_perf.suites.realtime import common as rt_common

TESTS_DIR = Path(__file__).resolve().parents[1]

#: Realtime sizes far below the smoke profile ({key: size}; the module's table is {key: {profile: size}}).
REALTIME = {
    "rtf_seconds": (0.2, 0.4, 0.6), "rtf_runs": 5, "rtf_min_seconds": (0.0, 0.0, 0.0), "rtf_round_runs": 1, "stream_seconds": 1.0, "latency_repeats": 1,
    "playback_seconds": 1.0, "preset_switches": 3, "start_seconds": 1.0, "concurrent_seconds": 0.5,
    "concurrent_rounds": 1, "batch": (3, 0.5), "batch_repeats": 2, "memory_repeats": 2, "queue_jobs": 6,
    "queue_clip_seconds": 0.2, "queue_rounds": 2, "sustained_wall_seconds": 0.6, "envelope_seconds": 0.2,
    "eq_seconds": 0.3, "spectrum_seconds": 1.0, "chain_seconds": 0.3, "pair_rounds": 3,
}
#: The other suites' smoke sizes, shrunk. MEM-01's idle processes and OPT-04's compile processes are left
#: out ("idle_runs", "compile_runs": 0, so those two records are errors here): each costs seconds per run;
#: the doubles that break those two checks ask for them back (`suite_sizes`).
TINY: dict[Any, dict[str, Any]] = {
    mem_baseline: {"idle_runs": 0, "track_s": 2.0, "n_tracks": 3, "tracks_len_s": 1.0, "distinct_files": 2},
    mem_leaks: {"cycles": 24, "clip_s": 0.2, "checkpoints": 6, "batch_items": 2, "batch_s": 1.0,
                "batch_repeats": 1, "sessions": 3, "cache_tracks": 300, "cache_bound": 20, "stream_s": 2.0},
    mem_peak: {"in_memory_s": 2.0, "concurrent_s": 0.5, "large_mb": (1, 10), "analysis_s": 3.0},
    mem_efficiency: {"library_tracks": 300, "loaded_tracks": 100, "zipf_requests": 600, "stream_s": 2.0,
                     "lazy_s": 2.0, "fragment_cycles": 8, "fragment_max_s": 0.5},
    opt_jit: {"compile_runs": 0, "frames": [1024, 4096], "rounds": 3, "throughput_frames": 44100,
              "fallback_s": 0.25, "fallback_repeats": 1},
    opt_vectorization: {"eq_frames": 8192, "spectrum_frames": 22050, "chain_frames": 4096,
                        "envelope_frames": 8192, "rounds": 3, "float32_frames": 2048},
    opt_parallel: {"analysis_s": 3.0, "busy_s": 0.2, "pool_tracks": 2, "track_s": 0.5, "rounds": 2,
                   "pool_tasks": 3, "safety_rounds": 1, "library_tracks": 200},
    cache_groups: {"replay": 300, "hot_calls": 20, "entity_replay": 200, "entity_rounds": 1, "stale_steps": 10,
                   "fill_rounds": 1, "fill_budget": 50, "lru_accesses": 200, "selective_edits": 2,
                   "cascade_artists": 1},
    audio_cache_workload: {"seconds": 1.0, "files": 1, "rounds": 2, "persist_files": 1, "change_seconds": 1.0,
                           "scan_files": 3},
    db_groups: {"depths": (0.0, 0.5, 0.99), "load_rounds": 2, "bulk_rows": 200, "row_rows": 100,
                "import_rounds": 1, "pool_rounds": 1, "pool_reads": 10},
    opt_algorithm: {"fft_samples": 2**14, "eq_frames": 8192, "resample_s": 1.0, "convert_s": 1.0,
                    "codec_s": 1.0, "repeat": 3},
}


def shrink_sizes() -> None:
    """Shrink every suite's smoke sizes in this process, for good (a worker's initializer)."""
    for key, value in REALTIME.items():
        rt_common.SIZES[key]["smoke"] = value
    for module, sizes in TINY.items():
        module.SIZES["smoke"].update(sizes)


def group_of(check_id: str) -> Group:
    """The registered group that answers `check_id`."""
    return next(g for g in groups(load_catalog()[check_id].category) if check_id in g.ids)


def double_path(double: type) -> str:
    return f"{double.__module__}:{double.__qualname__}"


def run_on_double(path: str, check_id: str, workdir: str) -> dict[str, CheckResult]:
    """The records of `check_id`'s group on the double at import path `path`, by check ID.

    A double may ask for other sizes for its own run (`suite_sizes`: {suite module name: {key: size}}),
    e.g. the fresh processes `TINY` leaves out; the worker's sizes are restored afterwards."""
    module, _, name = path.partition(":")
    double = getattr(importlib.import_module(module), name)
    saved = {}
    for suite, sizes in getattr(double, "suite_sizes", {}).items():
        table = importlib.import_module(suite).SIZES["smoke"]
        saved[suite] = dict(table)
        table.update(sizes)
    engine = double()
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=Path(workdir))
    try:
        return {r.id: r for r in run_group(ctx, group_of(check_id))}
    finally:
        release_libraries(ctx)
        engine.close()
        for suite, table in saved.items():
            importlib.import_module(suite).SIZES["smoke"].update(table)


class GroupRuns:
    """(double, group) runs in `workers` spawned processes; each pair runs once."""

    def __init__(self, workdir: Path, workers: int = 2) -> None:
        self.workdir = workdir
        # children of the workers (RT-20, MEM-13, OPT-05, CACHE-15) rebuild a double from its import path
        self.saved_path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), self.saved_path]))
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=shrink_sizes)
        self.futures: dict[tuple[str, str], Future] = {}

    def submit(self, double: type, check_id: str) -> Future:
        path, group = double_path(double), group_of(check_id).name
        if (path, group) not in self.futures:
            folder = self.workdir / f"{double.__name__}-{group.replace(' ', '-')}"
            self.futures[(path, group)] = self.pool.submit(run_on_double, path, check_id, str(folder))
        return self.futures[(path, group)]

    def records(self, double: type, check_id: str) -> dict[str, CheckResult]:
        return self.submit(double, check_id).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.saved_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = self.saved_path
