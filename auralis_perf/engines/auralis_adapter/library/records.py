"""Auralis's ORM rows as the library protocol's records: frozen, compared by value, detached from any session.

Auralis returns its SQLAlchemy objects after closing their session, with some relations loaded and others
not (its `get_all` loads artists and album but not genres). A relation that was not loaded is never
touched here (that would raise DetachedInstanceError or query again): the caller passes what is missing
(`genres`, fetched in one statement per page by `schema_queries.genres_of`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import inspect


@dataclass(frozen=True)
class ArtistRecord:
    id: int
    name: str


@dataclass(frozen=True)
class AlbumRecord:
    id: int
    title: str
    artist_id: Optional[int]
    year: Optional[int] = None


@dataclass(frozen=True)
class TrackRecord:
    """A track. Auralis credits artists many-to-many: the first is `artist_id`, the others `featured`;
    of its genres (also many-to-many) the first is `genre`."""

    id: int
    path: str
    title: str
    artist_id: Optional[int]
    album_id: Optional[int]
    genre: Optional[str]
    year: Optional[int]
    track_number: Optional[int]
    featured: tuple[ArtistRecord, ...] = ()
    favorite: bool = False
    play_count: int = 0


@dataclass(frozen=True)
class GroupCountRecord:
    key: Any
    tracks: int


@dataclass(frozen=True)
class PageRecord:
    items: tuple[TrackRecord, ...]
    next_cursor: Any = None


@dataclass(frozen=True)
class PlaylistRecord:
    id: int
    name: str
    tracks: tuple[TrackRecord, ...]


def loaded(row: Any, relation: str) -> bool:
    """Whether `row.relation` was loaded before its session closed (reading it is then safe)."""
    return relation not in inspect(row).unloaded


def artist(row: Any) -> ArtistRecord:
    return ArtistRecord(id=row.id, name=row.name)


def album(row: Any) -> AlbumRecord:
    return AlbumRecord(id=row.id, title=row.title, artist_id=row.artist_id, year=row.year)


def track(row: Any, genres: Mapping[int, str] | None = None) -> TrackRecord:
    """A record of Auralis's `Track` row; `genres` (track id -> first genre) when its genres were not loaded."""
    artists = sorted(row.artists, key=lambda a: a.id) if loaded(row, "artists") else []
    if loaded(row, "genres"):
        names = sorted(g.name for g in row.genres)
        genre = names[0] if names else None
    else:
        genre = (genres or {}).get(row.id)
    return TrackRecord(id=row.id, path=row.filepath, title=row.title,
                       artist_id=artists[0].id if artists else None, album_id=row.album_id, genre=genre,
                       year=row.year, track_number=row.track_number,
                       featured=tuple(artist(a) for a in artists[1:]), favorite=bool(row.favorite),
                       play_count=row.play_count or 0)


def tracks(rows: Sequence[Any], genres: Mapping[int, str] | None = None) -> list[TrackRecord]:
    return [track(r, genres) for r in rows]


def playlist(row: Any, genres: Mapping[int, str] | None = None) -> PlaylistRecord:
    return PlaylistRecord(id=row.id, name=row.name, tracks=tuple(tracks(row.tracks, genres)))
