"""AuralisLibrary: one `LibraryManager(database_path)` as the protocol's `MusicLibrary`.

- `repo` / `cached`: its repositories / its cached manager methods (`repository.py`);
- `caches`: the module-level query cache behind `@cached_query` (`caches.py`), emptied when a library
  opens and closes, since it is shared by the whole process;
- `bulk_import`: multi-row INSERTs into Auralis's own tables (for the read checks' 10k-100k libraries;
  Auralis's single-track `TrackRepository.add` takes tens of milliseconds a track). The write checks use
  `repo.add_track`, which is Auralis's `add`;
- `database()`: its SQLAlchemy engine and SQLite file, for the harness's introspection.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.auralis_adapter.library import schema_queries
from auralis_perf.engines.auralis_adapter.library.caches import AuralisLibraryCaches, AuralisQueryCache
from auralis_perf.engines.auralis_adapter.library.repository import API_MAP, PLAYLISTS_ABSENT, AuralisRepository
from auralis_perf.engines.auralis_adapter.library.schema_queries import Schema
from auralis_perf.engines.base import AudioFileError
from auralis_perf.engines.protocols.library import DatabaseHandle, LibraryFeature

#: What Auralis's library lacks at 087974e2, by the protocol's optional feature.
ABSENT_FEATURES = {
    LibraryFeature.KEYSET: "no keyset (cursor) pagination: listings take limit and offset only",
    LibraryFeature.TITLE_PREFIX: "no title-prefix lookup: search is a substring ILIKE over title, artist, album",
    LibraryFeature.CASCADE_DELETE: "no artist delete",
    LibraryFeature.RENAME: "no artist or album rename",
    LibraryFeature.PLAYLISTS: PLAYLISTS_ABSENT,
}


def relationships(model: Any, *names: str) -> bool:
    """Whether the ORM class `model` maps each of `names` as a relationship (another commit may not)."""
    try:
        from sqlalchemy import inspect

        mapped = inspect(model).relationships
    except Exception:  # noqa: BLE001 - not a mapped class: no loading strategies to offer
        return False
    return all(name in mapped for name in names)


@dataclass(frozen=True)
class ScanError:
    message: str


@dataclass(frozen=True)
class ScanReport:
    """What a scan did, by file path."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    seconds: float
    errors: tuple[ScanError, ...] = ()


class AuralisLibrary:
    """An open Auralis library at `path` (created when missing, through Auralis's own migrations)."""

    def __init__(self, manager_class: Any, models: Sequence[Any], cache_module: Any,
                 path: str | os.PathLike[str], *, cache_entries: int | None = None) -> None:
        """`cache_entries` bounds the query cache (its `max_size`, 256 at 087974e2) while this library is
        open: the hit-rate checks need eviction to happen."""
        path = Path(path).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._cache_module = cache_module
        cache_module.clear_cache()  # process-wide: nothing of another library or check may answer here
        self._query_cache = AuralisQueryCache(cache_module)
        self._bound = self._query_cache.bound(cache_entries) if cache_entries is not None else None
        with quiet():
            self._manager = manager_class(str(path))
        self._path = path
        self._schema = Schema.of(models)
        # the others: see ABSENT_FEATURES; loading strategies are SQLAlchemy's loader options on Auralis's own
        # Track.artists / Track.album relationships (its listings fix joinedload; DB-17 asks whether that is best)
        loads = {LibraryFeature.LOAD_STRATEGIES} if relationships(self._schema.Track, "artists", "album") else set()
        self.features: frozenset[str] = frozenset({LibraryFeature.SCAN, *loads})
        self.absent_features: dict[str, str] = {name: why for name, why in ABSENT_FEATURES.items()
                                                if name not in self.features}
        if not loads:
            self.absent_features[LibraryFeature.LOAD_STRATEGIES] = ("Auralis's Track maps no artists/album "
                                                                    "relationships to choose a loader for")
        self.repo = AuralisRepository(self._manager, self._schema, cached=False)
        self.cached = AuralisRepository(self._manager, self._schema, cached=True)
        self.caches = AuralisLibraryCaches(self._query_cache)
        self._closed = False

    def bulk_import(self, tracks: Sequence[Any]) -> list[int]:
        with self._manager.engine.begin() as connection:
            ids = schema_queries.bulk_insert(connection, self._schema, tracks, now=time.time())
        self._cache_module.clear_cache()  # Auralis's own writes invalidate by name; a bulk load has no name
        return ids

    def database(self) -> DatabaseHandle:
        # genre and artist live in association tables (track_genre, track_artist), not in `tracks`
        return DatabaseHandle(engine=self._manager.engine, path=self._path, tracks_table="tracks",
                              columns={"path": "filepath", "added": "created_at"})

    def scan(self, folder: str | os.PathLike[str], *, audio_cache: Any = None) -> ScanReport:
        """Auralis's `LibraryManager.scan_directories` (its LibraryScanner: new files added, files whose
        mtime is newer than their row's `updated_at` updated) then `cleanup_library` (rows of missing files
        removed). Its ScanResult only counts, so the files added, changed and removed are read from the
        tracks table before and after (`filepath`, `updated_at`, `filesize`); the audio cache is told of the
        changed and removed ones (Auralis's scanner knows no audio cache)."""
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise AudioFileError(f"{root}: no such folder")
        before = self._files_under(root)
        started = time.perf_counter()
        with quiet():
            # scan_directories, not scan_single_directory: at 087974e2 the latter calls a
            # LibraryScanner.scan_directory that does not exist (AttributeError)
            result = self._manager.scan_directories([str(root)])
            self._manager.cleanup_library()
        seconds = time.perf_counter() - started
        after = self._files_under(root)
        kept = set(before) & set(after)
        changed = sorted(p for p in kept if before[p] != after[p])
        removed = sorted(set(before) - set(after))
        if audio_cache is not None:
            for path in changed + removed:
                audio_cache.invalidate(path)
        failed = int(getattr(result, "files_failed", 0) or 0)
        errors = (ScanError(f"Auralis's scanner failed on {failed} file(s) (its ScanResult names none)"),) if failed else ()
        return ScanReport(added=tuple(sorted(set(after) - set(before))), changed=tuple(changed), removed=tuple(removed),
                          unchanged=len(kept) - len(changed), seconds=seconds, errors=errors)

    def _files_under(self, root: Path) -> dict[str, tuple[Any, Any]]:
        session = self._manager.get_session()
        try:
            return schema_queries.files_under(session, self._schema, str(root))
        finally:
            session.close()

    def describe(self) -> dict[str, Any]:
        """For the records: which Auralis call answers each protocol call, and what is absent."""
        return {"api_map": dict(API_MAP), "absent_features": dict(ABSENT_FEATURES),
                "bulk_import": "multi-row INSERTs into Auralis's tables (read checks); writes use TrackRepository.add",
                "database": str(self._path), "query_cache": self.caches.facts()}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cache_module.clear_cache()
        if self._bound is not None:
            self._query_cache.bound(self._bound)  # Auralis's own bound again
        self._manager.engine.dispose()
