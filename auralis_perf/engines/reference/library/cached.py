"""The repository behind caches: reads are served from the caches, writes invalidate by tags.

Which entries a write touches is decided by tags:
- every record in a result tags its entry: ``track:ID``, ``album:ID``, ``artist:ID`` (main and featured),
  ``playlist:ID``;
- a result whose membership or order depends on a track column carries ``tracks:COLUMN``, scoped when
  the result only ever holds one artist's or one album's tracks: ``tracks:COLUMN@artist:ID`` (and
  ``tracks:COLUMN@artist``, "some artist's listing"), ``tracks:COLUMN@album:ID`` (and
  ``tracks:COLUMN@album``); every listing, count and aggregation carries ``tracks:membership`` (tracks
  added or removed);
- ``search`` (any search result), ``playlists`` (the playlist list), ``albums:membership`` and
  ``artists:membership`` (lookups that found nothing, an artist's album list).
A write invalidates the tags of what it changed, after it committed; nothing else is dropped. A track
update knows the artists and albums the track was and is in (UpdateReport), so retitling one track
drops the title-sorted listings of the whole library and of its own artist and album, not every
artist's; a write that does not know its scope drops every scoped listing of the column.

The query cache stores a listing's result itself (a hit is one lookup, no record rebuilt), tagged by
what decides membership and order and by every record it shows; its records also go to the tracks
cache (the same objects, so the memory is shared; each cache counts them in its own bound).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from auralis_perf.engines.reference.library.caches import LibraryCaches
from auralis_perf.engines.reference.library.fts import normalise_search_text
from auralis_perf.engines.reference.library.queries import SORT_TAG_COLUMNS, TrackFilter
from auralis_perf.engines.reference.library.querycache import TaggedLRUCache
from auralis_perf.engines.reference.library.records import (
    Album,
    Cursor,
    DeleteReport,
    GroupStat,
    NewTrack,
    Page,
    Playlist,
    PlaylistSummary,
    Track,
    UpdateReport,
)
from auralis_perf.engines.reference.library.repository import Repository

_ABSENT = object()
MEMBERSHIP = "tracks:membership"
SEARCH = "search"
PLAYLISTS = "playlists"
#: Columns whose change alters what a search finds.
_SEARCHED = {"title", "artist_id", "album_id"}


def track_key(track_id: int) -> tuple[str, str, int]:
    """The tracks-cache key of get_track(track_id); equal to make_key("track", {"id": track_id})."""
    return ("track", "id", track_id)


def track_tags(track: Track) -> list[str]:
    tags = [f"track:{track.id}", f"artist:{track.artist_id}"]
    if track.album_id is not None:
        tags.append(f"album:{track.album_id}")
    tags.extend(f"artist:{artist.id}" for artist in track.featured)
    return tags


def tracks_tags(items: Iterable[Track]) -> list[str]:
    tags: list[str] = []
    for track in items:
        tags.extend(track_tags(track))
    return tags


def column_tags(columns: Iterable[str | None], *, artist_id: int | None = None,
                album_id: int | None = None) -> list[str]:
    """Tags of a result that depends on these track columns, of one album's or one artist's tracks when
    the result is filtered to them (the album when both: the narrower scope), else of every track."""
    if album_id is not None:
        scopes: tuple[str, ...] = (f"@album:{album_id}", "@album")
    elif artist_id is not None:
        scopes = (f"@artist:{artist_id}", "@artist")
    else:
        scopes = ("",)
    return [f"tracks:{column}{scope}" for column in columns if column for scope in scopes]


def filter_tags(spec: TrackFilter, sort_column: str | None = None) -> list[str]:
    """The tags of a listing or count with filter `spec` (and sort column)."""
    return [MEMBERSHIP] + column_tags(spec.columns() | {sort_column}, artist_id=spec.artist_id,
                                      album_id=spec.album_id)


def changed_column_tags(columns: Iterable[str], *, artists: Iterable[int] | None = None,
                        albums: Iterable[int] | None = None) -> list[str]:
    """What a change of these columns invalidates: results over every track, and the scoped results of
    `artists` and `albums` (of every artist, every album, when not known: None)."""
    artists = None if artists is None else tuple(artists)
    albums = None if albums is None else tuple(albums)
    tags: list[str] = []
    for column in columns:
        tags.append(f"tracks:{column}")
        tags += [f"tracks:{column}@artist"] if artists is None else [f"tracks:{column}@artist:{a}" for a in artists]
        tags += [f"tracks:{column}@album"] if albums is None else [f"tracks:{column}@album:{a}" for a in albums]
    return tags


def delete_tags(report: DeleteReport) -> list[str]:
    tags = [MEMBERSHIP, SEARCH]
    tags += [f"track:{i}" for i in report.tracks + report.touched_tracks]
    tags += [f"album:{i}" for i in report.albums]
    tags += [f"artist:{i}" for i in report.artists + report.touched_artists]
    tags += [f"playlist:{i}" for i in report.playlists]
    if report.albums:
        tags.append("albums:membership")
    if report.artists:
        tags.append("artists:membership")
    if report.playlists:
        tags.append(PLAYLISTS)
    return tags


def update_tags(track_id: int, columns: Iterable[str], where: UpdateReport | None = None) -> list[str]:
    """What an update of these columns of one track invalidates; `where` (the artists and albums it was
    and is in) narrows the scoped listings dropped to those."""
    columns = set(columns)
    if "artist_id" in columns:
        columns.add("artist_sort")  # kept equal to the artist's name by a trigger
    tags = [f"track:{track_id}"] + changed_column_tags(
        sorted(columns), artists=where.artists if where else None, albums=where.albums if where else None)
    if columns & _SEARCHED:
        tags.append(SEARCH)
    return tags


class CachedRepository:
    """Same reads and writes as Repository (see the package docstring), through LibraryCaches."""

    def __init__(self, repo: Repository, caches: LibraryCaches) -> None:
        self.repo = repo
        self.caches = caches

    @staticmethod
    def _cached(cache: TaggedLRUCache, name: str, params: dict[str, Any], compute: Callable[[], Any],
                tags_of: Callable[[Any], Iterable[str]]) -> Any:
        return cache.get_or_compute(cache.make_key(name, params), compute, tags_of)

    # -- tracks --------------------------------------------------------------------------------------
    def get_track(self, track_id: int) -> Track | None:
        return self.caches.tracks.get_or_compute(
                            track_key(track_id), lambda: self.repo.get_track(track_id),
                            lambda t: track_tags(t) if t else [f"track:{track_id}", MEMBERSHIP])

    def get_track_by_path(self, path: str) -> Track | None:
        return self._cached(self.caches.tracks, "path", {"path": path},
                            lambda: self.repo.get_track_by_path(path),
                            lambda t: track_tags(t) if t else [MEMBERSHIP, "tracks:path"])

    def get_tracks(self, track_ids: Sequence[int]) -> list[Track]:
        cache = self.caches.tracks
        wanted = list(dict.fromkeys(track_ids))
        found: dict[int, Track] = {}
        missing = []
        for track_id, value in zip(wanted, cache.lookup_many([("track", "id", i) for i in wanted], _ABSENT)):
            if value is _ABSENT:
                missing.append(track_id)
            elif value is not None:
                found[track_id] = value
        if missing:
            self._remember(self.repo.get_tracks(missing), cache.generation, found)
        return [found[i] for i in track_ids if i in found]

    def _remember(self, items: Iterable[Track], generation: int, into: dict[int, Track] | None = None) -> None:
        """Put records read from the database into the tracks cache (unless invalidated meanwhile)."""
        cache = self.caches.tracks
        for track in items:
            if into is not None:
                into[track.id] = track
            cache.put(track_key(track.id), track, track_tags(track), generation=generation)

    def _listing(self, name: str, params: dict[str, Any], fixed_tags: list[str],
                 compute: Callable[[], tuple[Any, Sequence[Track]]], bare: bool) -> Any:
        """A listing through the query cache. `compute` returns (result, its records); the result is
        stored whole, tagged with `fixed_tags` (membership and order) and its records' tags."""
        cache = self.caches.query
        key = cache.make_key(name, params)
        hit, stored = cache.lookup(key)
        if hit:
            return stored
        generation, track_generation = cache.generation, self.caches.tracks.generation
        result, items = compute()
        cache.put(key, result, fixed_tags + tracks_tags(items), generation=generation)
        if not bare:
            self._remember(items, track_generation)
        return result

    def album_tracks(self, album_id: int) -> list[Track]:
        return self._cached(self.caches.tracks, "album_tracks", {"album_id": album_id},
                            lambda: self.repo.album_tracks(album_id),
                            lambda items: [f"album:{album_id}", MEMBERSHIP]
                            + column_tags(("album_id", "track_number"), album_id=album_id) + tracks_tags(items))

    # -- albums and artists ----------------------------------------------------------------------------
    def get_album(self, album_id: int) -> Album | None:
        return self._cached(self.caches.albums, "album", {"id": album_id},
                            lambda: self.repo.get_album(album_id),
                            lambda a: [f"album:{album_id}", f"artist:{a.artist_id}"] if a
                            else [f"album:{album_id}", "albums:membership"])

    def artist_albums(self, artist_id: int) -> list[Album]:
        return self._cached(self.caches.albums, "artist_albums", {"artist_id": artist_id},
                            lambda: self.repo.artist_albums(artist_id),
                            lambda items: [f"artist:{artist_id}", "albums:membership"]
                            + [f"album:{a.id}" for a in items])

    def get_artist(self, artist_id: int):  # -> Artist | None
        return self._cached(self.caches.artists, "artist", {"id": artist_id},
                            lambda: self.repo.get_artist(artist_id),
                            lambda a: [f"artist:{artist_id}"] if a
                            else [f"artist:{artist_id}", "artists:membership"])

    # -- search and listings ---------------------------------------------------------------------------
    def find_by_title(self, prefix: str, *, limit: int = 50) -> list[Track]:
        def compute() -> tuple[tuple[Track, ...], Sequence[Track]]:
            items = tuple(self.repo.find_by_title(prefix, limit=limit))
            return items, items

        # stored as a tuple: the caller gets its own list to do with as it likes
        return list(self._listing("find_by_title", {"prefix": prefix, "limit": limit},
                                  [MEMBERSHIP, "tracks:title"], compute, bare=False))

    def search(self, text: str, *, limit: int = 50, offset: int = 0, prefix: bool = True) -> list[Track]:
        key_text = normalise_search_text(text) if isinstance(text, str) else text
        return self._cached(self.caches.search, "search",
                            {"text": key_text, "limit": limit, "offset": offset, "prefix": prefix},
                            lambda: self.repo.search(text, limit=limit, offset=offset, prefix=prefix),
                            lambda items: [SEARCH] + tracks_tags(items))

    def list_tracks(self, *, sort: str = "title", descending: bool = False, limit: int = 50,
                    offset: int | None = None, after: Cursor | None = None, load: str = "joined",
                    **filters: Any) -> Page:
        spec = TrackFilter.of(filters)
        params = {"sort": sort, "descending": bool(descending), "limit": limit, "offset": offset,
                  "after": after, "load": load, **spec.as_params()}

        def compute() -> tuple[Page, Sequence[Track]]:
            page = self.repo.list_tracks(sort=sort, descending=descending, limit=limit, offset=offset,
                                         after=after, load=load, **filters)
            return page, page.items

        return self._listing("list_tracks", params, filter_tags(spec, SORT_TAG_COLUMNS.get(sort)), compute,
                             bare=load == "none")

    def cursor_at(self, position: int, *, sort: str = "title", descending: bool = False,
                  **filters: Any) -> Cursor | None:
        spec = TrackFilter.of(filters)
        params = {"position": position, "sort": sort, "descending": bool(descending), **spec.as_params()}
        fixed = filter_tags(spec, SORT_TAG_COLUMNS.get(sort))
        return self._cached(self.caches.query, "cursor_at", params,
                            lambda: self.repo.cursor_at(position, sort=sort, descending=descending, **filters),
                            lambda cursor: fixed + ([f"track:{cursor.id}"] if cursor else []))

    def count_tracks(self, **filters: Any) -> int:
        spec = TrackFilter.of(filters)
        return self._cached(self.caches.query, "count_tracks", spec.as_params(),
                            lambda: self.repo.count_tracks(**filters),
                            lambda _: filter_tags(spec))

    def count_by_genre(self) -> list[GroupStat]:
        return self._cached(self.caches.query, "count_by_genre", {}, self.repo.count_by_genre,
                            lambda _: [MEMBERSHIP, "tracks:genre", "tracks:duration"])

    def count_by_year(self) -> list[GroupStat]:
        return self._cached(self.caches.query, "count_by_year", {}, self.repo.count_by_year,
                            lambda _: [MEMBERSHIP, "tracks:year", "tracks:duration"])

    def genres(self) -> list[str]:
        return self._cached(self.caches.query, "genres", {}, self.repo.genres,
                            lambda _: [MEMBERSHIP, "tracks:genre"])

    # -- playlists -------------------------------------------------------------------------------------
    def get_playlist(self, playlist_id: int) -> Playlist | None:
        return self._cached(self.caches.playlists, "playlist", {"id": playlist_id},
                            lambda: self.repo.get_playlist(playlist_id),
                            lambda p: [f"playlist:{playlist_id}"] + tracks_tags(p.tracks) if p
                            else [f"playlist:{playlist_id}", PLAYLISTS])

    def list_playlists(self) -> list[PlaylistSummary]:
        return self._cached(self.caches.playlists, "playlists", {}, self.repo.list_playlists,
                            lambda items: [PLAYLISTS, "tracks:duration"] + [f"playlist:{p.id}" for p in items])

    def playlists_containing(self, track_ids: Sequence[int]) -> list[int]:
        return self.repo.playlists_containing(track_ids)

    # -- writes ----------------------------------------------------------------------------------------
    def add_track(self, new: NewTrack) -> int:
        track_id = self.repo.add_track(new)
        self.caches.invalidate([MEMBERSHIP, SEARCH, "albums:membership", "artists:membership"])
        return track_id

    def tracks_added(self) -> None:
        """Invalidate what an import or scan that added tracks (and artists, albums) makes stale."""
        self.caches.invalidate([MEMBERSHIP, SEARCH, "albums:membership", "artists:membership"])

    def update_track(self, track_id: int, **fields: Any) -> None:
        where = self.repo.update_track_reporting(track_id, **fields)
        self.caches.invalidate(update_tags(track_id, fields, where))

    def set_favorite(self, track_id: int, favorite: bool = True) -> None:
        self.update_track(track_id, favorite=bool(favorite))

    def record_play(self, track_id: int, at: float | None = None) -> None:
        self.repo.record_play(track_id, at)
        self.caches.invalidate(update_tags(track_id, ("play_count", "last_played")))

    def rename_artist(self, artist_id: int, name: str) -> None:
        self.repo.rename_artist(artist_id, name)
        self.caches.invalidate([f"artist:{artist_id}", SEARCH]
                               + changed_column_tags(["artist_sort"], artists=[artist_id]))

    def rename_album(self, album_id: int, title: str) -> None:
        self.repo.rename_album(album_id, title)
        self.caches.invalidate([f"album:{album_id}", SEARCH])

    def delete_track(self, track_id: int) -> DeleteReport:
        return self._deleted(self.repo.delete_track(track_id))

    def delete_tracks(self, track_ids: Sequence[int]) -> DeleteReport:
        return self._deleted(self.repo.delete_tracks(track_ids))

    def delete_album(self, album_id: int) -> DeleteReport:
        return self._deleted(self.repo.delete_album(album_id))

    def delete_artist(self, artist_id: int) -> DeleteReport:
        return self._deleted(self.repo.delete_artist(artist_id))

    def _deleted(self, report: DeleteReport) -> DeleteReport:
        self.caches.invalidate(delete_tags(report))
        return report

    def create_playlist(self, name: str) -> int:
        playlist_id = self.repo.create_playlist(name)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])
        return playlist_id

    def rename_playlist(self, playlist_id: int, name: str) -> None:
        self.repo.rename_playlist(playlist_id, name)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])

    def delete_playlist(self, playlist_id: int) -> None:
        self.repo.delete_playlist(playlist_id)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])

    def add_to_playlist(self, playlist_id: int, track_ids: Sequence[int], *, at: int | None = None) -> None:
        self.repo.add_to_playlist(playlist_id, track_ids, at=at)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])

    def move_in_playlist(self, playlist_id: int, from_index: int, to_index: int) -> None:
        self.repo.move_in_playlist(playlist_id, from_index, to_index)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])

    def remove_from_playlist(self, playlist_id: int, index: int) -> None:
        self.repo.remove_from_playlist(playlist_id, index)
        self.caches.invalidate([PLAYLISTS, f"playlist:{playlist_id}"])
