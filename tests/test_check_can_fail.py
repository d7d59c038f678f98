"""Every check can fail: for each catalogue ID, a broken engine (tests/broken_engines) that it fails.

Each case runs the check's whole group at tiny sizes on a double with one fault and asserts the check's
status. A (group, double) pair runs once and serves every ID that double is meant to break (`_RUNS`), so
one double breaking five checks costs one group run. Faults are large enough to fail on any machine (a
10x real-time factor against a bound of 20x, 0.6 s against 100 ms, 240 MB against 200 MB, outputs that
move by 1e-4 or more against tolerances of 1e-9 to 1e-4).

IDs that no double can fail yet are listed in `KNOWN_GAPS` with the reason; a catalogue ID that is in
neither table fails `test_every_catalogue_id_has_a_broken_double`.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

from broken_engines import audio as broken_audio  # noqa: E402
from broken_engines import kernels as broken_kernels  # noqa: E402
from broken_engines import library as broken_library  # noqa: E402
from broken_engines.base import DelegatingEngine  # noqa: E402
from suite_support import shrunk_smoke_sizes  # noqa: E402

from auralis_perf.catalog import load_catalog  # noqa: E402
from auralis_perf.results import CheckResult  # noqa: E402
from auralis_perf.suites import Group, SuiteContext, groups, run_group  # noqa: E402
from auralis_perf.suites.cache import groups as cache_groups  # noqa: E402
from auralis_perf.suites.common.evidence import judge_use  # noqa: E402
from auralis_perf.suites.database import groups as db_groups  # noqa: E402
from auralis_perf.suites.library_workload import audio_cache as audio_cache_workload  # noqa: E402
from auralis_perf.suites.library_workload.workload import release_libraries  # noqa: E402
from auralis_perf.suites.memory import baseline as mem_baseline  # noqa: E402
from auralis_perf.suites.memory import efficiency as mem_efficiency  # noqa: E402
from auralis_perf.suites.memory import leaks as mem_leaks  # noqa: E402
from auralis_perf.suites.memory import peak as mem_peak  # noqa: E402
from auralis_perf.suites.optimization import algorithm as opt_algorithm  # noqa: E402
from auralis_perf.suites.optimization import jit as opt_jit  # noqa: E402
from auralis_perf.suites.optimization import parallel as opt_parallel  # noqa: E402
from auralis_perf.suites.optimization import vectorization as opt_vectorization  # noqa: E402
from auralis_perf.suites.realtime import common as rt_common  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    double: type[DelegatingEngine]
    why: str
    status: str = "fail"


#: check ID -> the double that breaks it, and how.
CASES: dict[str, Case] = {
    # real-time factor: master() sleeps 0.1 or 0.4 s per second of audio (RTF <= 10 against > 20)
    **{i: Case(broken_audio.SlowErraticMaster, "real-time factor of at most 10x")
       for i in ("RT-01", "RT-02", "RT-03", "RT-04")},
    "RT-05": Case(broken_audio.SlowErraticMaster, "alternate runs 4x slower: CV far above 10 %"),
    "RT-06": Case(broken_audio.SlowStart, "first chunk after 0.6 s against 100 ms"),
    "RT-07": Case(broken_audio.SlowStart, "a 0.6 s chunk is over six chunk periods"),
    "RT-08": Case(broken_audio.DeepPlaybackBuffer, "over a second of output buffered against 200 ms"),
    "RT-09": Case(broken_audio.SlowPresetSwitch, "the chunk after a switch takes 0.25 s more"),
    "RT-10": Case(broken_audio.SlowStart, "playback opens 0.6 s late against 500 ms"),
    "RT-11": Case(broken_audio.DriftingParallelBatch, "parallel batches change the output"),
    "RT-15": Case(broken_audio.BloatedEngine, "240 MB per track in flight against 50 MB"),
    "RT-16": Case(broken_kernels.ChangedFastPaths, "the compiled envelope changes the output"),
    "RT-18": Case(broken_kernels.ChangedFastPaths, "the parallel spectrum changes the output"),
    "RT-20": Case(broken_kernels.ChangedFastPaths, "the fallback without Numba differs by 1e-3"),
    "MEM-02": Case(broken_audio.BloatedEngine, "a stream holds 80 MB against 50 MB"),
    "MEM-03": Case(broken_audio.LeakyEngine, "each track leaks 40x its size"),
    "MEM-04": Case(broken_audio.BloatedEngine, "master() touches 240 MB against 200 MB"),
    "MEM-05": Case(broken_audio.LeakyEngine, "the leak is never released"),
    "MEM-06": Case(broken_audio.LeakyEngine, "each cycle leaks 40x its clip"),
    "MEM-07": Case(broken_audio.LeakyEngine, "each batch item leaks 40x its size"),
    "MEM-08": Case(broken_audio.ImmortalSessions, "closed streams stay reachable"),
    "MEM-10": Case(broken_audio.UnpooledStream, "a new buffer per chunk"),
    "MEM-11": Case(broken_audio.BloatedEngine, "240 MB of scratch against 4x the input"),
    "MEM-13": Case(broken_audio.HoardingStream, "a stream keeps every chunk: memory grows with the file"),
    "MEM-18": Case(broken_audio.UnpooledStream, "no buffer is ever reused"),
    "MEM-20": Case(broken_audio.LeakyEngine, "memory held outside the Python allocators"),
    "MEM-17": Case(broken_library.CacheNeverHits, "the track cache never hits: below an ideal LRU"),
    "CACHE-01": Case(broken_library.CacheNeverHits, "every lookup misses"),
    "CACHE-02": Case(broken_library.CacheNeverHits, "a cached read is no faster than the database"),
    "CACHE-03": Case(broken_library.StaleAfterWrite, "writes leave stale entries"),
    "CACHE-05": Case(broken_library.CachesNeverEvict, "the query cache never evicts"),
    **{i: Case(broken_library.CacheNeverHits, "every lookup misses: no speedup")
       for i in ("CACHE-06", "CACHE-07", "CACHE-08", "CACHE-09", "CACHE-10")},
    **{i: Case(broken_library.AudioCacheNeverHits, "the second request computes again")
       for i in ("CACHE-11", "CACHE-12", "CACHE-13", "CACHE-14")},
    "CACHE-15": Case(broken_library.AudioCacheForgets, "a new process finds nothing"),
    "CACHE-16": Case(broken_library.StaleAfterWrite, "tag edits leave stale entries"),
    "CACHE-17": Case(broken_library.AudioCacheKeyedByPath, "a changed file keeps its old analysis"),
    "CACHE-18": Case(broken_library.AudioCacheKeyedByPath, "changed and removed files keep their analysis"),
    "CACHE-19": Case(broken_library.CachesClearedOnWrite, "one edit drops every unrelated entry"),
    "CACHE-20": Case(broken_library.StaleAfterWrite, "deleting an artist leaves stale entries"),
    **{i: Case(broken_library.SlowQueries, "each query takes longer than its bound")
       for i in ("DB-01", "DB-02", "DB-03", "DB-04", "DB-05")},
    **{i: Case(broken_library.NoIndexes, "no secondary index") for i in ("DB-06", "DB-07", "DB-08", "DB-09")},
    "DB-10": Case(broken_library.NoIndexes, "every filtered query scans the tracks"),
    "DB-11": Case(broken_library.ScanningLookups, "a lookup by path takes 12.5 ms at 500 tracks"),
    "DB-12": Case(broken_library.ScanningLookups, "a lookup by path takes 25 ms at 1,000 tracks"),
    "DB-13": Case(broken_library.ScanningLookups, "lookups grow linearly with the library"),
    "DB-14": Case(broken_library.CursorOneRowOff, "keyset pages differ from OFFSET pages"),
    "DB-15": Case(broken_library.NoIndexes, "sorting without an index"),
    "DB-16": Case(broken_library.NPlusOneListing, "one statement per listed track"),
    "DB-18": Case(broken_library.CacheNeverHits, "cached reads are no faster than the database"),
    "DB-19": Case(broken_library.RowByRowBulkImport, "the bulk import commits row by row"),
    "DB-20": Case(broken_library.LeakedConnection, "a connection never returned to the pool"),
    "OPT-01": Case(broken_kernels.NeverUsedFastPaths, "master() never runs the compiled envelope"),
    "OPT-02": Case(broken_kernels.ChangedFastPaths, "the compiled envelope changes the output"),
    "OPT-03": Case(broken_kernels.ChangedFastPaths, "JIT output 1e-3 off against 1e-9"),
    "OPT-05": Case(broken_kernels.ChangedFastPaths, "the fallback without Numba differs by 1e-3"),
    "OPT-06": Case(broken_kernels.ChangedFastPaths, "the fast EQ changes the output"),
    "OPT-07": Case(broken_kernels.ChangedFastPaths, "the batched spectrum changes the output"),
    "OPT-09": Case(broken_kernels.ChangedFastPaths, "every fast path changes the output"),
    "OPT-10": Case(broken_kernels.ChangedFastPaths, "fast paths 1e-3 off against 1e-9"),
    "OPT-11": Case(broken_audio.IdleParallelAnalysis, "the parallel analysis sleeps, then uses one core"),
    "OPT-12": Case(broken_audio.RacyMaster, "threads scale each other's output"),
    "OPT-14": Case(broken_audio.DriftingParallelBatch, "parallel batches change the output"),
    "OPT-15": Case(broken_audio.RacyMaster, "concurrent master() calls give wrong outputs"),
    "OPT-17": Case(broken_kernels.SlowChosenFilter, "the chosen EQ realisation waits 20 ms per call"),
    "OPT-19": Case(broken_audio.SwappedChannelUtilities, "deinterleave swaps the channels"),
}

_NO_FAIL = "no tier and no violation in the check: it is recorded and compared with the baseline only"
#: IDs no double can fail (yet), with the reason. Anything not here needs a case above.
KNOWN_GAPS: dict[str, str] = {
    **{i: _NO_FAIL for i in ("RT-12", "RT-13", "MEM-01", "MEM-12", "MEM-14", "MEM-16", "MEM-19",
                             "OPT-04", "OPT-18", "OPT-20")},
    # being made able to fail by issue 13's check fixes; their doubles follow the rework
    **{i: "the check is being reworked so that it can fail (issue 13); its double follows the rework"
       for i in ("RT-14", "RT-17", "RT-19", "MEM-09", "OPT-08", "OPT-13", "OPT-16", "CACHE-04", "DB-17")},
    "MEM-15": "swap of this process tree: no double can make a process swap on a machine without swap "
              "(the check skips: 'no swap configured')",
}

#: Sizes far below the smoke profile (the seed's sizes stay in the modules; only `smoke` is changed here).
REALTIME = {
    "rtf_seconds": (0.2, 0.4, 0.6), "rtf_runs": 5, "stream_seconds": 1.0, "latency_repeats": 1,
    "playback_seconds": 1.0, "preset_switches": 3, "start_seconds": 1.0, "concurrent_seconds": 0.5,
    "concurrent_rounds": 1, "batch": (3, 0.5), "batch_repeats": 2, "memory_repeats": 2, "queue_jobs": 6,
    "queue_clip_seconds": 0.2, "queue_rounds": 2, "sustained_wall_seconds": 0.3, "envelope_seconds": 0.2,
    "eq_seconds": 0.3, "spectrum_seconds": 1.0, "chain_seconds": 0.3, "pair_rounds": 3,
}
#: MEM-01's idle processes and OPT-04's compile processes (checks no double can fail: see KNOWN_GAPS) are
#: left out ("idle_runs", "compile_runs": 0; those two records are errors here): each costs seconds per run.
SMOKE: dict[ModuleType, dict[str, Any]] = {
    mem_baseline: {"idle_runs": 0, "track_s": 2.0, "n_tracks": 3, "tracks_len_s": 1.0, "distinct_files": 2},
    mem_leaks: {"cycles": 24, "clip_s": 0.2, "checkpoints": 6, "batch_items": 2, "batch_s": 1.0,
                "batch_repeats": 1, "sessions": 3, "cache_tracks": 300, "cache_bound": 20, "stream_s": 2.0},
    mem_peak: {"in_memory_s": 2.0, "concurrent_s": 0.5, "large_mb": (1, 10), "analysis_s": 3.0},
    mem_efficiency: {"library_tracks": 300, "loaded_tracks": 100, "zipf_requests": 600, "stream_s": 2.0,
                     "lazy_s": 2.0, "fragment_cycles": 8, "fragment_max_s": 0.5},
    opt_jit: {"compile_runs": 0, "frames": [1024, 4096], "rounds": 3, "throughput_frames": 44100, "fallback_s": 0.25,
              "fallback_repeats": 1},
    opt_vectorization: {"eq_frames": 8192, "spectrum_frames": 22050, "chain_frames": 4096,
                        "envelope_frames": 8192, "rounds": 3, "float32_frames": 2048},
    opt_parallel: {"analysis_s": 3.0, "busy_s": 0.2, "pool_tracks": 2, "track_s": 0.5, "rounds": 2,
                   "pool_tasks": 3, "safety_rounds": 1, "library_tracks": 200},
    cache_groups: {"replay": 300, "hot_calls": 20, "entity_replay": 200, "stale_steps": 10, "fill_rounds": 1,
                   "fill_limit": 30, "fill_traced": 30, "lru_accesses": 200, "selective_edits": 2,
                   "cascade_artists": 1},
    audio_cache_workload: {"seconds": 1.0, "files": 1, "rounds": 2, "persist_files": 1, "change_seconds": 1.0,
                           "scan_files": 3},
    db_groups: {"depths": (0.0, 0.5, 0.99), "load_rounds": 2, "bulk_rows": 200, "row_rows": 100,
                "import_rounds": 1, "pool_rounds": 1, "pool_reads": 10},
    opt_algorithm: {"fft_samples": 2**14, "eq_frames": 8192, "resample_s": 1.0, "convert_s": 1.0,
                    "codec_s": 1.0, "repeat": 3},
}


@contextmanager
def tiny_sizes() -> Iterator[None]:
    """The smoke column of every suite's sizes shrunk to REALTIME / SMOKE; the originals put back after."""
    saved = {key: dict(table) for key, table in rt_common.SIZES.items()}  # realtime: {key: {profile: size}}
    for key, value in REALTIME.items():
        rt_common.SIZES[key]["smoke"] = value
    try:
        with shrunk_smoke_sizes(SMOKE):
            yield
    finally:
        for key, table in saved.items():
            rt_common.SIZES[key].update(table)


