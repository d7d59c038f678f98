"""What the repository returns: small immutable records, detached from any session or connection.

The records read in bulk (Artist, Album, Track, GroupStat, PlaylistSummary) are NamedTuples: immutable,
compact, and about eight times cheaper to build than frozen dataclasses, which matters for listings of
hundreds of rows. A cached record can never trigger a lazy load. The rest are frozen dataclasses;
NewTrack (what is imported) is the harness's `auralis_perf.engines.protocols.library.NewTrack`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from auralis_perf.engines.protocols.library import NewTrack


class Artist(NamedTuple):
    id: int
    name: str


class Album(NamedTuple):
    id: int
    title: str
    artist_id: int
    year: Optional[int]
    artist: Optional[Artist] = None


class Track(NamedTuple):
    """One track with its album and artist (None when a listing was asked for without relations)."""

    id: int
    title: str
    path: str
    artist_id: int
    album_id: int | None
    genre: str | None
    year: int | None
    track_number: int | None
    duration: float
    sample_rate: int | None
    channels: int | None
    format: str | None
    file_size: int
    mtime: float
    favorite: bool
    play_count: int
    last_played: float | None
    added_at: float
    album: Optional[Album] = None
    artist: Optional[Artist] = None
    #: Further credited artists ("feat."), in credit order.
    featured: tuple[Artist, ...] = ()


@dataclass(frozen=True, slots=True)
class Cursor:
    """Keyset position: the sort key and id of the last row of a page. Pass it as `after=`."""

    sort: str
    descending: bool
    key: Any
    id: int


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[Track, ...]
    #: Cursor of the last item, or None when this page is the last one.
    next_cursor: Cursor | None


class GroupStat(NamedTuple):
    """One row of an aggregation: the group key (genre or year), its track count and total seconds."""

    key: Any
    tracks: int
    duration: float


class PlaylistSummary(NamedTuple):
    id: int
    name: str
    track_count: int
    duration: float


@dataclass(frozen=True, slots=True)
class Playlist:
    id: int
    name: str
    created_at: float
    #: The entries in playlist order (a track may appear more than once).
    tracks: tuple[Track, ...]


@dataclass(frozen=True, slots=True)
class DeleteReport:
    """What a delete removed or touched, so that caches can drop exactly those entries."""

    tracks: tuple[int, ...] = ()
    albums: tuple[int, ...] = ()
    artists: tuple[int, ...] = ()
    #: Playlists that lost entries.
    playlists: tuple[int, ...] = ()
    #: Artists credited as featured on deleted tracks, or whose featured credits were removed.
    touched_artists: tuple[int, ...] = ()
    #: Tracks that lost a featured credit (their artist text changed) but still exist.
    touched_tracks: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """Where an updated track was and is: its artists and albums before and after (each once), so that
    caches can drop the listings of exactly those artists and albums."""

    artists: tuple[int, ...]
    albums: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    tracks: int
    artists: int
    albums: int
    seconds: float
    method: str
    track_ids: tuple[int, int] | None = None  # first and last new id (ids of one import are contiguous)


@dataclass(frozen=True, slots=True)
class ScanError:
    path: str
    message: str


@dataclass(frozen=True)
class ScanReport:
    """Result of scanning a folder: paths added, changed (size or mtime differ), removed, unchanged."""

    folder: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    errors: tuple[ScanError, ...] = ()
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = ["Album", "Artist", "Cursor", "DeleteReport", "GroupStat", "ImportReport", "NewTrack", "Page", "Playlist",
           "PlaylistSummary", "ScanError", "ScanReport", "Track"]
