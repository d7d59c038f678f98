"""Doubles that break the music library, its caches and database, or the audio cache.

A library double wraps the reference library (`MusicLibrary`: `repo`, `cached`, `caches`, `database()`,
`bulk_import`, ...) and breaks one part of it; everything else is the reference's own. Faults: a cache
that never hits, writes that go around the caches (stale reads), writes that empty every cache, caches
that never evict, slow or scanning queries, a keyset cursor one row off, no secondary index, an N+1
listing, a bulk import that inserts row by row, a leaked connection; an audio cache that never hits,
forgets everything on close, or keeps answering for files that changed.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from os import PathLike
from typing import Any

from sqlalchemy import text

from auralis_perf.engines import Capability
from broken_engines.base import DelegatingEngine

#: The reads of a library repository (the calls a cache may serve).
READS = frozenset({"get_track", "get_track_by_path", "get_tracks", "get_album", "album_tracks", "get_artist",
                   "artist_albums", "search", "find_by_title", "list_tracks", "cursor_at", "count_tracks",
                   "count_by_genre", "count_by_year", "genres", "get_playlist", "list_playlists",
                   "playlists_containing"})
#: The writes of a library repository.
WRITES = frozenset({"add_track", "update_track", "set_favorite", "record_play", "delete_track", "rename_artist",
                    "rename_album", "delete_artist", "create_playlist", "add_to_playlist", "move_in_playlist",
                    "remove_from_playlist"})


class Delegating:
    """Forwards every attribute to `inner` unless this object (or a subclass) defines it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LibraryDouble(DelegatingEngine):
    """An engine whose libraries are `wrap(reference library)`.

    Unless a check asks for other bounds, the query cache holds 100 entries (the reference's default is
    10,000): the LRU check drives three times as many keys as the cache holds, with one `keys()` listing
    per access, and a smaller cache keeps that to a fraction of a second. `library_options` are the options a double imposes.
    """

    uses = frozenset({Capability.LIBRARY})
    library_options: dict[str, Any] = {}

    def wrap(self, library: Any) -> Any:
        return library

    def open_library(self, path: str | PathLike[str], **options: Any) -> Any:
        options = {"query_cache_entries": 100, **options, **self.library_options}
        return self.wrap(super().open_library(path, **options))


# --------------------------------------------------------------------------------------------- caches

class _ClearFirst(Delegating):
    def __init__(self, inner: Any, caches: Any) -> None:
        super().__init__(inner)
        self.caches = caches

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in READS:
            return method

        def read(*args: Any, **kwargs: Any) -> Any:
            self.caches.clear()  # whatever was cached is gone before the cache is asked
            return method(*args, **kwargs)
        return read


class _NeverHitting(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.cached = _ClearFirst(inner.cached, inner.caches)


class CacheNeverHits(LibraryDouble):
    """The library's caches are emptied before every cached read: every lookup misses."""

    def wrap(self, library: Any) -> Any:
        return _NeverHitting(library)


class _WritesAround(Delegating):
    def __init__(self, cached: Any, repo: Any) -> None:
        super().__init__(cached)
        self.repo = repo

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo if name in WRITES else self.inner, name)


