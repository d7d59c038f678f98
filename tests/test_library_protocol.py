"""The reference library implements the library protocols (auralis_perf.engines.protocols.library), and the
harness's track generator is deterministic. Tiny libraries only."""
from __future__ import annotations

import pytest

from auralis_perf.engines import (
    DatabaseHandle,
    KeyValueCache,
    LibraryCaches,
    LibraryFeature,
    LibraryRepository,
    MusicLibrary,
    NewTrack,
    QueryCache,
    get_engine,
)
from auralis_perf.engines.protocols.library import INDEXED_COLUMNS, Album, Artist, GroupCount, Page, Track
from auralis_perf.library_tracks import generate_tracks


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    engine = get_engine("reference")
    lib = engine.open_library(tmp_path_factory.mktemp("protocol") / "library.db")
    yield lib
    lib.close()
    engine.close()


def test_the_reference_library_is_a_music_library(library):
    assert isinstance(library, MusicLibrary)
    assert isinstance(library.repo, LibraryRepository) and isinstance(library.cached, LibraryRepository)
    assert isinstance(library.caches, LibraryCaches)
    assert set(library.features) <= {v for k, v in vars(LibraryFeature).items() if k.isupper()}
    for name in library.caches.names():
        cache = library.caches[name]
        assert isinstance(cache, QueryCache) and isinstance(cache, KeyValueCache)
        assert cache.name == name
        assert {"hits", "misses", "evictions", "entries", "bytes", "max_entries", "max_bytes"} <= set(cache.stats())
        assert {"policy", "ttl_seconds", "max_entries", "max_bytes", "scope"} <= set(library.caches.facts()[name])
    assert library.caches.cache_for("get_track") == "tracks"
    assert library.caches.cache_for("list_tracks") == "query"
    assert library.caches.cache_for("no_such_read") is None


def test_bulk_import_returns_ids_in_order_and_records_follow_the_protocol(library):
    items = generate_tracks(40, seed=3)
    ids = library.bulk_import(items)
    assert len(ids) == len(set(ids)) == 40
    for new, track_id in zip(items[::13], ids[::13]):
        track = library.repo.get_track(track_id)
        assert isinstance(track, Track) and track.path == new.path and track.title == new.title
        assert library.cached.get_track(track_id) == track  # records compare by value
        assert isinstance(library.repo.get_artist(track.artist_id), Artist)
        assert isinstance(library.repo.get_album(track.album_id), Album)
    page = library.repo.list_tracks(sort="title", limit=10)
    assert isinstance(page, Page) and len(page.items) == 10
    genres = library.repo.count_by_genre()
    assert genres and all(isinstance(g, GroupCount) for g in genres)


def test_the_database_handle_names_the_engine_and_the_file(library):
    handle = library.database()
    assert isinstance(handle, DatabaseHandle)
    assert handle.path == library.path and handle.path.exists()
    assert handle.engine is not None and handle.engine.dialect.name == "sqlite"
    assert handle.column("added") == "added_at" and handle.column("title") == "title"
    with pytest.raises(ValueError, match="unknown column"):
        handle.column("nope")
    assert "added" in INDEXED_COLUMNS


def test_generated_tracks_are_deterministic_new_tracks():
    first, again, other = generate_tracks(30, seed=1), generate_tracks(30, seed=1), generate_tracks(30, seed=2)
    assert first == again and first != other
    assert first and all(isinstance(t, NewTrack) for t in first)
    with pytest.raises(ValueError, match="non-negative"):
        generate_tracks(-1)
