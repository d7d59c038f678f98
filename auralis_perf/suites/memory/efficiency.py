"""Memory efficiency (MEM-16..MEM-20): bytes per library track, hit rate against cache size, buffer-pool
reuse, lazy against eager loading, and fragmentation.
"""
from __future__ import annotations

import random
import statistics
import tracemalloc
from collections import OrderedDict
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, NotSupported
from auralis_perf.engines.protocols.library import LibraryFeature
from auralis_perf.measure.memory import MB, collect_garbage, peak_rss_during, rss_mb, traced_allocations
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.workload import (
    decode,
    library_cache,
    library_file_bytes,
    music,
    music_file,
    open_library,
    warm_engine,
)

SIZES = {
    "smoke": {"library_tracks": 1000, "loaded_tracks": 300, "zipf_requests": 2000, "zipf_seeds": 2,
              "stream_s": 5.0, "lazy_s": 10.0, "fragment_cycles": 16, "fragment_max_s": 2.0},
    "standard": {"library_tracks": 5000, "loaded_tracks": 2000, "zipf_requests": 6000, "zipf_seeds": 2,
                 "stream_s": 30.0, "lazy_s": 60.0, "fragment_cycles": 200, "fragment_max_s": 4.0},
    "full": {"library_tracks": 10000, "loaded_tracks": 5000, "zipf_requests": 100000, "zipf_seeds": 5,
             "stream_s": 120.0, "lazy_s": 600.0, "fragment_cycles": 1000, "fragment_max_s": 4.0},
}
ZIPF_EXPONENT = 1.1
CACHE_FRACTIONS = {"smoke": (0.01, 0.05, 0.1, 0.3), "standard": (0.005, 0.02, 0.05, 0.1, 0.25, 0.5),
                   "full": (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5)}
POOL_WARM_CHUNKS = 4
REFERENCE_FRACTION = 0.1  # the value of MEM-17: hit rate with a cache of a tenth of the library


def mem16_per_track(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.LIBRARY)
    size = ctx.sizes(SIZES)
    lib, _ids = open_library(ctx, size["library_tracks"])
    try:
        n = size["loaded_tracks"]
        per_track = []
        for _ in range(3):
            collect_garbage(trim=False)
            page, traced = traced_allocations(lambda: lib.repo.list_tracks(sort="title", limit=n))
            loaded = len(page.items)
            del page
            per_track.append(traced.net_bytes / loaded / 1024)
        db_bytes = library_file_bytes(lib)
        tracks = lib.repo.count_tracks()
    finally:
        lib.close()
    return record(ctx, "MEM-16", statistics.median(per_track), samples=per_track, kind="traced", details={
        "what": "Python allocations still alive after loading N tracks with album and artist as objects "
                "(tracemalloc), per track; and the database file's bytes per track",
        "tracks_loaded": loaded, "library_tracks": tracks,
        "db_bytes_per_track": db_bytes / tracks if db_bytes is not None else None,
        "db_file_mb": db_bytes / MB if db_bytes is not None else None})


