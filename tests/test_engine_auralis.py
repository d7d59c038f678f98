"""The Auralis adapter's mapping, tested against a small stand-in package built here; and, when the real
Auralis is importable, a check of the adapter against it (skipped, with the reason, otherwise).

The stand-in (tests/auralis_standin/) has Auralis's module layout and call signatures at commit 087974e2
and records how it is called, so the tests
see what the adapter sends (float64 stereo arrays, never a path), which preset it sets, that the result
cache is switched off, and that a chunk Auralis returns unprocessed is caught.
"""
from __future__ import annotations

import os
import subprocess
import sys

import auralis_standin
import numpy as np
import pytest

from auralis_perf.engines import AudioInputError, Capability, EngineError, NotSupported, get_engine
from auralis_perf.signals import kernel_input, music

SR = 44100


@pytest.fixture
def engine(auralis_engine):
    """This module's engine: the Auralis adapter on the stand-in (tests/conftest.py)."""
    return auralis_engine

def calls():
    return sys.modules["auralis.core.hybrid_processor"].CALLS


def test_without_auralis_the_engine_is_unavailable_with_a_clear_reason(tmp_path):
    code = ("import sys; sys.modules['auralis'] = None\n"
            "from auralis_perf.engines import get_engine, EngineError\n"
            "try:\n    get_engine('auralis')\nexcept EngineError as exc:\n    print('ERR', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "AURALIS_PERF_AURALIS_HOME": str(tmp_path / "home")})
    assert "ERR" in out.stdout and "cannot be imported" in out.stdout and "install Auralis" in out.stdout
    assert not any(tmp_path.iterdir())  # no run-local folder left behind by an engine that never started


def test_capabilities_follow_what_is_installed(engine):
    assert engine.capabilities == {Capability.MASTER, Capability.STREAM, Capability.KERNELS, Capability.BATCH,
                                   Capability.LIBRARY, Capability.ANALYSIS, Capability.AUDIO_CACHE,
                                   Capability.PLAYBACK, Capability.BUFFER_POOL, Capability.UTILITIES}
    assert set(engine.kernels()) == {"envelope", "eq", "spectrum_parallel"}
    info = engine.describe()
    assert info["auralis_version"] == "0.0-stand-in"
    assert not info["api_missing"]
    for missing in (Capability.FALLBACKS, Capability.PRESET_SWITCH):
        assert not engine.has(missing) and missing in info["not_offered"]
    with pytest.raises(NotSupported, match="fallbacks"):
        engine.master(music(0.1, SR), SR, optimized=False)


def test_a_part_missing_from_this_auralis_costs_only_its_capability(auralis_stand_in, monkeypatch):
    monkeypatch.setitem(sys.modules, "auralis.library.manager", None)  # as if the module were gone
    monkeypatch.setitem(sys.modules, "auralis.player.enhanced_audio_player", None)
    e = get_engine("auralis", home=auralis_stand_in / "run-home")
    try:
        assert not e.has(Capability.LIBRARY) and not e.has(Capability.PLAYBACK)
        assert e.has(Capability.AUDIO_CACHE) and e.has(Capability.MASTER)
        not_offered = e.describe()["not_offered"]
        assert "auralis.library.manager" in not_offered["library"]
        assert "auralis.player.enhanced_audio_player" in not_offered["playback"]
        # the skip says which part of Auralis is missing, not only which capability
        with pytest.raises(NotSupported, match=r"no capability 'library': Auralis lacks .*auralis\.library\.manager"):
            e.open_library(auralis_stand_in / "x.db")
        with pytest.raises(NotSupported, match=r"'playback': Auralis lacks .*enhanced_audio_player"):
            e.open_playback()
    finally:
        e.close()


def test_every_skip_names_the_auralis_feature_that_is_absent(engine, tmp_path):
    from auralis_perf.engines.protocols.library import LibraryFeature
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.common.kernels import kernel_pair
    from auralis_perf.suites.common.workload import library_cache
    from auralis_perf.suites.library_workload.workload import require_feature

    with pytest.raises(NotSupported, match="no capability 'fallbacks': Auralis has no switch"):
        engine.master(music(0.1, SR), SR, optimized=False)
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "w")
    with pytest.raises(NotSupported, match=r"no 'spectrum_batched' kernel pair \(it has: envelope, eq, "
                                           r"spectrum_parallel\): .*one chunk per call"):
        kernel_pair(ctx, "spectrum_batched")
    lib = engine.open_library(tmp_path / "lib.db")
    try:
        with pytest.raises(NotSupported, match="'keyset' feature, which DB-14 needs: no keyset .*limit and offset"):
            require_feature(lib, LibraryFeature.KEYSET, "DB-14")
        with pytest.raises(NotSupported, match="'playlists' feature, which CACHE-09 needs: .*no position column"):
            require_feature(lib, LibraryFeature.PLAYLISTS, "CACHE-09")
        with pytest.raises(NotSupported, match=r"serves get_track\(\) \(its caches serve: .*list_tracks"):
            library_cache(lib, "get_track")
    finally:
        lib.close()
    from auralis_perf.suites.cache.groups import entity_cache_check

    with pytest.raises(NotSupported, match=r"no cache of the library serves get_track\(\) \(its caches serve"):
        entity_cache_check(ctx, "CACHE-06")


