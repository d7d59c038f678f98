"""The Auralis adapter's optional capabilities (library and its query cache, audio cache, playback, analysis,
utilities, buffer pool), tested on the stand-in (tests/auralis_standin/), and the check that PyPI's unrelated
text-to-speech `auralis` is refused up front. What is asserted is the mapping: which Auralis call answers,
what the records look like, that Auralis's own behaviour (FIFO eviction, name-based invalidation, stale
reads it does not prevent) shows through rather than being papered over.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines import (
    AudioFileError,
    AudioInputError,
    LibraryFeature,
    MusicLibrary,
    NewTrack,
    NotSupported,
    PlaybackSession,
)
from auralis_perf.library_tracks import generate_tracks
from auralis_perf.signals import music

SR = 44100


@pytest.fixture
def engine(auralis_engine):
    """This module's engine: the Auralis adapter on the stand-in (tests/conftest.py)."""
    return auralis_engine


@pytest.fixture
def library(engine, tmp_path):
    lib = engine.open_library(tmp_path / "lib" / "library.db")
    yield lib
    lib.close()


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.wav"
    sf.write(path, music(1.0, SR), SR)
    return path


# -- library --------------------------------------------------------------------------------------------

def test_library_is_a_music_library_over_auralis_schema(library):
    assert isinstance(library, MusicLibrary)
    # no keyset, prefix, playlists, renames; loading strategies are SQLAlchemy's on its relationships
    assert library.features == {LibraryFeature.SCAN, LibraryFeature.LOAD_STRATEGIES}
    handle = library.database()
    assert handle.path.name == "library.db" and handle.column("path") == "filepath"
    assert handle.column("added") == "created_at" and str(handle.engine.url).endswith("library.db")
    facts = library.caches.facts()["query"]
    assert (facts["policy"], facts["max_entries"], facts["ttl_seconds"], facts["scope"]) == ("fifo", 256, 300,
                                                                                              "process")
    assert library.caches.cache_for("search") == "query" and library.caches.cache_for("get_track") is None


def test_bulk_import_and_reads_give_value_records(library):
    items = generate_tracks(30, seed=2)
    ids = library.bulk_import(items)
    assert len(set(ids)) == 30
    for new, track_id in zip(items, ids):
        track = library.repo.get_track(track_id)
        assert (track.path, track.title, track.genre, track.year) == (new.path, new.title, new.genre, new.year)
        assert library.repo.get_artist(track.artist_id).name == new.artist
        assert library.cached.get_track(track_id) == track
    page = library.repo.list_tracks(sort="title", limit=10)  # Auralis's get_all(order_by="title")
    assert [t.title for t in page.items] == sorted(t.title for t in items)[:10]
    by_artist = library.repo.list_tracks(sort="artist", limit=30)  # the adapter's query on Auralis's tables
    assert len(by_artist.items) == 30
    assert library.repo.count_tracks() == 30 and sum(g.tracks for g in library.repo.count_by_genre()) == 30
    with pytest.raises(NotSupported, match="keyset"):
        library.repo.list_tracks(after=object())
    with pytest.raises(NotSupported, match="prefix"):
        library.repo.find_by_title("a")


