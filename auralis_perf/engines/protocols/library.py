"""The music library, its caches and its database: what the CACHE and DB checks ask of an engine.

An engine with the capability `library` returns a `MusicLibrary` from `Engine.open_library(path)`. The
checks reach it only through the protocols below; everything that is generic database introspection
(statements per call, query plans, indexes, connection-pool checkouts, "run this without that index")
is done by the harness on the `DatabaseHandle` the library returns, never implemented by the engine.

In short, a library offers:

* `repo`: every read and write straight on the database (the truth the caches are compared with);
* `cached`: the same calls through the library's caches (reads may be served from a cache; writes
  must leave no stale entry behind);
* `caches`: the caches' figures (hits, misses, size, bounds, evictions), `clear()`, and facts about
  them (policy, TTL, bounds) for the report;
* `bulk_import(tracks)`: fast loading of generated tracks (`NewTrack`, defined here: the harness
  generates the libraries, the engine only stores them);
* `database()`: the SQLAlchemy engine or SQLite file behind it, and the schema's names for the columns
  the index checks look at.

Optional parts are named in `MusicLibrary.features` (`LibraryFeature`). A check that needs a part the
library lacks is a `skip` that names it; a method of an optional part that the library does not offer
raises `auralis_perf.engines.NotSupported`.

Records: a library returns its own record objects; they only need the read-only attributes of `Track`,
`Album`, `Artist`, `GroupCount`, `Page` and `Playlist` below, and they must compare by value (`==`
between two reads of the same unchanged rows is True, whatever object they are), because a stale read
is found by comparing a cached result with the database's.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol, runtime_checkable


class LibraryFeature:
    """Optional parts of a `MusicLibrary`; a library lists those it has in `MusicLibrary.features`."""

    #: `list_tracks(after=cursor)` and `cursor_at(position, ...)`: keyset (cursor) pagination.
    KEYSET = "keyset"
    #: `find_by_title(prefix)`: a case-insensitive title-prefix lookup.
    TITLE_PREFIX = "title_prefix"
    #: `list_tracks(load=...)` with "joined" (album and artist in the listing's own statement) and
    #: "selectin" (tracks first, then their albums and artists by `IN (...)`); "lazy" is optional.
    LOAD_STRATEGIES = "load_strategies"
    #: `create_playlist`, `add_to_playlist`, `move_in_playlist`, `remove_from_playlist`, `get_playlist`,
    #: `list_playlists`, `playlists_containing`.
    PLAYLISTS = "playlists"
    #: `delete_artist(artist_id)`: the artist with their albums, tracks and credits.
    CASCADE_DELETE = "cascade_delete"
    #: `rename_artist`, `rename_album`: edits that change many tracks at once.
    RENAME = "rename"
    #: `MusicLibrary.scan(folder, audio_cache=...)`: import and rescan a folder of audio files.
    SCAN = "scan"


#: The sort keys of `list_tracks` and `cursor_at`.
SORTS = ("title", "artist", "added")
#: The keyword filters of `list_tracks`, `count_tracks` and `cursor_at` (combined with AND).
FILTERS = ("favorite", "genre", "artist_id", "album_id", "year_from", "year_to", "added_from", "added_to")


# ------------------------------------------------------------------------------------------ records

@runtime_checkable
class Artist(Protocol):
    """An artist."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


