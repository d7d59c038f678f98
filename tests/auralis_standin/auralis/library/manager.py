"""Stand-in LibraryManager: its repositories and the cached methods the adapter uses."""
import os
from datetime import datetime
from pathlib import Path

from auralis.library.cache import cached_query, get_cache_stats, invalidate_cache
from auralis.library.models import Base, Track
from auralis.library.repositories import (
    AlbumRepository,
    ArtistRepository,
    FingerprintRepository,
    PlaylistRepository,
    StatsRepository,
    TrackRepository,
)
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


class LibraryManager:
    def __init__(self, database_path=None):
        if database_path is None:
            folder = Path.home() / "Music" / "Auralis"
            folder.mkdir(parents=True, exist_ok=True)
            database_path = str(folder / "auralis_library.db")
        self.database_path = database_path
        self.engine = create_engine(f"sqlite:///{database_path}", echo=False)
        self.SessionLocal = sessionmaker(bind=self.engine)
        Base.metadata.create_all(self.engine)
        self.albums = AlbumRepository(self.SessionLocal)
        self.tracks = TrackRepository(self.SessionLocal, album_repository=self.albums)
        self.artists = ArtistRepository(self.SessionLocal)
        self.playlists = PlaylistRepository(self.SessionLocal)
        self.stats = StatsRepository(self.SessionLocal)
        self.fingerprints = FingerprintRepository(self.SessionLocal)

    def get_session(self):
        return self.SessionLocal()

    def add_track(self, track_info):
        track = self.tracks.add(track_info)
        if track:
            invalidate_cache("get_all_tracks", "search_tracks", "get_recent_tracks")
        return track

    def get_track(self, track_id):
        return self.tracks.get_by_id(track_id)

    @cached_query(ttl=60)
    def search_tracks(self, query, limit=50, offset=0):
        return self.tracks.search(query, limit, offset)

    @cached_query(ttl=300)
    def get_tracks_by_genre(self, genre_name, limit=100):
        return self.tracks.get_by_genre(genre_name, limit)

    @cached_query(ttl=300)
    def get_tracks_by_artist(self, artist_name, limit=100):
        return self.tracks.get_by_artist(artist_name, limit)

    @cached_query(ttl=180)
    def get_recent_tracks(self, limit=50, offset=0):
        return self.tracks.get_recent(limit, offset)

    @cached_query(ttl=180)
    def get_favorite_tracks(self, limit=50, offset=0):
        return self.tracks.get_favorites(limit, offset)

    @cached_query(ttl=300)
    def get_all_tracks(self, limit=50, offset=0, order_by="title"):
        return self.tracks.get_all(limit, offset, order_by)

    def record_track_play(self, track_id):
        self.tracks.record_play(track_id)
        invalidate_cache("get_popular_tracks", "get_recent_tracks", "get_all_tracks", "get_track")

    def set_track_favorite(self, track_id, favorite=True):
        self.tracks.set_favorite(track_id, favorite)
        invalidate_cache("get_favorite_tracks")

    def update_track(self, track_id, track_info):
        track = self.tracks.update(track_id, track_info)
        if track:
            invalidate_cache("get_track", "search_tracks", "get_all_tracks")
        return track

    def delete_track(self, track_id):
        deleted = self.tracks.delete(track_id)
        if deleted:
            invalidate_cache("get_all_tracks", "get_track", "search_tracks", "get_favorite_tracks",
                             "get_recent_tracks", "get_popular_tracks")
        return deleted

    def get_track_by_filepath(self, filepath):
        return self.tracks.get_by_path(filepath)

    def update_track_by_filepath(self, filepath, track_info):
        track = self.tracks.get_by_path(filepath)
        return self.tracks.update(track.id, track_info) if track else None  # no cache invalidation, as Auralis

    def scan_single_directory(self, directory, **kwargs):
        """Stand-in scanner: audio files by extension; new ones added, ones newer than their row updated."""
        added = updated = 0
        for path in sorted(Path(directory).rglob("*")):
            if path.suffix.lower() not in (".wav", ".flac", ".ogg", ".mp3") or not path.is_file():
                continue
            info = {"title": path.stem, "filepath": str(path), "filesize": path.stat().st_size, "format": "WAV",
                    "sample_rate": 44100, "channels": 2, "artists": ["Scan"]}
            existing = self.tracks.get_by_path(str(path))
            if existing is None:
                added += bool(self.add_track(info))
            elif datetime.fromtimestamp(path.stat().st_mtime) > existing.updated_at:
                updated += bool(self.update_track_by_filepath(str(path), info))
        return {"files_added": added, "files_updated": updated, "files_failed": 0}

    def scan_directories(self, directories, **kwargs):
        totals = {"files_added": 0, "files_updated": 0, "files_failed": 0}
        for directory in directories:
            for key, value in self.scan_single_directory(directory).items():
                totals[key] += value
        return totals

    def cleanup_library(self):
        session = self.get_session()
        try:
            for track in session.query(Track).all():
                if not os.path.exists(track.filepath):
                    session.delete(track)
            session.commit()
        finally:
            session.close()

    def get_cache_stats(self):
        return get_cache_stats()

    def clear_cache(self):
        invalidate_cache()
