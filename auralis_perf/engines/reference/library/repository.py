"""The repository: every read and write of the library, returning detached records (see records.py)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from auralis_perf.engines.reference.library.database import ConnectionSource, StatementCounter
from auralis_perf.engines.reference.library.errors import InvalidQueryError, NotFoundError
from auralis_perf.engines.reference.library.explain import QueryPlan, explain
from auralis_perf.engines.reference.library.fts import fts_query
from auralis_perf.engines.reference.library.queries import (
    ALBUM_TRACKS,
    ARTIST_ALBUMS,
    BY_GENRE,
    BY_YEAR,
    FEATURED_JSON,
    FIND_BY_TITLE,
    GENRES,
    GET_ALBUM,
    GET_ARTIST,
    GET_TRACK,
    GET_TRACK_BY_PATH,
    GET_TRACKS,
    PLAYLIST_TRACKS,
    SEARCH,
    SORT_COLUMNS,
    RecordBuilder,
    TrackFilter,
    check_listing,
    joined_tracks,
    ordered,
    plain_tracks,
    where_all,
)
from auralis_perf.engines.reference.library.records import (
    Album,
    Artist,
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
from auralis_perf.engines.reference.library.schema import (
    TrackModel,
    albums,
    artists,
    playlist_entries,
    playlists,
    track_artists,
    tracks,
)
from auralis_perf.engines.support.query_plan import distinct_explainable

#: Columns update_track may change, with the Python types each accepts.
UPDATABLE: dict[str, tuple[type, ...]] = {
    "title": (str,), "genre": (str, type(None)), "year": (int, type(None)),
    "track_number": (int, type(None)), "duration": (int, float), "album_id": (int, type(None)),
    "artist_id": (int,), "favorite": (bool,), "play_count": (int,), "last_played": (int, float, type(None)),
    "path": (str,), "file_size": (int,), "mtime": (int, float), "format": (str, type(None)),
    "sample_rate": (int, type(None)), "channels": (int, type(None)),
}
_CHUNK = 10_000  # ids per IN (...) list, far below SQLite's variable limit


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def check_text(value: Any, what: str, *, optional: bool = False) -> None:
    """Text must be a str that SQLite can store (any Unicode; lone surrogates are not Unicode text)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidQueryError(f"{what} must be a str, not {type(value).__name__}")
    if value.isascii():  # O(1) in CPython; only non-ASCII text can hold a lone surrogate
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQueryError(f"{what} {value!r} is not valid Unicode text: {exc.reason}") from None


#: Columns of a new tracks row, in the order of track_row().
TRACK_FIELDS = ("title", "path", "artist_id", "album_id", "artist_sort", "genre", "year", "track_number",
                "duration", "sample_rate", "channels", "format", "file_size", "mtime", "favorite",
                "play_count", "last_played", "added_at")
assert set(TRACK_FIELDS) <= set(tracks.c.keys())


def track_row(new: NewTrack, artist_id: int, album_id: int | None, now: float) -> tuple[Any, ...]:
    """The tracks row of a NewTrack whose artist and album ids are known (shared by every insert path)."""
    return (new.title, new.path, artist_id, album_id, new.artist, new.genre, new.year, new.track_number,
            float(new.duration), new.sample_rate, new.channels, new.format, int(new.file_size),
            float(new.mtime), bool(new.favorite), int(new.play_count), new.last_played,
            now if new.added_at is None else float(new.added_at))


def track_values(new: NewTrack, artist_id: int, album_id: int | None, now: float) -> dict[str, Any]:
    return dict(zip(TRACK_FIELDS, track_row(new, artist_id, album_id, now)))


def check_new_track(new: NewTrack) -> None:
    if not isinstance(new, NewTrack):
        raise InvalidQueryError(f"expected a NewTrack, not {type(new).__name__}")
    check_text(new.path, "path")
    check_text(new.title, "title")
    check_text(new.artist, "artist")
    check_text(new.album, "album", optional=True)
    check_text(new.genre, "genre", optional=True)
    check_text(new.format, "format", optional=True)
    for name in new.featured:
        check_text(name, "featured artist")
    if not new.path:
        raise InvalidQueryError("a track needs a non-empty path")


