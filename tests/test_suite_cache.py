"""The cache suite (CACHE-01..20) on the reference engine at the smoke profile, and proof that its
correctness checks can fail: a cache double that skips one invalidation tag makes CACHE-16 fail, and a
FIFO cache is caught by the LRU check. No timing assertions."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from suite_support import assert_plot_test_catches_a_fallback, assert_plots_draw, category_records, shrunk_smoke_sizes

from auralis_perf.catalog import load_catalog
from auralis_perf.results import STATUSES
from auralis_perf.suites import SuiteContext, groups
from auralis_perf.suites.cache import groups as cache_groups
from auralis_perf.suites.cache.groups import cache16_metadata_update, lru_sequence
from auralis_perf.suites.library_workload.workload import LIBRARY_FACTORY, release_libraries

CACHE_IDS = load_catalog().ids("cache")


#: Smaller than smoke: the query cache is not filled to its 10,000 entries here (CACHE-04 is then a
#: projected figure, which fails by design), and the replays are shorter.
TEST_SIZES = {"fill_budget": 300, "replay": 800, "entity_replay": 500, "entity_rounds": 2}


@pytest.fixture(scope="module")
def cache_records(engine, tmp_path_factory):
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path_factory.mktemp("cache-suite"))
    try:
        with shrunk_smoke_sizes({cache_groups: TEST_SIZES}):
            records = category_records(ctx, "cache")
    finally:
        release_libraries(ctx)
    return records


def test_group_names_match_the_catalogue():
    catalog = load_catalog()
    for g in groups("cache"):
        assert {catalog[i].group for i in g.ids} == {g.name}


def test_every_cache_check_has_a_record(cache_records):
    assert sorted(cache_records) == sorted(CACHE_IDS)
    for record in cache_records.values():
        assert record.status in STATUSES
        if record.status in ("pass", "fail"):
            assert record.value is not None, record.id
            assert record.samples, record.id
        else:
            assert record.reason, record.id


def test_the_reference_library_is_measured_not_skipped(cache_records):
    # the reference engine has the library and the audio cache: nothing may be skipped or crash
    broken = {i: (r.status, r.reason) for i, r in cache_records.items() if r.status in ("skip", "error")}
    assert not broken


@pytest.mark.parametrize("check_id", ["CACHE-03", "CACHE-16", "CACHE-17", "CACHE-18", "CACHE-20"])
def test_no_stale_reads_on_the_reference_caches(cache_records, check_id):
    record = cache_records[check_id]
    assert record.value == 0, record.details.get("stale_examples") or record.details
    assert record.status == "pass"


def test_correctness_sequences_really_read_and_write(cache_records):
    for check_id in ("CACHE-03", "CACHE-16"):
        details = cache_records[check_id].details
        assert details["writes"] > 0 and details["reads"] > details["writes"]
    cascade = cache_records["CACHE-20"].details
    assert cascade["artists"] and all(row.get("had_tracks", 0) > 0 for row in cascade["artists"])


def test_hit_checks_prove_the_second_request_hit(cache_records):
    for check_id in ("CACHE-11", "CACHE-12", "CACHE-13", "CACHE-14"):
        rounds = cache_records[check_id].details["rounds"]
        assert rounds and all(r["second_hit"] and r["first_missed"] for r in rounds), check_id
    assert cache_records["CACHE-15"].details["rows"] and all(row["hit"] for row in cache_records["CACHE-15"].details["rows"])


def test_hit_rates_are_judged_at_a_bound_against_an_ideal_lru(cache_records):
    details = cache_records["CACHE-01"].details
    assert details["caches"] and all(details["capacity"][c] < details["distinct_by_cache"][c] for c in details["caches"])
    assert details["replay"]["evictions"] > 0
    assert details["ideal_lru"]["hit_rate"] > 0
    for check_id in ("CACHE-06", "CACHE-07", "CACHE-08", "CACHE-09", "CACHE-10"):
        d = cache_records[check_id].details
        assert d["capacity"] < d["distinct_lookups"] and d["replay"]["evictions"] > 0, check_id
        assert d["of_ideal_lru"] is not None, check_id


def test_an_unfilled_query_cache_is_projected_and_cannot_pass(cache_records):
    record = cache_records["CACHE-04"]
    assert record.details["projected"] and record.status == "fail"
    assert any("projected" in v for v in record.violations)


def test_lru_check_saw_evictions(cache_records):
    runs = cache_records["CACHE-05"].details["runs"]
    assert runs and all(r["observed_evictions"] > 0 for r in runs)
    assert cache_records["CACHE-05"].value == 0


class _Forward:
    """Forwards every attribute to `target` except those set on the instance."""

    def __init__(self, target):
        self._target = target

    def __getattr__(self, name):
        return getattr(self._target, name)


def _updates_around_the_caches(engine, path, **options):
    """A library factory whose cached repository writes tag edits straight to the database, so its caches
    never hear of them (a deliberately broken cache: no invalidation on metadata updates)."""
    lib = engine.open_library(path, **options)
    broken = _Forward(lib)
    broken.cached = _Forward(lib.cached)
    broken.cached.update_track = lib.repo.update_track
    return broken


def test_a_cache_that_misses_metadata_updates_fails_cache16(engine, tmp_path):
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path)
    ctx.shared[LIBRARY_FACTORY] = _updates_around_the_caches
    try:
        record = cache16_metadata_update(ctx)
    finally:
        release_libraries(ctx)
    assert record.status == "fail"
    assert record.value > 0
    assert record.details["stale_examples"]


class FifoCache:
    """A cache double with the query cache's interface that evicts in insertion order (not LRU)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict = OrderedDict()
        self.evictions = 0

    def get(self, key, default=None):
        return self.entries.get(key, default)  # a hit does not refresh the entry: FIFO

    def put(self, key, value):
        self.entries[key] = value
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
            self.evictions += 1

    def keys(self):
        return list(self.entries)

    def clear(self):
        self.entries.clear()

    def stats(self):
        return {"evictions": self.evictions}


