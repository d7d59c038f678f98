"""The calls whose instructions are counted, each built through the engine protocols in a fresh process.

Every function here is a workload factory (see `measure.instructions`): it takes JSON-able arguments,
does the set-up (engine, clip, cache) outside the count and returns the zero-argument call to count.
The engine is named by `engine_spec` (a registered name or package.module:Factory).
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from auralis_perf.engines.base import Engine
from auralis_perf.engines.protocols.library import LibraryFeature, MusicLibrary, NewTrack, library_features
from auralis_perf.library_tracks import generate_tracks
from auralis_perf.signals import music, write_music
from auralis_perf.suites.common.engine_spec import engine_from_spec

#: A short clip keeps the counted child quick under Valgrind (~50x slower than native).
CLIP_SECONDS = 0.5
SAMPLE_RATE = 44100
CHUNK = 4096


def _clip(seconds: float = CLIP_SECONDS):
    return music(seconds, SAMPLE_RATE, dtype="float64")


def master_call(engine: str, preset: str, seconds: float = CLIP_SECONDS) -> Callable[[], Any]:
    """`master()` of a short clip with one preset."""
    built: Engine = engine_from_spec(engine)
    audio = _clip(seconds)
    return lambda: built.master(audio, SAMPLE_RATE, preset)


def stream_chunk_call(engine: str, preset: str = "default") -> Callable[[], Any]:
    """One chunk of a stream: each call takes the next chunk of a source long enough for every call."""
    built: Engine = engine_from_spec(engine)
    source = _clip(CHUNK * 64 / SAMPLE_RATE)  # 64 chunks: warm-up plus 3 x reps, with room to spare
    chunks = iter(built.stream(source, sample_rate=SAMPLE_RATE, chunk_size=CHUNK, preset=preset))
    return lambda: next(chunks)


def kernel_call(engine: str, kernel: str, side: str) -> Callable[[], Any]:
    """The fast or plain side of one of the engine's kernel pairs, on the short clip."""
    if side not in ("fast", "plain"):
        raise ValueError(f"kernel side must be 'fast' or 'plain', got {side!r}")
    pair = engine_from_spec(engine).kernels()[kernel]
    prepared = pair.make_input(_clip(), SAMPLE_RATE)
    function = pair.fast if side == "fast" else pair.plain
    return lambda: function(prepared)


def analysis_call(engine: str, kind: str = "spectrum") -> Callable[[], Any]:
    """One analysis (`spectrum` by default) of the short clip."""
    built: Engine = engine_from_spec(engine)
    audio = _clip()
    return lambda: built.analyze(audio, SAMPLE_RATE, kind)


def audio_cache_hit_call(engine: str, kind: str = "spectrum") -> Callable[[], Any]:
    """A hit of the engine's audio cache: the file's analysis was computed once during set-up."""
    built: Engine = engine_from_spec(engine)
    folder = Path(tempfile.mkdtemp(prefix="auralis-perf-counts-"))  # the child process is thrown away
    path = write_music(folder / "clip.wav", CLIP_SECONDS, SAMPLE_RATE)
    cache = built.open_audio_cache(folder / "cache")
    cache.get(path, kind)  # the miss
    return lambda: cache.get(path, kind)


# ------------------------------------------------------------------------------------------- library

#: Tracks in the counted library: the smoke profile's main size, generated as the database checks do.
LIBRARY_TRACKS = 2_000
LIBRARY_PAGE = 50
#: The library queries counted, one per kind the database checks time (DB-01..05), and a write.
LIBRARY_QUERIES = ("get", "search", "page", "filter", "aggregate", "write")
#: Reads tried, in order, for a query-cache hit: the first one a cache of the library serves is counted.
CACHED_READS = ("list_tracks", "search", "count_by_genre", "get_track")
#: A fixed time for the counted write (a play "now" would differ between calls).
PLAY_AT = 1_700_000_000.0
_LIBRARY_FILES: dict[str, tuple[Path, list[NewTrack], list[int]]] = {}
_LIBRARIES: dict[str, tuple[MusicLibrary, list[NewTrack], list[int]]] = {}


def prepare_library(engine: str) -> None:
    """The library workloads' shared set-up (`Workload.prepare`): the generated library, imported once and
    closed before the workloads are forked, so that each opens its own copy of the same settled file."""
    if engine not in _LIBRARY_FILES:
        built: Engine = engine_from_spec(engine)
        # a fixed name in the count's own scratch folder: the name is part of the state every workload forks from
        folder = Path(tempfile.gettempdir(), f"counts-library-{len(_LIBRARY_FILES)}")
        folder.mkdir()
        path = folder / "library.db"
        lib = built.open_library(path)
        tracks = generate_tracks(LIBRARY_TRACKS, seed=0)
        try:
            ids = lib.bulk_import(tracks)
        finally:
            lib.close()
        indexes_in_name_order(path)
        _LIBRARY_FILES[engine] = (path, tracks, ids)


