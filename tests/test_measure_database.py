"""The harness's database introspection (auralis_perf.measure.database) on the reference library's handle:
statement counts per thread, plans, indexes, pool figures, copies without an index. Tiny libraries."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from auralis_perf.engines.protocols.library import DatabaseHandle
from auralis_perf.library_tracks import generate_tracks
from auralis_perf.measure.database import DatabaseProbe, NoDatabaseAccess, index_variants


@pytest.fixture(scope="module")
def library(engine, tmp_path_factory):
    lib = engine.open_library(tmp_path_factory.mktemp("probe") / "library.db")
    probe = DatabaseProbe(lib.database())
    ids = lib.bulk_import(generate_tracks(120, seed=5))
    yield lib, probe, ids
    probe.close()
    lib.close()


def test_statements_are_counted_per_call_and_per_thread(library):
    lib, probe, ids = library
    with probe.count() as block:
        lib.repo.get_track(ids[0])
    assert block.count >= 1 and all(sql.lstrip().upper().startswith(("SELECT", "WITH")) for sql, _ in block.executed)
    with probe.count() as cached:
        lib.cached.get_track(ids[1])
        lib.cached.get_track(ids[1])  # the second read comes from the cache
    assert cached.count == block.count
    with probe.count() as lazy, probe.count() as inner:
        lib.repo.list_tracks(sort="title", limit=20, load="lazy")
    assert inner.count > 3 and lazy.count == inner.count  # nested blocks both see the statements
    other: list[int] = []
    with probe.count() as mine:
        worker = threading.Thread(target=lambda: other.append(len(lib.repo.list_tracks(limit=5).items)))
        worker.start()
        worker.join()
    assert other == [5] and mine.count == 0  # another thread's statements are not this block's
    assert any("tracks" in sql for sql in probe.issued())


def test_plans_and_indexes_come_from_the_file(library):
    lib, probe, ids = library
    indexes = probe.indexes()
    title = probe.find_index(("title",))
    assert title in indexes and indexes[title][0] == "title"
    assert probe.find_index(("no_such_column",)) is None
    assert title in probe.indexes_on(("title",))
    plans = probe.plans(lambda: lib.repo.list_tracks(sort="title", limit=10))
    assert plans and any(p.uses_index(title) for p in plans)
    assert not any("tracks" in p.full_scans for p in plans)
    scan = probe.explain("SELECT * FROM tracks WHERE file_size > ?", (1,))
    assert scan.full_scans == ["tracks"] and scan.scans("tracks")


def test_pool_figures_follow_checkouts(library):
    lib, probe, _ = library
    probe.pool_reset()
    lib.repo.count_tracks()
    stats = probe.pool_stats()
    assert stats["checkouts"] >= 1 and stats["checkins"] == stats["checkouts"]
    assert stats["checked_out"] == 0 and stats["peak_checked_out"] >= 1
    assert stats["size"] >= 1 and "max_overflow" not in stats  # SQLAlchemy keeps it private


@pytest.mark.parametrize("pool_timeout", [30.0, 0.2])  # a checkout that waits, and one that times out first
def test_the_pool_bound_is_observed_on_a_copy_of_the_pool(engine, tmp_path, pool_timeout):
    lib = engine.open_library(tmp_path / "bound.db", pool_size=2, max_overflow=3, pool_timeout=pool_timeout)
    probe = DatabaseProbe(lib.database())
    try:
        observed = probe.pool_bound(patience_s=0.5)
        assert observed["bound"] == 5, observed
        assert probe.checked_out() == 0  # the library's own pool was not touched
        assert lib.repo.count_tracks() == 0
    finally:
        probe.close()
        lib.close()


def test_a_copy_without_an_index_plans_without_it(library, engine, tmp_path):
    lib, probe, _ = library
    title = probe.find_index(("title",))
    with index_variants(probe, [title], tmp_path, engine.open_library) as v:
        assert title in v.indexed_probe.indexes() and title not in v.bare_probe.indexes()
        first = v.indexed.repo.list_tracks(sort="title", limit=10)
        assert v.bare.repo.list_tracks(sort="title", limit=10) == first
        bare_plans = v.bare_probe.plans(lambda: v.bare.repo.list_tracks(sort="title", limit=10))
        assert not any(p.uses_index(title) for p in bare_plans)
    assert title in probe.indexes()  # the library's own file keeps it
    assert not list(tmp_path.glob("*.db"))  # the copies are gone
    with pytest.raises(ValueError, match="no droppable index"):
        with index_variants(probe, ["nope"], tmp_path, engine.open_library):
            pass


def test_a_handle_without_engine_or_path_says_what_is_missing(tmp_path):
    path = tmp_path / "plain.db"
    sqlite3.connect(str(path)).close()
    only_path = DatabaseProbe(DatabaseHandle(path=path))
    with pytest.raises(NoDatabaseAccess, match="SQLAlchemy engine"):
        with only_path.count():
            pass
    assert only_path.indexes() == {}
    with pytest.raises(NoDatabaseAccess, match="SQLite file"):
        DatabaseProbe(DatabaseHandle()).indexes()
