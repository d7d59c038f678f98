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
import statistics
import tracemalloc
from collections import OrderedDict
from typing import Any

import numpy as np

from auralis_perf.engines import Capability
from auralis_perf.measure.memory import MB
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import record, require, run_checks
from auralis_perf.suites.library_workload import audio_cache as audio
from auralis_perf.suites.library_workload.invalidation import (
    ALL_READS,
    METADATA_WRITES,
    STRUCTURE_WRITES,
    StaleTally,
    cascade_delete,
    selective_survival,
    stale_sequence,
)
from auralis_perf.suites.library_workload.workload import (
    PAGE,
    QUERY_READS,
    BuiltLibrary,
    cache_stats_delta,
    cached_against_uncached,
    describe_op,
    distinct,
    entity_ops,
    equality_violations,
    library_details,
    main_size,
    query_ops,
    replay,
    shared_library,
)

CATEGORY = "cache"

SIZES = {
    "smoke": {"replay": 1500, "hot_calls": 60, "entity_replay": 600, "stale_steps": 25, "fill_rounds": 2,
              "fill_limit": 50, "fill_traced": 100, "lru_accesses": 400, "selective_edits": 3,
              "cascade_artists": 2},
    "standard": {"replay": 8000, "hot_calls": 120, "entity_replay": 3000, "stale_steps": 100,
                 "fill_rounds": 2, "fill_limit": 600, "fill_traced": 200, "lru_accesses": 1000,
                 "selective_edits": 5, "cascade_artists": 5},
    "full": {"replay": 30_000, "hot_calls": 200, "entity_replay": 10_000, "stale_steps": 600, "fill_rounds": 2,
             "fill_limit": 10_000, "fill_traced": 500, "lru_accesses": 3000, "selective_edits": 8,
             "cascade_artists": 10},
}
SEQUENCES = 5  # randomized sequences per correctness check (one sample each)
HIT_RATE_WINDOWS = 20


def _library(ctx: SuiteContext, role: str = "read") -> BuiltLibrary:
    require(ctx, Capability.LIBRARY)
    return shared_library(ctx, main_size(ctx), role=role)


# ----------------------------------------------------------------------------------------- query cache

WARMUP_SHARE = 0.2  # the first fifth of the session fills the caches; the hit rate is of the rest