def test_lru_check_catches_a_fifo_cache():
    run = lru_sequence(FifoCache(20), list(range(100)), np.random.default_rng(0), 400)
    assert run["observed_evictions"] > 0
    assert run["wrong_evictions"] > 0 or run["order_mismatches"] > 0


def test_same_result_ignores_only_the_last_bits_of_sums():
    from dataclasses import dataclass

    from auralis_perf.suites.library_workload.invalidation import first_difference, same_result

    @dataclass(frozen=True)
    class Stat:
        key: str
        tracks: int
        duration: float

    summed = [Stat("Rock", 10, 4526679.807999997)]
    assert same_result(summed, [Stat("Rock", 10, 4526679.807999998)])  # one ulp: the same sum
    assert not same_result(summed, [Stat("Rock", 10, 4526680.8)])      # a second more: stale
    assert not same_result(summed, [Stat("Rock", 11, 4526679.807999997)])
    assert not same_result(None, summed)
    assert "tracks" in first_difference(summed, [Stat("Rock", 11, 4526679.807999997)])


def test_plots_draw_from_the_records(cache_records, tmp_path):
    from auralis_perf.notebook.plots import cache as plots

    assert_plots_draw("cache", cache_records, tmp_path, (plots.plot_query_cache, plots.plot_library_cache,
                                                         plots.plot_audio_cache, plots.plot_invalidation))
    from auralis_perf.notebook.helper import NotebookRun

    run = NotebookRun("cache", profile="smoke", workdir=tmp_path, show=False)
    run.records.update(cache_records)
    stale = plots.stale_examples_html(run)
    assert stale.startswith("<table>") or stale == "<p>No stale read was found.</p>"


def test_a_plot_that_falls_back_fails_the_plot_test(cache_records, tmp_path):
    """The plot test catches what it is for: a record without its details makes the figure fall back."""
    from auralis_perf.notebook.plots import cache as plots

    assert_plot_test_catches_a_fallback("cache", cache_records, tmp_path, plots.plot_query_cache)