@runtime_checkable
class Album(Protocol):
    """An album, with the id of its (main) artist."""

    @property
    def id(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def artist_id(self) -> int: ...


@runtime_checkable
class Track(Protocol):
    """One track. `featured` lists further credited artists ("feat."), empty when there are none."""

    @property
    def id(self) -> int: ...

    @property
    def path(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def artist_id(self) -> int: ...

    @property
    def album_id(self) -> Optional[int]: ...

    @property
    def genre(self) -> Optional[str]: ...

    @property
    def year(self) -> Optional[int]: ...

    @property
    def track_number(self) -> Optional[int]: ...

    @property
    def favorite(self) -> bool: ...

    @property
    def featured(self) -> Sequence[Artist]: ...


@runtime_checkable
class GroupCount(Protocol):
    """One row of an aggregation: the group's key (a genre, a year; None for tracks without one) and
    how many tracks it holds."""

    @property
    def key(self) -> Any: ...

    @property
    def tracks(self) -> int: ...


@runtime_checkable
class Page(Protocol):
    """A page of a listing. `next_cursor` is the opaque position after its last item (for
    `list_tracks(after=...)`), None on the last page or when the library has no keyset paging."""

    @property
    def items(self) -> Sequence[Track]: ...

    @property
    def next_cursor(self) -> Any: ...


@runtime_checkable
class Playlist(Protocol):
    """A playlist with its entries in order (whether a track may appear twice is the library's choice)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def tracks(self) -> Sequence[Track]: ...


@dataclass(frozen=True)
class NewTrack:
    """A track to store (from the harness's generator, or a test): artist and album by name, created by
    the library when missing; `featured` names further credited artists. Times are UNIX seconds."""

    path: str
    title: str
    artist: str
    album: Optional[str] = None
    genre: Optional[str] = None
    year: Optional[int] = None
    track_number: Optional[int] = None
    duration: float = 0.0
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    format: Optional[str] = None
    file_size: int = 0
    mtime: float = 0.0
    favorite: bool = False
    play_count: int = 0
    last_played: Optional[float] = None
    added_at: Optional[float] = None
    featured: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------- repository

@runtime_checkable
class LibraryReader(Protocol):
    """The reads of a music library. Unknown ids return None (or an empty list), never raise."""

    def get_track(self, track_id: int) -> Optional[Track]:
        """The track with this id, or None."""

    def get_track_by_path(self, path: str) -> Optional[Track]:
        """The track stored for this file path, or None."""

    def get_tracks(self, track_ids: Sequence[int]) -> list[Track]:
        """The tracks in the order asked (an id asked twice gives the track twice); unknown ids are
        left out."""

    def get_album(self, album_id: int) -> Optional[Album]:
        """The album, or None."""

    def album_tracks(self, album_id: int) -> list[Track]:
        """The album's tracks by track number."""

    def get_artist(self, artist_id: int) -> Optional[Artist]:
        """The artist, or None."""

    def artist_albums(self, artist_id: int) -> list[Album]:
        """The artist's albums in a stable order."""

    def search(self, text: str, *, limit: int = 50, offset: int = 0) -> list[Track]:
        """Tracks whose title, artist or album match the user's `text` (free text: quotes, `*`, `-` and
        the like are searched literally, never a syntax error), best matches first, in a stable order."""

    def find_by_title(self, prefix: str, *, limit: int = 50) -> list[Track]:
        """Tracks whose title starts with `prefix`, case-insensitive (feature `title_prefix`)."""

    def list_tracks(self, *, sort: str = "title", descending: bool = False, limit: int = 50,
                    offset: Optional[int] = None, after: Any = None, load: Optional[str] = None,
                    favorite: Optional[bool] = None, genre: Optional[str] = None,
                    artist_id: Optional[int] = None, album_id: Optional[int] = None,
                    year_from: Optional[int] = None, year_to: Optional[int] = None,
                    added_from: Optional[float] = None, added_to: Optional[float] = None) -> Page:
        """A page of tracks with their album and artist, ordered by `sort` ("title", "artist": the
        artist's name, "added": when the track was added), ties broken by id so the order is total.

        Paging: `offset` skips that many rows (OFFSET paging); `after` is a `Page.next_cursor` or a
        `cursor_at` result (keyset paging, feature `keyset`); give one or neither. Filters combine with
        AND; year and added ranges are inclusive. `load` (feature `load_strategies`): None is the
        library's usual way; "joined" and "selectin" as in `LibraryFeature.LOAD_STRATEGIES`; "lazy"
        (relations loaded one row at a time) may raise NotSupported. Every way returns the same page.
        """

    def cursor_at(self, position: int, *, sort: str = "title", descending: bool = False) -> Any:
        """The cursor whose `list_tracks(after=...)` page starts at row `position` (0-based) of the
        unfiltered listing in that order; None at position 0 (feature `keyset`)."""

    def count_tracks(self, *, favorite: Optional[bool] = None, genre: Optional[str] = None,
                     artist_id: Optional[int] = None, album_id: Optional[int] = None,
                     year_from: Optional[int] = None, year_to: Optional[int] = None,
                     added_from: Optional[float] = None, added_to: Optional[float] = None) -> int:
        """How many tracks the same filters as `list_tracks` select."""

    def count_by_genre(self) -> list[GroupCount]:
        """Tracks per genre, ordered by genre."""

    def count_by_year(self) -> list[GroupCount]:
        """Tracks per year, ordered by year."""

    def genres(self) -> list[str]:
        """The distinct genres, ordered."""

    def get_playlist(self, playlist_id: int) -> Optional[Playlist]:
        """The playlist with its tracks in order, or None (feature `playlists`)."""

    def list_playlists(self) -> list[Any]:
        """Every playlist, in a stable order; each item compares by value (feature `playlists`)."""

    def playlists_containing(self, track_ids: Sequence[int]) -> list[int]:
        """Ids of the playlists holding any of the tracks (feature `playlists`)."""


@runtime_checkable
class LibraryWriter(Protocol):
    """The writes of a music library. Each write is committed when it returns; unknown ids raise an
    `EngineError` (ideally a LookupError too). Through `MusicLibrary.cached`, a write must also drop
    or refresh every cached result it changes."""

    def add_track(self, track: NewTrack) -> int:
        """Store one track through the library's own single-track write path; returns its id."""

    def update_track(self, track_id: int, **fields: Any) -> None:
        """Change tags of a track: any of title, genre, year, track_number, album_id, artist_id,
        favorite, play_count (the checks use title, genre, year, track_number, album_id, artist_id)."""

    def set_favorite(self, track_id: int, favorite: bool = True) -> None:
        """Mark or unmark a favourite."""

    def record_play(self, track_id: int, at: Optional[float] = None) -> None:
        """One more play (play count + 1, last played = `at` or now)."""

    def delete_track(self, track_id: int) -> Any:
        """Remove a track (and its playlist entries)."""

    def rename_artist(self, artist_id: int, name: str) -> None:
        """Rename an artist (feature `rename`)."""

    def rename_album(self, album_id: int, title: str) -> None:
        """Rename an album (feature `rename`)."""

    def delete_artist(self, artist_id: int) -> Any:
        """Remove an artist with their albums, tracks and featured credits (feature `cascade_delete`)."""

    def create_playlist(self, name: str) -> int:
        """A new empty playlist; returns its id (feature `playlists`)."""

    def add_to_playlist(self, playlist_id: int, track_ids: Sequence[int]) -> None:
        """Append tracks to a playlist, in order (feature `playlists`)."""

    def move_in_playlist(self, playlist_id: int, from_index: int, to_index: int) -> None:
        """Move one entry (feature `playlists`)."""

    def remove_from_playlist(self, playlist_id: int, index: int) -> None:
        """Remove the entry at `index` (feature `playlists`)."""


@runtime_checkable
class LibraryRepository(LibraryReader, LibraryWriter, Protocol):
    """Reads and writes together: what `MusicLibrary.repo` and `MusicLibrary.cached` are."""


# ------------------------------------------------------------------------------------------- caches

@runtime_checkable
class QueryCache(Protocol):
    """One cache of the library (a query cache, a cache of track records, of search results, ...)."""

    @property
    def name(self) -> str: ...

    def stats(self) -> Mapping[str, Any]:
        """Figures since the cache was created: "hits", "misses", "evictions" (entries dropped to stay
        within a bound; expiry by TTL counts here too), "entries" (held now), "bytes" (held now, None
        when the cache does not measure them), "max_entries" and "max_bytes" (its bounds, None when it
        has none). Counts are cumulative ints; `clear()` need not reset them."""

    def clear(self) -> None:
        """Drop every entry."""


@runtime_checkable
class KeyValueCache(QueryCache, Protocol):
    """A cache the harness can drive directly with its own keys and values (to check its eviction
    order, CACHE-05). Optional: a cache without these methods skips that check."""

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for `key` (a hashable the harness made), or `default`. A hit counts as a use."""

    def put(self, key: Any, value: Any) -> None:
        """Store `value`, evicting what the cache's policy evicts when a bound is reached."""

    def keys(self) -> list[Any]:
        """The keys held now, the next one to be evicted first (least recently used first for LRU)."""


@runtime_checkable
class LibraryCaches(Protocol):
    """The library's caches by name. A library with a single cache names just that one."""

    def names(self) -> Sequence[str]:
        """The caches' names."""

    def __getitem__(self, name: str) -> QueryCache:
        """The cache called `name` (KeyError for an unknown name)."""

    def cache_for(self, read: str) -> Optional[str]:
        """The name of the cache that serves the `LibraryReader` method `read` (e.g. "get_track"), or
        None when no cache serves it. Several reads may share one cache."""

    def stats(self) -> Mapping[str, Mapping[str, Any]]:
        """`QueryCache.stats()` of every cache, by name."""

    def facts(self) -> Mapping[str, Mapping[str, Any]]:
        """What each cache is, by name, for the report: at least "policy" ("lru", "fifo", "ttl", ...),
        "ttl_seconds" (None without expiry), "max_entries", "max_bytes" (None when unbounded), and
        "scope" ("library": one per open library; "process": shared by everything in the process)."""

    def clear(self) -> None:
        """Empty every cache."""


# ----------------------------------------------------------------------------------------- database

#: The columns the index checks look for, by the harness's names: the schema's own names go in
#: `DatabaseHandle.columns` when they differ.
INDEXED_COLUMNS = ("title", "path", "added", "favorite", "genre", "year", "artist_sort")


@dataclass(frozen=True)
class DatabaseHandle:
    """What the harness inspects the library's database through.

    `engine`: the SQLAlchemy `Engine` every statement of the library goes through (statements are
    counted and explained by attaching SQLAlchemy event listeners to it; pool checkouts from its pool).
    `path`: the SQLite file (query plans, indexes, and copies with an index dropped are made on it).
    Give both when you can; with only a path, statement counts and pool figures are skipped.
    `tracks_table`: the table of tracks. `columns`: the schema's column for each of INDEXED_COLUMNS
    whose name differs ("added" -> "date_added", ...); `artist_sort` is the column the artist ordering
    of `list_tracks(sort="artist")` uses, if any.
    """

    engine: Any = None
    path: Optional[Path] = None
    tracks_table: str = "tracks"
    columns: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str:
        """The schema's name of the harness's column `name`."""
        if name not in INDEXED_COLUMNS:
            raise ValueError(f"unknown column {name!r}; known: {', '.join(INDEXED_COLUMNS)}")
        return self.columns.get(name, name)


# -------------------------------------------------------------------------------------------- library

@runtime_checkable
class MusicLibrary(Protocol):
    """An open music library (`Engine.open_library(path)` creates it at `path` when missing).

    `Engine.open_library(path, cache_entries=n)` must bound every cache of the library to at most `n`
    entries (the hit-rate checks replay a workload with more distinct queries than that, so that
    eviction happens); an engine that cannot bound its caches raises NotSupported for that option.
    `cache_bytes=b` likewise bounds every cache's measured bytes; an engine whose caches do not measure
    bytes raises NotSupported for it (the memory checks then bound entries only).
    Opening the same file twice gives two libraries on the same data.

    `repo` reads and writes the database directly: its reads are never served from a cache. `cached`
    offers the same calls through the library's caches. Opening an existing library keeps its data
    and indexes as they are.
    """

    @property
    def features(self) -> frozenset[str]:
        """The optional parts this library has (`LibraryFeature` names). A library may also have an
        attribute `absent_features`, a mapping from the names it lacks to why (e.g. "no keyset pagination:
        listings take limit and offset only"); the harness adds the reason to the `skip` it reports."""

    @property
    def repo(self) -> LibraryRepository: ...

    @property
    def cached(self) -> LibraryRepository: ...

    @property
    def caches(self) -> LibraryCaches: ...

    def bulk_import(self, tracks: Sequence[NewTrack]) -> list[int]:
        """Store many tracks the fastest way the library has (bulk inserts into its schema are fine);
        returns their ids in the order given. Caches must not answer with what they held before."""

    def database(self) -> DatabaseHandle:
        """The database behind the library, for the harness's introspection."""

    def scan(self, folder: str | os.PathLike[str], *, audio_cache: Any = None) -> Any:
        """Import or rescan a folder of audio files (feature `scan`); returns an object with `added`,
        `changed` and `removed` (sequences of path strings). `audio_cache` (an engine audio cache) must
        be told of changed and removed files."""

    def close(self) -> None:
        """Close the library (idempotent)."""


def library_features(library: Any) -> frozenset[str]:
    """The library's declared features, or a clear error when it does not declare them."""
    features = getattr(library, "features", None)
    if not isinstance(features, (frozenset, set)):
        raise TypeError(f"{type(library).__name__} is not a MusicLibrary: `features` must be a set of "
                        f"LibraryFeature names, got {features!r}")
    return frozenset(features)


def why_feature_absent(library: Any, feature: str) -> str | None:
    """The library's own reason for lacking `feature` (its optional `absent_features`), or None."""
    reasons = getattr(library, "absent_features", None)
    return reasons.get(feature) if isinstance(reasons, Mapping) else None


__all__ = ["Album", "Artist", "DatabaseHandle", "FILTERS", "GroupCount", "INDEXED_COLUMNS", "KeyValueCache",
           "LibraryCaches", "LibraryFeature", "LibraryReader", "LibraryRepository", "LibraryWriter",
           "MusicLibrary", "NewTrack", "Page", "Playlist", "QueryCache", "SORTS", "Track",
           "library_features", "why_feature_absent"]