def cache01_hit_rate(ctx: SuiteContext) -> CheckResult:
    """Replay a skewed browsing session through the query and search caches, from cold.

    The first fifth of the session is the warm-up (a player's caches are rarely empty); the hit rate is
    that of the rest. The hit rate per window of the whole session, warm-up included, is kept for the plot.
    """
    built = _library(ctx)
    lib, size = built.lib, ctx.sizes(SIZES)
    ops = query_ops(built.model, np.random.default_rng(101), size["replay"])
    lib.caches.clear()
    window = max(1, len(ops) // HIT_RATE_WINDOWS)
    warmup = int(len(ops) * WARMUP_SHARE) // window * window
    rates, measured = [], {"hits": 0, "lookups": 0}
    cold = {"hits": 0, "lookups": 0}
    start = lib.caches.stats()
    for begin in range(0, len(ops), window):
        before = lib.caches.stats()
        replay(lib.cached, ops[begin:begin + window])
        delta = cache_stats_delta(before, lib.caches.stats())
        hits = delta["query"]["hits"] + delta["search"]["hits"]
        lookups = hits + delta["query"]["misses"] + delta["search"]["misses"]
        rates.append(100.0 * hits / lookups if lookups else 0.0)
        for tally in ((cold, measured) if begin >= warmup else (cold,)):
            tally["hits"] += hits
            tally["lookups"] += lookups
    per_cache = cache_stats_delta(start, lib.caches.stats())
    value = 100.0 * measured["hits"] / measured["lookups"] if measured["lookups"] else None
    return record(ctx, "CACHE-01", value, samples=rates[warmup // window:], kind="ratio", details={
        **library_details(ctx, built), "queries": len(ops), "warmup_queries": warmup,
        "distinct_queries": len(distinct(ops)), "window": window, "hit_rate_by_window": rates,
        "hit_rate_from_cold": 100.0 * cold["hits"] / cold["lookups"] if cold["lookups"] else None,
        "per_cache": {k: per_cache[k] for k in ("query", "search")},
        "most_repeated": _most_repeated(ops, 10),
        "workload": "browsing session: Zipf artists (s=1.1), first pages (geometric depth), repeated searches "
                    "(Zipf over the popular artists' words)"})


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
    """Randomized write/read sequences on the mutable library; stale reads per sequence are the samples."""
    built = _library(ctx, role="mutable")
    steps = ctx.sizes(SIZES)["stale_steps"]
    total, per_sequence = StaleTally(), []
    for i in range(SEQUENCES):
        tally = stale_sequence(built.lib, built.model, seed=seed_base + i, steps=max(1, steps // SEQUENCES),
                               writes=writes, reads=reads)
        per_sequence.append(float(tally.stale))
        total.add(tally)
    return record(ctx, check_id, float(total.stale), samples=per_sequence, kind="count", details={
        **library_details(ctx, built), "checked": total.reads, "sequences": SEQUENCES, "write_kinds": list(writes),
        "read_methods": list(reads), **total.to_dict()})


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
    ops += [("find_by_title", {"prefix": p}) for p in model.prefixes]
    rng = np.random.default_rng(seed)
    return [ops[i] for i in rng.permutation(len(ops))]


def _traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def fill_and_measure(lib: Any, ops: list, fill: int, traced: int) -> dict[str, Any]:
    """Fill the query cache with `fill` distinct queries, then `traced` more under tracemalloc (stopping
    at its bound); the traced entries' memory is what clearing the cache frees of traced allocations.

    Only the last entries are traced because tracemalloc slows every allocation down several times; the
    ones before give the cache its realistic state (sizes, tags, LRU order).
    """
    cache = lib.caches.query
    lib.caches.clear()
    curve: list[list[float]] = []
    used = 0

    def add(ops_slice: list) -> dict[str, Any]:
        nonlocal used
        stats = cache.stats()
        for op in ops_slice:
            replay(lib.cached, [op])
            used += 1
            stats = cache.stats()
            if used % 25 == 0:
                curve.append([stats["entries"], stats["bytes"] / MB])
            if stats["evictions"] > 0 or stats["entries"] >= stats["max_entries"]:
                break
        return stats

    add(ops[:max(0, min(fill, len(ops) - traced))])  # leave `traced` queries for the traced part
    untraced_entries = cache.stats()["entries"]
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        stats = add(ops[used:used + traced])
        full = _traced_now()
        cache.clear()
        empty = _traced_now()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    lib.caches.clear()
    traced_entries = stats["entries"] - untraced_entries
    if traced_entries < 1:
        raise RuntimeError(f"the traced part of the fill added no entry to the query cache "
                           f"({len(ops)} distinct queries, {untraced_entries} entries before it)")
    at_capacity = bool(stats["evictions"] > 0 or stats["entries"] >= stats["max_entries"])
    per_entry = (full - empty) / traced_entries
    reported_per_entry = stats["bytes"] / max(1, stats["entries"])
    capacity = stats["entries"] if at_capacity else \
        min(stats["max_entries"], stats["max_bytes"] / reported_per_entry if reported_per_entry else 0)
    return {"traced_mb": (full - empty) / MB, "traced_entries": traced_entries, "entries": stats["entries"],
            "reported_mb": stats["bytes"] / MB, "evictions": stats["evictions"], "queries": used,
            "at_capacity": at_capacity, "capacity_entries": capacity, "traced_bytes_per_entry": per_entry,
            "reported_bytes_per_entry": reported_per_entry, "at_capacity_mb": per_entry * capacity / MB,
            "curve": curve}


def cache04_memory(ctx: SuiteContext) -> CheckResult:
    """The query cache's memory at capacity, measured with tracemalloc (the traced drop when it is
    cleared) after filling it with the workload's distinct queries. When the library has fewer distinct
    queries than the cache holds (or the profile stops earlier), the measured bytes per entry are
    projected to the capacity the cache's own bounds allow; the details say which."""
    built = _library(ctx)
    lib = built.lib
    cache = lib.caches.query
    size = ctx.sizes(SIZES)
    # each round asks for the long tail in another order
    rounds = [fill_and_measure(lib, fill_ops(built, seed=104 + i), size["fill_limit"], size["fill_traced"])
              for i in range(size["fill_rounds"])]
    values = [r["at_capacity_mb"] for r in rounds]
    last = rounds[-1]
    stats = cache.stats()
    return record(ctx, "CACHE-04", statistics.median(values), samples=values, kind="traced", details={
        **library_details(ctx, built), "rounds": rounds, "max_bytes_mb": stats["max_bytes"] / MB,
        "max_entries": stats["max_entries"], "reported_mb": last["reported_mb"],
        "at_capacity": all(r["at_capacity"] for r in rounds),
        "projected": not all(r["at_capacity"] for r in rounds),
        "measured_entries": last["entries"], "traced_entries": last["traced_entries"],
        "capacity_entries": last["capacity_entries"],
        "accounting_ratio": (last["traced_bytes_per_entry"] / last["reported_bytes_per_entry"])
        if last["reported_bytes_per_entry"] else None,
        "method": "tracemalloc: the last entries of the fill are traced; what clearing the cache frees of "
                  "them, per entry, times the entries the cache holds at its bound (reached, or computed "
                  "from its entry and byte bounds when the library has fewer distinct queries)"})


_ABSENT = object()


def lru_sequence(cache: Any, values: list[Any], rng: np.random.Generator, accesses: int) -> dict[str, Any]:
    """Drive `cache` with skewed get/put and check every eviction against a model LRU.

    After each access, the keys that left the cache must be the least recently used ones of the model
    (a FIFO or random policy evicts popular keys that were just used, and is caught here).
    """
    cache.clear()
    keys = [cache.make_key("lru-check", {"i": i}) for i in range(len(values))]
    model: OrderedDict[Any, None] = OrderedDict()
    wrong = observed = order_mismatches = 0
    evictions_before = cache.stats()["evictions"]
    weights = np.cumsum(1.0 / np.arange(1, len(values) + 1) ** 0.9)
    for _ in range(accesses):
        i = int(np.searchsorted(weights, rng.random() * weights[-1], side="right").clip(0, len(values) - 1))
        key = keys[i]
        if cache.get(key, _ABSENT) is _ABSENT:
            cache.put(key, values[i], tags=())
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
    cache = built.lib.caches.query
    results = lru_values(built)
    # enough keys (over those results) that the accessed ones hold about three times the cache's bound
    cache.clear()
    cache.put(cache.make_key("lru-probe"), results[0], tags=())
    entry_bytes = max(1, cache.stats()["bytes"])
    cache.clear()
    capacity = min(cache.stats()["max_entries"], cache.stats()["max_bytes"] // entry_bytes)
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
        "max_bytes_mb": cache.stats()["max_bytes"] / MB,
        "max_entries": cache.stats()["max_entries"], "entry_bytes": entry_bytes, "capacity_entries": capacity,
        "method": "skewed get/put of real listing results on the library's query cache, every eviction "
                  "checked against a model LRU"})


@group("Query cache", category=CATEGORY, ids=["CACHE-01", "CACHE-02", "CACHE-03", "CACHE-04", "CACHE-05"])
def query_cache(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("CACHE-01", cache01_hit_rate), ("CACHE-02", cache02_speedup),
                            ("CACHE-03", cache03_invalidation), ("CACHE-04", cache04_memory),
                            ("CACHE-05", cache05_lru)])


