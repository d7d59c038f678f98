"""Utilities: resampling, sample formats, channel layouts and codecs."""
from __future__ import annotations

import numpy as np
import pytest

from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.signals import music

SR = 44100
utilities = ReferenceEngine().utilities


def _tones(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 5000 * t)
    right = 0.3 * np.sin(2 * np.pi * 1234 * t) + 0.1 * np.sin(2 * np.pi * 15000 * t)
    return np.stack([left, right], axis=1)


def test_resample_44k1_48k_round_trip_error_is_bounded() -> None:
    tones = _tones(1.0, SR)
    up = utilities.resample(tones, 44100, 48000)
    assert up.shape == (48000, 2)
    back = utilities.resample(up, 48000, 44100)
    assert back.shape == tones.shape
    inner = slice(2000, -2000)  # away from the filter's edge transients
    assert np.abs(back[inner] - tones[inner]).max() < 2e-3
    music_clip = music(1.0, SR)
    round_trip = utilities.resample(utilities.resample(music_clip, 44100, 48000), 48000, 44100)
    error = round_trip[inner] - music_clip[inner]
    assert round_trip.dtype == np.float32
    assert np.sqrt(np.mean(error ** 2)) < 0.01 * np.sqrt(np.mean(music_clip.astype(float) ** 2)) + 1e-3


@pytest.mark.parametrize("bits, dtype", [(16, np.int16), (24, np.int32), (32, np.int32)])
def test_float_int_round_trip(bits: int, dtype: type) -> None:
    audio = music(0.3, SR, dtype=np.float64)
    ints = utilities.float_to_int(audio, bits)
    assert ints.dtype == dtype
    assert np.abs(utilities.int_to_float(ints, bits) - audio).max() <= 0.5 / 2 ** (bits - 1) + 1e-7
    full = utilities.float_to_int(np.array([[1.5, -1.5]]), bits)
    assert full.tolist() == [[2 ** (bits - 1) - 1, -(2 ** (bits - 1))]]


def test_layouts() -> None:
    audio = music(0.2, SR)
    planar = np.ascontiguousarray(audio.T)
    flat = utilities.interleave(planar)
    assert np.array_equal(flat[:4], [audio[0, 0], audio[0, 1], audio[1, 0], audio[1, 1]])
    assert np.array_equal(utilities.deinterleave(flat, 2), planar)
    mono = utilities.to_mono(audio)
    assert mono.shape == (audio.shape[0], 1) and np.allclose(mono[:, 0], audio.mean(axis=1), atol=1e-7)
    assert np.array_equal(utilities.to_stereo(mono), np.repeat(mono, 2, axis=1))
    with pytest.raises(ValueError, match="channels"):
        utilities.deinterleave(flat[:-1], 2)


@pytest.mark.parametrize("fmt, bound", [("WAV", 0.0), ("FLAC", 2.0 ** -23), ("OGG", None)])
def test_codec_round_trips(tmp_path, fmt: str, bound: float | None) -> None:
    audio = music(1.0, SR, seed=6)
    path = utilities.encode(audio, SR, tmp_path / f"clip.{fmt.lower()}", fmt)
    decoded, rate = utilities.decode(path)
    assert rate == SR and decoded.shape == audio.shape
    if bound is not None:  # lossless
        assert np.abs(decoded - audio).max() <= bound
    else:  # lossy Vorbis: bounded error
        error = np.sqrt(np.mean((decoded - audio) ** 2)) / np.sqrt(np.mean(audio ** 2))
        assert error < 0.2
