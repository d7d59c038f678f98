"""The adapter's own statements on Auralis's tables, for what Auralis's library API does not offer.

Everything here runs through Auralis's own session factory and ORM classes (so on its engine, its schema
and its indexes), and each use is named in the library's `api_map()` as "adapter query on Auralis's
schema", never passed off as an Auralis call. Used for: the genres of a page whose genres Auralis did not
load, listings with filters or orders Auralis has no call for, counts and aggregates, and bulk loading of
generated libraries (reads-only checks; the write checks go through Auralis's `TrackRepository.add`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import func, insert, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

#: SQLAlchemy's loader options for the protocol's `load` strategies (feature `load_strategies`).
LOADERS = {"joined": joinedload, "selectin": selectinload, "lazy": lazyload}


@dataclass(frozen=True)
class Schema:
    """Auralis's ORM classes and association tables (`auralis.library.models`)."""

    Track: Any
    Album: Any
    Artist: Any
    Genre: Any
    Playlist: Any
    track_artist: Any
    track_genre: Any
    track_playlist: Any

    @classmethod
    def of(cls, parts: Sequence[Any]) -> "Schema":
        """From the objects of the adapter's "library_models" part, in the order of the fields above."""
        return cls(*parts)


def utc(seconds: Optional[float]) -> Optional[datetime]:
    """UNIX seconds as Auralis stores times (naive UTC datetimes, `datetime.utcnow`)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def genres_of(session: Any, schema: Schema, track_ids: Sequence[int]) -> dict[int, str]:
    """Track id -> its first genre (by name), in one statement."""
    if not track_ids:
        return {}
    g = schema.Genre
    rows = session.execute(select(schema.track_genre.c.track_id, func.min(g.name))
                           .join(g, g.id == schema.track_genre.c.genre_id)
                           .where(schema.track_genre.c.track_id.in_(list(set(track_ids))))
                           .group_by(schema.track_genre.c.track_id))
    return dict(rows.all())


def filtered(schema: Schema, query: Any, *, favorite: Optional[bool] = None, genre: Optional[str] = None,
             artist_id: Optional[int] = None, album_id: Optional[int] = None, year_from: Optional[int] = None,
             year_to: Optional[int] = None, added_from: Optional[float] = None,
             added_to: Optional[float] = None) -> Any:
    """`query` with the protocol's filters (AND; inclusive ranges).

    Artist and genre go through Auralis's association tables, which have no index at 087974e2: they are
    filtered by an uncorrelated `tracks.id IN (SELECT track_id ...)`, one scan of the association table
    per statement, as Auralis's own get_by_artist/get_by_genre joins do. The correlated form
    (`Track.artists.any(...)`, an EXISTS per track) scans it once per track: quadratic in the library's
    size (an artist's page read a log-log slope of 1.67 from 500 to 2,000 tracks), a cost of the adapter's
    query, not of Auralis's."""
    t = schema.Track
    if favorite is not None:
        query = query.where(t.favorite.is_(bool(favorite)))
    if genre is not None:
        with_genre = (select(schema.track_genre.c.track_id)
                      .join(schema.Genre, schema.Genre.id == schema.track_genre.c.genre_id)
                      .where(schema.Genre.name == genre))
        query = query.where(t.id.in_(with_genre))
    if artist_id is not None:
        query = query.where(t.id.in_(select(schema.track_artist.c.track_id)
                                     .where(schema.track_artist.c.artist_id == artist_id)))
    if album_id is not None:
        query = query.where(t.album_id == album_id)
    if year_from is not None:
        query = query.where(t.year >= year_from)
    if year_to is not None:
        query = query.where(t.year <= year_to)
    if added_from is not None:
        query = query.where(t.created_at >= utc(added_from))
    if added_to is not None:
        query = query.where(t.created_at <= utc(added_to))
    return query


def ordered(schema: Schema, query: Any, sort: str, descending: bool) -> Any:
    """`query` ordered by one of the protocol's sorts, ties broken by id. "artist" is the first credited
    artist's name: Auralis stores no such column, so it comes from one grouped pass over its association
    table joined to the tracks (a correlated subquery per track would scan that unindexed table per row)."""
    t = schema.Track
    if sort == "artist":
        first_artist = (select(schema.track_artist.c.track_id, func.min(schema.Artist.name).label("name"))
                        .join(schema.Artist, schema.track_artist.c.artist_id == schema.Artist.id)
                        .group_by(schema.track_artist.c.track_id).subquery())
        query = query.outerjoin(first_artist, first_artist.c.track_id == t.id)
        key = first_artist.c.name
    else:
        key = {"title": t.title, "added": t.created_at}[sort]
    return query.order_by(key.desc(), t.id.desc()) if descending else query.order_by(key.asc(), t.id.asc())


def list_tracks(session: Any, schema: Schema, *, sort: str, descending: bool, limit: int, offset: int,
                **filters: Any) -> list[Any]:
    """A page of Auralis `Track` rows with artists and album loaded, as Auralis's own listings load them."""
    t = schema.Track
    query = ordered(schema, filtered(schema, select(t), **filters), sort, descending)
    query = query.options(joinedload(t.artists), joinedload(t.album)).limit(limit).offset(offset)
    return list(session.execute(query).unique().scalars())


def list_tracks_loaded(session: Any, schema: Schema, *, load: str, auralis_order: Optional[str], sort: str,
                       descending: bool, limit: int, offset: int, **filters: Any) -> list[Any]:
    """The page the default listing gives, with artists and album loaded by SQLAlchemy's `load` strategy
    on Auralis's own `Track.artists` / `Track.album` relationships (its listings use "joined"). With
    `auralis_order` (the default listing is `TrackRepository.get_all`) it is get_all's statement with only
    the loader swapped: the total counted first, ordered by that one column ascending. Lazy loading touches
    each row's artists and album in the session (a statement per row and relationship, as a lazy caller
    would issue them)."""
    t = schema.Track
    option = LOADERS[load]
    if auralis_order is not None:
        session.query(t).count()  # get_all counts the whole table with every page
        query = select(t).order_by(getattr(t, auralis_order, t.title).asc())
    else:
        query = ordered(schema, filtered(schema, select(t), **filters), sort, descending)
    result = session.execute(query.options(option(t.artists), option(t.album)).limit(limit).offset(offset))
    rows = list((result.unique() if load == "joined" else result).scalars())
    if load == "lazy":
        for row in rows:
            row.artists, row.album  # noqa: B018 - loaded here, while the session is open
    return rows


def count_tracks(session: Any, schema: Schema, **filters: Any) -> int:
    return session.execute(filtered(schema, select(func.count(schema.Track.id)), **filters)).scalar_one()


def count_by(session: Any, schema: Schema, what: str) -> list[tuple[Any, int]]:
    """(genre or year, tracks) ordered by key; tracks without a genre count under None."""
    t = schema.Track
    if what == "year":
        rows = session.execute(select(t.year, func.count(t.id)).group_by(t.year).order_by(t.year))
        return [tuple(r) for r in rows]
    first_genre = (select(schema.track_genre.c.track_id, func.min(schema.Genre.name).label("genre"))
                   .join(schema.Genre, schema.Genre.id == schema.track_genre.c.genre_id)
                   .group_by(schema.track_genre.c.track_id).subquery())
    rows = session.execute(select(first_genre.c.genre, func.count(t.id))
                           .select_from(t).outerjoin(first_genre, first_genre.c.track_id == t.id)
                           .group_by(first_genre.c.genre).order_by(first_genre.c.genre))
    return [tuple(r) for r in rows]


def genre_names(session: Any, schema: Schema) -> list[str]:
    g = schema.Genre
    return list(session.execute(select(g.name).where(g.tracks.any()).order_by(g.name)).scalars())


def album_tracks(session: Any, schema: Schema, album_id: int) -> list[Any]:
    t = schema.Track
    query = (select(t).where(t.album_id == album_id).order_by(t.track_number, t.id)
             .options(joinedload(t.artists), joinedload(t.album), joinedload(t.genres)))
    return list(session.execute(query).unique().scalars())


def files_under(session: Any, schema: Schema, folder: str) -> dict[str, tuple[Any, Any]]:
    """filepath -> (updated_at, filesize) of the tracks stored under `folder`."""
    t = schema.Track
    prefix = folder.rstrip("/") + "/"
    rows = session.execute(select(t.filepath, t.updated_at, t.filesize).where(t.filepath.startswith(prefix)))
    return {path: (updated, size) for path, updated, size in rows}


def bulk_insert(connection: Any, schema: Schema, tracks: Iterable[Any], *, now: float) -> list[int]:
    """Store generated tracks (`NewTrack`s) with multi-row INSERTs into Auralis's tables, in one
    transaction; artists, albums and genres are created once by name (albums by artist and title, as
    Auralis's `add` looks them up). Returns the tracks' ids in order."""
    items = list(tracks)
    artist_ids = _ensure(connection, schema.Artist, "name",
                         {n for t in items for n in (t.artist, *t.featured)})
    genre_ids = _ensure(connection, schema.Genre, "name", {t.genre for t in items if t.genre})
    album_ids = _ensure_albums(connection, schema, {(artist_ids[t.artist], t.album, t.year)
                                                    for t in items if t.album}, artist_ids)
    created = utc(now)
    first = (connection.execute(select(func.max(schema.Track.id))).scalar() or 0) + 1
    ids = list(range(first, first + len(items)))
    rows = [{"id": i, "title": t.title, "filepath": t.path, "duration": t.duration, "sample_rate": t.sample_rate,
             "channels": t.channels, "format": t.format, "filesize": t.file_size, "year": t.year,
             "track_number": t.track_number, "album_id": album_ids.get((artist_ids[t.artist], t.album)),
             "favorite": t.favorite, "play_count": t.play_count, "last_played": utc(t.last_played),
             "created_at": utc(t.added_at) or created, "updated_at": created} for i, t in zip(ids, items)]
    for start in range(0, len(rows), 5000):
        connection.execute(insert(schema.Track.__table__), rows[start:start + 5000])
    credits = [{"track_id": i, "artist_id": artist_ids[n]} for i, t in zip(ids, items) for n in (t.artist, *t.featured)]
    genres = [{"track_id": i, "genre_id": genre_ids[t.genre]} for i, t in zip(ids, items) if t.genre]
    for table, values in ((schema.track_artist, credits), (schema.track_genre, genres)):
        for start in range(0, len(values), 5000):
            connection.execute(insert(table), values[start:start + 5000])
    return ids


def _ensure(connection: Any, model: Any, column: str, names: set[str]) -> dict[str, int]:
    """name -> id for every name, inserting the missing ones."""
    table = model.__table__
    known = dict(connection.execute(select(table.c[column], table.c.id)).all())
    missing = sorted(names - set(known))
    if missing:
        connection.execute(insert(table), [{column: n} for n in missing])
        known = dict(connection.execute(select(table.c[column], table.c.id)).all())
    return known


def _ensure_albums(connection: Any, schema: Schema, albums: set[tuple[int, str, Optional[int]]],
                   artist_ids: dict[str, int]) -> dict[tuple[int, str], int]:
    table = schema.Album.__table__
    known = {(a, t): i for i, a, t in connection.execute(select(table.c.id, table.c.artist_id, table.c.title))}
    missing = {(a, t): y for a, t, y in albums if (a, t) not in known}
    if missing:
        connection.execute(insert(table), [{"artist_id": a, "title": t, "year": y}
                                           for (a, t), y in sorted(missing.items())])
        known = {(a, t): i for i, a, t in connection.execute(select(table.c.id, table.c.artist_id, table.c.title))}
    return known
