"""Stand-in tables with the names and columns Auralis's library uses (a subset); no secondary indexes."""
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

track_artist = Table("track_artist", Base.metadata, Column("track_id", Integer, ForeignKey("tracks.id")),
                     Column("artist_id", Integer, ForeignKey("artists.id")))
track_genre = Table("track_genre", Base.metadata, Column("track_id", Integer, ForeignKey("tracks.id")),
                    Column("genre_id", Integer, ForeignKey("genres.id")))
track_playlist = Table("track_playlist", Base.metadata, Column("track_id", Integer, ForeignKey("tracks.id")),
                       Column("playlist_id", Integer, ForeignKey("playlists.id")))


class Track(Base):
    __tablename__ = "tracks"
    id = Column(Integer, primary_key=True)
    title = Column(String, nullable=False)
    filepath = Column(String, nullable=False, unique=True)
    duration = Column(Float)
    sample_rate = Column(Integer)
    channels = Column(Integer)
    format = Column(String)
    filesize = Column(Integer)
    album_id = Column(Integer, ForeignKey("albums.id"))
    track_number = Column(Integer)
    year = Column(Integer)
    play_count = Column(Integer, default=0)
    last_played = Column(DateTime)
    favorite = Column(Boolean, default=False)
    comments = Column(Text)
    created_at = Column(DateTime, default=datetime.utcnow)
    updated_at = Column(DateTime, default=datetime.utcnow, onupdate=datetime.utcnow)
    album = relationship("Album", back_populates="tracks")
    artists = relationship("Artist", secondary=track_artist, back_populates="tracks")
    genres = relationship("Genre", secondary=track_genre, back_populates="tracks")
    playlists = relationship("Playlist", secondary=track_playlist, back_populates="tracks")


class Album(Base):
    __tablename__ = "albums"
    id = Column(Integer, primary_key=True)
    title = Column(String, nullable=False)
    artist_id = Column(Integer, ForeignKey("artists.id"))
    year = Column(Integer)
    created_at = Column(DateTime, default=datetime.utcnow)
    artist = relationship("Artist", back_populates="albums")
    tracks = relationship("Track", back_populates="album")


class Artist(Base):
    __tablename__ = "artists"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False, unique=True)
    created_at = Column(DateTime, default=datetime.utcnow)
    albums = relationship("Album", back_populates="artist")
    tracks = relationship("Track", secondary=track_artist, back_populates="artists")


class Genre(Base):
    __tablename__ = "genres"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False, unique=True)
    created_at = Column(DateTime, default=datetime.utcnow)
    tracks = relationship("Track", secondary=track_genre, back_populates="genres")


class Playlist(Base):
    __tablename__ = "playlists"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    description = Column(Text)
    created_at = Column(DateTime, default=datetime.utcnow)
    tracks = relationship("Track", secondary=track_playlist, back_populates="playlists")
