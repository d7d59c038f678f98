"""Conformance: the optional audio capabilities, each checked only on an engine that declares it.

Preset switch and buffer pool (on streams), playback sessions, analysis, batch work and job queues,
utilities and the audio cache, as the protocols of `auralis_perf.engines.protocols.audio` describe them.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines import (
    ANALYSIS_KINDS,
    AudioFileError,
    AudioInputError,
    Capability,
    Engine,
    NotSupported,
    PlaybackChunk,
)
from auralis_perf.pytest_plugin.conformance import clip, require_capability
from auralis_perf.suites.common.compare import max_abs_diff

Clip = tuple[np.ndarray, int]


def _other_preset(engine: Engine) -> str:
    return next((p for p in engine.presets if p != "default"), "default")


# -- stream extras ---------------------------------------------------------------------------------------

def test_preset_switch_mid_stream(perf_engine: Engine, conformance_clip: Clip) -> None:
    require_capability(perf_engine, Capability.PRESET_SWITCH)
    audio, sr = conformance_clip
    frames = 0
    with perf_engine.stream(audio, sample_rate=sr, chunk_size=1024) as stream:
        for i, chunk in enumerate(stream):
            frames += np.asarray(chunk).shape[0]
            assert np.isfinite(chunk).all()
            if i == 2:
                stream.set_preset(_other_preset(perf_engine))
            if i == 3:
                with pytest.raises(AudioInputError):
                    stream.set_preset("no-such-preset")
    assert frames == audio.shape[0]


def test_buffer_pool_figures(perf_engine: Engine, conformance_clip: Clip) -> None:
    require_capability(perf_engine, Capability.BUFFER_POOL)
    audio, sr = conformance_clip
    readings = []
    with perf_engine.stream(audio, sample_rate=sr, chunk_size=1024) as stream:
        for _chunk in stream:
            readings.append(dict(stream.pool_stats()))
    for reading in readings:
        assert {"allocations", "reuses"} <= set(reading), reading
        assert all(isinstance(reading[k], int) and reading[k] >= 0 for k in ("allocations", "reuses"))
    for before, after in zip(readings, readings[1:]):
        assert after["allocations"] >= before["allocations"] and after["reuses"] >= before["reuses"]


# -- playback --------------------------------------------------------------------------------------------

def _playback_threads() -> set[int | None]:
    return {t.ident for t in threading.enumerate()}


def test_playback_plays_the_whole_file_in_order(perf_engine: Engine, conformance_file: Path,
                                                conformance_clip: Clip) -> None:
    require_capability(perf_engine, Capability.PLAYBACK)
    audio, sr = conformance_clip
    threads_before = _playback_threads()
    other = _other_preset(perf_engine)
    chunks: list[PlaybackChunk] = []
    with perf_engine.open_playback(chunk_size=1024) as session:
        session.load(conformance_file)
        assert (session.sample_rate, session.channels) == (sr, audio.shape[1])
        session.start()
        switched = 0.0
        while True:
            chunk = session.pull(10.0)
            if chunk is None:
                break
            assert chunk.ready_at <= time.perf_counter()
            chunks.append(PlaybackChunk(np.array(chunk.audio, copy=True), chunk.ready_at, chunk.preset))
            if len(chunks) == 3:
                switched = time.perf_counter()
                session.set_preset(other)
        assert session.finished
    assert not (_playback_threads() - threads_before), "close() left threads running"
    assert sum(c.audio.shape[0] for c in chunks) == audio.shape[0]
    assert all(c.audio.ndim == 2 and c.audio.shape[1] == audio.shape[1] and c.audio.shape[0] <= 1024
               for c in chunks)
    assert all(np.isfinite(c.audio).all() for c in chunks)
    assert all(a.ready_at <= b.ready_at for a, b in zip(chunks, chunks[1:]))
    assert chunks[0].preset == "default"
    assert any(c.preset == other and c.ready_at >= switched for c in chunks[3:]), \
        f"no chunk after set_preset({other!r}) says it was processed with it"


def test_playback_refuses_bad_use(perf_engine: Engine, tmp_path: Path) -> None:
    require_capability(perf_engine, Capability.PLAYBACK)
    with pytest.raises(AudioInputError):
        perf_engine.open_playback(preset="no-such-preset")
    with perf_engine.open_playback() as session:
        with pytest.raises(RuntimeError):
            session.start()  # nothing loaded
        with pytest.raises(AudioFileError, match="no-such-track.wav"):
            session.load(tmp_path / "no-such-track.wav")


def test_playback_close_mid_play(perf_engine: Engine, conformance_file: Path) -> None:
    require_capability(perf_engine, Capability.PLAYBACK)
    threads_before = _playback_threads()
    session = perf_engine.open_playback(chunk_size=512)
    session.load(conformance_file)
    session.start()
    session.pull(10.0)
    session.close()
    session.close()
    assert not (_playback_threads() - threads_before), "close() left threads running"


# -- analysis --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ANALYSIS_KINDS)
def test_analysis_is_deterministic_and_finite(perf_engine: Engine, conformance_clip: Clip, kind: str) -> None:
    require_capability(perf_engine, Capability.ANALYSIS)
    audio, sr = conformance_clip
    try:
        first = perf_engine.analyze(audio, sr, kind)
    except NotSupported as exc:
        assert str(exc)
        pytest.skip(f"{kind}: {exc}")
    second = perf_engine.analyze(audio, sr, kind)
    assert max_abs_diff(first, second) == 0.0, f"two {kind} analyses of the same clip differ"
    with pytest.raises(AudioInputError):
        bad = audio.copy()
        bad[10, 0] = np.nan
        perf_engine.analyze(bad, sr, kind)


def test_analysis_refuses_unknown_kinds_and_agrees_in_parallel(perf_engine: Engine, conformance_clip: Clip) -> None:
    require_capability(perf_engine, Capability.ANALYSIS)
    audio, sr = conformance_clip
    with pytest.raises((AudioInputError, NotSupported)):
        perf_engine.analyze(audio, sr, "no-such-kind")
    try:
        parallel = perf_engine.analyze(audio, sr, "spectrum", parallel=True, workers=2)
    except NotSupported as exc:
        pytest.skip(f"parallel spectrum: {exc}")
    serial = perf_engine.analyze(audio, sr, "spectrum")
    assert max_abs_diff(parallel, serial) <= perf_engine.tolerance


# -- batch work ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("executor", ["serial", "thread"])
def test_batch_outputs_in_input_order(perf_engine: Engine, conformance_file: Path, executor: str) -> None:
    require_capability(perf_engine, Capability.BATCH)
    clips = [clip(0.25, seed=seed) for seed in (4, 5)]
    outputs = perf_engine.process_batch([(c, 44100) for c in clips] + [str(conformance_file)], workers=2,
                                        executor=executor)
    assert len(outputs) == 3
    decoded, rate = sf.read(conformance_file, dtype="float32", always_2d=True)
    expected = [perf_engine.master(c, 44100) for c in clips] + [perf_engine.master(decoded, rate)]
    for out, want in zip(outputs, expected):
        assert max_abs_diff(np.asarray(out), np.asarray(want)) <= perf_engine.tolerance


def test_batch_refuses_bad_arguments(perf_engine: Engine) -> None:
    require_capability(perf_engine, Capability.BATCH)
    item = (clip(0.1), 44100)
    with pytest.raises(AudioInputError):
        perf_engine.process_batch([item], workers=0)
    with pytest.raises(AudioInputError):
        perf_engine.process_batch([item], executor="no-such-executor")
    with pytest.raises(AudioInputError):
        perf_engine.process_batch([42])


def test_job_queue(perf_engine: Engine) -> None:
    require_capability(perf_engine, Capability.BATCH)
    clips = [clip(0.2, seed=seed) for seed in (6, 7, 8)]
    with perf_engine.job_queue(workers=2) as queue:
        futures = [queue.submit(c, 44100, "default") for c in clips]
        results = [f.result(timeout=60) for f in futures]
        stats = list(queue.stats())
        bad = queue.submit(clips[0][:0], 44100)
        with pytest.raises(AudioInputError):
            bad.result(timeout=60)
    for out, c in zip(results, clips):
        assert max_abs_diff(np.asarray(out), np.asarray(perf_engine.master(c, 44100))) <= perf_engine.tolerance
    assert len(stats) == len(clips)
    assert all(s["wait"] >= 0 and s["run"] > 0 for s in stats), stats


# -- utilities -------------------------------------------------------------------------------------------

def test_utilities_resample_and_codecs(perf_engine: Engine, conformance_clip: Clip, tmp_path: Path) -> None:
    require_capability(perf_engine, Capability.UTILITIES)
    util = perf_engine.utilities
    assert util is not None, "capability 'utilities' declared but Engine.utilities is None"
    audio, sr = conformance_clip
    up = np.asarray(util.resample(audio, sr, 48000))
    assert up.shape == (round(audio.shape[0] * 48000 / sr), audio.shape[1])
    for fmt, tolerance in (("wav", 1e-4), ("flac", 1e-4)):
        path = tmp_path / f"clip.{fmt}"
        util.encode(audio, sr, path, fmt)
        decoded, rate = util.decode(path)
        assert rate == sr and np.asarray(decoded).shape == audio.shape
        assert max_abs_diff(np.asarray(decoded, dtype=np.float64), audio) <= tolerance
    with pytest.raises(AudioInputError):
        util.encode(audio, sr, tmp_path / "clip.xyz", "no-such-format")
    with pytest.raises(AudioFileError, match="no-such-track.wav"):
        util.decode(tmp_path / "no-such-track.wav")


def test_utilities_conversions(perf_engine: Engine, conformance_clip: Clip) -> None:
    """Sample-format conversions; an engine without them says so (NotSupported: skipped with its reason)."""
    require_capability(perf_engine, Capability.UTILITIES)
    util = perf_engine.utilities
    audio, _sr = conformance_clip
    try:
        pcm16, pcm24 = np.asarray(util.float_to_int(audio, 16)), np.asarray(util.float_to_int(audio, 24))
    except NotSupported as exc:
        pytest.skip(f"conversions: {exc}")
    assert pcm16.dtype == np.int16 and pcm16.shape == audio.shape
    assert np.issubdtype(pcm24.dtype, np.integer) and pcm24.dtype.itemsize >= 3
    assert max_abs_diff(np.asarray(util.int_to_float(pcm16, 16)), audio) <= 2 / 2**15
    assert max_abs_diff(np.asarray(util.int_to_float(pcm24, 24)), audio) <= 2 / 2**23
    planar = np.ascontiguousarray(audio.T)
    flat = np.asarray(util.interleave(planar))
    assert flat.ndim == 1 and flat.size == audio.size
    assert np.array_equal(flat[:4], audio[:2].reshape(-1)), "interleave is not frame-major"
    assert np.array_equal(np.asarray(util.deinterleave(flat, audio.shape[1])), planar)
    mono = np.asarray(util.to_mono(audio))
    assert mono.shape[0] == audio.shape[0] and mono.size == audio.shape[0]
    assert np.allclose(mono.reshape(-1), audio.mean(axis=1), atol=1e-6)
    stereo = np.asarray(util.to_stereo(mono))
    assert stereo.shape == (audio.shape[0], 2) and np.array_equal(stereo[:, 0], stereo[:, 1])


# -- audio cache -----------------------------------------------------------------------------------------

def test_audio_cache_hits_and_never_serves_a_changed_file(perf_engine: Engine, conformance_clip: Clip,
                                                          tmp_path: Path) -> None:
    require_capability(perf_engine, Capability.AUDIO_CACHE)
    audio, sr = conformance_clip
    track = tmp_path / "track.wav"
    sf.write(track, audio, sr, subtype="FLOAT")
    with perf_engine.open_audio_cache(tmp_path / "cache") as cache:
        first = cache.get(track, "spectrum")
        before = dict(cache.stats())
        assert {"hits", "misses", "evictions", "bytes"} <= set(before), before
        again = cache.get(track, "spectrum")
        after = dict(cache.stats())
        assert after["hits"] == before["hits"] + 1, "the second request was not a hit"
        assert max_abs_diff(first, again) == 0.0
        cache.invalidate(track)
        cache.get(track, "spectrum")
        assert cache.stats()["misses"] == after["misses"] + 1, "a request after invalidate() was a hit"
        sf.write(track, audio * 0.25, sr, subtype="FLOAT")  # same size, new content
        stamp = os.stat(track).st_mtime_ns + 2_000_000_000
        os.utime(track, ns=(stamp, stamp))
        changed = cache.get(track, "spectrum")
        assert max_abs_diff(changed, first) > 0, "the cache served the old result of a changed file"
        with pytest.raises(AudioInputError):
            cache.get(track, "no-such-kind")
        with pytest.raises(AudioFileError, match="no-such-track.wav"):
            cache.get(tmp_path / "no-such-track.wav", "spectrum")
    cache.close()  # a second close is harmless
