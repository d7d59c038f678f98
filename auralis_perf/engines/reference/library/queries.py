"""The statements the repository issues, built once, and the conversion of their rows into records.

Tracks come with their album and artist from one joined statement; featured artists ride along in the
same statement as a JSON array from a correlated subquery (an indexed lookup per row), so a listing of
any size is a single statement.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.sql import Select

from auralis_perf.engines.reference.library.errors import InvalidQueryError
from auralis_perf.engines.reference.library.records import Album, Artist, Cursor, Track
from auralis_perf.engines.reference.library.schema import (
    SORTS,
    albums,
    artists,
    playlist_entries,
    track_artists,
    tracks,
)

# The FTS5 table, described for SQLAlchemy only (schema.py creates it with its own DDL).
tracks_fts = Table("tracks_fts", MetaData(), Column("rowid", Integer), Column("title", Text),
                   Column("artist", Text), Column("album", Text))
FTS_MATCH = text("tracks_fts MATCH :query")
#: bm25 weights of title, artist, album: a word in the title counts most.
FTS_RANK = literal_column("bm25(tracks_fts, 10.0, 4.0, 2.0)")

TRACK_COLUMNS = (
    tracks.c.id, tracks.c.title, tracks.c.path, tracks.c.artist_id, tracks.c.album_id, tracks.c.genre,
    tracks.c.year, tracks.c.track_number, tracks.c.duration, tracks.c.sample_rate, tracks.c.channels,
    tracks.c.format, tracks.c.file_size, tracks.c.mtime, tracks.c.favorite, tracks.c.play_count,
    tracks.c.last_played, tracks.c.added_at,
)
N_TRACK = len(TRACK_COLUMNS)

FEATURED_JSON = (
    select(func.json_group_array(func.json_array(track_artists.c.position, artists.c.id, artists.c.name)))
    .select_from(track_artists.join(artists, artists.c.id == track_artists.c.artist_id))
    .where(track_artists.c.track_id == tracks.c.id)
    .scalar_subquery().label("featured")
)

RELATION_COLUMNS = (albums.c.title.label("album_title"), albums.c.artist_id.label("album_artist_id"),
                    albums.c.year.label("album_year"), artists.c.name.label("artist_name"), FEATURED_JSON)
TRACKS_WITH_RELATIONS = (tracks.join(artists, artists.c.id == tracks.c.artist_id)
                         .outerjoin(albums, albums.c.id == tracks.c.album_id))

SORT_COLUMNS = {"title": tracks.c.title, "artist": tracks.c.artist_sort, "added": tracks.c.added_at}
assert tuple(SORT_COLUMNS) == SORTS

LOAD_MODES = ("joined", "selectin", "lazy", "none")


def joined_tracks() -> Select:
    """SELECT tracks with album, artist and featured artists (one statement)."""
    return select(*TRACK_COLUMNS, *RELATION_COLUMNS).select_from(TRACKS_WITH_RELATIONS)


def plain_tracks() -> Select:
    return select(*TRACK_COLUMNS)


GET_TRACK = joined_tracks().where(tracks.c.id == bindparam("id"))
GET_TRACK_BY_PATH = joined_tracks().where(tracks.c.path == bindparam("path"))
GET_TRACKS = joined_tracks().where(tracks.c.id.in_(bindparam("ids", expanding=True)))
ALBUM_TRACKS = (joined_tracks().where(tracks.c.album_id == bindparam("album_id"))
                .order_by(tracks.c.track_number, tracks.c.id))
FIND_BY_TITLE = (joined_tracks().where(tracks.c.title >= bindparam("low"), tracks.c.title < bindparam("high"))
                 .order_by(tracks.c.title, tracks.c.id).limit(bindparam("limit")))
# The best hits first (FTS5 ranks inside the virtual table), then the joins for those rows only.
_HITS = (select(tracks_fts.c.rowid.label("track_id"), FTS_RANK.label("score")).where(FTS_MATCH)
         .order_by(FTS_RANK).limit(bindparam("limit")).offset(bindparam("offset")).subquery("hits"))
SEARCH = (select(*TRACK_COLUMNS, *RELATION_COLUMNS)
          .select_from(_HITS.join(tracks, tracks.c.id == _HITS.c.track_id)
                       .join(artists, artists.c.id == tracks.c.artist_id)
                       .outerjoin(albums, albums.c.id == tracks.c.album_id))
          .order_by(_HITS.c.score, tracks.c.id))
PLAYLIST_TRACKS = (select(*TRACK_COLUMNS, *RELATION_COLUMNS)
                   .select_from(playlist_entries.join(tracks, tracks.c.id == playlist_entries.c.track_id)
                                .join(artists, artists.c.id == tracks.c.artist_id)
                                .outerjoin(albums, albums.c.id == tracks.c.album_id))
                   .where(playlist_entries.c.playlist_id == bindparam("playlist_id"))
                   .order_by(playlist_entries.c.position, playlist_entries.c.id))
GET_ALBUM = (select(albums.c.id, albums.c.title, albums.c.artist_id, albums.c.year, artists.c.name)
             .select_from(albums.join(artists, artists.c.id == albums.c.artist_id))
             .where(albums.c.id == bindparam("id")))
ARTIST_ALBUMS = (select(albums.c.id, albums.c.title, albums.c.artist_id, albums.c.year, artists.c.name)
                 .select_from(albums.join(artists, artists.c.id == albums.c.artist_id))
                 .where(albums.c.artist_id == bindparam("artist_id"))
                 .order_by(albums.c.year, albums.c.title, albums.c.id))
GET_ARTIST = select(artists.c.id, artists.c.name).where(artists.c.id == bindparam("id"))
BY_GENRE = (select(tracks.c.genre, func.count(), func.total(tracks.c.duration))
            .group_by(tracks.c.genre).order_by(tracks.c.genre))
BY_YEAR = (select(tracks.c.year, func.count(), func.total(tracks.c.duration))
           .group_by(tracks.c.year).order_by(tracks.c.year))
GENRES = select(tracks.c.genre).where(tracks.c.genre.is_not(None)).distinct().order_by(tracks.c.genre)


class RecordBuilder:
    """Turns joined rows into Track records; albums and artists are shared within one result."""

    __slots__ = ("_albums", "_artists")

    def __init__(self) -> None:
        self._albums: dict[int, Album] = {}
        self._artists: dict[int, Artist] = {}

    def artist(self, artist_id: int, name: str) -> Artist:
        found = self._artists.get(artist_id)
        if found is None:
            found = self._artists[artist_id] = Artist(artist_id, name)
        return found

    def album(self, album_id: int, title: str, artist_id: int, year: int | None,
              artist: Artist | None = None) -> Album:
        found = self._albums.get(album_id)
        if found is None:
            found = self._albums[album_id] = Album(album_id, title, artist_id, year, artist)
        return found

    def featured(self, raw: str | None) -> tuple[Artist, ...]:
        if not raw or raw == "[]":
            return ()
        return tuple(self.artist(artist_id, name) for _, artist_id, name in sorted(json.loads(raw)))

    def track(self, row: Any) -> Track:
        """A row of TRACK_COLUMNS + RELATION_COLUMNS."""
        album_id = row[4]
        album = None if album_id is None else self.album(album_id, row[18], row[19], row[20])
        return Track(*row[:N_TRACK], album=album, artist=self.artist(row[3], row[21]),
                     featured=self.featured(row[22]))

    @staticmethod
    def bare_track(row: Any) -> Track:
        """A row of TRACK_COLUMNS only (no relations)."""
        return Track(*row[:N_TRACK])

    def model_track(self, model: Any, featured_json: str | None) -> Track:
        """An ORM TrackModel; touching .album and .artist loads them if they are not loaded yet."""
        album_model = model.album
        artist_model = model.artist
        album = None if album_model is None else self.album(
            album_model.id, album_model.title, album_model.artist_id, album_model.year)
        return Track(model.id, model.title, model.path, model.artist_id, model.album_id, model.genre,
                     model.year, model.track_number, model.duration, model.sample_rate, model.channels,
                     model.format, model.file_size, model.mtime, model.favorite, model.play_count,
                     model.last_played, model.added_at, album=album,
                     artist=self.artist(artist_model.id, artist_model.name),
                     featured=self.featured(featured_json))


# -- listing filters ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrackFilter:
    """The filters of list_tracks / count_tracks / cursor_at, combined with AND."""

    favorite: bool | None = None
    genre: str | None = None
    artist_id: int | None = None
    album_id: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    added_from: float | None = None
    added_to: float | None = None

    def __post_init__(self) -> None:
        checks = {"favorite": (bool,), "genre": (str,), "artist_id": (int,), "album_id": (int,),
                  "year_from": (int,), "year_to": (int,), "added_from": (int, float),
                  "added_to": (int, float)}
        for name, types in checks.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                raise InvalidQueryError(f"filter {name}={value!r}: expected {types[0].__name__}")

    @classmethod
    def of(cls, options: dict[str, Any]) -> "TrackFilter":
        known = {f.name for f in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise InvalidQueryError(f"unknown filter(s) {', '.join(sorted(unknown))}; "
                                    f"known: {', '.join(sorted(known))}")
        return cls(**options)

    def clauses(self) -> list[Any]:
        c = tracks.c
        found = []
        if self.favorite is not None:
            found.append(c.favorite == self.favorite)
        if self.genre is not None:
            found.append(c.genre == self.genre)
        if self.artist_id is not None:
            found.append(c.artist_id == self.artist_id)
        if self.album_id is not None:
            found.append(c.album_id == self.album_id)
        if self.year_from is not None:
            found.append(c.year >= self.year_from)
        if self.year_to is not None:
            found.append(c.year <= self.year_to)
        if self.added_from is not None:
            found.append(c.added_at >= self.added_from)
        if self.added_to is not None:
            found.append(c.added_at <= self.added_to)
        return found

    def columns(self) -> set[str]:
        """The track columns the filter reads (cache tags depend on them)."""
        names = {"favorite": "favorite", "genre": "genre", "artist_id": "artist_id",
                 "album_id": "album_id", "year_from": "year", "year_to": "year",
                 "added_from": "added_at", "added_to": "added_at"}
        return {column for attr, column in names.items() if getattr(self, attr) is not None}

    def as_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


SORT_TAG_COLUMNS = {"title": "title", "artist": "artist_sort", "added": "added_at"}


def check_listing(sort: str, limit: int, offset: int | None, after: Cursor | None,
                  descending: bool, load: str) -> None:
    if sort not in SORT_COLUMNS:
        raise InvalidQueryError(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")
    if load not in LOAD_MODES:
        raise InvalidQueryError(f"unknown load mode {load!r}; known: {', '.join(LOAD_MODES)}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidQueryError(f"limit must be a positive int, not {limit!r}")
    if offset is not None and (not isinstance(offset, int) or offset < 0):
        raise InvalidQueryError(f"offset must be a non-negative int, not {offset!r}")
    if offset is not None and after is not None:
        raise InvalidQueryError("give either offset or after (a keyset cursor), not both")
    if after is not None:
        if not isinstance(after, Cursor):
            raise InvalidQueryError(f"after must be a Cursor from a previous page, not {type(after).__name__}")
        if after.sort != sort or after.descending != bool(descending):
            raise InvalidQueryError(f"cursor of sort {after.sort!r} (descending={after.descending}) "
                                    f"used with sort {sort!r} (descending={bool(descending)})")


def ordered(stmt: Select, sort: str, descending: bool, after: Cursor | None) -> Select:
    """Add the keyset condition and the ORDER BY of a sort (the track id breaks ties)."""
    column = SORT_COLUMNS[sort]
    if after is not None:
        left = tuple_(column, tracks.c.id)
        right = tuple_(bindparam("after_key", after.key), bindparam("after_id", after.id))
        stmt = stmt.where(left < right if descending else left > right)
    if descending:
        return stmt.order_by(column.desc(), tracks.c.id.desc())
    return stmt.order_by(column, tracks.c.id)


def where_all(stmt: Select, clauses: list[Any]) -> Select:
    return stmt.where(and_(*clauses)) if clauses else stmt
