"""Every check can fail: for each catalogue ID, a broken engine (tests/broken_engines) that it fails.

Each case runs the check's whole group at tiny sizes on a double with one fault and asserts the check's
status. A (group, double) pair runs once and serves every ID that double is meant to break, so one double
breaking five checks costs one group run; the runs go to two worker processes (`broken_engines.runs`). Faults are large enough to fail on any machine (a
10x real-time factor against a bound of 20x, 0.6 s against 100 ms, 240 MB against 200 MB, outputs that
move by 1e-4 or more against tolerances of 1e-9 to 1e-4).

MEM-15's double puts its pages in swap, so the module turns on a swap file of its own for its duration
(`broken_engines.swap`; root only): where that cannot be done, that one case skips and says why.

IDs that no double can fail yet are listed in `KNOWN_GAPS` with the reason; a catalogue ID that is in
neither table fails `test_every_catalogue_id_has_a_broken_double`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import matplotlib
import pytest

matplotlib.use("Agg")

from broken_engines import audio as broken_audio  # noqa: E402
from broken_engines import kernels as broken_kernels  # noqa: E402
from broken_engines import library as broken_library  # noqa: E402
from broken_engines.base import DelegatingEngine  # noqa: E402
from broken_engines.runs import GroupRuns  # noqa: E402
from broken_engines.swap import swap_enabled  # noqa: E402

from auralis_perf.catalog import load_catalog  # noqa: E402
from auralis_perf.suites.common.evidence import judge_use  # noqa: E402


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
    "RT-12": Case(broken_audio.SerializedSlowBatch, "batch items one at a time, 0.1 s per audio second: <= 10x"),
    "RT-13": Case(broken_audio.SerializedSlowBatch, "queue jobs one at a time, 0.1 s per audio second: <= 10x"),
    "RT-14": Case(broken_audio.DegradingStream, "the end of the track runs at most 2.3x real time"),
    "RT-15": Case(broken_audio.BloatedEngine, "240 MB per track in flight against 50 MB"),
    "RT-16": Case(broken_kernels.ChangedFastPaths, "the compiled envelope changes the output"),
    "RT-17": Case(broken_kernels.ChangedFastPaths, "the one-pass EQ changes the output"),
    "RT-18": Case(broken_kernels.ChangedFastPaths, "the parallel spectrum changes the output"),
    "RT-19": Case(broken_kernels.ChangedFastPaths, "the optimized chain changes the output"),
    "RT-20": Case(broken_kernels.ChangedFastPaths, "the fallback without Numba differs by 1e-3"),
    "MEM-01": Case(broken_audio.BloatedIdle, "a 500 MB pool held while idle against 50 MB"),
    "MEM-02": Case(broken_audio.BloatedEngine, "a stream holds 80 MB against 50 MB"),
    "MEM-03": Case(broken_audio.LeakyEngine, "each track leaks 40x its size"),
    "MEM-04": Case(broken_audio.BloatedEngine, "master() touches 240 MB against 200 MB"),
    "MEM-05": Case(broken_audio.LeakyEngine, "the leak is never released"),
    "MEM-06": Case(broken_audio.LeakyEngine, "each cycle leaks 40x its clip"),
    "MEM-07": Case(broken_audio.LeakyEngine, "each batch item leaks 40x its size"),
    "MEM-08": Case(broken_audio.ImmortalSessions, "closed streams stay reachable"),
    "MEM-09": Case(broken_library.QueryCacheNeverEvicts, "the query cache holds more than its bound"),
    "MEM-10": Case(broken_audio.UnpooledStream, "a new buffer per chunk"),
    "MEM-11": Case(broken_audio.BloatedEngine, "240 MB of scratch against 4x the input"),
    "MEM-12": Case(broken_audio.BloatedEngine, "240 MB per track in flight across the batch against 50 MB"),
    "MEM-13": Case(broken_audio.HoardingStream, "a stream keeps every chunk: memory grows with the file"),
    "MEM-18": Case(broken_audio.UnpooledStream, "no buffer is ever reused"),
    "MEM-19": Case(broken_audio.EagerStream, "the stream masters the whole file in float64 before its first chunk"),
    "MEM-20": Case(broken_audio.LeakyEngine, "memory held outside the Python allocators"),
    "MEM-15": Case(broken_audio.SwappedOutRenders, "every render's copy is paged out to swap"),
    "MEM-14": Case(broken_audio.FramesHoardingAnalysis, "analysis holds ~16x its input against 4x"),
    "MEM-16": Case(broken_library.TracksCarryCoverArt, "64 KB of cover art per listed track against 2 KB"),
    "MEM-17": Case(broken_library.CacheNeverHits, "the track cache never hits: below an ideal LRU"),
    "CACHE-01": Case(broken_library.CacheNeverHits, "every lookup misses"),
    "CACHE-02": Case(broken_library.CacheNeverHits, "a cached read is no faster than the database"),
    "CACHE-03": Case(broken_library.StaleAfterWrite, "writes leave stale entries"),
    "CACHE-04": Case(broken_library.CacheNeverHits, "emptied before every read: never at capacity, projected"),
    "CACHE-05": Case(broken_library.QueryCacheNeverEvicts, "the query cache never evicts"),
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
    "DB-17": Case(broken_library.NPlusOneListing, "more statements than selectin loading"),
    "DB-18": Case(broken_library.CacheNeverHits, "cached reads are no faster than the database"),
    "DB-19": Case(broken_library.RowByRowBulkImport, "the bulk import commits row by row"),
    "DB-20": Case(broken_library.LeakedConnection, "a connection never returned to the pool"),
    "OPT-01": Case(broken_kernels.NeverUsedFastPaths, "master() never runs the compiled envelope"),
    "OPT-02": Case(broken_kernels.ChangedFastPaths, "the compiled envelope changes the output"),
    "OPT-03": Case(broken_kernels.ChangedFastPaths, "JIT output 1e-3 off against 1e-9"),
    "OPT-04": Case(broken_kernels.UncachedJit, "every start compiles 16 signatures again: seconds against 0.1 s"),
    "OPT-05": Case(broken_kernels.ChangedFastPaths, "the fallback without Numba differs by 1e-3"),
    "OPT-06": Case(broken_kernels.ChangedFastPaths, "the fast EQ changes the output"),
    "OPT-07": Case(broken_kernels.ChangedFastPaths, "the batched spectrum changes the output"),
    "OPT-08": Case(broken_kernels.ScalarOnlyKernels, "no compiled kernel holds packed SIMD code"),
    "OPT-09": Case(broken_kernels.ChangedFastPaths, "every fast path changes the output"),
    "OPT-10": Case(broken_kernels.ChangedFastPaths, "fast paths 1e-3 off against 1e-9"),
    "OPT-11": Case(broken_audio.IdleParallelAnalysis, "the parallel analysis sleeps, then uses one core"),
    "OPT-12": Case(broken_audio.RacyMaster, "threads scale each other's output"),
    "OPT-13": Case(broken_audio.DriftingParallelBatch, "process batches change the output"),
    "OPT-14": Case(broken_audio.DriftingParallelBatch, "parallel batches change the output"),
    "OPT-15": Case(broken_audio.RacyMaster, "concurrent master() calls give wrong outputs"),
    "OPT-16": Case(broken_audio.SpectrumIgnoresSize, "the spectrum ignores the FFT size asked for"),
    "OPT-17": Case(broken_kernels.SlowChosenFilter, "the chosen EQ realisation waits 20 ms per call"),
    "OPT-18": Case(broken_audio.SlowCodecUtilities, "resampling waits 0.1 s per audio second: <= 10x"),
    "OPT-19": Case(broken_audio.SwappedChannelUtilities, "deinterleave swaps the channels"),
    "OPT-20": Case(broken_audio.SlowCodecUtilities, "encoding and decoding wait 0.1 s per audio second: <= 10x"),
}

#: IDs no double can fail (yet), with the reason. Anything not here needs a case above.
KNOWN_GAPS: dict[str, str] = {
}

#: IDs whose double needs swap turned on (`broken_engines.swap`); skipped with the reason where it cannot be.
NEEDS_SWAP = frozenset({"MEM-15"})


@pytest.fixture(scope="module")
def group_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GroupRuns, str | None]]:
    """Every case's (double, group) run, started at once in two worker processes, with swap on for the
    module (None) or the reason it cannot be turned on."""
    folder = tmp_path_factory.mktemp("can-fail")
    with swap_enabled(folder) as no_swap:
        runs = GroupRuns(folder)
        try:
            for check_id in sorted(CASES):
                if not (no_swap and check_id in NEEDS_SWAP):
                    runs.submit(CASES[check_id].double, check_id)
            yield runs, no_swap
        finally:
            runs.close()


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_can_fail(check_id: str, group_runs: tuple[GroupRuns, str | None]) -> None:
    runs, no_swap = group_runs
    if no_swap and check_id in NEEDS_SWAP:
        pytest.skip(f"{check_id}'s double puts pages in swap: {no_swap}")
    case = CASES[check_id]
    record = runs.records(case.double, check_id)[check_id]
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