class Repository:
    """Reads and writes through a connection source (the pool, or one bound connection)."""

    def __init__(self, source: ConnectionSource, statements: StatementCounter) -> None:
        self._source = source
        self._statements = statements

    # -- single rows ---------------------------------------------------------------------------------
    def get_track(self, track_id: int) -> Track | None:
        with self._source.read() as conn:
            row = conn.execute(GET_TRACK, {"id": track_id}).first()
        return None if row is None else RecordBuilder().track(row)

    def get_track_by_path(self, path: str) -> Track | None:
        with self._source.read() as conn:
            row = conn.execute(GET_TRACK_BY_PATH, {"path": path}).first()
        return None if row is None else RecordBuilder().track(row)

    def get_tracks(self, track_ids: Sequence[int]) -> list[Track]:
        ids = list(dict.fromkeys(track_ids))
        found: dict[int, Track] = {}
        builder = RecordBuilder()
        with self._source.read() as conn:
            for chunk in _chunks(ids):
                for row in conn.execute(GET_TRACKS, {"ids": list(chunk)}):
                    found[row[0]] = builder.track(row)
        return [found[i] for i in track_ids if i in found]

    def get_album(self, album_id: int) -> Album | None:
        with self._source.read() as conn:
            row = conn.execute(GET_ALBUM, {"id": album_id}).first()
        return None if row is None else Album(row[0], row[1], row[2], row[3], Artist(row[2], row[4]))

    def album_tracks(self, album_id: int) -> list[Track]:
        builder = RecordBuilder()
        with self._source.read() as conn:
            return [builder.track(row) for row in conn.execute(ALBUM_TRACKS, {"album_id": album_id})]

    def get_artist(self, artist_id: int) -> Artist | None:
        with self._source.read() as conn:
            row = conn.execute(GET_ARTIST, {"id": artist_id}).first()
        return None if row is None else Artist(row[0], row[1])

    def artist_albums(self, artist_id: int) -> list[Album]:
        with self._source.read() as conn:
            rows = conn.execute(ARTIST_ALBUMS, {"artist_id": artist_id}).all()
        if not rows:
            return []
        artist = Artist(rows[0][2], rows[0][4])
        return [Album(r[0], r[1], r[2], r[3], artist) for r in rows]

    # -- search --------------------------------------------------------------------------------------
    def find_by_title(self, prefix: str, *, limit: int = 50) -> list[Track]:
        """Tracks whose title starts with `prefix` (ASCII case-insensitive), by title."""
        check_text(prefix, "title prefix")
        check_listing("title", limit, None, None, False, "joined")
        builder = RecordBuilder()
        params = {"low": prefix, "high": prefix + "\U0010ffff", "limit": limit}
        with self._source.read() as conn:
            return [builder.track(row) for row in conn.execute(FIND_BY_TITLE, params)]

    def search(self, text: str, *, limit: int = 50, offset: int = 0, prefix: bool = True) -> list[Track]:
        check_listing("title", limit, offset, None, False, "joined")
        query = fts_query(text, prefix=prefix)
        if query is None:
            return []
        builder = RecordBuilder()
        with self._source.read() as conn:
            rows = conn.execute(SEARCH, {"query": query, "limit": limit, "offset": offset})
            return [builder.track(row) for row in rows]

    # -- listings ------------------------------------------------------------------------------------
    def list_tracks(self, *, sort: str = "title", descending: bool = False, limit: int = 50,
                    offset: int | None = None, after: Cursor | None = None, load: str = "joined",
                    **filters: Any) -> Page:
        check_listing(sort, limit, offset, after, descending, load)
        where = TrackFilter.of(filters).clauses()
        key_column = SORT_COLUMNS[sort].label("sort_key")
        if load in ("joined", "none"):
            base = joined_tracks() if load == "joined" else plain_tracks()
            stmt = ordered(where_all(base.add_columns(key_column), where), sort, descending, after)
            stmt = stmt.limit(limit + 1)
            if offset:
                stmt = stmt.offset(offset)
            with self._source.read() as conn:
                rows = conn.execute(stmt).all()
            if load == "joined":
                builder = RecordBuilder()
                items = [builder.track(row) for row in rows[:limit]]
            else:
                items = [RecordBuilder.bare_track(row) for row in rows[:limit]]
            keys = [row[-1] for row in rows]
        else:
            items, keys = self._list_orm(where, sort, descending, after, limit, offset, load)
        next_cursor = None
        if len(keys) > limit:
            last = items[-1]
            next_cursor = Cursor(sort, bool(descending), keys[limit - 1], last.id)
        return Page(tuple(items), next_cursor)

    def _list_orm(self, where: list[Any], sort: str, descending: bool, after: Cursor | None,
                  limit: int, offset: int | None, load: str) -> tuple[list[Track], list[Any]]:
        """The ORM listing: selectin loading (3 statements) or plain lazy loading (N+1)."""
        stmt = select(TrackModel, FEATURED_JSON, SORT_COLUMNS[sort].label("sort_key"))
        stmt = ordered(where_all(stmt, where), sort, descending, after).limit(limit + 1)
        if offset:
            stmt = stmt.offset(offset)
        if load == "selectin":
            stmt = stmt.options(selectinload(TrackModel.album), selectinload(TrackModel.artist))
        builder = RecordBuilder()
        with self._source.read() as conn, Session(bind=conn) as session:
            rows = session.execute(stmt).all()
            items = [builder.model_track(model, featured) for model, featured, _ in rows[:limit]]
        return items, [row[2] for row in rows]

    def cursor_at(self, position: int, *, sort: str = "title", descending: bool = False,
                  **filters: Any) -> Cursor | None:
        """The cursor whose next page starts at row `position` (0-based) of this order and filter."""
        check_listing(sort, 1, position, None, descending, "none")
        if position == 0:
            return None
        stmt = select(SORT_COLUMNS[sort], tracks.c.id)
        stmt = ordered(where_all(stmt, TrackFilter.of(filters).clauses()), sort, descending, None)
        with self._source.read() as conn:
            row = conn.execute(stmt.offset(position - 1).limit(1)).first()
        return None if row is None else Cursor(sort, bool(descending), row[0], row[1])

    def count_tracks(self, **filters: Any) -> int:
        stmt = where_all(select(func.count()).select_from(tracks), TrackFilter.of(filters).clauses())
        with self._source.read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- aggregations --------------------------------------------------------------------------------
    def count_by_genre(self) -> list[GroupStat]:
        with self._source.read() as conn:
            return [GroupStat(r[0], r[1], r[2]) for r in conn.execute(BY_GENRE)]

    def count_by_year(self) -> list[GroupStat]:
        with self._source.read() as conn:
            return [GroupStat(r[0], r[1], r[2]) for r in conn.execute(BY_YEAR)]

    def genres(self) -> list[str]:
        with self._source.read() as conn:
            return [r[0] for r in conn.execute(GENRES)]

    # -- playlists (reads) ---------------------------------------------------------------------------
    def get_playlist(self, playlist_id: int) -> Playlist | None:
        with self._source.read() as conn:
            head = conn.execute(select(playlists.c.id, playlists.c.name, playlists.c.created_at)
                                .where(playlists.c.id == playlist_id)).first()
            if head is None:
                return None
            builder = RecordBuilder()
            items = tuple(builder.track(r) for r in conn.execute(PLAYLIST_TRACKS, {"playlist_id": playlist_id}))
        return Playlist(head[0], head[1], head[2], items)

    def list_playlists(self) -> list[PlaylistSummary]:
        p, e, t = playlists.c, playlist_entries.c, tracks.c
        stmt = (select(p.id, p.name, func.count(e.id), func.total(t.duration))
                .select_from(playlists.outerjoin(playlist_entries, e.playlist_id == p.id)
                             .outerjoin(tracks, t.id == e.track_id))
                .group_by(p.id).order_by(p.id))
        with self._source.read() as conn:
            return [PlaylistSummary(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt)]

    def playlists_containing(self, track_ids: Sequence[int]) -> list[int]:
        ids = list(track_ids)
        found: set[int] = set()
        with self._source.read() as conn:
            for chunk in _chunks(ids):
                found.update(self._playlists_of(conn, chunk))
        return sorted(found)

    @staticmethod
    def _playlists_of(conn: Connection, track_ids: Sequence[int]) -> list[int]:
        stmt = select(playlist_entries.c.playlist_id).where(
            playlist_entries.c.track_id.in_(list(track_ids))).distinct()
        return [r[0] for r in conn.execute(stmt)]

    # -- writes: tracks ------------------------------------------------------------------------------
    @staticmethod
    def ensure_artist(conn: Connection, name: str) -> int:
        """The id of the artist called `name`, created when missing."""
        found = conn.execute(select(artists.c.id).where(artists.c.name == name)).scalar()
        if found is not None:
            return found
        return conn.execute(insert(artists).values(name=name)).inserted_primary_key[0]

    @staticmethod
    def ensure_album(conn: Connection, artist_id: int, title: str, year: int | None) -> int:
        found = conn.execute(select(albums.c.id).where(albums.c.artist_id == artist_id,
                                                       albums.c.title == title)).scalar()
        if found is not None:
            return found
        return conn.execute(insert(albums).values(artist_id=artist_id, title=title, year=year)
                            ).inserted_primary_key[0]

    def add_track(self, new: NewTrack) -> int:
        check_new_track(new)
        with self._source.write() as conn:
            return self.insert_track(conn, new, time.time())

    def insert_track(self, conn: Connection, new: NewTrack, now: float) -> int:
        artist_id = self.ensure_artist(conn, new.artist)
        album_id = None if new.album is None else self.ensure_album(conn, artist_id, new.album, new.year)
        try:
            track_id = conn.execute(insert(tracks).values(track_values(new, artist_id, album_id, now))
                                    ).inserted_primary_key[0]
        except IntegrityError as exc:
            raise InvalidQueryError(f"a track with path {new.path!r} is already in the library") from exc
        credited = {artist_id}
        for position, name in enumerate(new.featured):
            featured_id = self.ensure_artist(conn, name)
            if featured_id not in credited:
                credited.add(featured_id)
                conn.execute(insert(track_artists).values(track_id=track_id, artist_id=featured_id,
                                                          position=position))
        return track_id

    def update_track(self, track_id: int, **fields: Any) -> None:
        self.update_track_reporting(track_id, **fields)

    def update_track_reporting(self, track_id: int, **fields: Any) -> UpdateReport:
        """update_track, telling which artists and albums the track belonged to before and after it
        (read in the same transaction as the update, so a concurrent writer cannot slip in between)."""
        for name, value in fields.items():
            types = UPDATABLE.get(name)
            if types is None:
                raise InvalidQueryError(f"track field {name!r} cannot be updated; "
                                        f"updatable: {', '.join(sorted(UPDATABLE))}")
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise InvalidQueryError(f"track field {name}={value!r} has the wrong type")
            if isinstance(value, str):
                check_text(value, f"track field {name}")
        if not fields:
            return UpdateReport((), ())
        with self._source.write() as conn:
            before = conn.execute(select(tracks.c.artist_id, tracks.c.album_id)
                                  .where(tracks.c.id == track_id)).first()
            if before is None:
                raise NotFoundError(f"no track with id {track_id}")
            try:
                conn.execute(update(tracks).where(tracks.c.id == track_id).values(**fields))
            except IntegrityError as exc:
                raise InvalidQueryError(f"update of track {track_id} rejected ({', '.join(fields)}): "
                                        f"{exc.orig}") from exc
        artists_ = (before[0], fields.get("artist_id", before[0]))
        albums_ = (before[1], fields.get("album_id", before[1]))
        return UpdateReport(tuple(dict.fromkeys(artists_)),
                            tuple(a for a in dict.fromkeys(albums_) if a is not None))

    def set_favorite(self, track_id: int, favorite: bool = True) -> None:
        self.update_track(track_id, favorite=bool(favorite))

    def record_play(self, track_id: int, at: float | None = None) -> None:
        with self._source.write() as conn:
            result = conn.execute(update(tracks).where(tracks.c.id == track_id).values(
                play_count=tracks.c.play_count + 1, last_played=time.time() if at is None else float(at)))
            if result.rowcount == 0:
                raise NotFoundError(f"no track with id {track_id}")

    def rename_artist(self, artist_id: int, name: str) -> None:
        check_text(name, "artist name")
        with self._source.write() as conn:
            try:
                result = conn.execute(update(artists).where(artists.c.id == artist_id).values(name=name))
            except IntegrityError as exc:
                raise InvalidQueryError(f"an artist called {name!r} exists already") from exc
            if result.rowcount == 0:
                raise NotFoundError(f"no artist with id {artist_id}")

    def rename_album(self, album_id: int, title: str) -> None:
        check_text(title, "album title")
        with self._source.write() as conn:
            try:
                result = conn.execute(update(albums).where(albums.c.id == album_id).values(title=title))
            except IntegrityError as exc:
                raise InvalidQueryError(f"the album's artist has an album called {title!r} already") from exc
            if result.rowcount == 0:
                raise NotFoundError(f"no album with id {album_id}")

    # -- writes: deletes -----------------------------------------------------------------------------
    def delete_track(self, track_id: int) -> DeleteReport:
        return self.delete_tracks([track_id])

    def delete_tracks(self, track_ids: Sequence[int]) -> DeleteReport:
        with self._source.write() as conn:
            existing: list[int] = []
            for chunk in _chunks(list(dict.fromkeys(track_ids))):
                existing += [r[0] for r in conn.execute(select(tracks.c.id).where(tracks.c.id.in_(list(chunk))))]
            return self._delete_tracks(conn, existing, albums_=(), artists_=())

    def delete_album(self, album_id: int) -> DeleteReport:
        with self._source.write() as conn:
            if conn.execute(select(albums.c.id).where(albums.c.id == album_id)).first() is None:
                raise NotFoundError(f"no album with id {album_id}")
            ids = [r[0] for r in conn.execute(select(tracks.c.id).where(tracks.c.album_id == album_id))]
            return self._delete_tracks(conn, ids, albums_=(album_id,), artists_=())

    def delete_artist(self, artist_id: int) -> DeleteReport:
        """Delete an artist with their albums (and every track on them), their tracks on other albums,
        and their featured credits on other artists' tracks."""
        with self._source.write() as conn:
            if conn.execute(select(artists.c.id).where(artists.c.id == artist_id)).first() is None:
                raise NotFoundError(f"no artist with id {artist_id}")
            album_ids = [r[0] for r in conn.execute(select(albums.c.id).where(albums.c.artist_id == artist_id))]
            own_albums = select(albums.c.id).where(albums.c.artist_id == artist_id)
            ids = [r[0] for r in conn.execute(select(tracks.c.id).where(
                (tracks.c.artist_id == artist_id) | tracks.c.album_id.in_(own_albums)))]
            return self._delete_tracks(conn, ids, albums_=tuple(album_ids), artists_=(artist_id,))

    def _delete_tracks(self, conn: Connection, ids: list[int], *, albums_: tuple[int, ...],
                       artists_: tuple[int, ...]) -> DeleteReport:
        playlist_ids: set[int] = set()
        for chunk in _chunks(ids):
            playlist_ids.update(self._playlists_of(conn, chunk))
        touched_tracks: set[int] = set()
        for artist_id in artists_:  # featured credits on tracks that stay
            touched_tracks.update(r[0] for r in conn.execute(
                select(track_artists.c.track_id).where(track_artists.c.artist_id == artist_id)))
        touched_tracks.difference_update(ids)
        for chunk in _chunks(ids):  # entries and credits go with them (ON DELETE CASCADE)
            conn.execute(delete(tracks).where(tracks.c.id.in_(list(chunk))))
        for artist_id in artists_:
            conn.execute(delete(track_artists).where(track_artists.c.artist_id == artist_id))
        for album_id in albums_:
            conn.execute(delete(albums).where(albums.c.id == album_id))
        for artist_id in artists_:
            conn.execute(delete(artists).where(artists.c.id == artist_id))
        return DeleteReport(tracks=tuple(ids), albums=albums_, artists=artists_,
                            playlists=tuple(sorted(playlist_ids)), touched_tracks=tuple(sorted(touched_tracks)))

    # -- writes: playlists ---------------------------------------------------------------------------
    def create_playlist(self, name: str) -> int:
        check_text(name, "playlist name")
        with self._source.write() as conn:
            return conn.execute(insert(playlists).values(name=name, created_at=time.time())
                                ).inserted_primary_key[0]

    def rename_playlist(self, playlist_id: int, name: str) -> None:
        check_text(name, "playlist name")
        with self._source.write() as conn:
            if conn.execute(update(playlists).where(playlists.c.id == playlist_id).values(name=name)).rowcount == 0:
                raise NotFoundError(f"no playlist with id {playlist_id}")

    def delete_playlist(self, playlist_id: int) -> None:
        with self._source.write() as conn:
            if conn.execute(delete(playlists).where(playlists.c.id == playlist_id)).rowcount == 0:
                raise NotFoundError(f"no playlist with id {playlist_id}")

    @staticmethod
    def _entries(conn: Connection, playlist_id: int) -> list[tuple[int, int]]:
        """(entry id, stored position) in playlist order; NotFoundError for an unknown playlist."""
        if conn.execute(select(playlists.c.id).where(playlists.c.id == playlist_id)).first() is None:
            raise NotFoundError(f"no playlist with id {playlist_id}")
        e = playlist_entries.c
        return [(r[0], r[1]) for r in conn.execute(
            select(e.id, e.position).where(e.playlist_id == playlist_id).order_by(e.position, e.id))]

    @staticmethod
    def _write_order(conn: Connection, entries: list[tuple[int, int]], order: list[int]) -> None:
        """Store positions 0..n-1 for the entry ids in `order`, touching only entries that moved."""
        stored = dict(entries)
        changed = [{"entry": entry, "pos": index} for index, entry in enumerate(order)
                   if stored.get(entry) != index]
        if changed:
            conn.execute(update(playlist_entries).where(playlist_entries.c.id == bindparam("entry"))
                         .values(position=bindparam("pos")), changed)

    def add_to_playlist(self, playlist_id: int, track_ids: Sequence[int], *, at: int | None = None) -> None:
        ids = list(track_ids)
        with self._source.write() as conn:
            entries = self._entries(conn, playlist_id)
            at = len(entries) if at is None else at
            if not isinstance(at, int) or not 0 <= at <= len(entries):
                raise InvalidQueryError(f"insert position {at!r} outside 0..{len(entries)}")
            known: set[int] = set()
            for chunk in _chunks(list(set(ids))):
                known.update(r[0] for r in conn.execute(select(tracks.c.id).where(tracks.c.id.in_(list(chunk)))))
            missing = [i for i in ids if i not in known]
            if missing:
                raise NotFoundError(f"no track with id {missing[0]} (playlist {playlist_id})")
            if not ids:
                return
            base = len(entries)  # placed after every existing position, then renumbered
            new_ids = [conn.execute(insert(playlist_entries).values(
                playlist_id=playlist_id, track_id=track_id, position=base + k)).inserted_primary_key[0]
                for k, track_id in enumerate(ids)]
            order = [entry for entry, _ in entries]
            order[at:at] = new_ids
            self._write_order(conn, entries + [(n, base + k) for k, n in enumerate(new_ids)], order)

    def move_in_playlist(self, playlist_id: int, from_index: int, to_index: int) -> None:
        with self._source.write() as conn:
            entries = self._entries(conn, playlist_id)
            for index in (from_index, to_index):
                if not isinstance(index, int) or not 0 <= index < len(entries):
                    raise InvalidQueryError(f"playlist {playlist_id} index {index!r} outside 0..{len(entries) - 1}")
            order = [entry for entry, _ in entries]
            order.insert(to_index, order.pop(from_index))
            self._write_order(conn, entries, order)

    def remove_from_playlist(self, playlist_id: int, index: int) -> None:
        with self._source.write() as conn:
            entries = self._entries(conn, playlist_id)
            if not isinstance(index, int) or not 0 <= index < len(entries):
                raise InvalidQueryError(f"playlist {playlist_id} index {index!r} outside 0..{len(entries) - 1}")
            order = [entry for entry, _ in entries]
            removed = order.pop(index)
            conn.execute(delete(playlist_entries).where(playlist_entries.c.id == removed))
            self._write_order(conn, entries, order)

    # -- diagnostics -----------------------------------------------------------------------------------
    def explain(self, statement: Any, params: Any = None) -> QueryPlan:
        with self._source.read() as conn:
            return explain(conn, statement, params)

    def plans(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[QueryPlan]:
        """Run fn and return the plan of every distinct statement it issued (SELECT/UPDATE/DELETE)."""
        with self._statements.count() as block:
            fn(*args, **kwargs)
        return [self.explain(sql, params) for sql, params in distinct_explainable(block.executed).items()]
