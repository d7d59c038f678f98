"""The pedalboard peer: protocol, honest capabilities, the chain's sound, streaming, bad input, batch work.

Short music-like inputs keep the file fast; no timing assertions.
"""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from auralis_perf.engines import AudioFileError, AudioInputError, Capability, NotSupported, engine_names, get_engine
from auralis_perf.engines.pedalboard_peer import tuning as peer_tuning
from auralis_perf.engines.support.presets import PRESETS
from auralis_perf.signals import music

SR = 44100
CEILING = 10 ** (-1.0 / 20)  # every preset's limiter ceiling, -1 dBFS


@pytest.fixture(scope="module")
def engine():
    e = get_engine("pedalboard")
    yield e
    e.close()


@pytest.fixture(scope="module")
def short() -> np.ndarray:
    """Shorter than the whole-source limit: tuned on the whole track."""
    return music(6.0, SR)


@pytest.fixture(scope="module")
def long() -> np.ndarray:
    """Longer than the whole-source limit: tuned on spread windows."""
    seconds = peer_tuning.WHOLE_SOURCE_SECONDS + 4.0
    return music(seconds, SR, seed=3)


def lufs(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SR).integrated_loudness(np.asarray(audio, dtype=np.float64)))


def streamed(engine, source, chunk_size: int, **kwargs) -> np.ndarray:
    with engine.stream(source, chunk_size=chunk_size, **kwargs) as stream:
        chunks = list(stream)
    return np.concatenate(chunks)


def test_registered_with_honest_capabilities(engine):
    assert "pedalboard" in engine_names()
    assert engine.capabilities == {Capability.MASTER, Capability.STREAM, Capability.PRESET_SWITCH, Capability.BATCH}
    assert engine.presets == tuple(PRESETS)  # the reference's preset names
    for missing in (Capability.LIBRARY, Capability.AUDIO_CACHE, Capability.KERNELS, Capability.FALLBACKS):
        assert not engine.has(missing)
    with pytest.raises(NotSupported, match="kernels"):
        engine.kernels()
    with pytest.raises(NotSupported, match="library"):
        engine.open_library("x.db")
    with pytest.raises(NotSupported, match="fallbacks"):
        engine.master(music(1.0, SR), SR, optimized=False)
    info = engine.describe()
    assert info["pedalboard"] and "BrickwallLimiter" in info["chain"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_master_keeps_shape_and_dtype_and_stays_under_the_ceiling(engine, short, dtype):
    audio = short.astype(dtype)
    out = engine.master(audio, SR)
    assert out.shape == audio.shape and out.dtype == audio.dtype
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= CEILING + 1e-6
    assert np.abs(out - audio).max() > 0.01  # it did something


def test_mono_stays_mono(engine, short):
    mono = np.ascontiguousarray(short[:, 0])
    out = engine.master(mono, SR)
    assert out.shape == mono.shape
    with engine.stream(mono, sample_rate=SR, chunk_size=4096) as stream:
        chunks = list(stream)
    assert chunks and all(chunk.ndim == 1 for chunk in chunks)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_reaches_its_loudness_target(engine, short, long, preset):
    target = PRESETS[preset].target_lufs
    for audio in (short, long):  # whole-source tuning and windowed tuning
        out = engine.master(audio, SR, preset)
        assert abs(lufs(out) - target) < 0.5, (preset, audio.shape)
        assert np.abs(out).max() <= CEILING + 1e-6


def test_presets_shape_the_tone_like_their_names(engine, short):
    """`bright` lifts the top against `warm`, `warm` the bottom against `bright` (EQ at work)."""
    def band_share(audio: np.ndarray, low: float, high: float) -> float:
        spectrum = np.abs(np.fft.rfft(audio.mean(axis=1))) ** 2
        freqs = np.fft.rfftfreq(audio.shape[0], 1 / SR)
        return float(spectrum[(freqs >= low) & (freqs < high)].sum() / spectrum.sum())

    bright, warm = engine.master(short, SR, "bright"), engine.master(short, SR, "warm")
    assert band_share(bright, 8000, 20000) > 1.5 * band_share(warm, 8000, 20000)
    assert band_share(warm, 20, 150) > band_share(bright, 20, 150)


@pytest.mark.parametrize("chunk_size", [256, 4096, 65536])
def test_stream_equals_whole_array(engine, short, long, chunk_size):
    for audio in (short, long):
        whole = engine.master(audio, SR)
        out = streamed(engine, audio, chunk_size, sample_rate=SR)
        assert out.shape == whole.shape
        assert np.abs(out - whole).max() < 1e-4


def test_stream_from_a_file_yields_full_chunks(engine, short, tmp_path):
    path = tmp_path / "track.wav"
    sf.write(path, short, SR, subtype="FLOAT")
    with engine.stream(path, chunk_size=1000) as stream:
        sizes = [chunk.shape[0] for chunk in stream]
    assert all(s == 1000 for s in sizes[:-1]) and 0 < sizes[-1] <= 1000
    assert sum(sizes) == short.shape[0]
    whole = engine.master(sf.read(path, dtype="float32")[0], SR)
    assert np.abs(streamed(engine, path, 4096) - whole).max() < 1e-4


def _switched(engine, audio: np.ndarray, chunk: int, after: int, preset: str) -> tuple[np.ndarray, list]:
    with engine.stream(audio, sample_rate=SR, chunk_size=chunk) as stream:
        chunks = []
        for i, c in enumerate(stream):
            chunks.append(c)
            if i == after:
                stream.set_preset(preset)
        return np.concatenate(chunks), stream.preset_switches


def _click_ratio(switched: np.ndarray, plain: np.ndarray, at: int) -> float:
    """Broadband energy of (switched - plain) right at the switch against its level after: a click is a
    burst of it at one instant (the difference's first derivative, in 32-frame windows)."""
    hf = np.diff((switched - plain)[:, 0].astype(np.float64)) ** 2
    windows = [hf[k:k + 32].sum() for k in range(at - 16, at + 4096, 32)]
    return max(windows[:2]) / float(np.median(windows[2:]))


def test_preset_switch_takes_effect_at_the_next_chunk_without_a_click(engine, short, monkeypatch):
    chunk, after = 4096, 20
    boundary = (after + 1) * chunk
    plain = streamed(engine, short, chunk, sample_rate=SR)
    for preset in ("bright", "gentle"):
        out, switches = _switched(engine, short, chunk, after, preset)
        assert len(switches) == 1 and switches[0][1] >= switches[0][0]
        np.testing.assert_array_equal(out[:boundary], plain[:boundary])
        assert np.abs(out[boundary:boundary + chunk] - plain[boundary:boundary + chunk]).max() > 1e-3
        assert _click_ratio(out, plain, boundary) < 2.0, preset
    # the measure does see a click: switching chains without the crossfade makes one
    from auralis_perf.engines.pedalboard_peer import stream as peer_stream

    monkeypatch.setattr(peer_stream, "CROSSFADE_SECONDS", 0.0)
    abrupt, _ = _switched(engine, short, chunk, after, "bright")
    assert _click_ratio(abrupt, plain, boundary) > 5.0
    with engine.stream(short, sample_rate=SR) as stream, pytest.raises(AudioInputError, match="unknown preset"):
        stream.set_preset("loud")


def test_bad_input_is_rejected_clearly(engine, tmp_path):
    good = music(1.0, SR)
    cases = [
        (np.full((1000, 2), np.nan, dtype=np.float32), SR, "NaN"),
        (np.zeros((0, 2), dtype=np.float32), SR, "empty"),
        (np.zeros((1000, 3), dtype=np.float32), SR, "3 channels"),
        ((good * 32767).astype(np.int16), SR, "dtype"),
        (good, 12345, "unsupported sample rate"),
        (good.tolist(), SR, "NumPy array"),
    ]
    for audio, rate, message in cases:
        with pytest.raises(AudioInputError, match=message):
            engine.master(audio, rate)
    with pytest.raises(AudioInputError, match="unknown preset"):
        engine.master(good, SR, "loud")
    with pytest.raises(AudioInputError, match="chunk_size"):
        engine.stream(good, sample_rate=SR, chunk_size=0)
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioFileError, match="missing.wav"):
        engine.stream(missing)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    with pytest.raises(AudioFileError, match="notes.wav"):
        engine.stream(text)
    truncated = tmp_path / "cut.wav"
    sf.write(truncated, good, SR, subtype="PCM_16")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="truncated"):
        engine.stream(truncated)