def zipf_requests(n_items: int, n_requests: int, seed: int, exponent: float = ZIPF_EXPONENT) -> list[int]:
    """Item ids 1..n_items drawn with Zipf-like popularity (rank r has weight 1/r^s), ranks shuffled."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** exponent
    ranks = rng.choice(n_items, size=n_requests, p=weights / weights.sum())
    ids = rng.permutation(n_items) + 1  # popularity is not tied to id order
    return ids[ranks].tolist()


def lru_hit_rate(requests: list[int], capacity: int) -> float:
    """Hit rate of an ideal LRU cache of `capacity` entries on the request stream (the expectation)."""
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for key in requests:
        if key in cache:
            hits += 1
            cache.move_to_end(key)
        else:
            cache[key] = None
            if len(cache) > capacity:
                cache.popitem(last=False)
    return hits / len(requests)


#: MEM-17 on a library whose caches serve no get_track (Auralis: one query cache): the items requested are
#: pages of this many tracks of the title listing, through the cache that serves list_tracks.
PAGE_ITEMS = 10


def _cached_read(ctx: SuiteContext, n_tracks: int) -> tuple[str, int]:
    """What MEM-17 requests: ("get_track", tracks) through a track cache, else ("list_tracks", pages) through
    the cache that serves listings; NotSupported (named) when no cache serves either."""
    lib, ids = open_library(ctx, n_tracks)
    try:
        if lib.caches.cache_for("get_track") is not None:
            return "get_track", len(ids)
        library_cache(lib, "list_tracks")
        return "list_tracks", max(1, len(ids) // PAGE_ITEMS)
    finally:
        lib.close()


def _replay(ctx: SuiteContext, n_tracks: int, read: str, capacity: int, requests: list[int]) -> dict[str, Any]:
    lib, ids = open_library(ctx, n_tracks, cache_entries=capacity, cache_bytes=512 * MB)
    try:
        cache = library_cache(lib, read)
        cache.clear()
        before = dict(cache.stats())
        for request in requests:  # request r is the r-th generated track (or the r-th page)
            if read == "get_track":
                lib.cached.get_track(ids[request - 1])
            else:
                lib.cached.list_tracks(sort="title", limit=PAGE_ITEMS, offset=(request - 1) * PAGE_ITEMS)
        stats = dict(cache.stats())
    finally:
        lib.close()
    hits, misses, evictions = (stats[k] - before[k] for k in ("hits", "misses", "evictions"))
    lookups = hits + misses
    return {"capacity": capacity, "hit_rate": 100.0 * hits / lookups if lookups else 0.0,
            "bytes": stats.get("bytes"), "entries": stats.get("entries"), "evictions": evictions,
            "lookups": lookups}


def mem17_hit_rate_curve(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.LIBRARY)
    size = ctx.sizes(SIZES)
    read, n = _cached_read(ctx, size["library_tracks"])
    requests = zipf_requests(n, size["zipf_requests"], seed=0)
    curve = []
    for fraction in ctx.sizes(CACHE_FRACTIONS):
        capacity = max(1, int(n * fraction))
        point = _replay(ctx, size["library_tracks"], read, capacity, requests)
        point["fraction"] = fraction
        point["ideal_lru_hit_rate"] = 100.0 * lru_hit_rate(requests, capacity)
        curve.append(point)
    reference = max(1, int(n * REFERENCE_FRACTION))
    samples = [next(p["hit_rate"] for p in curve if p["fraction"] == REFERENCE_FRACTION)]
    for seed in range(1, size["zipf_seeds"]):
        samples.append(_replay(ctx, size["library_tracks"], read, reference,
                               zipf_requests(n, size["zipf_requests"], seed=seed))["hit_rate"])
    violations = [f"hit rate {p['hit_rate']:.1f} % at {p['capacity']} entries is below an ideal LRU's "
                  f"{p['ideal_lru_hit_rate']:.1f} % on the same requests"
                  for p in curve if p["hit_rate"] < p["ideal_lru_hit_rate"] - 1.0]
    item = "track (get_track)" if read == "get_track" else f"page of {PAGE_ITEMS} tracks of the title listing"
    return record(ctx, "MEM-17", samples[0], samples=samples, kind="ratio", violations=violations, details={
        "what": f"hit rate of the library's cache serving {read} (through the cached repository) at several "
                f"sizes, for requests of a {item} with Zipf-like popularity (exponent {ZIPF_EXPONENT}); the "
                f"value is the hit rate with a cache of {REFERENCE_FRACTION:.0%} of the items; samples: other "
                "request seeds",
        "read": read, "items": n,
        "curve": curve, "library_tracks": size["library_tracks"], "requests": len(requests),
        "zipf_exponent": ZIPF_EXPONENT})


def mem18_pool_reuse(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.BUFFER_POOL)
    size = ctx.sizes(SIZES)
    audio, sr = music(ctx, size["stream_s"], seed=18)
    warm_engine(ctx)
    rates, snapshots = [], []
    for chunk_size in (1024, 4096, 16384):
        with ctx.engine.stream(audio, sample_rate=sr, chunk_size=chunk_size) as stream:
            chunks = 0
            warm: dict[str, int] = {}
            for _ in stream:
                chunks += 1
                if chunks == POOL_WARM_CHUNKS:  # the pool's first fills are done by now
                    warm = dict(stream.pool_stats())
            final = dict(stream.pool_stats())
        if not warm:
            raise RuntimeError(f"{chunks} chunks of {chunk_size} frames: too short to pass the warm-up")
        steady = {k: final[k] - warm[k] for k in ("allocations", "reuses")}
        rate = _reuse_percent(steady)
        rates.append(rate)
        snapshots.append({"chunk_size": chunk_size, "chunks": chunks, "steady_reuse_percent": rate,
                          "steady": steady, "whole_stream_reuse_percent": _reuse_percent(final), "whole_stream": final})
    return record(ctx, "MEM-18", min(rates), samples=rates, kind="ratio", details={
        "what": f"buffer-pool reuses over all buffer requests while streaming, after the first {POOL_WARM_CHUNKS} "
                "chunks (the pool's initial fills), per chunk size; the value is the lowest; the whole stream's "
                "figure, first fills included, is beside it", "by_chunk_size": snapshots,
        "stream_seconds": size["stream_s"]})


def _reuse_percent(stats: dict[str, int]) -> float:
    total = stats["allocations"] + stats["reuses"]
    return 100.0 * stats["reuses"] / total if total else 0.0


def mem19_lazy_loading(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    path = music_file(ctx, size["lazy_s"], seed=19)
    warm_engine(ctx)

    def eager() -> int:
        audio, sr = decode(ctx, path)
        return len(ctx.engine.master(audio, sr))

    def lazy() -> int:
        with ctx.engine.stream(path, chunk_size=4096) as stream:
            return sum(len(chunk) for chunk in stream)

    rows = {}
    for name, fn in (("eager: decode whole file, master in memory", eager),
                     ("lazy: stream the file chunk by chunk", lazy)):
        deltas = []
        for _ in range(2):
            collect_garbage()
            frames, peak = peak_rss_during(fn, interval=0.01)
            deltas.append(peak.delta_mb)
        rows[name] = {"peak_delta_mb": min(deltas), "samples_mb": deltas, "frames": frames}
    eager_mb, lazy_mb = (r["peak_delta_mb"] for r in rows.values())
    ratio = eager_mb / max(lazy_mb, 0.5)  # half a MB floor: a lazy peak near zero is at the noise
    related = _related_rows(ctx, size) if ctx.engine.has(Capability.LIBRARY) else None
    return record(ctx, "MEM-19", ratio, samples=[r["peak_delta_mb"] for r in rows.values()], kind="peak_rss",
                  details={"what": "peak RSS added by processing one file eagerly (decoded whole) over the peak "
                                   "added by streaming it lazily; higher means lazy loading saves more",
                           "audio": rows, "file_mb": path.stat().st_size / MB, "file_seconds": size["lazy_s"],
                           "library_rows": related})


def _related_rows(ctx: SuiteContext, size: dict[str, Any]) -> dict[str, Any]:
    """Traced memory of a page of tracks with relations loaded eagerly against lazily (the library's
    load strategies, where it has them)."""
    lib, _ids = open_library(ctx, size["library_tracks"])
    try:
        rows: dict[str, Any] = {}
        loads = ("joined", "selectin", "lazy") if LibraryFeature.LOAD_STRATEGIES in lib.features else (None,)
        for load in loads:
            collect_garbage(trim=False)
            options = {} if load is None else {"load": load}
            try:
                _, traced = traced_allocations(lambda: lib.repo.list_tracks(sort="title", limit=200, **options))
            except NotSupported as exc:
                rows[str(load)] = {"not_supported": str(exc)}
                continue
            rows[load or "usual"] = {"traced_peak_kb": traced.peak_bytes / 1024}
        return rows
    finally:
        lib.close()


def mem20_fragmentation(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    rng = random.Random(20)
    lengths = [rng.uniform(0.2, size["fragment_max_s"]) for _ in range(size["fragment_cycles"])]
    source, sr = music(ctx, size["fragment_max_s"] + 1.0, seed=20)
    # excerpts of one signal at random offsets and lengths: allocations of every size, one render
    clips = [source[int(o * sr): int(o * sr) + int(n * sr)] for o, n in
             ((rng.uniform(0.0, 1.0), n) for n in lengths)]
    warm_engine(ctx)
    collect_garbage()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        traced_before, _ = tracemalloc.get_traced_memory()
        rss_before = rss_mb()
        keep: list[np.ndarray] = []
        growth = []
        for i, clip in enumerate(clips):
            out = ctx.engine.master(clip, sr)
            if i % 7 == 0:  # a few small results outlive their neighbours, as in a real session
                keep.append(out[:64].copy())
            del out
            if (i + 1) % max(1, len(clips) // 10) == 0:
                collect_garbage(trim=False)
                traced_now, _ = tracemalloc.get_traced_memory()
                growth.append((rss_mb() - rss_before) - (traced_now - traced_before) / MB)
        collect_garbage(trim=False)
        traced_after, _ = tracemalloc.get_traced_memory()
        rss_after = rss_mb()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    unexplained = (rss_after - rss_before) - (traced_after - traced_before) / MB
    collect_garbage(trim=True)
    trimmed = rss_mb() - rss_before
    return record(ctx, "MEM-20", unexplained, samples=growth or [unexplained], kind="rss", details={
        "what": f"RSS growth over many mastering calls of random lengths (0.2-{size['fragment_max_s']:g} s) minus "
                "the growth of live "
                "Python allocations (tracemalloc), after garbage collection but without returning free "
                "heap to the OS: memory the allocator holds but nobody uses",
        "rss_growth_mb": rss_after - rss_before, "traced_growth_mb": (traced_after - traced_before) / MB,
        "rss_growth_after_malloc_trim_mb": trimmed, "cycles": len(lengths), "kept_small_results": len(keep)})


CHECKS = [("MEM-16", mem16_per_track), ("MEM-17", mem17_hit_rate_curve), ("MEM-18", mem18_pool_reuse),
          ("MEM-19", mem19_lazy_loading), ("MEM-20", mem20_fragmentation)]
