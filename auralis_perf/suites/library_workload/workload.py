"""Libraries and access patterns for the cache and database scenarios.

Libraries are built with the engine's deterministic generator (bulk import) at the profile's size, once
per run, and kept in `ctx.shared`, so that every group of one run measures the same library:

    built = shared_library(ctx, main_size(ctx))         # read-mostly: timings, hit rates, plans
    built = shared_library(ctx, n, role="mutable")      # the correctness scenarios write into this one
    ops = query_ops(built.model, rng, 2000)              # a skewed mix of (method, kwargs) calls
    replay(built.lib.cached, ops)

Every library is opened through `open_library(ctx, path)`, which honours a factory placed in
`ctx.shared[LIBRARY_FACTORY]` (a callable `(engine, path) -> library`). Tests use it to inject a broken
cache and prove that a correctness check can fail.

The access model replays what a player's user does, not uniform random ids: artists are chosen by a
Zipf law over their rank (most tracks first), tracks by a second Zipf law within the artist, listing pages
mostly the first ones (geometric depth), searches from a ranked vocabulary of the popular artists' words,
so the same few queries come back again and again, as they do in a real session.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.compare import PathComparison, compare_paths

#: ctx.shared key of an optional library factory `(engine, path) -> library` (tests inject doubles).
LIBRARY_FACTORY = "library.factory"
_BUILT = "library.built"

#: A call on a repository: (method name, keyword arguments).
Op = tuple[str, dict[str, Any]]

PAGE = 50
ZIPF_ARTISTS = 1.1      # artist popularity: weight 1 / rank^s
ZIPF_TRACKS = 0.9       # track popularity within an artist
ZIPF_WORDS = 1.1        # search terms (people repeat the same few searches)
PAGE_DEPTH_P = 0.55     # P(page k) ~ (1 - p)^k: most views are of the first pages
TOP_ARTISTS = 300       # the artists the model knows by id (the long tail beyond is rarely visited)

#: The reads that the query and search caches serve, and the ones the entity caches serve.
QUERY_READS = ("list_tracks", "count_tracks", "count_by_genre", "count_by_year", "genres",
               "find_by_title", "search", "list_playlists")
ENTITY_READS = ("get_track", "get_track_by_path", "get_tracks", "album_tracks", "get_album",
                "artist_albums", "get_artist", "get_playlist")

#: The query mix of a browsing session, by kind: weight.
QUERY_MIX = {"page": 0.25, "artist_page": 0.15, "genre_page": 0.10, "favorites": 0.05, "count": 0.05,
             "by_genre": 0.03, "by_year": 0.02, "genres": 0.02, "search": 0.23, "title_prefix": 0.10}


def main_size(ctx: SuiteContext) -> int:
    """Tracks in the library the cache and database checks measure at this profile."""
    return ctx.sizes({"smoke": 2_000, "standard": 10_000, "full": 100_000})


def scaling_sizes(ctx: SuiteContext) -> tuple[int, int, int]:
    """The sizes of DB-11, DB-12 and DB-13 (the catalogue's 10k, 50k and 100k; smaller at smoke)."""
    return ctx.sizes({"smoke": (500, 1_000, 2_000), "standard": (10_000, 50_000, 100_000),
                      "full": (10_000, 50_000, 100_000)})


def open_library(ctx: SuiteContext, path: Path) -> Any:
    """The engine's library at `path`, through the factory in ctx.shared when a test placed one."""
    factory = ctx.shared.get(LIBRARY_FACTORY)
    return factory(ctx.engine, path) if factory is not None else ctx.engine.open_library(path)


def remove_library_files(path: Path) -> None:
    """Delete a library file of an earlier run with its WAL and shared-memory companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------ the access model

@dataclass
class ArtistEntry:
    id: int
    name: str
    track_ids: list[int]
    album_ids: list[int]


@dataclass
class AccessModel:
    """What the workload knows about a library: ranked artists, genres, words, playlists."""

    n_tracks: int
    artists: list[ArtistEntry]             # most tracks first
    genres: list[str]                      # most tracks first
    years: list[int]
    added_range: tuple[float, float]
    words: list[str]                       # search terms, most popular first
    prefixes: list[str]                    # title prefixes, most popular first
    playlists: list[int] = field(default_factory=list)   # most played first
    _paths: dict[int, str] = field(default_factory=dict, repr=False)

    def artist(self, rng: np.random.Generator) -> ArtistEntry:
        return self.artists[zipf_index(rng, len(self.artists), ZIPF_ARTISTS)]

    def track_id(self, rng: np.random.Generator, artist: ArtistEntry | None = None) -> int:
        artist = artist or self.artist(rng)
        return artist.track_ids[zipf_index(rng, len(artist.track_ids), ZIPF_TRACKS)]

    def album_id(self, rng: np.random.Generator) -> int:
        artist = self.artist(rng)
        return artist.album_ids[zipf_index(rng, len(artist.album_ids), ZIPF_TRACKS)]

    def genre(self, rng: np.random.Generator) -> str:
        return self.genres[zipf_index(rng, len(self.genres), 1.0)]

    def word(self, rng: np.random.Generator) -> str:
        return self.words[zipf_index(rng, len(self.words), ZIPF_WORDS)]

    def prefix(self, rng: np.random.Generator) -> str:
        return self.prefixes[zipf_index(rng, len(self.prefixes), ZIPF_WORDS)]

    def playlist(self, rng: np.random.Generator) -> int:
        return self.playlists[zipf_index(rng, len(self.playlists), 1.0)]

    def page_offset(self, rng: np.random.Generator, total: int | None = None) -> int:
        total = self.n_tracks if total is None else total
        depth = int(rng.geometric(PAGE_DEPTH_P)) - 1
        return min(depth * PAGE, max(0, total - PAGE))

    def path_of(self, repo: Any, track_id: int) -> str:
        """A track's file path (looked up once, then remembered)."""
        if track_id not in self._paths:
            track = repo.get_track(track_id)
            if track is None:
                raise LookupError(f"track {track_id} of the access model is missing from the library")
            self._paths[track_id] = track.path
        return self._paths[track_id]


def zipf_index(rng: np.random.Generator, n: int, s: float) -> int:
    """An index in [0, n) drawn with weight 1 / (index + 1)^s (index 0 the most popular)."""
    if n <= 0:
        raise ValueError("cannot draw from an empty ranking")
    weights = _zipf_weights(n, s)
    return int(np.searchsorted(weights, rng.random() * weights[-1], side="right").clip(0, n - 1))


_WEIGHTS: dict[tuple[int, float], np.ndarray] = {}


def _zipf_weights(n: int, s: float) -> np.ndarray:
    """Cumulative Zipf weights, computed once per (n, s)."""
    key = (n, s)
    if key not in _WEIGHTS:
        _WEIGHTS[key] = np.cumsum(1.0 / np.arange(1, n + 1, dtype=np.float64) ** s)
    return _WEIGHTS[key]


_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def build_model(lib: Any, generated: Sequence[Any], first_id: int) -> AccessModel:
    """The access model of a freshly imported library (`generated` in import order from `first_id`)."""
    repo = lib.repo
    _check_contiguous_ids(repo, generated, first_id)
    by_artist: dict[str, list[int]] = {}
    for index, new in enumerate(generated):
        by_artist.setdefault(new.artist, []).append(first_id + index)
    ranked = sorted(by_artist.items(), key=lambda item: (-len(item[1]), item[1][0]))[:TOP_ARTISTS]
    artists: list[ArtistEntry] = []
    word_weight: Counter[str] = Counter()
    prefix_weight: Counter[str] = Counter()
    for rank, (name, track_ids) in enumerate(ranked):
        first = repo.get_track(track_ids[0])
        albums = [a.id for a in repo.artist_albums(first.artist_id)] or [first.album_id]
        artists.append(ArtistEntry(first.artist_id, name, track_ids, [a for a in albums if a is not None]))
        weight = 1.0 / (rank + 1) ** ZIPF_ARTISTS
        for position, track_id in enumerate(track_ids[:40]):
            new = generated[track_id - first_id]
            w = weight / (position + 1) ** ZIPF_TRACKS
            for text in (new.title, new.album or "", new.artist):
                for word in _WORD.findall(text):
                    word_weight[word.lower()] += w
            prefix = new.title[:3].lower()
            if len(prefix) == 3:
                prefix_weight[prefix] += w
    artists = [a for a in artists if a.album_ids]
    genre_stats = sorted(repo.count_by_genre(), key=lambda g: -g.tracks)
    years = sorted(int(y.key) for y in repo.count_by_year() if y.key is not None)
    added = [new.added_at for new in generated if new.added_at is not None]
    return AccessModel(
        n_tracks=len(generated), artists=artists, genres=[g.key for g in genre_stats if g.key is not None],
        years=years, added_range=(min(added), max(added)) if added else (0.0, time.time()),
        words=[w for w, _ in word_weight.most_common(300)], prefixes=[p for p, _ in prefix_weight.most_common(200)])


def _check_contiguous_ids(repo: Any, generated: Sequence[Any], first_id: int) -> None:
    """The model addresses tracks by import position: make sure ids follow the import order."""
    n = len(generated)
    for index in sorted({0, n // 3, n // 2, n - 1}):
        track = repo.get_track(first_id + index)
        if track is None or track.path != generated[index].path:
            raise RuntimeError(f"the library did not give imported tracks contiguous ids in import order "
                               f"(track {first_id + index} is not {generated[index].path!r}); the "
                               "workload model needs that to address tracks")


# ------------------------------------------------------------------------------------------ libraries

@dataclass
class BuiltLibrary:
    """A library built for this run, with its access model and what building it cost."""

    lib: Any
    path: Path
    n_tracks: int
    model: AccessModel
    build: dict[str, Any]


def shared_library(ctx: SuiteContext, n_tracks: int, *, role: str = "read") -> BuiltLibrary:
    """The run's library of `n_tracks` for `role` ("read": never written; "mutable": correctness
    scenarios write into it), built on first use and reused by every later group of the run."""
    built: dict[tuple[str, int], BuiltLibrary] = ctx.shared.setdefault(_BUILT, {})
    key = (role, n_tracks)
    if key not in built:
        built[key] = build_library(ctx, ctx.workdir / "library" / f"{role}-{n_tracks}.db", n_tracks)
    return built[key]


def build_library(ctx: SuiteContext, path: Path, n_tracks: int, *, seed: int = 0) -> BuiltLibrary:
    """A new library at `path` (an older file there is replaced) with generated tracks and playlists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_library_files(path)
    lib = open_library(ctx, path)
    try:
        started = time.perf_counter()
        generated = lib.generate(n_tracks, seed=seed)
        generate_s = time.perf_counter() - started
        report = lib.import_tracks(generated)
        first_id = report.track_ids[0] if report.track_ids else 1
        model = build_model(lib, generated, first_id)
        model.playlists = create_playlists(lib, model, count=max(8, min(100, n_tracks // 1000)), seed=seed)
    except BaseException:
        lib.close()
        raise
    build = {"tracks": report.tracks, "artists": report.artists, "albums": report.albums,
             "import_s": report.seconds, "generate_s": generate_s, "method": report.method,
             "rows_per_s": report.tracks / report.seconds if report.seconds > 0 else None,
             "playlists": len(model.playlists)}
    return BuiltLibrary(lib=lib, path=path, n_tracks=n_tracks, model=model, build=build)


def create_playlists(lib: Any, model: AccessModel, *, count: int, seed: int = 0) -> list[int]:
    """`count` playlists of 10..100 tracks each, filled by popularity (what users put in playlists)."""
    rng = np.random.default_rng(seed + 7)
    ids = []
    for i in range(count):
        playlist_id = lib.repo.create_playlist(f"Playlist {i + 1} ★")
        size = int(rng.integers(10, 101))
        lib.repo.add_to_playlist(playlist_id, [model.track_id(rng) for _ in range(size)])
        ids.append(playlist_id)
    return ids


#: The library size the catalogue names (the `full` profile uses it everywhere).
SEED_TRACKS = 100_000


def library_details(ctx: SuiteContext, built: BuiltLibrary, *, scaled: bool = True) -> dict[str, Any]:
    """What a record says about the library it measured, and (`scaled`) that the profile used a smaller
    library than the catalogue's (not for checks whose size is their subject, DB-11..15)."""
    details: dict[str, Any] = {"library_tracks": built.n_tracks, "library_build": built.build}
    if scaled and built.n_tracks < SEED_TRACKS and built.n_tracks == main_size(ctx):
        details["scaled"] = (f"library: {SEED_TRACKS} tracks -> {built.n_tracks} ({ctx.profile} profile; "
                             "`full` uses the catalogue's size)")
    return details


def release_libraries(ctx: SuiteContext) -> None:
    """Close every library this run built (tests call it; a notebook's process exit does the same)."""
    for built in ctx.shared.pop(_BUILT, {}).values():
        built.lib.close()


# ------------------------------------------------------------------------------------------ the mixes

def query_op(model: AccessModel, rng: np.random.Generator, kind: str) -> Op:
    """One call of the query mix's `kind` (see QUERY_MIX)."""
    if kind == "page":
        sort = ("title", "artist", "added")[int(rng.choice(3, p=(0.5, 0.3, 0.2)))]
        return "list_tracks", {"sort": sort, "descending": sort == "added", "limit": PAGE,
                               "offset": model.page_offset(rng)}
    if kind == "artist_page":
        return "list_tracks", {"artist_id": model.artist(rng).id, "sort": "title", "limit": PAGE}
    if kind == "genre_page":
        return "list_tracks", {"genre": model.genre(rng), "sort": "title", "limit": PAGE,
                               "offset": model.page_offset(rng, model.n_tracks // max(1, len(model.genres)))}
    if kind == "favorites":
        return "list_tracks", {"favorite": True, "sort": "added", "descending": True, "limit": PAGE,
                               "offset": model.page_offset(rng, model.n_tracks // 20)}
    if kind == "count":
        return "count_tracks", {"genre": model.genre(rng)}
    if kind == "by_genre":
        return "count_by_genre", {}
    if kind == "by_year":
        return "count_by_year", {}
    if kind == "genres":
        return "genres", {}
    if kind == "search":
        return "search", {"text": model.word(rng)}
    if kind == "title_prefix":
        return "find_by_title", {"prefix": model.prefix(rng)}
    raise ValueError(f"unknown query kind {kind!r}; known: {', '.join(QUERY_MIX)}")


def query_ops(model: AccessModel, rng: np.random.Generator, count: int,
              mix: dict[str, float] | None = None) -> list[Op]:
    """`count` calls of a browsing session's query mix (listings, counts, aggregations, searches)."""
    mix = mix or QUERY_MIX
    kinds = list(mix)
    p = np.array([mix[k] for k in kinds], dtype=float)
    chosen = rng.choice(len(kinds), size=count, p=p / p.sum())
    return [query_op(model, rng, kinds[i]) for i in chosen]


def entity_op(model: AccessModel, rng: np.random.Generator, kind: str, repo: Any) -> Op:
    """One entity read: kind is track, track_path, album, album_tracks, artist, artist_albums,
    playlist or search."""
    if kind == "track":
        return "get_track", {"track_id": model.track_id(rng)}
    if kind == "track_path":
        return "get_track_by_path", {"path": model.path_of(repo, model.track_id(rng))}
    if kind == "album":
        return "get_album", {"album_id": model.album_id(rng)}
    if kind == "album_tracks":
        return "album_tracks", {"album_id": model.album_id(rng)}
    if kind == "artist":
        return "get_artist", {"artist_id": model.artist(rng).id}
    if kind == "artist_albums":
        return "artist_albums", {"artist_id": model.artist(rng).id}
    if kind == "playlist":
        return "get_playlist", {"playlist_id": model.playlist(rng)}
    if kind == "search":
        return "search", {"text": model.word(rng)}
    raise ValueError(f"unknown entity kind {kind!r}")


def entity_ops(model: AccessModel, rng: np.random.Generator, kind: str, count: int, repo: Any) -> list[Op]:
    return [entity_op(model, rng, kind, repo) for _ in range(count)]


def call(target: Any, op: Op) -> Any:
    name, kwargs = op
    return getattr(target, name)(**kwargs)


def replay(target: Any, ops: Iterable[Op]) -> list[Any]:
    """Run every call on `target` (a repository or the cached repository); returns the results."""
    return [call(target, op) for op in ops]


def distinct(ops: Iterable[Op]) -> list[Op]:
    """The distinct calls in first-seen order."""
    seen: dict[tuple, Op] = {}
    for op in ops:
        seen.setdefault(op_key(op), op)
    return list(seen.values())


def op_key(op: Op) -> tuple:
    name, kwargs = op
    return (name, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())))


def describe_op(op: Op) -> str:
    name, kwargs = op
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def cache_totals(lib: Any) -> dict[str, int]:
    """hits, misses and evictions summed over every cache of the library."""
    totals = {"hits": 0, "misses": 0, "evictions": 0}
    for stats in lib.caches.stats().values():
        for key in totals:
            totals[key] += int(stats.get(key, 0))
    return totals


def cache_stats_delta(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per cache: hits, misses, evictions and invalidations gained between two `caches.stats()`."""
    out = {}
    for name, stats in after.items():
        old = before.get(name, {})
        delta = {k: int(stats.get(k, 0)) - int(old.get(k, 0))
                 for k in ("hits", "misses", "evictions", "invalidations")}
        lookups = delta["hits"] + delta["misses"]
        delta["hit_rate"] = delta["hits"] / lookups if lookups else None
        delta["entries"] = stats.get("entries")
        delta["bytes"] = stats.get("bytes")
        out[name] = delta
    return out


def cached_against_uncached(lib: Any, ops: list[Op], *, rounds: int = 5) -> tuple[PathComparison, dict[str, Any]]:
    """Time `ops` through the warm caches and on the database, interleaved; results must be equal."""
    replay(lib.cached, ops)  # every call is now cached
    before = lib.caches.stats()
    # durations summed by SQLite may differ in the last bits between two computations: a microsecond of
    # difference in a sum of seconds is the same answer
    comparison = compare_paths(lambda: replay(lib.cached, ops), lambda: replay(lib.repo, ops), rounds=rounds,
                               tolerance=1e-6)
    delta = cache_stats_delta(before, lib.caches.stats())
    hits = sum(d["hits"] for d in delta.values())
    misses = sum(d["misses"] for d in delta.values())
    n = len(ops)
    return comparison, {
        "calls": n, "hit_us_per_call": comparison.fast.median / n * 1e6,
        "uncached_us_per_call": comparison.plain.median / n * 1e6, "fast_path_hits": hits,
        "fast_path_misses": misses, "fast_path_hit_ratio": hits / (hits + misses) if hits + misses else None,
        "comparison": comparison.row()}


def equality_violations(comparison: PathComparison) -> list[str]:
    if comparison.within_tolerance:
        return []
    return [f"cached results differ from the database's (max difference {comparison.max_abs_diff})"]


__all__ = ["AccessModel", "ArtistEntry", "build_library", "build_model", "BuiltLibrary", "cache_stats_delta",
           "cache_totals", "cached_against_uncached", "call", "create_playlists", "describe_op", "distinct",
           "entity_op", "entity_ops", "ENTITY_READS", "equality_violations", "LIBRARY_FACTORY", "library_details",
           "main_size", "Op", "op_key", "open_library", "PAGE", "QUERY_MIX", "query_op", "query_ops", "QUERY_READS",
           "release_libraries", "remove_library_files", "replay", "scaling_sizes", "SEED_TRACKS", "shared_library",
           "zipf_index"]
