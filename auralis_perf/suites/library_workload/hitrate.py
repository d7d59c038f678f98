"""Hit rates of bounded caches, judged against an ideal LRU on the same trace (CACHE-01, CACHE-06..10).

A hit rate only says something about a cache when the cache cannot hold the whole workload: with room
for every distinct query, any cache that stores anything reaches the workload's repeat rate. So the
trace is replayed through a library whose caches are bounded below the trace's distinct keys
(`Engine.open_library(path, cache_entries=n)`, a second library on the same file), and the hits are
compared with those of an ideal LRU of the same size replaying the same keys. Each call is also
counted in statements issued (the harness's DatabaseProbe), so a cache that reports hits while the
database still answers is seen.

    with bounded_library(ctx, built, capacity) as bounded:
        tally = replay_counting(bounded, ops, caches=["query", "search"], measured_from=warmup)
    ideal = ideal_lru(trace_keys(bounded.lib, ops), bounded.capacities, measured_from=warmup)
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from auralis_perf.engines import NotSupported
from auralis_perf.engines.protocols.library import MusicLibrary
from auralis_perf.measure.database import DatabaseProbe
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.library_workload.workload import BuiltLibrary, Op, call, op_key, open_library

#: A bounded cache holds at most this share of the trace's distinct keys of the cache that sees fewest.
CAPACITY_SHARE = 0.25
MIN_CAPACITY = 2


@dataclass
class BoundedLibrary:
    """A second library on the built library's file with every cache bounded (or the library itself
    when the engine cannot bound its caches: `bounded` False and the caches' own bounds apply)."""

    lib: MusicLibrary
    probe: DatabaseProbe
    asked: int
    bounded: bool
    note: str
    #: cache name -> its entry bound as the cache reports it (None: unbounded)
    capacities: dict[str, int | None] = field(default_factory=dict)


def capacity_below(distinct_keys: dict[str, int], share: float = CAPACITY_SHARE) -> int:
    """An entry bound below every cache's distinct keys (`share` of the smallest)."""
    if not distinct_keys:
        raise ValueError("no cache serves the trace: there is nothing to bound")
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be between 0 and 1 (exclusive), got {share}")
    return max(MIN_CAPACITY, int(min(distinct_keys.values()) * share))


@contextmanager
def bounded_library(ctx: SuiteContext, built: BuiltLibrary, capacity: int) -> Iterator[BoundedLibrary]:
    """The built library's data behind caches of at most `capacity` entries each (see the module)."""
    own = False
    try:
        lib = open_library(ctx, built.path, cache_entries=capacity)
        own, note = True, f"a second library on the same file, opened with cache_entries={capacity}"
    except (NotSupported, TypeError) as exc:
        lib, note = built.lib, f"the engine cannot bound its caches ({exc}); their own bounds apply"
    probe = DatabaseProbe(lib.database()) if own else built.probe
    try:
        stats = lib.caches.stats()
        capacities = {name: (int(s["max_entries"]) if s.get("max_entries") is not None else None)
                      for name, s in stats.items()}
        yield BoundedLibrary(lib=lib, probe=probe, asked=capacity, bounded=own, note=note, capacities=capacities)
    finally:
        if own:
            probe.close()
            lib.close()


def trace_keys(lib: MusicLibrary, ops: Sequence[Op]) -> list[tuple[str | None, tuple]]:
    """(serving cache, call key) of every call: what an ideal cache of each name would see."""
    return [(lib.caches.cache_for(op[0]), op_key(op)) for op in ops]


def distinct_per_cache(keys: Sequence[tuple[str | None, tuple]]) -> dict[str, int]:
    """Distinct call keys per serving cache (calls no cache serves left out)."""
    seen: dict[str, set] = {}
    for name, key in keys:
        if name is not None:
            seen.setdefault(name, set()).add(key)
    return {name: len(k) for name, k in seen.items()}


