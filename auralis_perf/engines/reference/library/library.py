"""The Library facade: one open library file with its repository, caches, counters and tools."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from auralis_perf.engines.protocols.library import DatabaseHandle, LibraryFeature
from auralis_perf.engines.reference.library.cached import CachedRepository
from auralis_perf.engines.reference.library.caches import LibraryCaches
from auralis_perf.engines.reference.library.database import BoundSource, Database, inspect_existing, prepare_location
from auralis_perf.engines.reference.library.errors import InvalidQueryError
from auralis_perf.engines.reference.library.explain import QueryPlan, explainable
from auralis_perf.engines.reference.library.importer import bulk_import, row_by_row_import
from auralis_perf.engines.reference.library.records import ImportReport, NewTrack, ScanReport
from auralis_perf.engines.reference.library.repository import Repository
from auralis_perf.engines.reference.library.scanner import scan_folder
from auralis_perf.engines.reference.library.schema import (
    APPLICATION_ID,
    FTS_TABLE,
    INSERT_TRIGGERS,
    OTHER_TRIGGERS,
    SCHEMA_VERSION,
    Base,
    albums,
    artists,
    playlists,
    tracks,
)
from auralis_perf.library_tracks import generate_tracks


def create_schema(conn: Any) -> None:
    Base.metadata.create_all(conn)
    conn.exec_driver_sql(FTS_TABLE)
    for ddl in (*INSERT_TRIGGERS.values(), *OTHER_TRIGGERS.values()):
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")


class Library:
    """An open music library; see the package docstring for every attribute and method.

    It is the reference's `MusicLibrary` (auralis_perf.engines.protocols.library): `repo`, `cached`,
    `caches`, `features`, `bulk_import`, `database()`, `scan`, `close`; the rest is its own API.
    """

    #: Every optional part of the library protocol.
    features = frozenset({LibraryFeature.KEYSET, LibraryFeature.TITLE_PREFIX, LibraryFeature.LOAD_STRATEGIES,
                          LibraryFeature.PLAYLISTS, LibraryFeature.CASCADE_DELETE, LibraryFeature.RENAME,
                          LibraryFeature.SCAN})

    def __init__(self, path: Path, *, pool_size: int, max_overflow: int, pool_timeout: float,
                 query_cache_entries: int, query_cache_bytes: int, entity_cache_entries: int,
                 entity_cache_bytes: int, page_cache_mib: int) -> None:
        self.path = path.absolute()
        if str(path) == ":memory:":
            raise InvalidQueryError("the library needs a file path (':memory:' cannot be shared by a pool)")
        exists = self.path.exists() and self.path.is_file()
        has_library = inspect_existing(self.path) if exists else False  # before any write
        prepare_location(self.path)
        self._db = Database(self.path, pool_size=pool_size, max_overflow=max_overflow,
                            pool_timeout=pool_timeout, page_cache_mib=page_cache_mib)
        try:
            if not has_library:
                with self._db.write() as conn:
                    create_schema(conn)
        except Exception:
            self._db.dispose()
            raise
        self.statements = self._db.statements
        self.pool = self._db.pool
        self.repo = Repository(self._db, self.statements)
        self.caches = LibraryCaches(query_entries=query_cache_entries, query_bytes=query_cache_bytes,
                                    entity_entries=entity_cache_entries, entity_bytes=entity_cache_bytes)
        self.cached = CachedRepository(self.repo, self.caches)
        self.closed = False

    # -- diagnostics ---------------------------------------------------------------------------------
    def explain(self, statement: Any, params: Any = None) -> QueryPlan:
        return self.repo.explain(statement, params)

    def plans(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[QueryPlan]:
        return self.repo.plans(fn, *args, **kwargs)

    def explain_issued(self) -> list[QueryPlan]:
        return [self.explain(sql, params) for sql, params in self.statements.issued().items()
                if explainable(sql)]

    def explain_repository(self) -> dict[str, list[QueryPlan]]:
        """Run every read query of the repository once on the data present; its plans by query name."""
        return {name: self.repo.plans(call) for name, call in self._sample_queries(self.repo).items()}

    def _sample_queries(self, repo: Repository) -> dict[str, Callable[[], Any]]:
        with self._db.read() as conn:
            first = conn.execute(select(tracks.c.id, tracks.c.path, tracks.c.title, tracks.c.genre,
                                        tracks.c.year, tracks.c.album_id, tracks.c.artist_id,
                                        tracks.c.added_at).where(
                tracks.c.id == select(func.min(tracks.c.id)).scalar_subquery())).first()
            playlist = conn.execute(select(func.min(playlists.c.id))).scalar()
        tid, path, title, genre, year, album_id, artist_id, added = first or (1, "/", "a", "Rock", 2000, 1, 1, 0.0)
        word = (title.split() or ["a"])[0]
        mid = repo.cursor_at(max(0, (self.counts()["tracks"] // 2)), sort="title")
        listing = {
            "title": {"sort": "title"}, "title_desc": {"sort": "title", "descending": True},
            "artist": {"sort": "artist"}, "added": {"sort": "added", "descending": True},
            "favorites": {"sort": "added", "descending": True, "favorite": True},
            "genre": {"sort": "title", "genre": genre or "Rock"},
            "artist_filter": {"sort": "title", "artist_id": artist_id},
            "year_range": {"sort": "added", "year_from": (year or 2000) - 2, "year_to": (year or 2000) + 2},
            "added_range": {"sort": "added", "added_from": added - 86400.0, "added_to": added + 86400.0},
            "genre_year": {"sort": "added", "genre": genre or "Rock", "year_from": year or 2000,
                           "year_to": year or 2000},
        }
        calls: dict[str, Callable[[], Any]] = {
            "get_track": lambda: repo.get_track(tid),
            "get_track_by_path": lambda: repo.get_track_by_path(path),
            "get_tracks": lambda: repo.get_tracks([tid, tid + 1, tid + 2]),
            "get_album": lambda: repo.get_album(album_id or 1),
            "album_tracks": lambda: repo.album_tracks(album_id or 1),
            "get_artist": lambda: repo.get_artist(artist_id),
            "artist_albums": lambda: repo.artist_albums(artist_id),
            "find_by_title": lambda: repo.find_by_title(title[:3]),
            "search": lambda: repo.search(word),
            "count_tracks": lambda: repo.count_tracks(),
            "count_tracks[favorite]": lambda: repo.count_tracks(favorite=True),
            "count_by_genre": repo.count_by_genre,
            "count_by_year": repo.count_by_year,
            "genres": repo.genres,
            "cursor_at": lambda: repo.cursor_at(10, sort="title"),
            "list_tracks[offset]": lambda: repo.list_tracks(sort="title", offset=100),
            "list_tracks[keyset]": lambda: repo.list_tracks(sort="title", after=mid),
            "list_tracks[selectin]": lambda: repo.list_tracks(sort="title", load="selectin"),
            "list_tracks[lazy]": lambda: repo.list_tracks(sort="title", load="lazy", limit=5),
            "list_tracks[none]": lambda: repo.list_tracks(sort="title", load="none"),
            "get_playlist": lambda: repo.get_playlist(playlist or 1),
            "list_playlists": repo.list_playlists,
            "playlists_containing": lambda: repo.playlists_containing([tid]),
        }
        for name, options in listing.items():
            calls[f"list_tracks[{name}]"] = lambda o=options: self._two_pages(repo, o)
        return calls

    @staticmethod
    def _two_pages(repo: Repository, options: dict[str, Any]) -> None:
        page = repo.list_tracks(limit=20, **options)
        if page.next_cursor is not None:
            repo.list_tracks(limit=20, after=page.next_cursor, **options)

    @contextmanager
    def without_index(self, *index_names: str) -> Iterator[Repository]:
        """A repository on one connection where `index_names` are dropped inside a transaction that is
        rolled back at exit: the file and every other connection keep the indexes."""
        known = self.indexes()
        for name in index_names:
            if name not in known or name.startswith("sqlite_autoindex"):
                raise InvalidQueryError(f"no droppable index {name!r} in {self.path}; "
                                        f"indexes: {', '.join(sorted(known))}")
        conn = self._db.engine.connect()
        try:
            transaction = conn.begin()
            try:
                for name in index_names:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                yield Repository(BoundSource(conn), self.statements)
            finally:
                transaction.rollback()
        finally:
            conn.close()

    def indexes(self) -> dict[str, list[str]]:
        with self._db.read() as conn:
            names = [r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY tbl_name, name"))]
            return {name: [r[2] for r in conn.exec_driver_sql(f'PRAGMA index_info("{name}")')]
                    for name in names}

    # -- import, generation, scan ----------------------------------------------------------------------
    def bulk_import(self, tracks: Sequence[NewTrack]) -> list[int]:
        """The protocol's bulk import: `import_tracks`, ids in the order given (one import's ids are
        contiguous)."""
        report = self.import_tracks(tracks)
        if report.track_ids is None:
            return []
        first, last = report.track_ids
        return list(range(first, last + 1))

    def database(self) -> DatabaseHandle:
        """The engine every statement goes through, the file, and the schema's names that differ from
        the protocol's (tracks.added_at)."""
        return DatabaseHandle(engine=self._db.engine, path=self.path, tracks_table="tracks",
                              columns={"added": "added_at"})

    def import_tracks(self, items: Iterable[NewTrack], *, batch_size: int = 5000) -> ImportReport:
        report = bulk_import(self._db, items, batch_size=batch_size)
        self.cached.tracks_added()
        return report

    def import_tracks_row_by_row(self, items: Iterable[NewTrack], *, commit_every: int = 1) -> ImportReport:
        report = row_by_row_import(self._db, items, commit_every=commit_every)
        self.cached.tracks_added()
        return report

    @staticmethod
    def generate(n_tracks: int, *, seed: int = 0) -> list[NewTrack]:
        return generate_tracks(n_tracks, seed=seed)

    def populate(self, n_tracks: int, *, seed: int = 0, bulk: bool = True) -> ImportReport:
        items = generate_tracks(n_tracks, seed=seed)
        return self.import_tracks(items) if bulk else self.import_tracks_row_by_row(items)

    def scan(self, folder: str | os.PathLike[str], *, audio_cache: Any = None) -> ScanReport:
        return scan_folder(folder, db=self._db, cached=self.cached, import_tracks=self.import_tracks,
                           audio_cache=audio_cache)

    # -- figures and life cycle ------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._db.read() as conn:
            return {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                    for name, table in (("tracks", tracks), ("albums", albums), ("artists", artists),
                                        ("playlists", playlists))}

    def file_bytes(self) -> int:
        return self._db.file_bytes()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._db.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r}{', closed' if self.closed else ''})"


__all__ = ["Library", "create_schema"]
