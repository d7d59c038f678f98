"""Stand-in repositories: the method names and signatures of Auralis's, simple bodies (ORM objects, closed
sessions, related rows loaded eagerly so they can be read after the session closed)."""
from datetime import datetime

from auralis.library.models import Album, Artist, Genre, Playlist, Track
from sqlalchemy import func, or_
from sqlalchemy.orm import joinedload, selectinload

_EAGER = (joinedload(Track.artists), joinedload(Track.album), joinedload(Track.genres))


class _Repository:
    def __init__(self, session_factory, **_):
        self.session_factory = session_factory

    def get_session(self):
        return self.session_factory()


def _named(session, model, name, **extra):
    row = session.query(model).filter(model.name == name).first()
    if row is None:
        row = model(name=name, **extra)
        session.add(row)
    return row


class TrackRepository(_Repository):
    def add(self, track_info):
        session = self.get_session()
        try:
            found = session.query(Track).filter(Track.filepath == track_info["filepath"]).first()
            if found:
                return found
            artists = [_named(session, Artist, n) for n in track_info.get("artists", [])]
            session.flush()
            album = None
            if track_info.get("album"):
                album = session.query(Album).filter(Album.title == track_info["album"]).first() or Album(
                    title=track_info["album"], artist_id=artists[0].id if artists else None,
                    year=track_info.get("year"))
            fields = {k: track_info.get(k) for k in ("title", "filepath", "duration", "sample_rate", "channels",
                                                     "format", "filesize", "track_number", "year")}
            track = Track(**fields, album=album, artists=artists,
                          genres=[_named(session, Genre, n) for n in track_info.get("genres", [])])
            session.add(track)
            session.commit()
            session.refresh(track)
            return track
        except Exception:
            session.rollback()
            return None
        finally:
            session.close()

    def _one(self, condition):
        session = self.get_session()
        try:
            return session.query(Track).options(*_EAGER).filter(condition).first()
        finally:
            session.close()

    def get_by_id(self, track_id):
        return self._one(Track.id == track_id)

    def get_by_path(self, filepath):
        return self._one(Track.filepath == filepath)

    def _page(self, query, limit, offset):
        return query.options(*_EAGER).limit(limit).offset(offset).all()

    def search(self, query, limit=50, offset=0):
        session = self.get_session()
        try:
            term = f"%{query}%"
            q = (session.query(Track).join(Track.artists, isouter=True).join(Track.album, isouter=True)
                 .filter(or_(Track.title.ilike(term), Artist.name.ilike(term), Album.title.ilike(term))).distinct())
            return self._page(q, limit, offset), q.count()
        finally:
            session.close()

    def get_all(self, limit=50, offset=0, order_by="title"):
        session = self.get_session()
        try:
            column = getattr(Track, order_by, Track.title)
            total = session.query(Track).count()
            # as Auralis's get_all: artists and album joined, genres not loaded
            rows = (session.query(Track).options(joinedload(Track.artists), joinedload(Track.album))
                    .order_by(column.asc()).limit(limit).offset(offset).all())
            return rows, total
        finally:
            session.close()

    def get_by_genre(self, genre_name, limit=100):
        session = self.get_session()
        try:
            return self._page(session.query(Track).join(Track.genres).filter(Genre.name == genre_name), limit, 0)
        finally:
            session.close()

    def get_by_artist(self, artist_name, limit=100):
        session = self.get_session()
        try:
            return self._page(session.query(Track).join(Track.artists).filter(Artist.name == artist_name), limit, 0)
        finally:
            session.close()

    def get_recent(self, limit=50, offset=0):
        session = self.get_session()
        try:
            q = session.query(Track).order_by(Track.created_at.desc())
            return self._page(q, limit, offset), q.count()
        finally:
            session.close()

    def get_favorites(self, limit=50, offset=0):
        session = self.get_session()
        try:
            q = session.query(Track).filter(Track.favorite.is_(True)).order_by(Track.title.asc())
            return self._page(q, limit, offset), q.count()
        finally:
            session.close()

    def _change(self, track_id, change):
        session = self.get_session()
        try:
            track = session.query(Track).filter(Track.id == track_id).first()
            if track is None:
                return None
            change(session, track)
            session.commit()
            return track
        finally:
            session.close()

    def record_play(self, track_id):
        def play(_session, track):
            track.play_count = (track.play_count or 0) + 1
            track.last_played = func.now()
        self._change(track_id, play)

    def set_favorite(self, track_id, favorite=True):
        self._change(track_id, lambda _s, t: setattr(t, "favorite", favorite))

    def update(self, track_id, track_info):
        def update(session, track):
            for key in ("title", "duration", "sample_rate", "year", "track_number", "filesize"):
                if key in track_info:
                    setattr(track, key, track_info[key])
            if "genres" in track_info:
                track.genres = [_named(session, Genre, n) for n in track_info["genres"]]
            track.updated_at = datetime.utcnow()
        return self._change(track_id, update)

    def delete(self, track_id):
        return self._change(track_id, lambda session, track: session.delete(track)) is not None