def test_an_engine_without_reasons_gets_the_bare_message():
    from auralis_perf.engines.reference import ReferenceEngine

    class NoLibrary(ReferenceEngine):
        capabilities = ReferenceEngine.capabilities - {Capability.LIBRARY}

    bare = NoLibrary()
    try:
        assert str(bare.lacks(Capability.LIBRARY)) == "engine 'reference' has no capability 'library'"
        bare.absent = {Capability.LIBRARY: "sold separately"}
        assert str(bare.lacks(Capability.LIBRARY)) == "engine 'reference' has no capability 'library': sold separately"
    finally:
        bare.close()


def test_master_sends_float64_stereo_arrays_with_the_preset_and_no_result_cache(engine):
    audio = music(0.5, SR)  # float32 stereo
    out = engine.master(audio, SR, "warm")
    kind, type_name, dtype, shape, preset, rate, caching = calls()[-1]
    assert (kind, type_name, dtype, shape) == ("process", "ndarray", np.float64, audio.shape)
    assert (preset, rate, caching) == ("warm", SR, False)
    assert out.dtype == np.float32 and out.shape == audio.shape
    np.testing.assert_allclose(out, audio * 0.3, rtol=1e-6)
    engine.master(audio, SR)  # default -> Auralis's "adaptive"
    assert calls()[-1][4] == "adaptive"
    with pytest.raises(AudioInputError, match="unknown preset"):
        engine.master(audio, SR, "loud")


def test_mono_is_doubled_for_auralis_and_folded_back(engine):
    mono = music(0.3, SR, dtype=np.float64)[:, 0].copy()
    out = engine.master(mono, SR, "bright")
    assert calls()[-1][3] == (mono.shape[0], 2)
    assert out.shape == mono.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, mono * 0.4)


def test_bad_input_never_reaches_auralis(engine, tmp_path):
    before = len(calls())
    for bad, message in [(str(tmp_path / "song.wav"), "NumPy array"), (np.zeros((0, 2), np.float32), "empty"),
                         (np.full((100, 2), np.inf, np.float32), "Inf"), (np.zeros((100, 3), np.float32), "channels")]:
        with pytest.raises(AudioInputError, match=message):
            engine.master(bad, SR)
    with pytest.raises(AudioInputError, match="sample rate"):
        engine.master(music(0.1, SR), 1000)
    assert len(calls()) == before


def test_cold_and_warm_master_are_reported_apart(engine):
    audio = music(0.2, SR)
    for _ in range(3):
        engine.master(audio, SR)
    info = engine.describe()
    assert info["cold_master"]["audio_seconds"] == pytest.approx(0.2)
    assert info["warm_master_calls"] == 2 and info["warm_master_rtf_median"] > 0
    assert info["auralis_printed_lines"] >= 3  # its prints were kept out of the output


def test_home_and_numba_cache_are_run_local_and_home_is_restored(auralis_stand_in):
    before = os.environ["HOME"]
    e = get_engine("auralis", home=auralis_stand_in / "run-home")
    e.master(music(0.1, SR), SR)
    assert (auralis_stand_in / "run-home" / ".auralis" / "preferences").is_dir()  # Auralis wrote there
    assert not (auralis_stand_in / "user-home" / ".auralis").exists()
    assert e.describe()["numba_cache_dir"] == str(auralis_stand_in / "numba")
    e.close()
    assert os.environ["HOME"] == before and os.environ["NUMBA_CACHE_DIR"] == str(auralis_stand_in / "numba")


def test_stream_processes_chunk_by_chunk_and_catches_unprocessed_chunks(engine, monkeypatch, tmp_path):
    audio = music(0.5, SR)
    with engine.stream(audio, sample_rate=SR, chunk_size=4096) as stream:
        chunks = list(stream)
    assert [c.shape[0] for c in chunks[:-1]] == [4096] * (len(chunks) - 1)
    np.testing.assert_allclose(np.concatenate(chunks), audio * 0.5, rtol=1e-6)
    with pytest.raises(NotSupported, match="preset_switch"):
        stream.set_preset("warm")
    monkeypatch.setenv("STAND_IN_FAIL_CHUNKS", "1")
    with engine.stream(audio, sample_rate=SR) as stream, pytest.raises(EngineError, match="unprocessed"):
        next(iter(stream))