def test_artist_and_genre_pages_select_and_order_by_the_credits_in_one_pass(library):
    """The adapter's own queries on Auralis's unindexed association tables: an artist's page holds exactly
    the tracks crediting the artist, sort="artist" orders by the first credited name (then id), and neither
    runs a subquery per track (SQLite's plan says CORRELATED for those: quadratic in the library's size)."""
    from sqlalchemy import event

    items = generate_tracks(40, seed=7)
    ids = library.bulk_import(items)
    by_id = {i: t for i, t in zip(ids, items)}
    artist_id = library.repo.get_track(ids[0]).artist_id
    credited = {i for i, t in by_id.items() if items[0].artist in (t.artist, *t.featured)}
    statements = []
    engine = library.database().engine
    listener = lambda conn, cursor, sql, params, *rest: statements.append((sql, params))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page = library.repo.list_tracks(artist_id=artist_id, sort="title", limit=40)
        by_artist = library.repo.list_tracks(sort="artist", limit=40)
        genre_count = library.repo.count_tracks(genre=items[0].genre)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert {t.id for t in page.items} == credited
    first_name = {i: min((t.artist, *t.featured)) for i, t in by_id.items()}
    assert [t.id for t in by_artist.items] == sorted(ids, key=lambda i: (first_name[i], i))
    assert genre_count == sum(t.genre == items[0].genre for t in items)
    with engine.connect() as connection:
        for sql, params in statements:
            if "track_artist" in sql or "track_genre" in sql:
                plan = " | ".join(str(r[-1]) for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                                                                  tuple(params)))
                assert "CORRELATED" not in plan, (sql, plan)


def test_loading_strategies_give_the_default_listings_pages_with_other_statements(library):
    from sqlalchemy import event

    library.bulk_import(generate_tracks(30, seed=5))
    statements = []
    engine = library.database().engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = {}
    for sort in ("title", "artist"):  # Auralis's get_all; the adapter's query
        for load in (None, "joined", "selectin", "lazy"):
            statements.clear()
            page = library.repo.list_tracks(sort=sort, limit=8, offset=4, load=load)
            counts[sort, load] = len(statements)
            assert page == library.repo.list_tracks(sort=sort, limit=8, offset=4), (sort, load)
    assert counts["title", "lazy"] > counts["title", "selectin"] > counts["title", None]  # count + joined page + genres
    assert counts["title", "selectin"] == counts["title", None] + 2  # one IN query each for artists and album
    assert counts["title", "joined"] == counts["title", None]  # Auralis's own way: the same statements
    with pytest.raises(NotSupported, match="cached"):
        library.cached.list_tracks(sort="title", limit=5, load="selectin")
    with pytest.raises(NotSupported, match="get_recent"):
        library.repo.list_tracks(sort="added", descending=True, limit=5, load="selectin")
    with pytest.raises(AudioInputError, match="eager"):
        library.repo.list_tracks(sort="title", limit=5, load="eager")


def test_cached_reads_go_through_auralis_query_cache_and_writes_invalidate_by_name(library):
    ids = library.bulk_import(generate_tracks(20, seed=4))
    first = library.cached.list_tracks(sort="title", limit=5)
    assert library.cached.list_tracks(sort="title", limit=5) == first
    stats = library.caches["query"].stats()
    assert (stats["hits"], stats["misses"], stats["entries"]) == (1, 1, 1)
    target = first.items[0].id
    library.cached.update_track(target, title="AAA renamed")  # invalidates get_all_tracks: fresh read
    assert library.cached.list_tracks(sort="title", limit=5).items[0].title == "AAA renamed"
    # set_track_favorite invalidates only get_favorite_tracks: the cached listing keeps the old flag, as in
    # Auralis itself (a stale read the CACHE checks must count, not one the adapter hides)
    library.cached.set_favorite(target, True)
    assert library.repo.get_track(target).favorite is True
    assert library.cached.list_tracks(sort="title", limit=5).items[0].favorite is False
    library.caches.clear()
    assert library.caches["query"].stats()["entries"] == 0 and ids


def test_the_query_cache_evicts_the_oldest_entry_first(library):
    cache = library.caches["query"]
    for i in range(257):
        cache.put(f"k{i}", i)
        if i == 0:
            assert cache.get("k0") == 0  # a hit does not make it younger (FIFO, not LRU)
    assert cache.get("k0", "gone") == "gone" and cache.keys()[0] == "k1" and len(cache.keys()) == 256
    assert cache.stats()["evictions"] == 1  # Auralis counts none: the adapter counts around its set


