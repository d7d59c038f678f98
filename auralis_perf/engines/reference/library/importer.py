"""Getting many tracks in: a bulk path and a row-by-row path, so that the report can compare them.

Bulk: one transaction; artists and albums resolved in memory; rows inserted with Core executemany in
batches; the FTS insert triggers are dropped for the duration and the FTS rows of the new tracks filled
with one INSERT ... SELECT at the end (the drop is part of the transaction: a failure restores them).
Row by row: the ORM, one track per transaction, as a naive scanner would.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auralis_perf.engines.reference.library.database import Database
from auralis_perf.engines.reference.library.errors import InvalidQueryError
from auralis_perf.engines.reference.library.records import ImportReport, NewTrack
from auralis_perf.engines.reference.library.repository import TRACK_FIELDS, check_new_track, track_row, track_values
from auralis_perf.engines.reference.library.schema import (
    FTS_FILL_RANGE,
    INSERT_TRIGGERS,
    AlbumModel,
    ArtistModel,
    TrackArtistModel,
    TrackModel,
    albums,
    artists,
    tracks,
)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


# Positional executemany straight to the driver: SQLAlchemy's per-row parameter processing would cost
# more than SQLite's own work here.
INSERT_ARTIST = _insert_sql("artists", ("id", "name"))
INSERT_ALBUM = _insert_sql("albums", ("id", "title", "artist_id", "year"))
INSERT_TRACK = _insert_sql("tracks", ("id",) + TRACK_FIELDS)
INSERT_CREDIT = _insert_sql("track_artists", ("track_id", "artist_id", "position"))


def _batches(items: Iterable[NewTrack], size: int) -> Iterator[list[NewTrack]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def bulk_import(db: Database, items: Iterable[NewTrack], *, batch_size: int = 5000) -> ImportReport:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidQueryError(f"batch_size must be a positive int, not {batch_size!r}")
    start = time.perf_counter()
    now = time.time()
    new_artists = new_albums = n_tracks = 0
    with db.write() as conn:
        artist_ids = {name: i for i, name in conn.execute(select(artists.c.id, artists.c.name))}
        album_ids = {(a, t): i for i, a, t in conn.execute(select(albums.c.id, albums.c.artist_id, albums.c.title))}
        next_artist = (conn.execute(select(func.max(artists.c.id))).scalar() or 0) + 1
        next_album = (conn.execute(select(func.max(albums.c.id))).scalar() or 0) + 1
        first_track = next_track = (conn.execute(select(func.max(tracks.c.id))).scalar() or 0) + 1
        for trigger in INSERT_TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        seen_paths: set[str] = set()
        for batch in _batches(items, batch_size):
            artist_rows, album_rows, track_rows, credit_rows = [], [], [], []
            for new in batch:
                check_new_track(new)
                if new.path in seen_paths:
                    raise InvalidQueryError(f"path {new.path!r} appears twice in the import")
                seen_paths.add(new.path)
                for name in (new.artist, *new.featured):
                    if name not in artist_ids:
                        artist_ids[name] = next_artist
                        artist_rows.append((next_artist, name))
                        next_artist += 1
                artist_id = artist_ids[new.artist]
                album_id = None
                if new.album is not None:
                    album_id = album_ids.get((artist_id, new.album))
                    if album_id is None:
                        album_id = album_ids[(artist_id, new.album)] = next_album
                        album_rows.append((next_album, new.album, artist_id, new.year))
                        next_album += 1
                track_rows.append((next_track, *track_row(new, artist_id, album_id, now)))
                credited = {artist_id}
                for position, name in enumerate(new.featured):
                    if artist_ids[name] not in credited:
                        credited.add(artist_ids[name])
                        credit_rows.append((next_track, artist_ids[name], position))
                next_track += 1
            if artist_rows:
                conn.exec_driver_sql(INSERT_ARTIST, artist_rows)
            if album_rows:
                conn.exec_driver_sql(INSERT_ALBUM, album_rows)
            try:
                conn.exec_driver_sql(INSERT_TRACK, track_rows)
            except IntegrityError as exc:
                raise InvalidQueryError(f"import rejected: a path is already in the library ({exc.orig})") from exc
            if credit_rows:
                conn.exec_driver_sql(INSERT_CREDIT, credit_rows)
            new_artists += len(artist_rows)
            new_albums += len(album_rows)
            n_tracks += len(track_rows)
        if n_tracks:
            conn.execute(text(FTS_FILL_RANGE), {"first": first_track, "last": next_track - 1})
        for ddl in INSERT_TRIGGERS.values():
            conn.exec_driver_sql(ddl)
        if n_tracks:
            # fresh statistics so the planner picks the right index (sampled: a full ANALYZE costs more)
            conn.exec_driver_sql("PRAGMA analysis_limit = 2000")
            conn.exec_driver_sql("ANALYZE")
    span = (first_track, next_track - 1) if n_tracks else None
    return ImportReport(n_tracks, new_artists, new_albums, time.perf_counter() - start, "bulk", span)


def row_by_row_import(db: Database, items: Iterable[NewTrack], *, commit_every: int = 1) -> ImportReport:
    """ORM inserts, looking up artist and album per row; commits every `commit_every` tracks."""
    if not isinstance(commit_every, int) or commit_every < 1:
        raise InvalidQueryError(f"commit_every must be a positive int, not {commit_every!r}")
    start = time.perf_counter()
    now = time.time()
    counts = {"tracks": 0, "artists": 0, "albums": 0}
    first = last = None
    with db.read() as conn:  # a pooled connection; the session begins its own write transactions
        conn.execution_options(begin="IMMEDIATE")
        session = Session(bind=conn, expire_on_commit=False, autoflush=False)
        try:
            for n, new in enumerate(items, 1):
                check_new_track(new)
                track = _orm_track(session, new, now, counts)
                try:
                    session.flush()
                except IntegrityError as exc:
                    session.rollback()
                    raise InvalidQueryError(f"a track with path {new.path!r} is already in the library") from exc
                first = track.id if first is None else first
                last = track.id
                counts["tracks"] += 1
                if n % commit_every == 0:
                    session.commit()
            session.commit()
        finally:
            session.close()
    span = (first, last) if first is not None else None
    return ImportReport(counts["tracks"], counts["artists"], counts["albums"], time.perf_counter() - start,
                        "row_by_row", span)


def _orm_track(session: Session, new: NewTrack, now: float, counts: dict[str, int]) -> TrackModel:
    def artist_named(name: str) -> ArtistModel:
        found = session.scalars(select(ArtistModel).where(ArtistModel.name == name)).first()
        if found is None:
            found = ArtistModel(name=name)
            session.add(found)
            session.flush()
            counts["artists"] += 1
        return found

    artist = artist_named(new.artist)
    album = None
    if new.album is not None:
        album = session.scalars(select(AlbumModel).where(AlbumModel.artist_id == artist.id,
                                                         AlbumModel.title == new.album)).first()
        if album is None:
            album = AlbumModel(title=new.album, artist_id=artist.id, year=new.year)
            session.add(album)
            session.flush()
            counts["albums"] += 1
    values = track_values(new, artist.id, None if album is None else album.id, now)
    track = TrackModel(**values)
    session.add(track)
    credited = {artist.id}
    for position, name in enumerate(new.featured):
        other = artist_named(name)
        if other.id not in credited:
            credited.add(other.id)
            track.credits.append(TrackArtistModel(artist_id=other.id, position=position))
    return track