# ---------------------------------------------------------------------------------------- library cache

#: check -> (cache name, entity read kind of the workload)
ENTITY_CHECKS = {"CACHE-06": ("tracks", "track"), "CACHE-07": ("albums", "album"),
                 "CACHE-08": ("artists", "artist"), "CACHE-09": ("playlists", "playlist"),
                 "CACHE-10": ("search", "search")}


def entity_cache_check(ctx: SuiteContext, check_id: str) -> CheckResult:
    """Hit rate of a skewed lookup workload from cold, and the hit's speedup over the database."""
    built = _library(ctx)
    lib, size = built.lib, ctx.sizes(SIZES)
    cache_name, kind = ENTITY_CHECKS[check_id]
    rng = np.random.default_rng(600 + int(check_id[-2:]))
    ops = entity_ops(built.model, rng, kind, size["entity_replay"], lib.repo)
    lib.caches.clear()
    before = lib.caches.stats()
    replay(lib.cached, ops)
    replayed = cache_stats_delta(before, lib.caches.stats())[cache_name]
    hot = distinct(ops)[:size["hot_calls"]]
    comparison, details = cached_against_uncached(lib, hot)
    return record(ctx, check_id, comparison.speedup, samples=comparison.speedups, kind="ratio",
                  violations=equality_violations(comparison), details={
                      **library_details(ctx, built), "cache": cache_name, "method": ops[0][0],
                      "lookups": len(ops), "distinct_lookups": len(distinct(ops)),
                      "hit_rate": 100.0 * replayed["hit_rate"] if replayed["hit_rate"] is not None else None,
                      "cache_stats": replayed, **details})


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