def test_cache_entries_bound_the_query_cache_while_the_library_is_open(engine, tmp_path):
    lib = engine.open_library(tmp_path / "bounded.db", cache_entries=3)
    cache = lib.caches["query"]
    for i in range(5):
        cache.put(f"k{i}", i)
    assert cache.keys() == ["k2", "k3", "k4"] and cache.stats()["max_entries"] == 3
    lib.close()
    again = engine.open_library(tmp_path / "bounded.db")  # Auralis's own bound is back
    try:
        assert again.caches["query"].stats()["max_entries"] == 256
    finally:
        again.close()


def test_writes_use_auralis_add_and_unknown_ids_raise(library):
    track_id = library.repo.add_track(NewTrack(path="/m/a.wav", title="A", artist="X", album="Y", genre="Rock"))
    assert library.repo.get_track_by_path("/m/a.wav").id == track_id
    with pytest.raises(LookupError):
        library.repo.set_favorite(99_999)
    with pytest.raises(NotSupported, match="position column"):  # Auralis keeps no playlist order
        library.repo.create_playlist("mix")
    library.repo.delete_track(track_id)
    assert library.repo.get_track(track_id) is None


# -- audio cache ----------------------------------------------------------------------------------------

def test_audio_cache_serves_from_memory_and_from_auralis_fingerprint_files(engine, song, tmp_path):
    home = os.environ["HOME"]
    with engine.open_audio_cache(tmp_path / "cache") as cache:
        first = cache.get(song, "fingerprint")
        assert cache.get(song, "fingerprint") == first
        assert {k: cache.stats()[k] for k in ("hits", "misses")} == {"hits": 1, "misses": 1}
    assert os.environ["HOME"] == home  # pointed at the cache's folder only during FingerprintStorage's calls
    assert list((tmp_path / "cache" / ".auralis" / "fingerprints").glob("*.25d"))
    with engine.open_audio_cache(tmp_path / "cache") as again:  # same folder: a disk hit
        assert again.get(song, "fingerprint") == first and again.stats()["disk_hits"] == 1
    with engine.open_audio_cache(tmp_path / "other") as elsewhere:  # another folder shares nothing
        elsewhere.get(song, "fingerprint")
        assert elsewhere.stats()["misses"] == 1


def test_audio_cache_sidecars_invalidation_and_bad_requests(engine, song, tmp_path):
    with engine.open_audio_cache(tmp_path / "cache") as cache:
        cache.get(song, "analysis")
        assert song.with_suffix(".wav.25d").is_file()  # Auralis's sidecar, next to the audio
        assert cache.invalidate(song) >= 2 and not song.with_suffix(".wav.25d").exists()
        cache.get(song, "analysis")
        assert cache.stats()["misses"] == 2
        with pytest.raises(NotSupported, match="waveform"):
            cache.get(song, "waveform")
        with pytest.raises(AudioInputError):
            cache.get(song, "colour")
        with pytest.raises(AudioFileError, match="missing.wav"):
            cache.get(tmp_path / "missing.wav", "spectrum")


# -- playback, analysis, utilities, pool ------------------------------------------------------------------

def test_playback_is_pulled_on_the_harness_clock_and_switches_the_player_profile(engine, song):
    with engine.open_playback(chunk_size=4096, preset="default") as session:
        assert isinstance(session, PlaybackSession)
        with pytest.raises(RuntimeError):
            session.start()  # nothing loaded
        session.load(song)
        session.start()
        first = session.pull()
        session.set_preset("punchy")
        rest = []
        while (chunk := session.pull()) is not None:
            rest.append(chunk)
        assert session.finished and first.preset == "default" and rest[0].preset == "punchy"
        assert "LOADING" in session.describe()["workarounds"][0]  # Auralis's load_file leaves it LOADING
        frames = first.audio.shape[0] + sum(c.audio.shape[0] for c in rest)
        assert frames == SR  # the last chunk without Auralis's padding
        source = music(1.0, SR)
        np.testing.assert_allclose(first.audio, source[:4096], atol=1e-4)  # balanced: gain 1
        np.testing.assert_allclose(rest[0].audio, source[4096:8192] * 0.7, atol=1e-4)  # punchy in the stand-in
    with engine.open_playback() as session, pytest.raises(AudioFileError):
        session.load("/no/such/file.wav")