def ideal_lru(keys: Sequence[tuple[str | None, tuple]], capacities: dict[str, int | None], *,
              measured_from: int = 0, windows: int = 20) -> dict[str, Any]:
    """Hits of an ideal LRU per serving cache (entry bound from `capacities`, no byte bound, no expiry)
    replaying `keys` from empty; hits and lookups counted from call `measured_from` on, and the hit rate
    per window of the whole replay (the same windows as `replay_counting`)."""
    caches: dict[str, OrderedDict] = {}
    hits = lookups = 0
    window = max(1, len(keys) // windows)
    window_hits = window_lookups = 0
    rates: list[float] = []
    for index, (name, key) in enumerate(keys):
        if name is not None:
            lru = caches.setdefault(name, OrderedDict())
            hit = key in lru
            if hit:
                lru.move_to_end(key)
            else:
                lru[key] = None
                bound = capacities.get(name)
                if bound is not None and len(lru) > bound:
                    lru.popitem(last=False)
            window_hits += hit
            window_lookups += 1
            if index >= measured_from:
                lookups += 1
                hits += hit
        if (index + 1) % window == 0:
            rates.append(100.0 * window_hits / window_lookups if window_lookups else 0.0)
            window_hits = window_lookups = 0
    return {"hits": hits, "lookups": lookups, "hit_rate": 100.0 * hits / lookups if lookups else None,
            "hit_rate_by_window": rates}


@dataclass
class ReplayTally:
    """What a replay through the caches did, from call `measured_from` on (the warm-up left out)."""

    hits: int = 0
    lookups: int = 0
    hit_calls: int = 0
    miss_calls: int = 0
    statements_on_hits: int = 0
    statements_on_misses: int = 0
    evictions: int = 0
    #: hit rate (%) per window of the whole replay, warm-up included
    windows: list[float] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    @property
    def hit_rate(self) -> float | None:
        return 100.0 * self.hits / self.lookups if self.lookups else None

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "lookups": self.lookups, "hit_rate": self.hit_rate,
                "calls_answered_by_a_cache": self.hit_calls, "calls_that_missed": self.miss_calls,
                "statements_per_hit_call": self.statements_on_hits / self.hit_calls if self.hit_calls else None,
                "statements_per_missed_call": self.statements_on_misses / self.miss_calls
                if self.miss_calls else None, "evictions": self.evictions}


def lookup_totals(lib: MusicLibrary, caches: Sequence[str]) -> tuple[int, int, int]:
    """hits, misses and evictions summed over the named caches."""
    hits = misses = evictions = 0
    for name in caches:
        stats = lib.caches[name].stats()
        hits += int(stats.get("hits") or 0)
        misses += int(stats.get("misses") or 0)
        evictions += int(stats.get("evictions") or 0)
    return hits, misses, evictions


def replay_counting(bounded: BoundedLibrary, ops: Sequence[Op], *, caches: Sequence[str], measured_from: int,
                    windows: int = 20, keep_results: bool = False) -> ReplayTally:
    """Replay `ops` through `bounded.lib.cached` from empty caches, one call at a time: the named caches'
    hits and misses, and the statements each call issued, by whether a cache answered it."""
    lib, probe = bounded.lib, bounded.probe
    lib.caches.clear()
    tally = ReplayTally()
    window = max(1, len(ops) // windows)
    window_hits = window_lookups = 0
    hits0, misses0, evictions0 = lookup_totals(lib, caches)
    before = (hits0, misses0)
    for index, op in enumerate(ops):
        with probe.count() as block:
            result = call(lib.cached, op)
        if keep_results:
            tally.results.append(result)
        hits, misses, _ = lookup_totals(lib, caches)
        gained_hits, gained_misses = hits - before[0], misses - before[1]
        before = (hits, misses)
        window_hits += gained_hits
        window_lookups += gained_hits + gained_misses
        if (index + 1) % window == 0:
            tally.windows.append(100.0 * window_hits / window_lookups if window_lookups else 0.0)
            window_hits = window_lookups = 0
        if index < measured_from:
            continue
        tally.hits += gained_hits
        tally.lookups += gained_hits + gained_misses
        if gained_hits and not gained_misses:
            tally.hit_calls += 1
            tally.statements_on_hits += block.count
        else:
            tally.miss_calls += 1
            tally.statements_on_misses += block.count
    tally.evictions = lookup_totals(lib, caches)[2] - evictions0
    return tally


def hits_save_statements(tally: ReplayTally) -> list[str]:
    """A violation when calls a cache answered issued as many statements as calls it missed: the
    cache's hits then do not spare the database anything."""
    if not tally.hit_calls or not tally.miss_calls:
        return []
    per_hit = tally.statements_on_hits / tally.hit_calls
    per_miss = tally.statements_on_misses / tally.miss_calls
    if per_miss > 0 and per_hit >= per_miss:
        return [f"calls the cache answered issued {per_hit:.2f} statements each, as many as calls it missed "
                f"({per_miss:.2f}): its hits do not spare the database"]
    return []


__all__ = ["BoundedLibrary", "CAPACITY_SHARE", "MIN_CAPACITY", "ReplayTally", "bounded_library", "capacity_below",
           "distinct_per_cache", "hits_save_statements", "ideal_lru", "lookup_totals", "replay_counting",
           "trace_keys"]