def test_too_short_or_silent_input_is_passed_through_the_chain_without_gain(engine):
    for audio in (np.zeros((SR, 2), dtype=np.float32), music(0.2, SR)):
        out = engine.master(audio, SR)
        assert out.shape == audio.shape and np.isfinite(out).all()
        assert np.abs(out).max() <= CEILING + 1e-6


def test_batch_executors_and_job_queue_agree_with_master(engine, tmp_path):
    tracks = [music(1.0, SR, seed=i) for i in range(3)]
    expected = [engine.master(t, SR) for t in tracks]
    path = tmp_path / "one.wav"
    sf.write(path, tracks[0], SR, subtype="FLOAT")
    for executor in ("serial", "thread"):
        outputs = engine.process_batch([(t, SR) for t in tracks], workers=2, executor=executor)
        for out, want in zip(outputs, expected):
            np.testing.assert_array_equal(out, want)
    from_file = engine.process_batch([path], workers=1, executor="serial")[0]
    assert np.abs(from_file - expected[0]).max() < 1e-6
    with engine.job_queue(workers=2) as queue:
        futures = [queue.submit(t, SR, "default") for t in tracks]
        outputs = [f.result() for f in futures]
    assert len(queue.stats()) == 3 and all(s["wait"] >= 0 and s["run"] > 0 for s in queue.stats())
    np.testing.assert_array_equal(outputs[1], expected[1])
    with pytest.raises(AudioInputError, match="executor"):
        engine.process_batch([(tracks[0], SR)], executor="gpu")


def test_process_executor_builds_the_engine_in_its_workers(engine):
    track = music(0.5, SR)
    (out,) = engine.process_batch([(track, SR)], workers=1, executor="process")
    np.testing.assert_array_equal(out, engine.master(track, SR))