class AlbumRepository(_Repository):
    def get_by_id(self, album_id):
        session = self.get_session()
        try:
            return session.query(Album).options(joinedload(Album.artist)).filter(Album.id == album_id).first()
        finally:
            session.close()

    def get_all(self, limit=50, offset=0, order_by="title"):
        session = self.get_session()
        try:
            column = getattr(Album, order_by, Album.title)
            rows = session.query(Album).options(joinedload(Album.artist)).order_by(column).limit(limit).offset(offset)
            return rows.all(), session.query(Album).count()
        finally:
            session.close()


class ArtistRepository(_Repository):
    def get_by_id(self, artist_id):
        session = self.get_session()
        try:
            return session.query(Artist).options(joinedload(Artist.albums)).filter(Artist.id == artist_id).first()
        finally:
            session.close()

    def get_all(self, limit=50, offset=0, order_by="name"):
        session = self.get_session()
        try:
            column = getattr(Artist, order_by, Artist.name)
            return (session.query(Artist).order_by(column).limit(limit).offset(offset).all(),
                    session.query(Artist).count())
        finally:
            session.close()


class PlaylistRepository(_Repository):
    def _load(self, session, playlist_id):
        return (session.query(Playlist).options(selectinload(Playlist.tracks).selectinload(Track.artists),
                                                selectinload(Playlist.tracks).selectinload(Track.album))
                .filter(Playlist.id == playlist_id).first())

    def create(self, name, description="", track_ids=None):
        session = self.get_session()
        try:
            playlist = Playlist(name=name, description=description)
            if track_ids:
                playlist.tracks = session.query(Track).filter(Track.id.in_(track_ids)).all()
            session.add(playlist)
            session.commit()
            playlist = self._load(session, playlist.id)
            session.expunge(playlist)
            return playlist
        finally:
            session.close()

    def get_by_id(self, playlist_id):
        session = self.get_session()
        try:
            playlist = self._load(session, playlist_id)
            if playlist is not None:
                session.expunge(playlist)
            return playlist
        finally:
            session.close()

    def get_all(self):
        session = self.get_session()
        try:
            rows = session.query(Playlist).options(selectinload(Playlist.tracks)).order_by(Playlist.name).all()
            for row in rows:
                session.expunge(row)
            return rows
        finally:
            session.close()

    def add_track(self, playlist_id, track_id, position=None):
        session = self.get_session()
        try:
            playlist = session.get(Playlist, playlist_id)
            track = session.get(Track, track_id)
            if playlist is None or track is None:
                return False
            if track in playlist.tracks:
                playlist.tracks.remove(track)
            playlist.tracks.append(track)  # no position column: the order is not kept
            session.commit()
            return True
        finally:
            session.close()

    def remove_track(self, playlist_id, track_id):
        session = self.get_session()
        try:
            playlist = session.get(Playlist, playlist_id)
            track = session.get(Track, track_id)
            if playlist is None or track not in playlist.tracks:
                return False
            playlist.tracks.remove(track)
            session.commit()
            return True
        finally:
            session.close()

    def delete(self, playlist_id):
        session = self.get_session()
        try:
            playlist = session.get(Playlist, playlist_id)
            if playlist is None:
                return False
            session.delete(playlist)
            session.commit()
            return True
        finally:
            session.close()


class StatsRepository(_Repository):
    pass


class FingerprintRepository(_Repository):
    pass
