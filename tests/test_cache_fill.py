"""CACHE-04's fill (suites/cache/groups.fill_to_capacity) on a tiny fake library: it stops at the first
eviction, leaves out calls the cache does not serve, and is bounded in wall time."""
from __future__ import annotations

import time

from auralis_perf.suites.cache.groups import UNSERVED_AFTER, fill_to_capacity


class FakeCache:
    """Holds the results of `list_tracks` only, evicting the oldest beyond `bound` entries."""

    def __init__(self, bound: int) -> None:
        self.bound, self.entries, self.evictions = bound, {}, 0

    def stats(self):
        return {"entries": len(self.entries), "evictions": self.evictions, "bytes": None,
                "max_entries": self.bound, "max_bytes": None}

    def clear(self):
        self.entries.clear()

    def put(self, key, value):
        if len(self.entries) >= self.bound:
            self.entries.pop(next(iter(self.entries)))
            self.evictions += 1
        self.entries[key] = value


class FakeLibrary:
    def __init__(self, bound: int, delay_s: float = 0.0) -> None:
        cache = FakeCache(bound)
        self.calls: list[str] = []
        lib = self

        class Caches(dict):
            def clear(self):
                cache.clear()

        class Cached:
            def list_tracks(self, **params):
                lib.calls.append("list_tracks")
                time.sleep(delay_s)
                cache.put(tuple(sorted(params.items())), [bytearray(1000)])
                return []

            def count_tracks(self, **params):  # a real query every time: never cached
                lib.calls.append("count_tracks")
                return 0

        self.caches = Caches(query=cache)
        self.cached = Cached()


def mixed_ops(n: int):
    for i in range(n):
        yield "count_tracks", {"genre": f"g{i}"}
        yield "list_tracks", {"sort": "title", "limit": 50, "offset": 50 * i}


def test_the_fill_stops_at_the_first_eviction_and_skips_unserved_calls():
    lib = FakeLibrary(bound=20)
    result = fill_to_capacity(lib, "query", mixed_ops(100), budget=10_000, seconds=60.0)
    assert result["at_capacity"] and result["stopped"] == "evicted" and result["entries"] == 20
    assert lib.calls.count("count_tracks") == UNSERVED_AFTER  # then left out: it fills nothing
    assert result["unserved_shapes"] == ["count_tracks ('genre', '*')"]
    assert result["traced_bytes_per_entry"] > 1000


def test_the_fill_is_bounded_in_time_and_then_not_at_capacity():
    lib = FakeLibrary(bound=10_000, delay_s=0.02)
    result = fill_to_capacity(lib, "query", mixed_ops(1000), budget=10_000, seconds=0.3)
    assert result["stopped"] == "time budget" and not result["at_capacity"]
    assert 1 <= result["entries"] < 100 and result["fill_s"] < 2.0


def test_a_cache_that_keeps_nothing_is_still_filled_not_left_out():
    # emptied before every read (it counts the misses): its calls are served, so the fill goes on
    lib = FakeLibrary(bound=20)
    cache = lib.caches["query"]
    cache.misses = 0
    plain_put, plain_stats = cache.put, cache.stats

    def put(key, value):
        cache.entries.clear()
        cache.misses += 1
        plain_put(key, value)

    cache.put = put
    cache.stats = lambda: {**plain_stats(), "misses": cache.misses}
    result = fill_to_capacity(lib, "query", mixed_ops(100), budget=10_000, seconds=60.0)
    assert not result["at_capacity"] and result["stopped"] == "calls exhausted"
    assert lib.calls.count("list_tracks") == 100 and result["entries"] == 1