class _StaleAfterWrite(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.cached = _WritesAround(inner.cached, inner.repo)


class StaleAfterWrite(LibraryDouble):
    """Writes through the cached repository go straight to the database: nothing cached is invalidated."""

    def wrap(self, library: Any) -> Any:
        return _StaleAfterWrite(library)


class _ClearingWrites(Delegating):
    def __init__(self, cached: Any, caches: Any) -> None:
        super().__init__(cached)
        self.caches = caches

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            self.caches.clear()
            return result
        return write


class _ClearsOnWrite(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.cached = _ClearingWrites(inner.cached, inner.caches)


class CachesClearedOnWrite(LibraryDouble):
    """Every write empties every cache, related to the write or not."""

    def wrap(self, library: Any) -> Any:
        return _ClearsOnWrite(library)


class _ClaimingBounds(Delegating):
    """A cache whose stats() claim bounds it does not enforce."""

    def __init__(self, inner: Any, claimed: dict[str, int]) -> None:
        super().__init__(inner)
        self.claimed = claimed

    def stats(self) -> dict[str, Any]:
        return {**self.inner.stats(), **self.claimed}


class _ClaimingCaches(Delegating):
    """The library's caches, the query cache claiming bounds it does not enforce."""

    def __init__(self, inner: Any, claimed: dict[str, int]) -> None:
        super().__init__(inner)
        self.claimed = claimed

    def __getitem__(self, name: str) -> Any:
        return _ClaimingBounds(self.inner[name], self.claimed) if name == "query" else self.inner[name]

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        return _ClaimingBounds(value, self.claimed) if name == "query" else value

    def stats(self) -> dict[str, Any]:
        stats = dict(self.inner.stats())
        stats["query"] = {**stats["query"], **self.claimed}
        return stats


class _NeverEvicting(Delegating):
    def __init__(self, inner: Any, claimed: dict[str, int]) -> None:
        super().__init__(inner)
        self.caches = _ClaimingCaches(inner.caches, claimed)


class QueryCacheNeverEvicts(LibraryDouble):
    """The query cache claims the bounds it was opened with but is built without any: it never evicts
    (the other caches keep their bounds)."""

    def open_library(self, path: str | PathLike[str], **options: Any) -> Any:
        options = {"query_cache_entries": 100, **options}
        entries = options.pop("cache_entries", None)
        if entries is not None:  # the protocol's option bounds every cache: the query cache claims it
            options["query_cache_entries"] = options.setdefault("entity_cache_entries", entries)
        claimed = {"max_entries": options["query_cache_entries"],
                   "max_bytes": options.get("query_cache_bytes", 8 * 2**20)}
        library = DelegatingEngine.open_library(self, path, **{**options, "query_cache_entries": 10**9,
                                                               "query_cache_bytes": 10**12})
        return _NeverEvicting(library, claimed)


class _TrackWithArt(Delegating):
    """A listed track that carries its cover art's bytes with it."""

    def __init__(self, track: Any, art_bytes: int) -> None:
        super().__init__(track)
        self.cover_art = bytes(art_bytes)


class _ArtListing(Delegating):
    def list_tracks(self, **options: Any) -> Any:
        page = self.inner.list_tracks(**options)
        items = tuple(_TrackWithArt(track, TracksCarryCoverArt.ART_BYTES) for track in page.items)
        return dataclasses.replace(page, items=items)


class _ArtLibrary(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.repo = _ArtListing(inner.repo)


class TracksCarryCoverArt(LibraryDouble):
    """Every track a listing loads carries its 64 KB cover-art thumbnail, loaded eagerly whether the
    caller shows it or not: 32 times the 2 KB per track a 100k-track library may hold."""

    ART_BYTES = 64 * 1024

    def wrap(self, library: Any) -> Any:
        return _ArtLibrary(library)


# ------------------------------------------------------------------------------------------- database

class _Repository(Delegating):
    """A repository whose `slow(name)` seconds are spent before each call of `name`."""

    def slow(self, name: str) -> float:
        return 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in READS:
            return method

        def read(*args: Any, **kwargs: Any) -> Any:
            delay = self.slow(name)
            if delay:
                time.sleep(delay)
            return method(*args, **kwargs)
        return read


class _SlowRepository(_Repository):
    #: seconds per call, above each query's bound (DB-01 10 ms, DB-02/05 50/20 ms, DB-03 100 ms for two
    #: aggregations, DB-04 200 ms)
    DELAYS = {"get_track": 0.012, "get_track_by_path": 0.012, "list_tracks": 0.055, "count_by_genre": 0.055,
              "count_by_year": 0.055, "search": 0.21}

    def slow(self, name: str) -> float:
        return self.DELAYS.get(name, 0.0)


class _WithRepository(Delegating):
    def __init__(self, inner: Any, repo: Any) -> None:
        super().__init__(inner)
        self.repo = repo


class SlowQueries(LibraryDouble):
    """Every query of the DB-01..05 mix takes a fixed time above its bound."""

    def wrap(self, library: Any) -> Any:
        return _WithRepository(library, _SlowRepository(library.repo))


class _ScanningRepository(_Repository):
    #: seconds per track in the library that a lookup by id or path spends
    PER_TRACK = 25e-6

    def slow(self, name: str) -> float:
        if name != "get_track_by_path":
            return 0.0
        return self.inner.count_tracks() * self.PER_TRACK


class ScanningLookups(LibraryDouble):
    """A lookup by path takes time proportional to the library's size (25 us per track): 12.5 ms at 500
    tracks, 50 ms at 2,000."""

    def wrap(self, library: Any) -> Any:
        return _WithRepository(library, _ScanningRepository(library.repo))


class _CursorOneRowOff(Delegating):
    def list_tracks(self, *, after: Any = None, limit: int = 50, **options: Any) -> Any:
        if after is None:
            return self.inner.list_tracks(limit=limit, **options)
        page = self.inner.list_tracks(after=after, limit=limit + 1, **options)
        return type(page)(items=tuple(page.items)[1:], next_cursor=page.next_cursor)


class CursorOneRowOff(LibraryDouble):
    """A keyset page (list_tracks(after=...)) starts one row after where it should."""

    def wrap(self, library: Any) -> Any:
        return _WithRepository(library, _CursorOneRowOff(library.repo))


def _drop_indexes(library: Any) -> None:
    engine = library.database().engine
    with engine.begin() as conn:
        names = [row[0] for row in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))]
        for name in names:
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')


class NoIndexes(LibraryDouble):
    """The library's database has no secondary index (they are dropped whenever a library is opened)."""

    def wrap(self, library: Any) -> Any:
        _drop_indexes(library)
        return library


class _NPlusOne(Delegating):
    def list_tracks(self, **options: Any) -> Any:
        page = self.inner.list_tracks(**options)
        if options.get("load") in (None, "joined"):  # the usual listing; asked-for strategies are left alone
            for track in page.items:  # each track's relations loaded with statements of their own
                self.inner.get_track(track.id)
        return page


class NPlusOneListing(LibraryDouble):
    """The library's usual listing loads each track's album and artist with one more query per track."""

    def wrap(self, library: Any) -> Any:
        return _WithRepository(library, _NPlusOne(library.repo))


class _RowByRow(Delegating):
    def import_tracks(self, items: Any, **options: Any) -> Any:
        return self.inner.import_tracks_row_by_row(items)

    def bulk_import(self, tracks: Any) -> list[int]:
        report = self.inner.import_tracks_row_by_row(tracks)
        first, last = report.track_ids
        return list(range(first, last + 1))


class RowByRowBulkImport(LibraryDouble):
    """The "bulk" import inserts and commits one row at a time."""

    def wrap(self, library: Any) -> Any:
        return _RowByRow(library)


class _LeakedConnection(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.leaked = inner.database().engine.connect()  # checked out and never returned

    def close(self) -> None:
        self.leaked.close()
        self.inner.close()


class LeakedConnection(LibraryDouble):
    """Opening a library checks a connection out of its pool and never returns it."""

    def wrap(self, library: Any) -> Any:
        return _LeakedConnection(library)


# ---------------------------------------------------------------------------------------- audio cache

class _NeverHittingAudio(Delegating):
    def get(self, path: Any, kind: str) -> Any:
        self.inner.invalidate(path)
        return self.inner.get(path, kind)


class AudioCacheNeverHits(DelegatingEngine):
    """The audio cache drops a file's entries before every request: every request computes."""

    uses = frozenset({Capability.AUDIO_CACHE})

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        return _NeverHittingAudio(super().open_audio_cache(directory))


class _Forgetful(Delegating):
    def __init__(self, inner: Any, folder: str) -> None:
        super().__init__(inner)
        self.folder = folder

    def close(self) -> None:
        self.inner.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class AudioCacheForgets(DelegatingEngine):
    """The audio cache keeps its entries in a private folder it deletes on close: nothing survives."""

    uses = frozenset({Capability.AUDIO_CACHE})

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        folder = tempfile.mkdtemp(prefix="forgetful-audio-cache-")
        return _Forgetful(super().open_audio_cache(folder), folder)


class _ByPath(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.memory: dict[tuple[str, str], Any] = {}
        self.hits = 0

    def get(self, path: Any, kind: str) -> Any:
        slot = (str(path), kind)
        if slot in self.memory:
            self.hits += 1
            return self.memory[slot]
        self.memory[slot] = value = self.inner.get(path, kind)
        return value

    def stats(self) -> dict[str, Any]:
        stats = dict(self.inner.stats())
        stats["hits"] = stats.get("hits", 0) + self.hits
        return stats


class AudioCacheKeyedByPath(DelegatingEngine):
    """The audio cache remembers results by path in memory, in front of its own tiers, and never forgets
    them: a file that changes (or goes away) keeps its old analysis."""

    uses = frozenset({Capability.AUDIO_CACHE, Capability.LIBRARY})

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        return _ByPath(super().open_audio_cache(directory))
