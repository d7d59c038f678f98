"""Benchmark of the reference engine's library: `python -m auralis_perf.bench library [--tracks N]`.

Builds a synthetic library of N tracks (default 100,000) in a temporary folder and prints the figures of
the library's speed targets, each a median of warm repeated runs through the repository API (the
timing helper calibrates inner loops for sub-millisecond calls). On a shared machine the figures are
indicative; the catalogue's DB-* and CACHE-* checks are the measured record.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auralis_perf.engines.reference.library import Cursor, Library, open_library
from auralis_perf.measure.timing import measure_time

PAGE = 50
MS, US = 1e3, 1e6


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""


def _median_ms(fn: Callable[[], Any], *, repeat: int = 7) -> float:
    return measure_time(fn, warmup=1, repeat=repeat, min_time=0.2, max_time=3.0).median * MS


def _cycle(items: list[Any], call: Callable[[Any], Any]) -> Callable[[], Any]:
    """A no-argument call that walks `items` round-robin, so repeated timings do not hit one row."""
    state = {"i": 0}

    def step() -> Any:
        state["i"] = (state["i"] + 1) % len(items)
        return call(items[state["i"]])
    return step


def _below(name: str, value: float, unit: str, bound: float, note: str = "") -> Figure:
    return Figure(name, value, unit, f"< {bound:g} {unit}", value < bound, note)


def import_figures(folder: Path, n_tracks: int, seed: int, row_by_row: int) -> tuple[Library, list[Figure]]:
    lib = open_library(folder / "library.db", query_cache_entries=10_000, query_cache_bytes=64 * 2**20)
    start = time.perf_counter()
    items = lib.generate(n_tracks, seed=seed)
    generated = time.perf_counter() - start
    bulk = lib.import_tracks(items)
    rows = min(row_by_row, n_tracks)
    with open_library(folder / "row-by-row.db") as other:
        slow = other.import_tracks_row_by_row(items[:rows])
    bulk_rate, slow_rate = bulk.tracks / bulk.seconds, slow.tracks / slow.seconds
    figures = [
        Figure(f"generate {n_tracks:,} tracks", generated, "s"),
        _below(f"bulk import of {n_tracks:,} tracks", bulk.seconds, "s", 10.0 * n_tracks / 100_000),
        Figure("bulk import rate", bulk_rate, "tracks/s"),
        Figure(f"row-by-row import rate ({rows:,} tracks, ORM, commit each)", slow_rate, "tracks/s"),
        Figure("bulk / row-by-row speedup", bulk_rate / slow_rate, "x", "> 10 x", bulk_rate / slow_rate > 10),
        Figure("database file size", lib.file_bytes() / 2**20, "MiB",
               note=f"{lib.file_bytes() / n_tracks:,.0f} bytes per track"),
    ]
    return lib, figures


def query_figures(lib: Library, n_tracks: int, seed: int) -> list[Figure]:
    repo = lib.repo
    rng = random.Random(seed)
    ids = [rng.randrange(1, n_tracks + 1) for _ in range(500)]
    paths = [t.path for t in repo.get_tracks(ids[:200])]
    words = [t.title.split()[0] for t in repo.get_tracks(ids[200:400])]
    common = max(repo.count_by_genre(), key=lambda g: g.tracks).key
    figures = [
        _below("get a track by id (with album, artist)", _median_ms(_cycle(ids, repo.get_track)), "ms", 0.5),
        Figure("get a track by path", _median_ms(_cycle(paths, repo.get_track_by_path)), "ms", "< 10 ms"),
        _below("full-text search, top 50 with album and artist", _median_ms(_cycle(words, repo.search)), "ms", 5.0,
               "words taken from random tracks' titles"),
        Figure("full-text search of the most common title word ('love')",
               _median_ms(lambda: repo.search("love")), "ms", note=f"{len(repo.search('love', limit=10**6)):,} matches"),
    ]
    keyset = {}
    for depth in (0.1, 0.5, 0.9):
        cursor = repo.cursor_at(int(n_tracks * depth), sort="title")
        keyset[depth] = _median_ms(lambda c=cursor: repo.list_tracks(sort="title", limit=PAGE, after=c))
    figures.append(_below("keyset page of 50 with album, artist (10/50/90 % deep: worst)", max(keyset.values()),
                          "ms", 2.0, " / ".join(f"{v:.3f}" for v in keyset.values())))
    deep = int(n_tracks * 0.9)
    figures.append(Figure("OFFSET page of 50 at 90 % depth (comparison)",
                          _median_ms(lambda: repo.list_tracks(sort="title", limit=PAGE, offset=deep), repeat=3), "ms"))
    artist_pages = [t.artist_id for t in repo.get_tracks(ids[:100])]
    figures.append(Figure("page of 50 filtered by artist, by title",
                          _median_ms(_cycle(artist_pages, lambda a: repo.list_tracks(artist_id=a, limit=PAGE))),
                          "ms", "< 50 ms"))
    figures.append(Figure(f"page of 50 of genre {common!r}, by title",
                          _median_ms(lambda: repo.list_tracks(genre=common, limit=PAGE)), "ms"))
    figures.append(_below("aggregation by genre", _median_ms(repo.count_by_genre), "ms", 20.0))
    figures.append(_below("aggregation by year", _median_ms(repo.count_by_year), "ms", 20.0))
    for load in ("joined", "selectin", "lazy"):
        with lib.statements.count() as block:
            repo.list_tracks(sort="title", limit=500, load=load)
        time_ms = _median_ms(lambda l=load: repo.list_tracks(sort="title", limit=500, load=l),
                             repeat=3 if load == "lazy" else 7)
        if load == "lazy":
            figures.append(Figure("500 tracks, plain ORM lazy loading (N+1, comparison)", time_ms, "ms",
                                  note=f"{block.count} statements"))
        elif load == "joined":
            figures.append(Figure("500 tracks with relations (the repository's listing)", time_ms, "ms",
                                  "<= 3 statements, < 15 ms", block.count <= 3 and time_ms < 15.0,
                                  f"{block.count} statement(s)"))
        else:
            figures.append(Figure("500 tracks, ORM selectin loading (comparison)", time_ms, "ms",
                                  note=f"{block.count} statements"))
    return figures


def cache_figures(lib: Library, n_tracks: int, seed: int, fill: int) -> list[Figure]:
    cached, repo = lib.cached, lib.repo
    lib.caches.clear()
    cached.list_tracks(sort="title", limit=PAGE)
    cached.get_track(1)
    query = lib.caches.query
    key = query.make_key("probe", {"sort": "title", "limit": PAGE})
    query.put(key, (1, 2, 3), ["tracks:membership"])
    uncached = _median_ms(lambda: repo.list_tracks(sort="title", limit=PAGE)) / MS
    hit_raw = measure_time(lambda: query.get(key), repeat=7).median
    hit_page = measure_time(lambda: cached.list_tracks(sort="title", limit=PAGE), repeat=7).median
    hit_track = measure_time(lambda: cached.get_track(1), repeat=7).median
    figures = [
        _below("query-cache hit (lookup of a cached key)", hit_raw * US, "us", 20.0),
        Figure("cached page of 50 (hit: ids from the query cache, records from the tracks cache)",
               hit_page * US, "us", note=f"{uncached / hit_page:.0f}x faster than the query"),
        Figure("cached get_track (hit)", hit_track * US, "us",
               note=f"{repo_get_ms(lib) / (hit_track * MS):.0f}x faster than the query"),
    ]
    # fill the query cache with `fill` (10,000) distinct queries of a browsing workload (keyset pages from
    # random positions in three orders, genre pages, counts, title prefixes); measure its memory
    rng = random.Random(seed)
    lib.caches.clear()
    genres = repo.genres()
    starts = repo.get_tracks([rng.randrange(1, n_tracks + 1) for _ in range(4000)])
    sort_key = {"title": lambda t: t.title, "artist": lambda t: t.artist.name, "added": lambda t: t.added_at}
    gc.collect()
    tracemalloc.start()
    attempts = 0
    while len(query) < fill and attempts < 4 * fill:
        attempts += 1
        kind = rng.random()
        if kind < 0.8:
            start, sort = rng.choice(starts), rng.choice(("title", "artist", "added"))
            cached.list_tracks(sort=sort, limit=PAGE, after=Cursor(sort, False, sort_key[sort](start), start.id))
        elif kind < 0.9:
            cached.list_tracks(genre=rng.choice(genres), limit=PAGE, offset=PAGE * rng.randrange(0, 20))
        elif kind < 0.95:
            cached.count_tracks(year_from=rng.randrange(1960, 2024), year_to=rng.randrange(1960, 2025))
        else:
            cached.find_by_title(rng.choice("ABCDEFGHIJKLMNOPRSTUVW") + rng.choice("aeiouy"))
    entries, accounted = len(query), query.bytes
    gc.collect()
    full = tracemalloc.get_traced_memory()[0]
    query.clear()
    gc.collect()
    traced = full - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    figures.append(_below(f"query cache at {entries:,} entries (tracemalloc)", traced / 2**20, "MiB", 10.0,
                          f"its own books: {accounted / 2**20:.2f} MiB"))
    return figures


def repo_get_ms(lib: Library) -> float:
    return _median_ms(lambda: lib.repo.get_track(1))


def pool_figures(lib: Library, n_tracks: int) -> list[Figure]:
    lib.pool.reset()
    errors: list[BaseException] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                lib.repo.get_track(rng.randrange(1, n_tracks + 1))
                lib.repo.list_tracks(limit=20, offset=rng.randrange(0, 1000))
        except BaseException as exc:  # noqa: BLE001 - reported in the figure
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    stats = lib.pool.stats()
    return [Figure("pool: 8 readers x 600 queries", 8 * 600 / elapsed, "queries/s",
                   "no leak", stats["checked_out"] == 0 and not errors,
                   f"checkouts {stats['checkouts']}, peak {stats['peak_checked_out']} (overflow "
                   f"{stats['peak_overflow']}), waits {stats['waits']}, open {stats['connections_open']}")]


def plan_figures(lib: Library) -> list[Figure]:
    plans = lib.explain_repository()
    scans = sorted(name for name, found in plans.items() if any("tracks" in p.full_scans for p in found))
    return [Figure("repository queries with a full scan of tracks", len(scans), "queries", "= 0", not scans,
                   f"{len(plans)} queries explained" + (f": {', '.join(scans)}" if scans else ""))]


def render(figures: list[Figure], n_tracks: int) -> str:
    width = max(len(f.name) for f in figures)
    lines = [f"auralis-perf library benchmark: {n_tracks:,} tracks, medians of warm runs (indicative)", ""]
    for f in figures:
        verdict = "" if f.met is None else ("ok  " if f.met else "MISS")
        value = f"{f.value:,.3f}" if f.value < 100 else f"{f.value:,.0f}"
        lines.append(f"{f.name:<{width}}  {value:>12} {f.unit:<9} {verdict:<4} {f.target:<18} {f.note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auralis_perf.bench library", description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000, help="library size (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--row-by-row", type=int, default=2000, help="tracks for the row-by-row import (default 2000)")
    parser.add_argument("--cache-entries", type=int, default=10_000,
                        help="distinct queries filled into the query cache for its memory figure (default 10000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.tracks < 1000:
        parser.error("--tracks must be at least 1000")
    if args.row_by_row < 1 or args.cache_entries < 1:
        parser.error("--row-by-row and --cache-entries must be positive")
    with tempfile.TemporaryDirectory(prefix="auralis-library-bench-") as folder:
        lib, figures = import_figures(Path(folder), args.tracks, args.seed, args.row_by_row)
        try:
            figures += query_figures(lib, args.tracks, args.seed)
            figures += cache_figures(lib, args.tracks, args.seed, args.cache_entries)
            figures += pool_figures(lib, args.tracks)
            figures += plan_figures(lib)
        finally:
            lib.close()
    print(render(figures, args.tracks))
    if args.json:
        args.json.write_text(json.dumps({"tracks": args.tracks, "figures": [asdict(f) for f in figures]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
