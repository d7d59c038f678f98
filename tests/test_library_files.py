"""The library's file handling (bad files and locations, unicode paths), its pool, and the folder scanner."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines.reference.library import (
    CorruptLibraryError,
    LibraryError,
    LibraryFileError,
    NotALibraryError,
    ReadOnlyLocationError,
    open_library,
)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- bad files --------------------------------------------------------------------------------------

def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    before = digest(path)
    with pytest.raises(NotALibraryError, match="notes.db.*not an SQLite database"):
        open_library(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_a_corrupt_sqlite_file_is_refused_and_left_untouched(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + os.urandom(8000))
    truncated = tmp_path / "truncated.db"
    with open_library(tmp_path / "good.db") as good:
        good.populate(300)
    data = (tmp_path / "good.db").read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    tiny = tmp_path / "tiny.db"
    tiny.write_bytes(b"SQLite format 3\x00\x10\x00")
    for path in (garbage, truncated, tiny):
        before = digest(path)
        with pytest.raises(CorruptLibraryError, match=path.name):
            open_library(path)
        assert digest(path) == before


def test_another_applications_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.close()
    before = digest(path)
    with pytest.raises(NotALibraryError, match="another application"):
        open_library(path)
    assert digest(path) == before
    assert isinstance(NotALibraryError("x"), LibraryFileError)


def test_an_empty_file_and_a_missing_parent_become_a_library(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    with open_library(empty) as lib:
        assert lib.counts()["tracks"] == 0
    nested = tmp_path / "a" / "b" / "c" / "library.db"
    with open_library(nested) as lib:
        lib.populate(20)
    assert nested.exists()
    with open_library(nested) as again:  # reopening keeps the data and does not recreate the schema
        assert again.counts()["tracks"] == 20 and again.repo.search(again.repo.get_track(3).title.split()[0])


def test_a_read_only_location_is_a_clear_error(tmp_path):
    with pytest.raises(ReadOnlyLocationError, match="library"):
        open_library("/proc/self/auralis-library.db")  # not writable, even for root
    if os.geteuid() == 0:
        pytest.skip("file permissions do not bind root; the /proc case above covers read-only locations")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ReadOnlyLocationError, match="not writable"):
            open_library(folder / "library.db")
    finally:
        folder.chmod(0o700)


def test_a_folder_is_not_a_library(tmp_path):
    with pytest.raises(NotALibraryError, match="folder"):
        open_library(tmp_path)


def test_unicode_everywhere(tmp_path):
    path = tmp_path / "Müsik 東京 🎵" / "bibliothèque ☃.db"
    with open_library(path) as lib:
        lib.populate(50, seed=4)
        from auralis_perf.engines.reference.library import NewTrack
        track_id = lib.repo.add_track(NewTrack(path="/μ/日本/😀 é\u0301.flac", title="Ωμέγα 🎸 ناي",
                                               artist="Сергей Ёлкин", album="Ærø ß"))
        assert lib.repo.get_track_by_path("/μ/日本/😀 é\u0301.flac").id == track_id
        assert [t.id for t in lib.repo.search("ωμέγα")] == [track_id]
        assert [t.id for t in lib.repo.search("🎸")] == [track_id]
        assert track_id in [t.id for t in lib.repo.search("сергей ёлкин")]
    with open_library(path) as lib:
        assert lib.repo.get_track(track_id).artist.name == "Сергей Ёлкин"


def test_closed_library_refuses_work(tmp_path):
    lib = open_library(tmp_path / "c.db")
    lib.close()
    lib.close()  # idempotent
    with pytest.raises(LibraryError, match="closed"):
        lib.repo.get_track(1)


# -- pool -------------------------------------------------------------------------------------------

def test_concurrent_readers_leak_no_connection(tmp_path):
    lib = open_library(tmp_path / "pool.db", pool_size=2, max_overflow=1, pool_timeout=30)
    lib.populate(200)
    lib.pool.reset()
    errors = []

    def reader(seed):
        try:
            for i in range(150):
                lib.repo.get_track(1 + (seed * 31 + i) % 200)
                lib.repo.list_tracks(limit=10, offset=i % 50)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = lib.pool.stats()
    assert not errors
    assert stats["checked_out"] == 0 and stats["checkouts"] == stats["checkins"] >= 6 * 300
    assert stats["peak_checked_out"] <= 3 and stats["connections_open"] <= 3
    lib.close()
    assert lib.pool.stats()["connections_open"] == 0


def test_a_reader_waits_when_the_pool_is_exhausted(tmp_path):
    with open_library(tmp_path / "w.db", pool_size=1, max_overflow=0, pool_timeout=30) as lib:
        lib.populate(10)
        lib.pool.reset()
        result = []
        with lib._db.read():  # hold the only connection
            reader = threading.Thread(target=lambda: result.append(lib.repo.get_track(3)))
            reader.start()
            time.sleep(0.1)
            assert result == []  # still waiting for the connection
        reader.join()
        stats = lib.pool.stats()
        assert result[0].id == 3 and stats["waits"] == 1 and stats["max_wait_seconds"] >= 0.05
        assert stats["checked_out"] == 0 and stats["peak_overflow"] == 0


def test_failed_operations_return_their_connections(tmp_path):
    with open_library(tmp_path / "p.db", pool_size=1, max_overflow=0, pool_timeout=2) as lib:
        for _ in range(20):
            with pytest.raises(LibraryError):
                lib.repo.update_track(10**6, title="missing")
            with pytest.raises(LibraryError):
                lib.repo.list_tracks(sort="nope")
        assert lib.repo.count_tracks() == 0  # would time out if a connection had leaked
        assert lib.pool.stats()["checked_out"] == 0


# -- scanner ----------------------------------------------------------------------------------------

def write_tone(path, seconds=0.5, rate=44100, channels=2, frequency=440.0, fmt=None):
    t = np.arange(int(seconds * rate)) / rate
    audio = np.stack([0.3 * np.sin(2 * np.pi * frequency * t)] * channels, axis=1)
    sf.write(str(path), audio, rate, format=fmt)


def tag(path, **tags):
    import mutagen
    audio = mutagen.File(str(path), easy=True)
    for key, value in tags.items():
        audio[key] = value
    audio.save()


def test_scan_then_rescan_reports_added_changed_removed(tmp_path):
    music = tmp_path / "music"
    (music / "Ärtist").mkdir(parents=True)
    write_tone(music / "Ärtist" / "one.flac")
    tag(music / "Ärtist" / "one.flac", title="Première chanson", artist="Ärtist", album="Débuts",
        genre="Jazz", date="2019-05-01", tracknumber="3/10")
    write_tone(music / "Ärtist" / "two.wav", channels=1, rate=48000)
    write_tone(music / "three.ogg", fmt="OGG")
    (music / "broken.wav").write_bytes(b"RIFF....not really a wave file")
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff")

    class RecordingAudioCache:
        def __init__(self):
            self.reports = []

        def apply_scan(self, report):
            self.reports.append(report)

    audio_cache = RecordingAudioCache()
    with open_library(tmp_path / "lib.db") as lib:
        first = lib.scan(music, audio_cache=audio_cache)
        assert len(first.added) == 3 and not first.changed and not first.removed
        assert [os.path.basename(e.path) for e in first.errors] == ["broken.wav"]
        one = lib.cached.get_track_by_path(str((music / "Ärtist" / "one.flac").resolve()))
        assert (one.title, one.artist.name, one.album.title, one.genre, one.year, one.track_number) == \
            ("Première chanson", "Ärtist", "Débuts", "Jazz", 2019, 3)
        assert one.format == "flac" and one.sample_rate == 44100 and one.channels == 2
        assert one.duration == pytest.approx(0.5)
        two = lib.repo.get_track_by_path(str((music / "Ärtist" / "two.wav").resolve()))
        assert (two.title, two.artist.name, two.channels, two.sample_rate) == ("two", "Unknown Artist", 1, 48000)
        assert lib.cached.search("première")[0].id == one.id

        second = lib.scan(music)
        assert second.unchanged == 3 and not (second.added or second.changed or second.removed)

        time.sleep(0.01)  # a distinct mtime even on coarse clocks
        write_tone(music / "Ärtist" / "one.flac", seconds=1.0)
        tag(music / "Ärtist" / "one.flac", title="Nouvelle version", artist="Ärtist", album="Débuts")
        (music / "three.ogg").unlink()
        third = lib.scan(music, audio_cache=audio_cache)
        assert [os.path.basename(p) for p in third.changed] == ["one.flac"]
        assert [os.path.basename(p) for p in third.removed] == ["three.ogg"]
        assert audio_cache.reports[-1] is third
        fresh = lib.cached.get_track_by_path(one.path)  # the cache dropped the old record
        assert fresh.id == one.id and fresh.title == "Nouvelle version" and fresh.duration == pytest.approx(1.0)
        assert lib.cached.get_track_by_path(third.removed[0]) is None
        assert lib.cached.search("première") == [] and lib.cached.search("nouvelle")[0].id == one.id
    with pytest.raises(LibraryError, match="not a folder"):
        with open_library(tmp_path / "lib.db") as lib:
            lib.scan(tmp_path / "missing")
