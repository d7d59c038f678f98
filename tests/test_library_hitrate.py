"""The ideal LRU the hit-rate checks compare with, the bound below a trace's distinct keys, and the
cross-check that a cache's hits spare statements (auralis_perf.suites.library_workload.hitrate)."""
from __future__ import annotations

import pytest

from auralis_perf.suites.library_workload.hitrate import (
    ReplayTally,
    capacity_below,
    distinct_per_cache,
    hits_save_statements,
    ideal_lru,
)


def test_ideal_lru_counts_hits_at_its_bound():
    keys = [("q", k) for k in ("a", "b", "a", "c", "a", "b")]
    # bound 2: a b | a(hit) | c evicts b | a(hit) | b misses
    assert ideal_lru(keys, {"q": 2})["hits"] == 2
    assert ideal_lru(keys, {"q": None})["hits"] == 3  # unbounded: every repeat hits
    measured = ideal_lru(keys, {"q": 2}, measured_from=3)
    assert (measured["hits"], measured["lookups"]) == (1, 3)
    assert measured["hit_rate_by_window"] == [0.0, 0.0, 100.0, 0.0, 100.0, 0.0]  # one call per window here
    assert ideal_lru(keys, {"q": 2}, windows=2)["hit_rate_by_window"] == [pytest.approx(100 / 3), pytest.approx(100 / 3)]


def test_each_cache_is_its_own_lru_and_unserved_calls_are_left_out():
    keys = [("q", "a"), ("s", "a"), (None, "x"), ("q", "a"), ("s", "a")]
    result = ideal_lru(keys, {"q": 1, "s": 1})
    assert (result["hits"], result["lookups"]) == (2, 4)
    assert distinct_per_cache(keys) == {"q": 1, "s": 1}


def test_capacity_is_below_the_smallest_cache_distinct_keys():
    assert capacity_below({"query": 400, "search": 100}) == 25
    assert capacity_below({"query": 400}, 0.5) == 200
    assert capacity_below({"playlists": 3}) == 2  # never below the minimum bound
    with pytest.raises(ValueError, match="no cache"):
        capacity_below({})
    with pytest.raises(ValueError, match="share"):
        capacity_below({"q": 10}, 1.0)


def test_hits_that_query_the_database_anyway_are_a_violation():
    honest = ReplayTally(hit_calls=10, miss_calls=10, statements_on_hits=0, statements_on_misses=10)
    assert hits_save_statements(honest) == []
    lying = ReplayTally(hit_calls=10, miss_calls=10, statements_on_hits=10, statements_on_misses=10)
    assert "do not spare the database" in hits_save_statements(lying)[0]
    assert hits_save_statements(ReplayTally(hit_calls=0, miss_calls=5, statements_on_misses=5)) == []
