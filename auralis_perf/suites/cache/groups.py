"""Cache category (CACHE-01..CACHE-20): query cache, library (entity) caches, audio cache, invalidation.

Everything runs on the engine's library (`ctx.engine.open_library`) and audio cache
(`ctx.engine.open_audio_cache`), built at the profile's size with the engine's own generator. Hit rates
come from replaying a skewed browsing session (see `_library_workload`); speedups time the cached and
the uncached repository side by side on the same calls, with their results compared; correctness is
counted as stale reads against the database (see `_library_invalidation`), never assumed.

The correctness scenarios write into a library of their own ("mutable"), so the timings and hit rates
of the other checks always see the generated library.
"""
from __future__ import annotations

import gc
import itertools
import statistics
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, KeyValueCache, NotSupported
from auralis_perf.engines.protocols.library import LibraryFeature
from auralis_perf.measure.memory import MB
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import record, require, run_checks
from auralis_perf.suites.common.workload import no_cache_serves
from auralis_perf.suites.library_workload import audio_cache as audio
from auralis_perf.suites.library_workload.hitrate import (
    bounded_library,
    capacity_below,
    distinct_per_cache,
    hits_save_statements,
    ideal_lru,
    replay_counting,
    trace_keys,
)
from auralis_perf.suites.library_workload.invalidation import (
    ALL_READS,
    METADATA_WRITES,
    STRUCTURE_WRITES,
    StaleTally,
    cascade_delete,
    same_result,
    selective_survival,
    stale_sequence,
)
from auralis_perf.suites.library_workload.workload import (
    PAGE,
    QUERY_READS,
    BuiltLibrary,
    Op,
    cached_against_uncached,
    call,
    describe_op,
    distinct,
    entity_ops,
    equality_violations,
    library_details,
    main_size,
    query_ops,
    replay,
    require_feature,
    serving_caches,
    shared_library,
)

CATEGORY = "cache"

SIZES = {
    "smoke": {"replay": 1500, "hot_calls": 60, "entity_replay": 1200, "entity_rounds": 3, "stale_steps": 25,
              "stale_seconds": 120.0, "fill_rounds": 1, "fill_budget": 15_000, "fill_seconds": 300.0,
              "lru_accesses": 400, "selective_edits": 3, "selective_seconds": 120.0, "cascade_artists": 2},
    "standard": {"replay": 8000, "hot_calls": 120, "entity_replay": 6000, "entity_rounds": 5, "stale_steps": 100,
                 "stale_seconds": 600.0, "fill_rounds": 1, "fill_budget": 20_000, "fill_seconds": 600.0,
                 "lru_accesses": 1000, "selective_edits": 5, "selective_seconds": 600.0, "cascade_artists": 5},
    "full": {"replay": 30_000, "hot_calls": 200, "entity_replay": 20_000, "entity_rounds": 5, "stale_steps": 600,
             "stale_seconds": 1800.0, "fill_rounds": 2, "fill_budget": 40_000, "fill_seconds": 1800.0,
             "lru_accesses": 3000, "selective_edits": 8, "selective_seconds": 1800.0, "cascade_artists": 10},
}
SEQUENCES = 5  # randomized sequences per correctness check (one sample each)
HIT_RATE_WINDOWS = 20


def _library(ctx: SuiteContext, role: str = "read") -> BuiltLibrary:
    require(ctx, Capability.LIBRARY)
    return shared_library(ctx, main_size(ctx), role=role)


# ----------------------------------------------------------------------------------------- query cache

WARMUP_SHARE = 0.2  # the first fifth of the session fills the caches; the hit rate is of the rest