def indexes_in_name_order(path: Path) -> None:
    """Re-create an SQLite file's indexes in name order (then VACUUM); nothing for a file that is not SQLite.

    The reference library creates its indexes in the order of a set (SQLAlchemy's `Table.indexes`), which
    differs from one build to the next (four builds, four orders): the file's layout, and with it the
    instructions of a page or filter query (up to 1.1 %) and a write (2.3 %), changed from run to run. The
    schema and rows stay the engine's; only the order the indexes are written in is fixed.
    """
    if not path.is_file() or path.read_bytes()[:16] != b"SQLite format 3\x00":
        return
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                             "ORDER BY name").fetchall()
        # the planner's statistics of the indexes (ANALYZE's), which DROP INDEX deletes, are put back as they were
        has_stats = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is not None
        stats = db.execute("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall() if has_stats else []
        db.execute("BEGIN")
        for name, _sql in indexes:
            db.execute(f'DROP INDEX "{name}"')
        for _name, sql in indexes:
            db.execute(sql)
        if has_stats:
            db.execute("DELETE FROM sqlite_stat1")
            db.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", sorted(stats, key=repr))
        db.execute("COMMIT")
        db.execute("VACUUM")


def _library(engine: str) -> tuple[MusicLibrary, list[NewTrack], list[int]]:
    """The library of this (forked) process: a copy of the prepared file, opened once.

    Every workload starts from the same database file, closed after the import (no import left in a
    write-ahead log for a checkpoint to fall into one stretch) and untouched by the workloads before it.
    """
    if engine not in _LIBRARIES:
        prepare_library(engine)
        source, tracks, ids = _LIBRARY_FILES[engine]
        folder = Path(tempfile.mkdtemp(prefix="auralis-perf-counts-"))
        shutil.copytree(source.parent, folder, dirs_exist_ok=True)
        _LIBRARIES[engine] = (engine_from_spec(engine).open_library(folder / source.name), tracks, ids)
    return _LIBRARIES[engine]


def _common_title_word(tracks: list[NewTrack]) -> str:
    """The word most titles share: a search with many matches, the same in every run (seeded library)."""
    words = Counter(w for t in tracks for w in set(t.title.lower().split()) if len(w) > 2)
    return min(words, key=lambda w: (-words[w], w))


def library_call(engine: str, query: str) -> Callable[[], Any]:
    """One query of the library's repository (straight on the database, no cache), with fixed arguments
    so that every call does the same work: `query` is one of LIBRARY_QUERIES."""
    lib, tracks, ids = _library(engine)
    repo = lib.repo
    track_id = ids[len(ids) // 2]
    if query == "get":
        return lambda: repo.get_track(track_id)
    if query == "search":
        word = _common_title_word(tracks)
        return lambda: repo.search(word, limit=LIBRARY_PAGE)
    if query == "page":  # DB-05's page from the middle: keyset when the library has it, else OFFSET
        middle = len(ids) // 2
        if LibraryFeature.KEYSET in library_features(lib):
            cursor = repo.cursor_at(middle, sort="title")
            return lambda: repo.list_tracks(sort="title", limit=LIBRARY_PAGE, after=cursor)
        return lambda: repo.list_tracks(sort="title", limit=LIBRARY_PAGE, offset=middle)
    if query == "filter":  # DB-02's artist page: a filter with the artist joined
        artist_id = repo.get_track(ids[0]).artist_id
        return lambda: repo.list_tracks(artist_id=artist_id, sort="title", limit=LIBRARY_PAGE)
    if query == "aggregate":  # DB-03's two aggregations
        return lambda: (repo.count_by_genre(), repo.count_by_year())
    if query == "write":  # one committed write: a play of one track at a fixed time
        return lambda: repo.record_play(track_id, at=PLAY_AT)
    raise ValueError(f"unknown library query {query!r}; known: {', '.join(LIBRARY_QUERIES)}")


def cached_read(lib: MusicLibrary) -> str | None:
    """The first of CACHED_READS that a cache of `lib` serves, or None when no cache serves any."""
    return next((read for read in CACHED_READS if lib.caches.cache_for(read) is not None), None)


def query_cache_hit_call(engine: str, read: str) -> Callable[[], Any]:
    """A hit of the library's query cache: `read` (one of CACHED_READS) through `lib.cached`, asked once
    during set-up (the miss), then counted while the cache answers it. Raises when it is not a hit."""
    lib, tracks, ids = _library(engine)
    calls: dict[str, Callable[[], Any]] = {
        "list_tracks": lambda: lib.cached.list_tracks(sort="title", limit=LIBRARY_PAGE),
        "search": lambda: lib.cached.search(_common_title_word(tracks), limit=LIBRARY_PAGE),
        "count_by_genre": lambda: lib.cached.count_by_genre(),
        "get_track": lambda: lib.cached.get_track(ids[len(ids) // 2]),
    }
    if read not in calls:
        raise ValueError(f"unknown cached read {read!r}; known: {', '.join(calls)}")
    call = calls[read]
    cache = lib.caches[lib.caches.cache_for(read)]
    call()  # the miss
    hits = cache.stats()["hits"]
    call()
    if cache.stats()["hits"] != hits + 1:
        raise RuntimeError(f"the library's cache {cache.name!r} did not answer a repeated {read}() from memory: "
                           "not a cache hit to count")
    return call
