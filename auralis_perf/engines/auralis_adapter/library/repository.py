"""Auralis's library behind the protocol's reads and writes (`LibraryRepository`).

Two views of one `LibraryManager`: `repo` calls its repositories (`manager.tracks`, `.albums`,
`.artists`, `.playlists`: never cached), `cached` calls the manager's own methods, which are
`@cached_query` (the module-level `QueryCache` of `auralis.library.cache`) for the reads that have one,
and invalidate that cache by function name after writes. Where Auralis has no call for what the protocol
asks, both views use the same adapter query on Auralis's schema (`schema_queries`), and `API_MAP` says so.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.auralis_adapter.library import records, schema_queries
from auralis_perf.engines.auralis_adapter.library.schema_queries import Schema
from auralis_perf.engines.base import AudioInputError, EngineError, NotSupported

#: protocol call -> what answers it (for the report: which figures are Auralis's own calls).
API_MAP: dict[str, str] = {
    "get_track": "TrackRepository.get_by_id (LibraryManager.get_track: not cached)",
    "get_track_by_path": "TrackRepository.get_by_path (not cached)",
    "get_tracks": "TrackRepository.get_by_id once per id (Auralis has no batch lookup)",
    "get_album": "AlbumRepository.get_by_id",
    "album_tracks": "adapter query on Auralis's schema (Auralis has no album-tracks call)",
    "get_artist": "ArtistRepository.get_by_id",
    "artist_albums": "ArtistRepository.get_by_id(...).albums",
    "search": "TrackRepository.search / cached: LibraryManager.search_tracks (@cached_query ttl=60)",
    "list_tracks(sort=title|added, no filter)": "TrackRepository.get_all(limit, offset, order_by) / cached: "
                                                "LibraryManager.get_all_tracks (@cached_query ttl=300)",
    "list_tracks(sort=added, descending)": "TrackRepository.get_recent / cached: LibraryManager.get_recent_tracks",
    "list_tracks(favorite=True, sort=title)": "TrackRepository.get_favorites / cached: "
                                              "LibraryManager.get_favorite_tracks",
    "list_tracks(other orders or filters)": "adapter query on Auralis's schema (Auralis has no such listing)",
    "list_tracks(load=joined|selectin|lazy)": "the default listing's statement (TrackRepository.get_all's, or the "
                                              "adapter query) with SQLAlchemy's joinedload / selectinload / lazyload "
                                              "on Auralis's Track.artists and Track.album (Auralis itself always "
                                              "joinedloads)",
    "count_tracks, count_by_genre, count_by_year, genres": "adapter query on Auralis's schema",
    "add_track": "TrackRepository.add / cached: LibraryManager.add_track",
    "update_track": "TrackRepository.update (album and artist by name, as Auralis takes them) / cached: "
                    "LibraryManager.update_track",
    "set_favorite": "TrackRepository.set_favorite / cached: LibraryManager.set_track_favorite",
    "record_play": "TrackRepository.record_play / cached: LibraryManager.record_track_play",
    "delete_track": "TrackRepository.delete / cached: LibraryManager.delete_track",
    "playlists": "not offered (see PLAYLISTS_ABSENT)",
}

#: Why the protocol's playlists (ordered entries, a track possibly more than once) are not offered.
PLAYLISTS_ABSENT = ("Auralis's playlists cannot hold the protocol's playlists: its track_playlist table has no "
                    "position column (the order is not stored) and PlaylistRepository.add_track removes a track "
                    "already in the playlist before adding it (a track appears once)")

#: Cached reads of LibraryManager (their @cached_query function names), for `LibraryCaches.cache_for`.
CACHED_READS = {"search": "search_tracks", "list_tracks": "get_all_tracks"}


class AuralisRepository:
    """The protocol's reads and writes on one LibraryManager; `cached=True` goes through its cached methods."""

    def __init__(self, manager: Any, schema: Schema, *, cached: bool) -> None:
        self._manager = manager
        self._schema = schema
        self._cached = cached

    # -- helpers ---------------------------------------------------------------------------------
    def _session(self) -> Any:
        return self._manager.get_session()

    def _query(self, run: Callable[[Any], Any]) -> Any:
        session = self._session()
        try:
            return run(session)
        finally:
            session.close()

    def _records(self, rows: Sequence[Any]) -> list[records.TrackRecord]:
        """Records of Auralis rows; the genres Auralis did not load come in one extra statement."""
        missing = [r.id for r in rows if not records.loaded(r, "genres")]
        genres = self._query(lambda s: schema_queries.genres_of(s, self._schema, missing)) if missing else {}
        return records.tracks(rows, genres)

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        with quiet():
            return function(*args)

    # -- reads -----------------------------------------------------------------------------------
    def get_track(self, track_id: int) -> Optional[records.TrackRecord]:
        row = self._call(self._manager.tracks.get_by_id, track_id)
        return self._records([row])[0] if row is not None else None

    def get_track_by_path(self, path: str) -> Optional[records.TrackRecord]:
        row = self._call(self._manager.tracks.get_by_path, str(path))
        return self._records([row])[0] if row is not None else None

    def get_tracks(self, track_ids: Sequence[int]) -> list[records.TrackRecord]:
        rows = [r for r in (self._call(self._manager.tracks.get_by_id, i) for i in track_ids) if r is not None]
        return self._records(rows)

    def get_album(self, album_id: int) -> Optional[records.AlbumRecord]:
        row = self._call(self._manager.albums.get_by_id, album_id)
        return records.album(row) if row is not None else None

    def album_tracks(self, album_id: int) -> list[records.TrackRecord]:
        return self._records(self._query(lambda s: schema_queries.album_tracks(s, self._schema, album_id)))

    def get_artist(self, artist_id: int) -> Optional[records.ArtistRecord]:
        row = self._call(self._manager.artists.get_by_id, artist_id)
        return records.artist(row) if row is not None else None

    def artist_albums(self, artist_id: int) -> list[records.AlbumRecord]:
        row = self._call(self._manager.artists.get_by_id, artist_id)
        if row is None:
            return []
        return sorted((records.album(a) for a in row.albums), key=lambda a: (a.year or 0, a.title, a.id))

    def search(self, text: str, *, limit: int = 50, offset: int = 0) -> list[records.TrackRecord]:
        if self._cached:
            rows, _total = self._call(self._manager.search_tracks, text, limit, offset)
        else:
            rows, _total = self._call(self._manager.tracks.search, text, limit, offset)
        return self._records(rows)

    def find_by_title(self, prefix: str, *, limit: int = 50) -> list[records.TrackRecord]:
        raise NotSupported("Auralis's library has no title-prefix lookup (TrackRepository has search by "
                           "substring only)")

    def list_tracks(self, *, sort: str = "title", descending: bool = False, limit: int = 50,
                    offset: Optional[int] = None, after: Any = None, load: Optional[str] = None,
                    **filters: Any) -> records.PageRecord:
        if after is not None:
            raise NotSupported("Auralis's library has no keyset (cursor) pagination: its listings take "
                               "limit and offset only")
        if sort not in ("title", "artist", "added"):
            raise AudioInputError(f"unknown sort {sort!r}; sorts: title, artist, added")
        used = {k: v for k, v in filters.items() if v is not None}
        if load is not None:
            return records.PageRecord(items=tuple(self._records(self._loaded(load, sort, descending, limit,
                                                                             offset or 0, used))))
        rows = self._auralis_listing(sort, descending, limit, offset or 0, used)
        if rows is None:
            rows = self._query(lambda s: schema_queries.list_tracks(
                s, self._schema, sort=sort, descending=descending, limit=limit, offset=offset or 0, **used))
        return records.PageRecord(items=tuple(self._records(rows)))

    def _loaded(self, load: str, sort: str, descending: bool, limit: int, offset: int,
                filters: dict[str, Any]) -> list[Any]:
        """The default listing's page by another loading strategy (see API_MAP's "list_tracks(load=...)")."""
        if load not in schema_queries.LOADERS:
            raise AudioInputError(f"unknown load {load!r}; strategies: {', '.join(schema_queries.LOADERS)}")
        if self._cached:
            raise NotSupported("a loading strategy applies to the database listing, not to a cached one")
        by_get_all = not filters and sort in ("title", "added") and not descending
        if not by_get_all and (filters == {"favorite": True} or (not filters and sort == "added")):
            raise NotSupported("loading strategies are offered for the listings TrackRepository.get_all and the "
                               "adapter's queries answer, not for get_recent or get_favorites")
        order = ("title" if sort == "title" else "created_at") if by_get_all else None
        return self._query(lambda s: schema_queries.list_tracks_loaded(
            s, self._schema, load=load, auralis_order=order, sort=sort, descending=descending, limit=limit,
            offset=offset, **filters))

    def _auralis_listing(self, sort: str, descending: bool, limit: int, offset: int,
                         filters: dict[str, Any]) -> Optional[list[Any]]:
        """Auralis's own call for this listing, when it has one (see API_MAP); None otherwise."""
        m, t = self._manager, self._manager.tracks
        if not filters and sort in ("title", "added") and not descending:
            order = "title" if sort == "title" else "created_at"
            rows, _ = self._call(m.get_all_tracks if self._cached else t.get_all, limit, offset, order)
        elif not filters and sort == "added" and descending:
            rows, _ = self._call(m.get_recent_tracks if self._cached else t.get_recent, limit, offset)
        elif filters == {"favorite": True} and sort == "title" and not descending:
            rows, _ = self._call(m.get_favorite_tracks if self._cached else t.get_favorites, limit, offset)
        else:
            return None
        return list(rows)

    def cursor_at(self, position: int, *, sort: str = "title", descending: bool = False) -> Any:
        raise NotSupported("Auralis's library has no keyset (cursor) pagination")

    def count_tracks(self, **filters: Any) -> int:
        used = {k: v for k, v in filters.items() if v is not None}
        return self._query(lambda s: schema_queries.count_tracks(s, self._schema, **used))

    def count_by_genre(self) -> list[records.GroupCountRecord]:
        rows = self._query(lambda s: schema_queries.count_by(s, self._schema, "genre"))
        return [records.GroupCountRecord(k, n) for k, n in rows]

    def count_by_year(self) -> list[records.GroupCountRecord]:
        rows = self._query(lambda s: schema_queries.count_by(s, self._schema, "year"))
        return [records.GroupCountRecord(k, n) for k, n in rows]

    def genres(self) -> list[str]:
        return self._query(lambda s: schema_queries.genre_names(s, self._schema))

    def get_playlist(self, playlist_id: int) -> Any:
        raise NotSupported(PLAYLISTS_ABSENT)

    def list_playlists(self) -> list[Any]:
        raise NotSupported(PLAYLISTS_ABSENT)

    def playlists_containing(self, track_ids: Sequence[int]) -> list[int]:
        raise NotSupported(PLAYLISTS_ABSENT)

    # -- writes ----------------------------------------------------------------------------------
    def _known(self, track_id: int) -> None:
        if self._call(self._manager.tracks.get_by_id, track_id) is None:
            raise LookupErrorInLibrary(f"no track with id {track_id}")

    def add_track(self, track: Any) -> int:
        info = {"filepath": str(track.path), "title": track.title, "artists": [track.artist, *track.featured],
                "album": track.album, "genres": [track.genre] if track.genre else [], "year": track.year,
                "track_number": track.track_number, "duration": track.duration, "filesize": track.file_size,
                # given, so that Auralis does not open the (generated, absent) file to read them
                "format": track.format or "WAV", "sample_rate": track.sample_rate or 44100,
                "channels": track.channels or 2}
        add = self._manager.add_track if self._cached else self._manager.tracks.add
        row = self._call(add, info)
        if row is None:
            raise EngineError(f"Auralis's TrackRepository.add failed for {track.path!r} (it logs and returns None)")
        if track.favorite:  # Auralis's add has no favourite field; its own setter follows
            self.set_favorite(row.id, True)
        return row.id

    def update_track(self, track_id: int, **fields: Any) -> None:
        self._known(track_id)
        info: dict[str, Any] = {k: fields[k] for k in ("title", "year", "track_number", "duration") if k in fields}
        if "genre" in fields:
            info["genres"] = [fields["genre"]] if fields["genre"] else []
        if "album_id" in fields:
            album = self._call(self._manager.albums.get_by_id, fields["album_id"])
            if album is None:
                raise LookupErrorInLibrary(f"no album with id {fields['album_id']}")
            info["album"] = album.title  # Auralis's update takes the album by title
        if "artist_id" in fields:
            artist = self._call(self._manager.artists.get_by_id, fields["artist_id"])
            if artist is None:
                raise LookupErrorInLibrary(f"no artist with id {fields['artist_id']}")
            info["artists"] = [artist.name]
        unknown = set(fields) - {"title", "year", "track_number", "duration", "genre", "album_id", "artist_id",
                                 "favorite"}
        if unknown:
            raise NotSupported(f"Auralis's TrackRepository.update cannot change {', '.join(sorted(unknown))}")
        if info:
            update = self._manager.update_track if self._cached else self._manager.tracks.update
            if self._call(update, track_id, info) is None:
                raise EngineError(f"Auralis's update of track {track_id} failed (it logs and returns None)")
        if "favorite" in fields:
            self.set_favorite(track_id, bool(fields["favorite"]))

    def set_favorite(self, track_id: int, favorite: bool = True) -> None:
        self._known(track_id)
        setter = self._manager.set_track_favorite if self._cached else self._manager.tracks.set_favorite
        self._call(setter, track_id, favorite)

    def record_play(self, track_id: int, at: Optional[float] = None) -> None:
        self._known(track_id)
        record = self._manager.record_track_play if self._cached else self._manager.tracks.record_play
        self._call(record, track_id)  # Auralis stamps the database's now; `at` cannot be given

    def delete_track(self, track_id: int) -> bool:
        delete = self._manager.delete_track if self._cached else self._manager.tracks.delete
        if not self._call(delete, track_id):
            raise LookupErrorInLibrary(f"no track with id {track_id}")
        return True

    def rename_artist(self, artist_id: int, name: str) -> None:
        raise NotSupported("Auralis's library has no artist rename (ArtistRepository is read-only)")

    def rename_album(self, album_id: int, title: str) -> None:
        raise NotSupported("Auralis's library has no album rename (AlbumRepository changes artwork only)")

    def delete_artist(self, artist_id: int) -> Any:
        raise NotSupported("Auralis's library has no artist delete (no cascade over albums and tracks)")

    def create_playlist(self, name: str) -> int:
        raise NotSupported(PLAYLISTS_ABSENT)

    def add_to_playlist(self, playlist_id: int, track_ids: Sequence[int]) -> None:
        raise NotSupported(PLAYLISTS_ABSENT)

    def move_in_playlist(self, playlist_id: int, from_index: int, to_index: int) -> None:
        raise NotSupported(PLAYLISTS_ABSENT)

    def remove_from_playlist(self, playlist_id: int, index: int) -> None:
        raise NotSupported(PLAYLISTS_ABSENT)


class LookupErrorInLibrary(EngineError, LookupError):
    """An unknown id given to a write."""