def cache01_hit_rate(ctx: SuiteContext) -> CheckResult:
    """Replay a skewed browsing session through caches bounded below its distinct queries, from cold.

    The caches that serve the session's reads (query and search caches, or the library's one cache) hold
    at most a quarter of the distinct queries each of them sees, so eviction happens. The value is their
    hit rate as a share of an ideal LRU's of the same size on the same trace (100 %: as good as LRU).
    The first fifth of the session is the warm-up. Each call's statements are counted: a call the cache
    answers must issue fewer statements than one it misses.
    """
    built = _library(ctx)
    size = ctx.sizes(SIZES)
    ops = query_ops(built.model, np.random.default_rng(101), size["replay"])
    caches = serving_caches(built.lib, sorted({op[0] for op in ops}))
    keys = trace_keys(built.lib, ops)
    distinct_keys = distinct_per_cache(keys)
    window = max(1, len(ops) // HIT_RATE_WINDOWS)
    warmup = int(len(ops) * WARMUP_SHARE) // window * window
    with bounded_library(ctx, built, capacity_below(distinct_keys)) as bounded:
        fits = [c for c in caches if bounded.capacities.get(c) is None
                or bounded.capacities[c] >= distinct_keys.get(c, 0)]
        if fits:
            raise NotSupported(f"the caches {', '.join(fits)} hold every distinct query of the trace "
                               f"({bounded.note}): no eviction can happen, so the hit rate would only be the "
                               "workload's repeat rate")
        tally = replay_counting(bounded, ops, caches=caches, measured_from=warmup, windows=HIT_RATE_WINDOWS)
        ideal = ideal_lru(keys, bounded.capacities, measured_from=warmup, windows=HIT_RATE_WINDOWS)
        facts = {name: dict(bounded.lib.caches.facts()[name]) for name in caches}
    value = 100.0 * tally.hit_rate / ideal["hit_rate"] if tally.hit_rate is not None and ideal["hit_rate"] else None
    violations = hits_save_statements(tally)
    if tally.evictions == 0:
        violations.append(f"no eviction although the trace has more distinct queries than the caches hold "
                          f"({distinct_keys} against {bounded.capacities})")
    per_window = [100.0 * got / best for got, best in
                  zip(tally.windows[warmup // window:], ideal["hit_rate_by_window"][warmup // window:]) if best > 0]
    return record(ctx, "CACHE-01", value, samples=per_window, kind="ratio",
                  violations=violations, details={
                      **library_details(ctx, built), "queries": len(ops), "warmup_queries": warmup,
                      "distinct_queries": len(distinct(ops)), "distinct_by_cache": distinct_keys,
                      "caches": caches, "capacity": bounded.capacities, "bounded": bounded.note,
                      "hit_rate": tally.hit_rate, "ideal_lru": ideal, "replay": tally.to_dict(),
                      "cache_facts": facts, "window": window, "hit_rate_by_window": tally.windows,
                      "samples_are": "per window after the warm-up: the caches' hit rate as % of the ideal "
                                     "LRU's in the same window",
                      "most_repeated": _most_repeated(ops, 10),
                      "workload": "browsing session: Zipf artists (s=1.1), first pages (geometric depth), "
                                  "repeated searches (Zipf over the popular artists' words)"})


def _most_repeated(ops: list, n: int) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for op in ops:
        text = describe_op(op)
        counts[text] = counts.get(text, 0) + 1
    return [{"query": q, "count": c} for q, c in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]


def cache02_speedup(ctx: SuiteContext) -> CheckResult:
    built = _library(ctx)
    ops = distinct(query_ops(built.model, np.random.default_rng(102), 4 * ctx.sizes(SIZES)["hot_calls"]))
    ops = ops[:ctx.sizes(SIZES)["hot_calls"]]
    comparison, details = cached_against_uncached(built.lib, ops)
    return record(ctx, "CACHE-02", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  violations=equality_violations(comparison), details={
                      **library_details(ctx, built), **details,
                      "mix": sorted({op[0] for op in ops})})


def _stale_check(ctx: SuiteContext, check_id: str, writes: tuple[str, ...], reads: tuple[str, ...],
                 seed_base: int) -> CheckResult:
    """Randomized write/read sequences on the mutable library; stale reads per sequence are the samples.

    Each sequence has a share of the profile's time budget (`stale_seconds`): on a library whose reads
    take seconds, fewer writes are checked and the record says so, instead of the run not finishing."""
    built = _library(ctx, role="mutable")
    size = ctx.sizes(SIZES)
    steps, seconds = max(1, size["stale_steps"] // SEQUENCES), size["stale_seconds"] / SEQUENCES
    total, per_sequence, writes_per_sequence = StaleTally(), [], []
    for i in range(SEQUENCES):
        tally = stale_sequence(built.lib, built.model, seed=seed_base + i, steps=steps, writes=writes,
                               reads=reads, seconds=seconds)
        per_sequence.append(float(tally.stale))
        writes_per_sequence.append(tally.writes)
        total.add(tally)
    budget = {"steps_per_sequence": steps, "seconds_per_sequence": seconds,
              "writes_per_sequence": writes_per_sequence}
    if total.stopped_by_budget:
        budget["stopped_early"] = (f"the time budget ({seconds:.0f} s a sequence) stopped "
                                   f"{total.stopped_by_budget} of {SEQUENCES} sequences early; writes checked "
                                   f"per sequence: {writes_per_sequence} of {steps} steps; "
                                   f"the slowest compared read took {total.slowest_read_s * 1e3:.0f} ms "
                                   f"({total.slowest_read})")
    return record(ctx, check_id, float(total.stale), samples=per_sequence, kind="count", details={
        **library_details(ctx, built), "checked": total.reads, "sequences": SEQUENCES, "write_kinds": list(writes),
        "read_methods": list(reads), **budget, **total.to_dict()})


def cache03_invalidation(ctx: SuiteContext) -> CheckResult:
    return _stale_check(ctx, "CACHE-03", METADATA_WRITES + STRUCTURE_WRITES, QUERY_READS, seed_base=300)


#: Listing pages the fill asks for per order (deeper OFFSET pages cost up to 200 ms each at 100k tracks,
#: and a session rarely goes there).
FILL_PAGES = 40


def fill_ops(built: BuiltLibrary, seed: int = 104) -> list:
    """The long tail of the browsing mix: distinct listing pages, artist, genre and year listings, counts
    and title prefixes (the query cache's kinds), in random order: what a long session ends up asking."""
    model = built.model
    ops = []
    for offset in range(0, min(model.n_tracks, FILL_PAGES * PAGE), PAGE):
        for sort in ("title", "artist", "added"):
            ops.append(("list_tracks", {"sort": sort, "descending": sort == "added", "limit": PAGE,
                                        "offset": offset}))
        ops.append(("list_tracks", {"favorite": True, "sort": "added", "descending": True, "limit": PAGE,
                                    "offset": offset}))
    for artist in model.artists:
        for sort in ("title", "added"):
            ops.append(("list_tracks", {"artist_id": artist.id, "sort": sort, "limit": PAGE}))
        ops.append(("count_tracks", {"artist_id": artist.id}))
    for genre in model.genres:
        ops.append(("count_tracks", {"genre": genre}))
        for offset in range(0, min(model.n_tracks, 10 * PAGE), PAGE):
            ops.append(("list_tracks", {"genre": genre, "sort": "title", "limit": PAGE, "offset": offset}))
        for year in model.years:
            ops.append(("list_tracks", {"genre": genre, "year_from": year, "year_to": year, "sort": "title",
                                        "limit": PAGE}))
            ops.append(("count_tracks", {"genre": genre, "year_from": year, "year_to": year}))
    for year in model.years:
        ops.append(("list_tracks", {"year_from": year, "year_to": year, "sort": "added", "limit": PAGE}))
    if LibraryFeature.TITLE_PREFIX in model.features:  # an optional read
        ops += [("find_by_title", {"prefix": p}) for p in model.prefixes]
    rng = np.random.default_rng(seed)
    return [ops[i] for i in rng.permutation(len(ops))]


def more_fill_ops(built: BuiltLibrary, seed: int = 104) -> Iterator[Op]:
    """Distinct query-cache calls beyond `fill_ops`, for caches larger than the library's long tail:
    counts of every genre over every range of years, then listing pages of other sizes."""
    model = built.model
    rng = np.random.default_rng(seed)
    years = model.years or [2000]
    for genre in [None, *model.genres]:
        for first in rng.permutation(len(years)):
            for last in range(int(first) + 1, len(years)):
                yield "count_tracks", {"genre": genre, "year_from": years[int(first)], "year_to": years[last]}
    for limit in (20, 30, 40, 60, 80, 100):
        for offset in range(0, model.n_tracks, limit):
            yield "list_tracks", {"sort": "title", "limit": limit, "offset": offset}


def _traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


#: A call shape that left the cache's stats unchanged (no entry, hit or miss) this many times in a row is not
#: served by the cache: left out of the fill.
UNSERVED_AFTER = 2


def _shape(op: Op) -> tuple[Any, ...]:
    """What decides whether a cache serves a call: the read, the filters given, the order asked for (not the
    page, the limit or which artist/genre/year)."""
    name, params = op
    return (name, *sorted((k, v if k in ("sort", "descending", "favorite") else "*")
                          for k, v in params.items() if v is not None))


def fill_to_capacity(lib: Any, cache_name: str, ops: Iterator[Op], budget: int, seconds: float) -> dict[str, Any]:
    """Fill the cache `cache_name` from empty with distinct calls under tracemalloc until it evicts (it is
    at capacity), or `budget` calls or `seconds` of wall time were spent; its memory is what clearing it
    frees of traced allocations. Calls of a shape the cache does not serve (its stats unchanged, twice) are
    left out: each is a real query, costly under tracemalloc, that fills nothing."""
    cache = lib.caches[cache_name]
    lib.caches.clear()
    curve: list[list[float]] = []
    evictions0 = int(cache.stats().get("evictions") or 0)
    used, stopped = 0, "calls exhausted"
    unserved: dict[tuple[Any, ...], int] = {}
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        empty_before = _traced_now()
        stats = cache.stats()
        started = time.perf_counter()
        for op in ops:
            shape = _shape(op)
            if unserved.get(shape, 0) >= UNSERVED_AFTER:
                continue
            if used >= budget:
                stopped = "call budget"
                break
            if time.perf_counter() - started > seconds:
                stopped = "time budget"
                break
            before = stats
            call(lib.cached, op)
            used += 1
            stats = cache.stats()
            if used % 50 == 0:
                curve.append([float(stats.get("entries") or 0), float(stats.get("bytes") or 0) / MB])
            if int(stats.get("evictions") or 0) > evictions0:
                stopped = "evicted"
                break
            unserved[shape] = unserved.get(shape, 0) + 1 if dict(stats) == dict(before) else 0
        fill_s = time.perf_counter() - started
        full = _traced_now()
        cache.clear()
        empty = _traced_now()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    lib.caches.clear()
    entries = int(stats.get("entries") or 0)
    if entries < 1:
        raise RuntimeError(f"the fill added no entry to the {cache_name!r} cache ({used} distinct calls)")
    at_capacity = int(stats.get("evictions") or 0) > evictions0
    per_entry = (full - empty) / entries
    reported = stats.get("bytes")
    return {"traced_mb": (full - empty) / MB, "entries": entries, "queries": used, "at_capacity": at_capacity,
            "stopped": stopped, "fill_s": fill_s, "time_budget_s": seconds, "call_budget": budget,
            "unserved_shapes": [" ".join(map(str, shape)) for shape, n in unserved.items() if n >= UNSERVED_AFTER],
            "evictions": int(stats.get("evictions") or 0) - evictions0,
            "reported_mb": reported / MB if reported is not None else None,
            "traced_bytes_per_entry": per_entry, "traced_growth_mb": (full - empty_before) / MB,
            "max_entries": stats.get("max_entries"), "max_bytes": stats.get("max_bytes"), "curve": curve}


def cache04_memory(ctx: SuiteContext) -> CheckResult:
    """The query cache's memory at capacity: filled from empty with distinct calls of the browsing mix's
    long tail until it evicts, all of it under tracemalloc; the value is what clearing it then frees.
    The fill is bounded by the profile's call and wall-time budgets (each call may be a real query, slow
    under tracemalloc); a cache that does not evict within them is measured where the fill stopped,
    projected to its entry bound (marked `projected`), and that figure cannot pass."""
    built = _library(ctx)
    lib = built.lib
    cache_name = lib.caches.cache_for("list_tracks")
    if cache_name is None:
        raise NotSupported("no cache of the library serves list_tracks: there is no query cache to fill")
    size = ctx.sizes(SIZES)
    rounds = [fill_to_capacity(lib, cache_name, itertools.chain(fill_ops(built, seed=104 + i),
                                                                 more_fill_ops(built, seed=104 + i)),
                               size["fill_budget"], size["fill_seconds"]) for i in range(size["fill_rounds"])]
    projected = not all(r["at_capacity"] for r in rounds)
    violations = []
    if projected:
        bound = rounds[-1]["max_entries"]
        if bound is None:
            raise NotSupported(f"the {cache_name!r} cache has no entry bound and did not evict after "
                               f"{rounds[-1]['queries']} distinct calls: it has no capacity to measure at")
        values = [r["traced_bytes_per_entry"] * bound / MB for r in rounds]
        violations.append(f"projected: the cache did not reach capacity within the fill's budget ("
                          f"{rounds[-1]['stopped']}: {rounds[-1]['queries']} distinct calls in "
                          f"{rounds[-1]['fill_s']:.0f} s, {rounds[-1]['entries']} entries); the value is "
                          f"per-entry memory times its bound of {bound}, not a measurement at capacity")
    else:
        values = [r["traced_mb"] for r in rounds]
    last = rounds[-1]
    return record(ctx, "CACHE-04", statistics.median(values), samples=values, kind="traced", violations=violations,
                  details={**library_details(ctx, built), "cache": cache_name, "rounds": rounds,
                           "at_capacity": not projected, "projected": projected,
                           "cache_facts": dict(lib.caches.facts()[cache_name]),
                           "measured_entries": last["entries"], "reported_mb": last["reported_mb"],
                           "accounting_ratio": (last["traced_mb"] / last["reported_mb"])
                           if last["reported_mb"] else None,
                           "method": "tracemalloc over the whole fill from empty until the first eviction; "
                                     "what clearing the cache frees"})


_ABSENT = object()


def lru_sequence(cache: Any, values: list[Any], rng: np.random.Generator, accesses: int) -> dict[str, Any]:
    """Drive `cache` with skewed get/put and check every eviction against a model LRU.

    After each access, the keys that left the cache must be the least recently used ones of the model
    (a FIFO or random policy evicts popular keys that were just used, and is caught here).
    """
    cache.clear()
    keys = [f"lru-check:{i}" for i in range(len(values))]
    model: OrderedDict[Any, None] = OrderedDict()
    wrong = observed = order_mismatches = 0
    evictions_before = cache.stats()["evictions"]
    weights = np.cumsum(1.0 / np.arange(1, len(values) + 1) ** 0.9)
    for _ in range(accesses):
        i = int(np.searchsorted(weights, rng.random() * weights[-1], side="right").clip(0, len(values) - 1))
        key = keys[i]
        if cache.get(key, _ABSENT) is _ABSENT:
            cache.put(key, values[i])
        model[key] = None
        model.move_to_end(key)
        present = cache.keys()
        present_set = set(present)
        gone = [k for k in model if k not in present_set]
        if gone:
            expected = set(list(model)[:len(gone)])
            wrong += len(set(gone) - expected)
            observed += len(gone)
            for k in gone:
                del model[k]
        if list(model) != present:
            order_mismatches += 1
    reported = cache.stats()["evictions"] - evictions_before
    cache.clear()
    return {"wrong_evictions": wrong, "observed_evictions": observed, "reported_evictions": reported,
            "order_mismatches": order_mismatches, "accesses": accesses, "keys": len(values)}


def lru_values(built: BuiltLibrary) -> list[Any]:
    """Real listing results (pages of 200 tracks with relations), large enough that the byte bound evicts."""
    repo = built.lib.repo
    ops = [("list_tracks", {"sort": sort, "descending": desc, "limit": 200, "offset": offset})
           for sort in ("title", "artist", "added") for desc in (False, True)
           for offset in range(0, min(built.n_tracks, 2000), 400)]
    return replay(repo, ops)


def cache05_lru(ctx: SuiteContext) -> CheckResult:
    built = _library(ctx)
    cache_name = built.lib.caches.cache_for("list_tracks")
    if cache_name is None:
        raise NotSupported("no cache of the library serves list_tracks: there is no query cache to drive")
    cache = built.lib.caches[cache_name]
    if not isinstance(cache, KeyValueCache):
        raise NotSupported(f"the {cache_name!r} cache offers no get/put/keys (KeyValueCache): its eviction "
                           "order cannot be driven and observed")
    results = lru_values(built)
    # enough keys (over those results) that the accessed ones hold about three times the cache's bound
    cache.clear()
    cache.put("lru-probe", results[0])
    entry_bytes = max(1, int(cache.stats().get("bytes") or 1))
    cache.clear()
    stats = cache.stats()
    bounds = [b for b in (stats.get("max_entries"),
                          stats["max_bytes"] // entry_bytes if stats.get("max_bytes") is not None else None)
              if b is not None]
    if not bounds:
        raise NotSupported(f"the {cache_name!r} cache has no bound: it never evicts, so there is no order to check")
    capacity = min(bounds)
    n_keys = int(min(5000, max(300, 3 * capacity)))
    values = [results[i % len(results)] for i in range(n_keys)]
    accesses = max(ctx.sizes(SIZES)["lru_accesses"], n_keys)
    runs = [lru_sequence(cache, values, np.random.default_rng(500 + i), accesses) for i in range(SEQUENCES)]
    wrong = [float(r["wrong_evictions"]) for r in runs]
    violations = []
    if any(r["observed_evictions"] == 0 for r in runs):
        violations.append("the cache never evicted: its bound was not reached, LRU order untested")
    if any(r["order_mismatches"] for r in runs):
        violations.append("the cache's recency order differs from the model LRU")
    if any(r["observed_evictions"] != r["reported_evictions"] for r in runs):
        violations.append("the cache's eviction count differs from the evictions observed")
    return record(ctx, "CACHE-05", sum(wrong), samples=wrong, kind="count", violations=violations, details={
        **library_details(ctx, built), "checked": sum(r["observed_evictions"] for r in runs), "runs": runs,
        "cache": cache_name, "max_bytes": stats.get("max_bytes"), "max_entries": stats.get("max_entries"),
        "entry_bytes": entry_bytes, "capacity_entries": capacity, "cache_facts": dict(built.lib.caches.facts()[cache_name]),
        "method": "skewed get/put of real listing results on the library's query cache, every eviction "
                  "checked against a model LRU"})


@group("Query cache", category=CATEGORY, ids=["CACHE-01", "CACHE-02", "CACHE-03", "CACHE-04", "CACHE-05"])
def query_cache(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("CACHE-01", cache01_hit_rate), ("CACHE-02", cache02_speedup),
                            ("CACHE-03", cache03_invalidation), ("CACHE-04", cache04_memory),
                            ("CACHE-05", cache05_lru)])


# ---------------------------------------------------------------------------------------- library cache

#: check -> entity read kind of the workload (the cache is the one that serves that read)
ENTITY_CHECKS = {"CACHE-06": "track", "CACHE-07": "album", "CACHE-08": "artist", "CACHE-09": "playlist",
                 "CACHE-10": "search"}
#: Least hit rate, as a share of an ideal LRU's at the same bound, that a cache must reach (CACHE-06..10).
OF_IDEAL_LRU = 0.8
#: An entity cache holds half the distinct records its trace looks up (a working set that does not fit).
ENTITY_CAPACITY_SHARE = 0.5
#: Playlist lookups per playlist of the library (there are few playlists; their lookups are slow).
LOOKUPS_PER_PLAYLIST = 40


def entity_cache_check(ctx: SuiteContext, check_id: str) -> CheckResult:
    """A skewed lookup trace through a cache bounded below its distinct lookups: its hit rate beside an
    ideal LRU's at the same bound (judged: at least OF_IDEAL_LRU of it), and the time of the measured
    part of the trace through the caches against the database, from the realistic state the warm-up
    leaves (hits and misses as they come, every round from the same state)."""
    built = _library(ctx)
    kind = ENTITY_CHECKS[check_id]
    if kind == "playlist":
        require_feature(built.lib, LibraryFeature.PLAYLISTS, f"{check_id} (playlist lookups)")
    size = ctx.sizes(SIZES)
    rng = np.random.default_rng(600 + int(check_id[-2:]))
    count = size["entity_replay"]
    if kind == "playlist":
        count = min(count, LOOKUPS_PER_PLAYLIST * len(built.model.playlists))
    elif kind == "search":  # a search costs the database several times a lookup by id
        count //= 2
    ops = entity_ops(built.model, rng, kind, count, built.lib.repo)
    cache_name = built.lib.caches.cache_for(ops[0][0])
    if cache_name is None:
        raise no_cache_serves(built.lib, ops[0][0])
    keys = trace_keys(built.lib, ops)
    distinct_keys = distinct_per_cache(keys)
    warmup = int(len(ops) * WARMUP_SHARE)
    warm, measured = ops[:warmup], ops[warmup:]
    with bounded_library(ctx, built, capacity_below(distinct_keys, ENTITY_CAPACITY_SHARE)) as bounded:
        lib = bounded.lib
        capacity = bounded.capacities.get(cache_name)
        if capacity is None or capacity >= distinct_keys[cache_name]:
            raise NotSupported(f"the {cache_name!r} cache holds all {distinct_keys[cache_name]} distinct lookups "
                               f"of the trace ({bounded.note}): no eviction can happen")
        tally = replay_counting(bounded, ops, caches=[cache_name], measured_from=warmup, keep_results=True)
        ideal = ideal_lru(keys, bounded.capacities, measured_from=warmup)
        truth = replay(lib.repo, measured)
        same = same_result(tally.results[warmup:], truth)
        cached_s, database_s = [], []
        for _ in range(size["entity_rounds"]):
            lib.caches.clear()
            replay(lib.cached, warm)
            started = time.perf_counter()
            replay(lib.cached, measured)
            cached_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            replay(lib.repo, measured)
            database_s.append(time.perf_counter() - started)
        facts = dict(lib.caches.facts()[cache_name])
    speedups = [d / c for c, d in zip(cached_s, database_s) if c > 0]
    violations = [] if same else ["results through the cache differ from the database's"]
    hit_rate, best = tally.hit_rate, ideal["hit_rate"]
    if hit_rate is None or best is None:
        violations.append("the cache reported no lookups for the trace")
    elif hit_rate < OF_IDEAL_LRU * best:
        violations.append(f"hit rate {hit_rate:.1f} % at a bound of {capacity} entries is below "
                          f"{OF_IDEAL_LRU:.0%} of an ideal LRU's ({best:.1f} %)")
    violations += hits_save_statements(tally)
    return record(ctx, check_id, statistics.median(speedups) if speedups else None, samples=speedups, kind="ratio",
                  violations=violations, details={
                      **library_details(ctx, built), "cache": cache_name, "method": ops[0][0],
                      "lookups": len(ops), "warmup_lookups": warmup, "distinct_lookups": distinct_keys[cache_name],
                      "capacity": capacity, "bounded": bounded.note, "hit_rate": hit_rate,
                      "ideal_lru_hit_rate": best, "of_ideal_lru": hit_rate / best if hit_rate and best else None,
                      "replay": tally.to_dict(), "cache_facts": facts,
                      "cached_ms": [t * 1e3 for t in cached_s], "database_ms": [t * 1e3 for t in database_s],
                      "timed": f"the {len(measured)} lookups after a warm-up of {warmup}, through the cache and "
                               "on the database, each round from the state the warm-up leaves"})


@group("Library cache", category=CATEGORY, ids=["CACHE-06", "CACHE-07", "CACHE-08", "CACHE-09", "CACHE-10"])
def library_cache(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [(i, lambda c, i=i: entity_cache_check(c, i)) for i in ENTITY_CHECKS])


# ------------------------------------------------------------------------------------------ audio cache

@group("Audio cache", category=CATEGORY, ids=["CACHE-11", "CACHE-12", "CACHE-13", "CACHE-14", "CACHE-15"])
def audio_cache(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [*((i, lambda c, i=i: audio.kind_check(c, i)) for i in audio.KIND_CHECKS),
                            ("CACHE-15", audio.persistence_check)])


# ----------------------------------------------------------------------------------------- invalidation

def cache16_metadata_update(ctx: SuiteContext) -> CheckResult:
    return _stale_check(ctx, "CACHE-16", METADATA_WRITES, ALL_READS, seed_base=1600)


SELECTIVE_EDITS = ("title", "genre", "year", "track_number")
#: What `unrelated_reads` asks (for the reason of a skip).
UNRELATED_KINDS = ("get_track", "get_album", "album_tracks", "get_artist", "artist_albums",
                   "list_tracks by artist", "list_tracks by date added", "get_playlist")


def cache19_selective(ctx: SuiteContext) -> CheckResult:
    """Edit one track; the share of cached entries unrelated to it that are still cached afterwards."""
    built = _library(ctx, role="mutable")
    rng = np.random.default_rng(1900)
    results = []
    edits = ctx.sizes(SIZES)["selective_edits"]
    seconds = ctx.sizes(SIZES)["selective_seconds"] / edits
    for i in range(edits):
        outcome = selective_survival(built.lib, built.model, rng, SELECTIVE_EDITS[i % len(SELECTIVE_EDITS)],
                                     seconds=seconds)
        if outcome is not None:
            results.append(outcome)
    kept = sum(r.unrelated_kept for r in results)
    cached = sum(r.unrelated_cached for r in results)
    if not cached:  # e.g. a query cache that serves none of these reads: nothing to keep or drop
        raise NotSupported(f"no read unrelated to the edited track was held by a cache of the library after "
                           f"{len(results)} edits (reads tried: {', '.join(UNRELATED_KINDS)})")
    value = 100.0 * kept / cached
    stale = sum(r.stale for r in results)
    violations = [f"{stale} unrelated reads were stale"] if stale else []
    by_method: dict[str, list[int]] = {}
    for r in results:
        for method, (k, c) in r.kept_by_method.items():
            row = by_method.setdefault(method, [0, 0])
            row[0] += k
            row[1] += c
    budget = {"seconds_per_edit": seconds}
    if any(r.stopped_by_budget for r in results):
        slowest = max(results, key=lambda r: r.slowest_read_ms)
        budget["stopped_early"] = (f"the time budget ({seconds:.0f} s an edit) gathered fewer unrelated reads "
                                   f"than asked: {[r.unrelated_cached for r in results]} cached per edit; the "
                                   f"slowest compared read took {slowest.slowest_read_ms:.0f} ms "
                                   f"({slowest.slowest_read})")
    return record(ctx, "CACHE-19", value, samples=[r.kept_percent for r in results], kind="ratio",
                  violations=violations, details={
                      **library_details(ctx, built), **budget, "edits": [
                          {"edit": r.edit, "unrelated_cached": r.unrelated_cached,
                           "unrelated_kept": r.unrelated_kept, "kept_percent": r.kept_percent,
                           "possibly_related_cached": r.possibly_related_cached,
                           "possibly_related_kept": r.possibly_related_kept,
                           "dropped_examples": r.dropped_examples, "slowest_read": r.slowest_read,
                           "slowest_read_ms": r.slowest_read_ms} for r in results],
                      "kept_by_method": {m: {"kept": k, "cached": c, "percent": 100.0 * k / c if c else None}
                                         for m, (k, c) in by_method.items()},
                      "unrelated": "reads of other artists' tracks, albums, album track lists, album lists, "
                                   "artist records, artist listings, playlists without the track, and pages "
                                   "of the library in the order tracks were added that hold neither the "
                                   "track nor its album or artists"})


def cache20_cascade(ctx: SuiteContext) -> CheckResult:
    """Cache everything about an artist, delete the artist, count stale reads (albums, tracks, credits,
    playlists, listings, searches, aggregations)."""
    built = _library(ctx, role="mutable")
    require_feature(built.lib, LibraryFeature.CASCADE_DELETE, "CACHE-20 (deleting an artist)")
    model = built.model
    rng = np.random.default_rng(2000)
    n = ctx.sizes(SIZES)["cascade_artists"]
    # popular and mid-popular artists (their tracks sit in playlists and are read often)
    ranks = sorted({min(len(model.artists) - 1, int(r)) for r in np.geomspace(2, 60, n)})
    total, per_artist, rows = StaleTally(), [], []
    for rank in ranks:
        tally, info = cascade_delete(built.lib, model, model.artists[rank], rng)
        total.add(tally)
        per_artist.append(float(tally.stale))
        rows.append(info)
    return record(ctx, "CACHE-20", float(total.stale), samples=per_artist, kind="count", details={
        **library_details(ctx, built), "checked": total.reads, "artists": rows, **total.to_dict()})


@group("Invalidation", category=CATEGORY, ids=["CACHE-16", "CACHE-17", "CACHE-18", "CACHE-19", "CACHE-20"])
def invalidation(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("CACHE-16", cache16_metadata_update), ("CACHE-17", audio.file_change_check),
                            ("CACHE-18", audio.rescan_check), ("CACHE-19", cache19_selective),
                            ("CACHE-20", cache20_cascade)])