def test_analysis_kinds(engine):
    audio = music(0.5, SR)
    assert engine.analyze(audio, SR, "spectrum").shape == (1, 64)
    assert len(engine.analyze(audio, SR, "fingerprint")) == 25
    assert np.isfinite(engine.analyze(audio, SR, "loudness")["integrated_lufs"])
    with pytest.raises(NotSupported, match="waveform"):
        engine.analyze(audio, SR, "waveform")
    with pytest.raises(AudioInputError):
        engine.analyze(audio, SR, "mood")
    with pytest.raises(AudioInputError):
        engine.analyze(np.full((10, 2), np.nan), SR, "spectrum")


def test_utilities_use_auralis_io(engine, tmp_path):
    util = engine.utilities
    audio = music(0.5, SR)
    assert util.resample(audio, SR, 48000).shape == (24000, 2)
    util.encode(audio, SR, tmp_path / "x.flac", "FLAC")
    decoded, rate = util.decode(tmp_path / "x.flac")
    assert rate == SR and decoded.shape == audio.shape
    with pytest.raises(NotSupported, match="conversion"):
        util.float_to_int(audio, 16)
    stereo = util.to_stereo(audio[:, 0])  # auralis.dsp.utils.audio_info.mono_to_stereo
    assert stereo.shape == (len(audio), 2) and np.array_equal(stereo[:, 0], stereo[:, 1])
    with pytest.raises(AudioInputError):
        util.to_stereo(audio)
    with pytest.raises(AudioInputError):
        util.encode(audio, SR, tmp_path / "x.mp3", "mp3")
    with pytest.raises(AudioFileError):
        util.decode(tmp_path / "none.wav")


def test_opt19_measures_the_one_conversion_auralis_has_and_names_the_others(engine, tmp_path):
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.optimization.algorithm import opt19_conversions

    result = opt19_conversions(SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "w"))
    assert list(result.details["table"]) == ["mono -> stereo"] and result.details["slowest"] == "mono -> stereo"
    assert len(result.details["not_offered"]) == 7 and result.status in ("pass", "fail")


def test_stream_buffers_come_from_auralis_memory_pool(engine):
    audio = music(1.0, SR)
    with engine.stream(audio, sample_rate=SR, chunk_size=4096) as stream:
        chunks = list(stream)
        stats = stream.pool_stats()
    # one buffer of 4096 frames reused for every full chunk, a new one for the shorter last chunk
    assert stats == {"allocations": 2, "reuses": len(chunks) - 2}


# -- the wrong package ----------------------------------------------------------------------------------