def test_kernel_pairs_call_auralis_public_functions_and_trace_master(engine):
    pairs = engine.kernels()
    envelope = pairs["envelope"]
    data = kernel_input(envelope, 2000, SR)
    np.testing.assert_array_equal(envelope.fast(data), envelope.plain(data))
    eq = pairs["eq"]
    audio, gains, band_map = data = kernel_input(eq, 3 * 4096 + 100, SR)
    assert audio.shape == (3 * 4096, 2) and len(gains) == 6  # whole FFT frames; the signal comes first
    np.testing.assert_array_equal(eq.fast(data), eq.plain(data))
    np.testing.assert_array_equal(eq.fast(data), audio * 2.0)  # every frame went through Auralis's EQ
    assert pairs["spectrum_parallel"].info["workers"] <= (os.cpu_count() or 1)
    # the stand-in's master calls the vectorized EQ once, and nothing else
    assert eq.evidence()["used_by_master"] is True
    timed = engine.describe()  # an ordinary call first (the cold one); the slower traced call is not timed
    assert timed["cold_master"]["audio_seconds"] == pytest.approx(1.0) and timed["warm_master_calls"] == 0
    env_evidence = envelope.evidence()
    assert env_evidence["used_by_master"] is False and "0 time(s)" in env_evidence["reason"]


def test_batch_uses_master(engine):
    tracks = [music(0.2, SR, seed=i) for i in range(2)]
    outputs = engine.process_batch([(t, SR) for t in tracks], workers=2, executor="thread", preset="gentle")
    for out, track in zip(outputs, tracks):
        np.testing.assert_allclose(out, track * 0.25, rtol=1e-6)


@pytest.mark.skipif(not auralis_standin.real_auralis_importable(),
                    reason="the real Auralis is not installed here (install it yourself: "
                           "github.com/matiaszanolli/Auralis); the stand-in tests cover the mapping")
@pytest.mark.slow
def test_against_the_real_auralis(tmp_path):
    """Runs only where `import auralis` works. The first master() call compiles (minutes when cold)."""
    engine = get_engine("auralis", home=tmp_path)
    try:
        assert {Capability.MASTER, Capability.STREAM} <= engine.capabilities
        audio = music(2.0, SR)
        out = engine.master(audio, SR)
        assert out.shape == audio.shape and np.isfinite(out).all() and np.abs(out - audio).max() > 1e-3
        with engine.stream(audio, sample_rate=SR, chunk_size=4096) as stream:
            chunks = list(stream)
        assert sum(c.shape[0] for c in chunks) == audio.shape[0]
        if engine.has(Capability.KERNELS) and "envelope" in engine.kernels():
            pair = engine.kernels()["envelope"]
            data = kernel_input(pair, 4410, SR)
            assert np.abs(pair.fast(data) - pair.plain(data)).max() <= pair.tolerance
        assert engine.describe()["cold_master"]["seconds"] > 0
        for capability in (Capability.LIBRARY, Capability.AUDIO_CACHE, Capability.PLAYBACK, Capability.ANALYSIS,
                           Capability.UTILITIES, Capability.BUFFER_POOL):
            assert engine.has(capability), engine.describe()["not_offered"].get(capability)
        _exercise_the_real_capabilities(engine, tmp_path)
    finally:
        engine.close()


def _exercise_the_real_capabilities(engine, tmp_path):
    """One small call through each optional capability of the real Auralis (no fingerprint: minutes cold)."""
    import soundfile as sf

    from auralis_perf.library_tracks import generate_tracks

    lib = engine.open_library(tmp_path / "library.db")
    try:
        items = generate_tracks(200, seed=1)
        ids = lib.bulk_import(items)
        assert lib.repo.get_track(ids[0]).id == ids[0]
        # the adapter's own queries on Auralis's association tables: an artist's page, a genre's count
        credited = {i for i, t in zip(ids, items) if items[0].artist in (t.artist, *t.featured)}
        artist_id = lib.repo.get_track(ids[0]).artist_id
        assert {t.id for t in lib.repo.list_tracks(artist_id=artist_id, sort="title", limit=200).items} == credited
        assert lib.repo.count_tracks(genre=items[0].genre) == sum(t.genre == items[0].genre for t in items)
        page = lib.cached.list_tracks(sort="title", limit=20)
        assert lib.cached.list_tracks(sort="title", limit=20) == page == lib.repo.list_tracks(sort="title", limit=20)
        assert lib.caches["query"].stats()["hits"] == 1
    finally:
        lib.close()
    path = tmp_path / "song.wav"
    sf.write(path, music(2.0, SR), SR)
    with engine.open_audio_cache(tmp_path / "cache") as cache:
        first = cache.get(path, "spectrum")
        assert np.array_equal(np.asarray(cache.get(path, "spectrum")), np.asarray(first))
    with engine.open_playback(chunk_size=4096) as session:
        session.load(path)
        session.start()
        frames = 0
        while (chunk := session.pull()) is not None:
            frames += chunk.audio.shape[0]
            session.set_preset("warm")
        assert frames == 2 * SR
    assert engine.analyze(music(1.0, SR), SR, "spectrum").shape[0] == 1
    assert engine.utilities.resample(music(1.0, SR), SR, 48000).shape[0] in (47999, 48000, 48001)
    with engine.stream(music(1.0, SR), sample_rate=SR, chunk_size=4096) as stream:
        list(stream)
        assert stream.pool_stats()["reuses"] > 0

