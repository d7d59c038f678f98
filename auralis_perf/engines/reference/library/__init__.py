"""The reference engine's music library: SQLite database, repository, search, scanner and caches.

Entry point::

    lib = open_library("~/music/library.db")          # created when missing (parent folders too)
    lib.populate(10_000, seed=0)                       # deterministic synthetic library, bulk import
    t = lib.repo.get_track(1)                          # Track record with .album and .artist
    page = lib.repo.list_tracks(sort="title", limit=50)
    page2 = lib.repo.list_tracks(sort="title", limit=50, after=page.next_cursor)
    hits = lib.cached.search("love song")              # served from the search cache the second time
    lib.close()

Parts (each a module of this package):

``lib.repo`` -- :class:`Repository` (repository.py), direct SQL, every call returns detached records
(records.py). Track, Album, Artist, GroupStat and PlaylistSummary are NamedTuples (cheap to build in
bulk; compare by value; ``track._replace(...)``); Page, Cursor, Playlist, DeleteReport, UpdateReport,
ImportReport, ScanReport and NewTrack are frozen dataclasses. A Track carries ``.album`` (Album, its
``.artist`` left None), ``.artist`` and ``.featured`` (tuple of Artist).

    reads
      get_track(track_id) -> Track | None               by primary key, with album, artist, featured
      get_track_by_path(path) -> Track | None           unique index on path
      get_tracks(track_ids) -> list[Track]              in the order asked, missing ids left out
      get_album(album_id) -> Album | None               with its artist
      album_tracks(album_id) -> list[Track]             by track number
      get_artist(artist_id) -> Artist | None
      artist_albums(artist_id) -> list[Album]           by year, title
      find_by_title(prefix, *, limit=50) -> list[Track] case-insensitive title prefix (title index)
      search(text, *, limit=50, offset=0, prefix=True) -> list[Track]
          FTS5 over title, artist (incl. featured) and album, ranked by bm25 (title weighs most). The
          user's text is split into words; every word is quoted, so quotes, *, -, NEAR, AND/OR/NOT,
          parentheses and colons are searched literally. The last word is a prefix when prefix=True.
          Text without any word returns [].
      list_tracks(*, sort="title", descending=False, limit=50, offset=None, after=None, load="joined",
                  favorite=None, genre=None, artist_id=None, album_id=None, year_from=None, year_to=None,
                  added_from=None, added_to=None) -> Page
          sort: "title" | "artist" | "added"; `after` = a Cursor (keyset pagination),
          `offset` = OFFSET pagination (give one or neither). Filters combine with AND; year and added
          ranges are inclusive. load: "joined" (album and artist in the same statement; featured
          artists in a second one: <= 2 statements for any page size), "selectin" (ORM: tracks, then
          albums and artists by IN: <= 3 statements), "lazy" (ORM lazy loading: the N+1 pattern, for
          comparison only), "none" (tracks only, album/artist left None).
      cursor_at(position, *, sort="title", descending=False, **filters) -> Cursor | None
          the cursor that starts the page at `position` (0-based) -- to benchmark deep keyset pages.
      count_tracks(**filters) -> int
      count_by_genre() -> list[GroupStat]               key = genre, ordered by genre
      count_by_year() -> list[GroupStat]                key = year, ordered by year
      genres() -> list[str]
      get_playlist(playlist_id) -> Playlist | None      with its tracks in order (<= 3 statements)
      list_playlists() -> list[PlaylistSummary]
      playlists_containing(track_ids) -> list[int]
    writes (each in its own transaction; NotFoundError for unknown ids)
      add_track(new: NewTrack) -> int
      update_track(track_id, **fields) -> None          title, genre, year, track_number, duration,
                                                        album_id, artist_id, favorite, play_count,
                                                        last_played, path, file_size, mtime, format,
                                                        sample_rate, channels
      update_track_reporting(track_id, **fields) -> UpdateReport   the same, with the artists and albums
                                                        the track was and is in (for the caches)
      set_favorite(track_id, favorite=True) -> None
      record_play(track_id, at=None) -> None            play_count + 1, last_played = at or now
      rename_artist(artist_id, name) -> None
      rename_album(album_id, title) -> None
      delete_track(track_id) -> DeleteReport
      delete_tracks(track_ids) -> DeleteReport
      delete_album(album_id) -> DeleteReport            with its tracks
      delete_artist(artist_id) -> DeleteReport          cascade: their albums, tracks, featured credits,
                                                        playlist entries of those tracks
      create_playlist(name) -> int
      rename_playlist(playlist_id, name) -> None
      delete_playlist(playlist_id) -> None
      add_to_playlist(playlist_id, track_ids, *, at=None) -> None   at = index to insert at (end: None)
      move_in_playlist(playlist_id, from_index, to_index) -> None
      remove_from_playlist(playlist_id, index) -> None
    diagnostics
      explain(statement, params=None) -> QueryPlan      SQL text or a SQLAlchemy statement
      plans(fn, *args, **kwargs) -> list[QueryPlan]     run fn, EXPLAIN every statement it issued

``lib.cached`` -- :class:`CachedRepository` (cached.py): the same read and write methods as ``lib.repo``
(same signatures and results), reads served from the caches, writes invalidate exactly the entries their
tags touch (including an artist's cascade). Also ``.repo`` (the uncached repository), ``.caches``.

``lib.caches`` -- :class:`LibraryCaches` (caches.py). Attributes, each a :class:`TaggedLRUCache`:
    query     list_tracks, count_tracks, aggregations, find_by_title, genres
    tracks    get_track, get_track_by_path, get_tracks (per track), album_tracks
    albums    get_album, artist_albums
    artists   get_artist
    playlists get_playlist, list_playlists
    search    search
    Methods: stats() -> {cache name: stats}, invalidate(tags) -> int (entries dropped), clear(),
    bytes() -> int (all caches together), names() -> tuple[str, ...], and ``lib.caches["tracks"]``.
    TaggedLRUCache (querycache.py; QueryCache is the same class):
      TaggedLRUCache(max_entries=10_000, max_bytes=8 * 2**20, name="query")
      make_key(name, params) -> Hashable    a flat tuple (name, param, value, ...): parameters sorted by
                                            name, None-valued ones dropped, sequences as tuples, arrays by
                                            dtype/shape/content hash; never id() or repr()
      get(key, default=None) -> Any         a hit moves the entry to most-recent
      lookup(key) -> (hit: bool, value)
      lookup_many(keys, default=None) -> list    values in order, one lock acquisition
      put(key, value, tags=(), *, generation=None) -> None   size measured (deep, each object once per
                                            entry; each distinct tag once per cache); with `generation`
                                            (read from .generation before computing) the value is not
                                            stored if an invalidation happened since
      get_or_compute(key, compute, tags_of) -> Any   tags_of(value) -> iterable of tags; race-safe
      bytes (property), generation (property), tags() -> {tag: entries}
      invalidate(tags) -> int               drops every entry carrying any of the tags
      discard(key) -> bool, clear(), __contains__ (does not touch LRU order), __len__
      keys() -> list[Hashable]              least recently used first
      stats() -> {"hits", "misses", "evictions", "invalidations", "entries", "bytes",
                  "max_entries", "max_bytes", "hit_rate", "rejected", "stale_skips"}
      reset_stats() -> None
    Tags: "track:ID", "album:ID", "artist:ID", "playlist:ID", "search" (any search result), "playlists"
    (the playlist list), and "tracks:FIELD" / "tracks:membership" (listings and aggregations whose
    membership or order depends on that field, or on tracks being added or removed; "tracks:FIELD@artist:ID"
    and "tracks:FIELD@album:ID" when they only hold one artist's or album's tracks). The query cache
    stores a listing's result whole (a hit is one lookup), tagged with every record it shows.

``lib.statements`` -- :class:`StatementCounter` (database.py), a SQLAlchemy cursor-execute listener:
    total -> int                   statements issued through this library since it opened
    count() -> context manager yielding a StatementCount with .count and .statements (SQL texts);
        counts only the statements of the calling thread (transaction control not counted)
    issued() -> dict[str, tuple]   every distinct SQL text issued so far -> its last parameters

``lib.pool`` -- :class:`PoolMonitor` (database.py):
    stats() -> {"size", "max_overflow", "checked_out", "checkouts", "checkins", "overflow",
                "peak_checked_out", "peak_overflow", "waits", "wait_seconds", "max_wait_seconds",
                "connections_opened", "connections_closed", "connections_open"}
    reset() -> None (counters only)

Diagnostics on the library:
    lib.explain(statement, params=None) -> QueryPlan
    lib.plans(fn, *args, **kwargs) -> list[QueryPlan]
    lib.explain_issued() -> list[QueryPlan]            every distinct SELECT/UPDATE/DELETE issued so far
    lib.explain_repository() -> dict[str, list[QueryPlan]]
        runs every read query of the repository once on the data present and returns its plans by name
    lib.without_index(*index_names) -> context manager yielding a Repository on one connection where
        those indexes are dropped inside a transaction that is rolled back at exit (the file never
        changes; other connections keep the index). Names: see INDEXES and lib.indexes().
    lib.indexes() -> dict[str, list[str]]               index name -> columns, for every table
    QueryPlan (explain.py): sql, params, rows [(id, parent, detail)], text, indexes (names used),
        full_scans (tables read without an index), uses_index(name) -> bool, scans(table) -> bool,
        temp_btree (an ORDER BY/GROUP BY sorter was needed)

Import and generation:
    lib.import_tracks(tracks: Iterable[NewTrack], *, batch_size=5000) -> ImportReport   (bulk: Core
        executemany in batches, one transaction, FTS rebuilt for the new rows at the end)
    lib.import_tracks_row_by_row(tracks, *, commit_every=1) -> ImportReport   (ORM, one INSERT per row)
    lib.generate(n_tracks, *, seed=0) -> list[NewTrack]     (auralis_perf.library_tracks.generate_tracks)
    lib.populate(n_tracks, *, seed=0, bulk=True) -> ImportReport
    lib.scan(folder, *, audio_cache=None) -> ScanReport     (scanner.py; soundfile + mutagen; a rescan
        compares size and mtime; changed and removed files go through lib.cached so the caches drop
        them, and through audio_cache.apply_scan(report) when one is given)

Other: lib.path, lib.counts() -> {"tracks", "albums", "artists", "playlists"}, lib.file_bytes(),
lib.closed, lib.close() (idempotent; context manager; later use raises LibraryError).

The audio cache lives beside this package: ``auralis_perf.engines.reference.audio_cache.AudioCache``.

Errors (errors.py): LibraryError > LibraryFileError > NotALibraryError, CorruptLibraryError;
ReadOnlyLocationError; NotFoundError; InvalidQueryError. Every LibraryError is an EngineError.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from auralis_perf.engines.reference.library.errors import (
    CorruptLibraryError,
    InvalidQueryError,
    LibraryError,
    LibraryFileError,
    NotALibraryError,
    NotFoundError,
    ReadOnlyLocationError,
)
from auralis_perf.engines.reference.library.library import Library
from auralis_perf.engines.reference.library.records import (
    Album,
    Artist,
    Cursor,
    DeleteReport,
    GroupStat,
    ImportReport,
    NewTrack,
    Page,
    Playlist,
    PlaylistSummary,
    ScanError,
    ScanReport,
    Track,
    UpdateReport,
)
from auralis_perf.engines.reference.library.schema import INDEXES, SORTS

__all__ = [
    "open_library", "Library", "INDEXES", "SORTS",
    "Album", "Artist", "Cursor", "DeleteReport", "GroupStat", "ImportReport", "NewTrack", "Page",
    "Playlist", "PlaylistSummary", "ScanError", "ScanReport", "Track", "UpdateReport",
    "LibraryError", "LibraryFileError", "NotALibraryError", "CorruptLibraryError", "ReadOnlyLocationError",
    "NotFoundError", "InvalidQueryError",
]


def open_library(path: str | os.PathLike[str], *, pool_size: int = 4, max_overflow: int = 4,
                 pool_timeout: float = 10.0, query_cache_entries: int = 10_000,
                 query_cache_bytes: int = 8 * 2**20, entity_cache_entries: int = 10_000,
                 entity_cache_bytes: int = 16 * 2**20, page_cache_mib: int = 32,
                 **unknown: Any) -> Library:
    """Open the library at `path`, creating it (and missing parent folders) when it does not exist.

    An existing file is validated read-only first: a file that is not SQLite, a corrupt one, or the
    SQLite database of another application raises a LibraryFileError and is never modified. A location
    that cannot be written raises ReadOnlyLocationError. `pool_size`/`max_overflow`/`pool_timeout` shape
    the connection pool; the cache options bound the query cache and each entity cache (entries and
    measured bytes); `page_cache_mib` is SQLite's page cache per connection. (The library protocol's
    `cache_entries` and `cache_bytes` are mapped onto these by `ReferenceEngine.open_library`.)
    """
    if unknown:
        raise InvalidQueryError(f"open_library: unknown option(s) {', '.join(sorted(unknown))}")
    return Library(Path(os.fspath(path)).expanduser(), pool_size=pool_size, max_overflow=max_overflow,
                   pool_timeout=pool_timeout, query_cache_entries=query_cache_entries,
                   query_cache_bytes=query_cache_bytes, entity_cache_entries=entity_cache_entries,
                   entity_cache_bytes=entity_cache_bytes, page_cache_mib=page_cache_mib)
