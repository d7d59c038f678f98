"""A stale-read sequence stops at its time budget: on a library whose reads take seconds (Auralis's
artist lookups at 10k tracks took up to 21.7 s each) the cache category still finishes, checks fewer
writes and says so, and the tally names the slowest compared read."""
from __future__ import annotations

import numpy as np
from suite_support import shrunk_smoke_sizes

from auralis_perf.engines import get_engine
from auralis_perf.library_tracks import generate_tracks
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.cache import groups as cache_groups
from auralis_perf.suites.library_workload import workload
from auralis_perf.suites.library_workload.invalidation import ALL_READS, METADATA_WRITES, stale_sequence
from auralis_perf.suites.library_workload.workload import build_model, release_libraries


def _library(tmp_path):
    engine = get_engine("reference")
    lib = engine.open_library(tmp_path / "library.db")
    generated = generate_tracks(300, seed=5)
    ids = lib.bulk_import(generated)
    return engine, lib, build_model(lib, generated, ids)


def test_a_spent_budget_stops_after_the_first_write_and_the_slowest_read_is_named(tmp_path):
    engine, lib, model = _library(tmp_path)
    try:
        unbounded = stale_sequence(lib, model, seed=4, steps=12, writes=METADATA_WRITES, reads=ALL_READS)
        spent = stale_sequence(lib, model, seed=5, steps=12, writes=METADATA_WRITES, reads=ALL_READS,
                               seconds=0.0)
    finally:
        lib.close()
        engine.close()
    assert unbounded.writes > 1 and unbounded.stale == 0 and unbounded.stopped_by_budget == 0
    assert spent.writes == 1 and spent.reads >= 1 and spent.stopped_by_budget == 1
    tally = unbounded.to_dict()
    assert tally["slowest_read_ms"] > 0 and tally["slowest_read"].split("(")[0] in ALL_READS


def test_the_merged_tally_keeps_the_slowest_read_of_all_sequences(tmp_path):
    engine, lib, model = _library(tmp_path)
    try:
        first = stale_sequence(lib, model, seed=1, steps=3, writes=METADATA_WRITES, reads=ALL_READS)
        second = stale_sequence(lib, model, seed=2, steps=3, writes=METADATA_WRITES, reads=ALL_READS)
    finally:
        lib.close()
        engine.close()
    slowest = max((first, second), key=lambda t: t.slowest_read_s)
    writes = first.writes + second.writes
    first.add(second)
    assert (first.slowest_read_s, first.slowest_read) == (slowest.slowest_read_s, slowest.slowest_read)
    assert first.writes == writes


def _cache_check(tmp_path, check, sizes):
    """Run one cache check on the reference engine with a 300-track library and these cache sizes."""
    engine = get_engine("reference")
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path)
    try:
        with shrunk_smoke_sizes({workload: {"main": 300, "scaling": (100, 200, 300)}, cache_groups: sizes}):
            return check(ctx)
    finally:
        release_libraries(ctx)
        engine.close()


def test_the_check_record_says_its_sequences_stopped_at_the_budget(tmp_path):
    r = _cache_check(tmp_path, cache_groups.cache16_metadata_update, {"stale_steps": 20, "stale_seconds": 0.0})
    assert r.id == "CACHE-16" and r.status == "pass" and r.value == 0
    assert r.details["writes_per_sequence"] == [1] * cache_groups.SEQUENCES
    assert r.details["stopped_by_budget"] == cache_groups.SEQUENCES
    assert f"stopped {cache_groups.SEQUENCES} of {cache_groups.SEQUENCES} sequences early" in r.details["stopped_early"]
    assert "slowest compared read took" in r.details["stopped_early"]


def test_cache19_gathers_fewer_unrelated_reads_when_its_budget_is_spent_and_says_so(tmp_path):
    r = _cache_check(tmp_path, cache_groups.cache19_selective, {"selective_edits": 2, "selective_seconds": 0.0})
    assert r.id == "CACHE-19" and r.status in ("pass", "fail")
    assert [e["unrelated_cached"] for e in r.details["edits"]] == [1, 1]
    assert "gathered fewer unrelated reads than asked" in r.details["stopped_early"]


def test_unrelated_reads_are_only_reads_a_cache_serves(tmp_path, monkeypatch):
    """CACHE-19 counts cached entries that survive an edit: a read no cache serves can be neither kept nor
    dropped, and on Auralis reading it cost seconds, so it is not chosen at all."""
    from auralis_perf.suites.library_workload.invalidation import WriteState, alive_track, unrelated_reads

    engine, lib, model = _library(tmp_path)
    try:
        served = lib.caches.cache_for
        monkeypatch.setattr(lib.caches, "cache_for",
                            lambda read: None if read in ("get_artist", "artist_albums") else served(read))
        rng = np.random.default_rng(3)
        track = alive_track(lib, model, rng, WriteState(step=1))
        ops = unrelated_reads(lib, model, rng, track, 60)
    finally:
        lib.close()
        engine.close()
    methods = {op[0] for op in ops}
    assert ops and not methods & {"get_artist", "artist_albums"} and "get_track" in methods