def cache19_selective(ctx: SuiteContext) -> CheckResult:
    """Edit one track; the share of cached entries unrelated to it that are still cached afterwards."""
    built = _library(ctx, role="mutable")
    rng = np.random.default_rng(1900)
    results = []
    for i in range(ctx.sizes(SIZES)["selective_edits"]):
        outcome = selective_survival(built.lib, built.model, rng, SELECTIVE_EDITS[i % len(SELECTIVE_EDITS)])
        if outcome is not None:
            results.append(outcome)
    kept = sum(r.unrelated_kept for r in results)
    cached = sum(r.unrelated_cached for r in results)
    value = 100.0 * kept / cached if cached else None
    stale = sum(r.stale for r in results)
    violations = [f"{stale} unrelated reads were stale"] if stale else []
    by_method: dict[str, list[int]] = {}
    for r in results:
        for method, (k, c) in r.kept_by_method.items():
            row = by_method.setdefault(method, [0, 0])
            row[0] += k
            row[1] += c
    return record(ctx, "CACHE-19", value, samples=[r.kept_percent for r in results], kind="ratio",
                  violations=violations, details={
                      **library_details(ctx, built), "edits": [
                          {"edit": r.edit, "unrelated_cached": r.unrelated_cached,
                           "unrelated_kept": r.unrelated_kept, "kept_percent": r.kept_percent,
                           "possibly_related_cached": r.possibly_related_cached,
                           "possibly_related_kept": r.possibly_related_kept,
                           "dropped_examples": r.dropped_examples} for r in results],
                      "kept_by_method": {m: {"kept": k, "cached": c, "percent": 100.0 * k / c if c else None}
                                         for m, (k, c) in by_method.items()},
                      "unrelated": "reads of other artists' tracks, albums, album track lists, album lists, "
                                   "artist records, artist listings, and playlists without the track"})


def cache20_cascade(ctx: SuiteContext) -> CheckResult:
    """Cache everything about an artist, delete the artist, count stale reads (albums, tracks, credits,
    playlists, listings, searches, aggregations)."""
    built = _library(ctx, role="mutable")
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