def group_of(check_id: str) -> Group:
    """The registered group that answers `check_id`."""
    return next(g for g in groups(load_catalog()[check_id].category) if check_id in g.ids)


#: (double, group name) -> that group's records by ID, run once per module.
_RUNS: dict[tuple[type, str], dict[str, CheckResult]] = {}


@pytest.fixture(scope="module")
def group_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`group_records(double, check_id)`: the records of the check's group on the double (cached)."""
    workdir = tmp_path_factory.mktemp("can-fail")
    with pytest.MonkeyPatch.context() as patch, tiny_sizes():
        # child processes (RT-20, MEM-13, OPT-05, ...) rebuild the double from its import path
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])))

        def records(double: type[DelegatingEngine], check_id: str) -> dict[str, CheckResult]:
            group = group_of(check_id)
            key = (double, group.name)
            if key not in _RUNS:
                engine = double()
                ctx = SuiteContext(engine=engine, profile="smoke", workdir=workdir)
                try:
                    _RUNS[key] = {r.id: r for r in run_group(ctx, group)}
                finally:
                    release_libraries(ctx)
                    engine.close()
            return _RUNS[key]

        yield records
    _RUNS.clear()


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_can_fail(check_id: str, group_records: Any) -> None:
    case = CASES[check_id]
    record = group_records(case.double, check_id)[check_id]
    assert record.status == case.status, (
        f"{check_id} on {case.double.__name__} ({case.why}): {record.status}, value {record.value}, "
        f"reason {record.reason}")


def test_every_catalogue_id_has_a_broken_double() -> None:
    ids = set(load_catalog().ids())
    assert not set(CASES) & set(KNOWN_GAPS), "an ID is both covered and listed as a gap"
    assert not (set(CASES) | set(KNOWN_GAPS)) - ids, "a case names an ID the catalogue does not have"
    missing = sorted(ids - set(CASES) - set(KNOWN_GAPS))
    assert not missing, f"catalogue IDs without a broken double: {', '.join(missing)}"


def test_counters_of_the_plain_path_are_no_proof_that_the_fast_path_runs() -> None:
    only_plain = judge_use({"master_calls_compiled": 4, "master_calls_plain": 1},
                           {"master_calls_compiled": 4, "master_calls_plain": 2}, {})
    assert only_plain["status"] == "not called"
    both = judge_use({"master_calls_compiled": 4, "master_calls_plain": 1},
                     {"master_calls_compiled": 5, "master_calls_plain": 2}, {})
    assert both["status"] == "in use"
