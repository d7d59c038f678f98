"""The schema: ORM models, the explicit indexes that serve every repository query, and the FTS5 index.

Times are stored as REAL seconds since the epoch (no per-row datetime parsing on reads). Titles and the
artist sort key use NOCASE so that sorting and prefix lookups are case-insensitive and still use the
indexes. `tracks.artist_sort` denormalises the artist's name so that "sort by artist" is one index scan;
triggers keep it in step with renames.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: PRAGMA application_id of a library file ("AURA"); a foreign SQLite file is refused, never changed.
APPLICATION_ID = 0x41555241
SCHEMA_VERSION = 1

#: The indexes the catalogue's checks name, by role.
INDEXES: dict[str, str] = {
    "title": "ix_tracks_title",
    "artist_sort": "ix_tracks_artist_sort",
    "added": "ix_tracks_added_at",
    "year": "ix_tracks_year",
    "favorite": "ix_tracks_favorite_added",
    "composite": "ix_tracks_genre_year",
    "genre_title": "ix_tracks_genre_title",
    "artist": "ix_tracks_artist",
    "album": "ix_tracks_album",
    "path": "ux_tracks_path",
}

#: Sort orders of list_tracks and the column each one uses (the track id breaks ties).
SORTS: tuple[str, ...] = ("title", "artist", "added")


class Base(DeclarativeBase):
    metadata = MetaData()


class ArtistModel(Base):
    __tablename__ = "artists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)


class AlbumModel(Base):
    __tablename__ = "albums"
    __table_args__ = (UniqueConstraint("artist_id", "title", name="ux_albums_artist_title"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), nullable=False)
    year: Mapped[int | None] = mapped_column(Integer)
    artist: Mapped[ArtistModel] = relationship(lazy="select")


class TrackModel(Base):
    __tablename__ = "tracks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(collation="NOCASE"), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), nullable=False)
    album_id: Mapped[int | None] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"))
    artist_sort: Mapped[str] = mapped_column(String(collation="NOCASE"), nullable=False)
    genre: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    track_number: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mtime: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    favorite: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    play_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_played: Mapped[float | None] = mapped_column(Float)
    added_at: Mapped[float] = mapped_column(Float, nullable=False)

    album: Mapped[AlbumModel | None] = relationship(lazy="select")
    artist: Mapped[ArtistModel] = relationship(lazy="select")
    credits: Mapped[list["TrackArtistModel"]] = relationship(
        lazy="select", order_by="TrackArtistModel.position", cascade="all, delete-orphan",
        passive_deletes=True)

    __table_args__ = (
        Index(INDEXES["path"], "path", unique=True),
        Index(INDEXES["title"], "title"),
        Index(INDEXES["artist_sort"], "artist_sort"),
        Index(INDEXES["added"], "added_at"),
        Index(INDEXES["year"], "year", "duration"),              # year ranges; covering for by-year sums
        Index(INDEXES["favorite"], "favorite", "added_at"),      # favourites, newest first
        Index(INDEXES["composite"], "genre", "year", "duration"),  # genre (+ year); covering for by-genre
        Index(INDEXES["genre_title"], "genre", "title"),         # a genre's tracks by title
        Index(INDEXES["artist"], "artist_id", "title"),          # an artist's tracks by title
        Index(INDEXES["album"], "album_id", "track_number"),
    )


class TrackArtistModel(Base):
    """Featured artists of a track ("feat."), in credit order. The main artist is tracks.artist_id."""

    __tablename__ = "track_artists"
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True)
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    artist: Mapped[ArtistModel] = relationship(lazy="select")
    __table_args__ = (Index("ix_track_artists_artist", "artist_id"),)


class PlaylistModel(Base):
    __tablename__ = "playlists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)


class PlaylistEntryModel(Base):
    __tablename__ = "playlist_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), nullable=False)
    __table_args__ = (
        Index("ix_playlist_entries_order", "playlist_id", "position"),
        Index("ix_playlist_entries_track", "track_id"),
    )


artists = ArtistModel.__table__
albums = AlbumModel.__table__
tracks = TrackModel.__table__
track_artists = TrackArtistModel.__table__
playlists = PlaylistModel.__table__
playlist_entries = PlaylistEntryModel.__table__

# -- full-text search -------------------------------------------------------------------------------
# A regular (content-storing) FTS5 table whose rowid is the track id. The artist column holds the main
# artist followed by the featured ones. Words are letters, digits, private-use characters and other
# symbols (So: emoji, ♥), so that "🔥" is searchable; fts.py splits user text by the same rule.

_ARTIST_TEXT = """(SELECT a.name FROM tracks t JOIN artists a ON a.id = t.artist_id WHERE t.id = {tid})
    || coalesce(' ' || (SELECT group_concat(a.name, ' ') FROM track_artists ta
                        JOIN artists a ON a.id = ta.artist_id WHERE ta.track_id = {tid}), '')"""

FTS_TABLE = "CREATE VIRTUAL TABLE IF NOT EXISTS tracks_fts USING fts5(" \
            "title, artist, album, tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co So'\")"

#: Triggers that keep the FTS index and the artist sort key in step; name -> DDL.
INSERT_TRIGGERS: dict[str, str] = {
    "tracks_fts_insert": f"""
        CREATE TRIGGER IF NOT EXISTS tracks_fts_insert AFTER INSERT ON tracks BEGIN
            INSERT INTO tracks_fts(rowid, title, artist, album) VALUES (
                new.id, new.title, {_ARTIST_TEXT.format(tid='new.id')},
                (SELECT title FROM albums WHERE id = new.album_id));
        END""",
    "track_artists_fts_insert": f"""
        CREATE TRIGGER IF NOT EXISTS track_artists_fts_insert AFTER INSERT ON track_artists BEGIN
            UPDATE tracks_fts SET artist = {_ARTIST_TEXT.format(tid='new.track_id')}
            WHERE rowid = new.track_id;
        END""",
}

OTHER_TRIGGERS: dict[str, str] = {
    "tracks_fts_update": f"""
        CREATE TRIGGER IF NOT EXISTS tracks_fts_update AFTER UPDATE OF title, artist_id, album_id ON tracks
        BEGIN
            UPDATE tracks_fts SET title = new.title, artist = {_ARTIST_TEXT.format(tid='new.id')},
                album = (SELECT title FROM albums WHERE id = new.album_id)
            WHERE rowid = new.id;
        END""",
    "tracks_artist_sort_update": """
        CREATE TRIGGER IF NOT EXISTS tracks_artist_sort_update AFTER UPDATE OF artist_id ON tracks BEGIN
            UPDATE tracks SET artist_sort = (SELECT name FROM artists WHERE id = new.artist_id)
            WHERE id = new.id;
        END""",
    "tracks_fts_delete": """
        CREATE TRIGGER IF NOT EXISTS tracks_fts_delete AFTER DELETE ON tracks BEGIN
            DELETE FROM tracks_fts WHERE rowid = old.id;
        END""",
    "track_artists_fts_delete": f"""
        CREATE TRIGGER IF NOT EXISTS track_artists_fts_delete AFTER DELETE ON track_artists BEGIN
            UPDATE tracks_fts SET artist = {_ARTIST_TEXT.format(tid='old.track_id')}
            WHERE rowid = old.track_id;
        END""",
    "artists_rename": f"""
        CREATE TRIGGER IF NOT EXISTS artists_rename AFTER UPDATE OF name ON artists BEGIN
            UPDATE tracks SET artist_sort = new.name WHERE artist_id = new.id;
            UPDATE tracks_fts SET artist = {_ARTIST_TEXT.format(tid='tracks_fts.rowid')}
            WHERE rowid IN (SELECT id FROM tracks WHERE artist_id = new.id
                            UNION SELECT track_id FROM track_artists WHERE artist_id = new.id);
        END""",
    "albums_rename": """
        CREATE TRIGGER IF NOT EXISTS albums_rename AFTER UPDATE OF title ON albums BEGIN
            UPDATE tracks_fts SET album = new.title
            WHERE rowid IN (SELECT id FROM tracks WHERE album_id = new.id);
        END""",
}

#: Fills the FTS rows of tracks whose ids lie in [:first, :last] (bulk import, with insert triggers off).
FTS_FILL_RANGE = f"""
    INSERT INTO tracks_fts(rowid, title, artist, album)
    SELECT t.id, t.title, {_ARTIST_TEXT.format(tid='t.id')}, al.title
    FROM tracks t LEFT JOIN albums al ON al.id = t.album_id
    WHERE t.id BETWEEN :first AND :last"""