def test_the_unrelated_text_to_speech_auralis_is_refused_up_front(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "auralis").mkdir(parents=True)
    (site / "auralis" / "__init__.py").write_text("from .common.definitions import TTSRequest\n")
    info = site / "auralis-0.2.8.post2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: auralis\nVersion: 0.2.8.post2\n"
                                   "Summary: This is a faster implementation for TTS models\n")
    (info / "RECORD").write_text("auralis/__init__.py,,\n")
    (info / "top_level.txt").write_text("auralis\n")
    for name in [m for m in sys.modules if m == "auralis" or m.startswith("auralis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(site))
    from auralis_perf.run.cli import UsageError, resolve_engines

    with pytest.raises(UsageError, match="text-to-speech") as caught:
        resolve_engines("auralis")
    assert "pip uninstall auralis" in str(caught.value)
    assert "auralis" not in sys.modules  # found out without importing it
    assert resolve_engines("reference") == ("reference",)


def test_the_audio_cache_checks_measure_the_kinds_auralis_offers(engine, song, tmp_path):
    from auralis_perf.suites.library_workload.audio_cache import offered_kinds

    with engine.open_audio_cache(tmp_path / "kinds") as cache:
        kinds, absent = offered_kinds(cache, song)
    assert kinds == ("spectrum", "fingerprint", "analysis") and set(absent) == {"waveform"}
    assert "no waveform" in absent["waveform"]


def test_scan_uses_auralis_scanner_and_reports_files_by_path(library, engine, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    files = [folder / f"t{i}.wav" for i in range(3)]
    for i, path in enumerate(files):
        sf.write(path, music(0.2, SR, seed=i), SR)
    with engine.open_audio_cache(tmp_path / "scan-cache") as cache:
        first = library.scan(folder, audio_cache=cache)
        assert sorted(first.added) == sorted(map(str, files)) and not first.changed and not first.removed
        cache.get(files[0], "spectrum")
        sf.write(files[0], music(0.3, SR, seed=9), SR)
        os.utime(files[0], (files[0].stat().st_atime + 5, files[0].stat().st_mtime + 5))
        files[1].unlink()
        second = library.scan(folder, audio_cache=cache)
        assert (second.changed, second.removed, second.added) == ((str(files[0]),), (str(files[1]),), ())
        assert cache.stats()["entries"] == 0  # told of the changed file
    assert library.repo.get_track_by_path(str(files[1])) is None


def test_artist_albums_come_from_auralis_artist_with_its_albums(library):
    items = generate_tracks(12, seed=5)
    ids = library.bulk_import(items)
    track = library.repo.get_track(ids[0])
    albums = library.repo.artist_albums(track.artist_id)
    assert track.album_id in {a.id for a in albums} and all(a.artist_id == track.artist_id for a in albums)


def test_newest_first_is_auralis_recent_listing_cached_by_it(library):
    library.bulk_import(generate_tracks(15, seed=6))
    page = library.cached.list_tracks(sort="added", descending=True, limit=5)
    assert library.cached.list_tracks(sort="added", descending=True, limit=5) == page
    assert library.caches["query"].stats()["hits"] == 1 and len(page.items) == 5


def test_mem14_measures_the_analyses_auralis_has_and_names_the_missing_one(engine, tmp_path, monkeypatch):
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.memory.peak import SIZES, mem14_analysis

    monkeypatch.setitem(SIZES["smoke"], "analysis_s", 3.0)  # a short signal: the plumbing, not the figure
    result = mem14_analysis(SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "work"))
    assert set(result.details["by_kind"]) == {"spectrum", "fingerprint"}
    assert "no waveform" in result.details["kinds_not_offered"]["waveform"]


def test_opt15_reads_auralis_query_cache_from_threads_when_no_cache_serves_get_track(engine, tmp_path):
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.optimization.parallel import shared_cache_consistency

    scenario = shared_cache_consistency(SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "w"), 300)
    assert scenario["read"] == "list_tracks" and scenario["distinct_calls"] == 30
    assert scenario["lookups"] == 600 and scenario["entries"] <= scenario["max_entries"]
    assert scenario["mismatches"] == scenario["wrong_results"] + (scenario["hits_plus_misses"] != 600)


def test_mem17_curve_uses_auralis_query_cache_over_listing_pages(engine, tmp_path, monkeypatch):
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.memory.efficiency import SIZES, mem17_hit_rate_curve

    for key, value in {"library_tracks": 200, "zipf_requests": 200, "zipf_seeds": 1}.items():
        monkeypatch.setitem(SIZES["smoke"], key, value)
    result = mem17_hit_rate_curve(SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "work"))
    assert result.details["read"] == "list_tracks" and result.details["items"] == 20
    assert [p["lookups"] for p in result.details["curve"]] == [200] * 4
    # the stand-in's cache is FIFO like Auralis's: at a bound below the hot set it hits less than an LRU would
    assert all(p["hit_rate"] <= p["ideal_lru_hit_rate"] + 1.0 for p in result.details["curve"])
