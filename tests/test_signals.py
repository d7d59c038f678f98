"""The music-like test signal generator: deterministic, any length and rate, and really music-like."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.signals import BAR_SECONDS, BARS_PER_SECTION, music, write_music

SR = 22050


def test_same_seed_same_audio_and_other_seed_differs() -> None:
    a, b, c = music(2.5, SR, seed=7), music(2.5, SR, seed=7), music(2.5, SR, seed=8)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("duration, rate", [(1.234, 22050), (0.5, 48000), (0.01, 44100), (0.0, 44100)])
def test_any_length_and_sample_rate(duration: float, rate: int) -> None:
    audio = music(duration, rate)
    assert audio.shape == (round(duration * rate), 2)
    assert audio.dtype == np.float32


def test_offset_continues_the_same_piece_and_mono_is_the_mix() -> None:
    whole = music(4.0, SR, dtype=np.float64)
    assert np.array_equal(music(1.5, SR, offset=2.5, dtype=np.float64), whole[int(2.5 * SR):])
    assert np.allclose(music(4.0, SR, channels=1, dtype=np.float64)[:, 0], whole.mean(axis=1))


def test_music_like_not_noise_not_sine() -> None:
    section = BAR_SECONDS * BARS_PER_SECTION
    audio = music(2 * section, SR, dtype=np.float64)
    # Below full scale, with sharp transients (drums): high crest factor.
    peak = np.abs(audio).max()
    assert 0.2 < peak < 1.0
    loud = audio[int(section * SR):]
    assert 20 * np.log10(np.abs(loud).max() / np.sqrt(np.mean(loud ** 2))) > 10.0
    # Tonal (harmonics), far from flat noise: spectral flatness well below white noise's ~0.56.
    power = np.abs(np.fft.rfft(audio[:, 0])) ** 2 + 1e-20
    flatness = np.exp(np.mean(np.log(power))) / np.mean(power)
    assert flatness < 0.05
    # A quiet section then a loud one.
    quiet = audio[:int(section * SR)]
    assert 20 * np.log10(np.sqrt(np.mean(loud ** 2)) / np.sqrt(np.mean(quiet ** 2))) > 6.0
    # A stereo image: channels related but not identical.
    correlation = np.corrcoef(audio[:, 0], audio[:, 1])[0, 1]
    assert 0.2 < correlation < 0.99


@pytest.mark.parametrize("extension, tolerance", [("wav", 0.0), ("flac", 2.0 ** -22), ("ogg", None)])
def test_written_files_hold_the_signal(tmp_path, extension: str, tolerance: float | None) -> None:
    path = write_music(tmp_path / f"clip.{extension}", 3.0, SR, seed=2)
    data, rate = sf.read(path, dtype="float32")
    expected = music(3.0, SR, seed=2)
    assert rate == SR and data.shape == expected.shape
    if tolerance is not None:
        assert np.abs(data - expected).max() <= tolerance
    else:  # lossy: the error stays well below the signal
        assert np.sqrt(np.mean((data - expected) ** 2)) < 0.2 * np.sqrt(np.mean(expected ** 2))


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="channels"):
        music(1.0, SR, channels=3)
    with pytest.raises(ValueError, match="duration"):
        music(-1.0, SR)
