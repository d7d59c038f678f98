"""The reference engine's mastering chain: shapes, loudness, limiter ceiling, EQ response, presets."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from auralis_perf.engines import Capability, get_engine
from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.engines.reference.chain import PLAIN_KERNELS, ChainProcessor, Tuning, kernel_set
from auralis_perf.engines.reference.filters import Band, design_band, design_eq, k_weighting, response_db
from auralis_perf.engines.reference.loudness import integrated_loudness
from auralis_perf.engines.support.presets import PRESETS
from auralis_perf.measure.peaks import true_peak_dbtp
from auralis_perf.signals import music

SR = 44100


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return music(24.0, SR, seed=1)


def test_registry_gives_the_reference_engine_with_every_capability() -> None:
    engine = get_engine()
    assert isinstance(engine, ReferenceEngine)
    for capability in ("master", "stream", "fallbacks", "kernels", "playback", "analysis", "batch", "utilities",
                       "audio_cache", "library", "preset_switch", "buffer_pool"):
        assert engine.has(getattr(Capability, capability.upper()))
    assert set(engine.presets) >= {"default", "gentle", "warm", "bright", "punchy"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_are_kept(engine: ReferenceEngine, dtype: type) -> None:
    audio = music(1.5, SR, dtype=dtype)
    out = engine.master(audio, SR)
    assert out.shape == audio.shape and out.dtype == dtype
    assert np.isfinite(out).all()


def test_mono_stays_mono(engine: ReferenceEngine) -> None:
    mono = music(1.5, SR, channels=1)
    assert engine.master(mono, SR).shape == mono.shape
    assert engine.master(mono[:, 0], SR).shape == (mono.shape[0],)
    assert np.array_equal(engine.master(mono[:, 0], SR), engine.master(mono, SR)[:, 0])


@pytest.mark.parametrize("preset", list(PRESETS))
def test_integrated_loudness_reaches_the_target(engine: ReferenceEngine, clip: np.ndarray, preset: str) -> None:
    out = engine.master(clip, SR, preset)
    target = PRESETS[preset].target_lufs
    assert abs(integrated_loudness(out, SR) - target) < 0.5
    # Cross-check our BS.1770 meter with pyloudnorm's independent implementation.
    assert abs(pyloudnorm.Meter(SR).integrated_loudness(out.astype(np.float64)) - target) < 0.5


def test_loudness_meter_agrees_with_pyloudnorm(clip: np.ndarray) -> None:
    for gain in (1.0, 0.25):
        ours = integrated_loudness(clip * gain, SR)
        theirs = pyloudnorm.Meter(SR).integrated_loudness((clip * gain).astype(np.float64))
        assert abs(ours - theirs) < 0.05


def test_k_weighting_matches_the_standard_at_48k() -> None:
    sos = k_weighting(48000)
    assert np.allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-6)
    assert np.allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-6)
    assert np.allclose(sos[1, :3], [1.0, -2.0, 1.0]) and np.allclose(sos[1, 4:], [-1.99004745483398,
                                                                                   0.99007225036621], atol=1e-6)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_limiter_ceiling_is_never_exceeded(engine: ReferenceEngine, preset: str) -> None:
    hot = music(3.0, SR, seed=5, dtype=np.float64) * 6.0  # peaks far above full scale
    ceiling = 10 ** (PRESETS[preset].limiter.ceiling_db / 20)
    assert np.abs(engine.master(hot, SR, preset)).max() <= ceiling
    assert np.abs(engine.master(hot[: SR // 2], SR, preset, optimized=False)).max() <= ceiling


#: The meter (measure.peaks: SciPy's 81-tap 4x resampler) reads a lone sample high by its filter's gain at phase 0 (SciPy normalises the whole
#: filter's DC gain, so that phase is 1.00064, +0.0055 dB, not exactly 1): a sample exactly at the
#: ceiling reads 0.0055 dB over it. That, plus float32 rounding of the output (1e-6 dB), is the tolerance.
METER_SAMPLE_GAIN_DB = float(20 * np.log10(signal.firwin(81, 0.25, window=("kaiser", 5.0))[40] * 4))
TRUE_PEAK_TOLERANCE_DB = METER_SAMPLE_GAIN_DB + 0.001


def test_true_peak_tolerance_is_the_meters_own_reading_of_a_sample() -> None:
    impulse = np.zeros((400, 1))
    impulse[200] = 0.5
    assert true_peak_dbtp(impulse) - 20 * np.log10(0.5) == pytest.approx(METER_SAMPLE_GAIN_DB, abs=1e-9)
    assert 0.0 < TRUE_PEAK_TOLERANCE_DB < 0.01


@pytest.mark.parametrize("preset", list(PRESETS))
def test_true_peak_stays_under_the_ceiling(engine: ReferenceEngine, clip: np.ndarray, preset: str) -> None:
    ceiling_db = PRESETS[preset].limiter.ceiling_db
    out = engine.master(clip, SR, preset)
    assert true_peak_dbtp(out) <= ceiling_db + TRUE_PEAK_TOLERANCE_DB
    hot = music(4.0, SR, seed=5, dtype=np.float64) * 6.0  # the limiter works on nearly every frame
    assert true_peak_dbtp(engine.master(hot, SR, preset)) <= ceiling_db + TRUE_PEAK_TOLERANCE_DB
    # the fallback runs the same limiter source interpreted: the same output, to rounding
    short = hot[: SR // 2]
    fast, plain = engine.master(short, SR, preset), engine.master(short, SR, preset, optimized=False)
    assert np.allclose(fast, plain, rtol=0, atol=1e-9)
    assert true_peak_dbtp(plain) <= ceiling_db + TRUE_PEAK_TOLERANCE_DB


def test_true_peak_detector_interpolates_between_samples() -> None:
    # a sine at a quarter of the sample rate, sampled 45 degrees off its crests: every sample sits 3 dB
    # under the true peak; a sample-peak limiter lets the waveform through 3 dB over its ceiling
    preset = PRESETS["default"]
    frames = SR // 4
    sine = np.sin(np.pi / 2 * np.arange(frames) + np.pi / 4)[:, np.newaxis] * np.ones((1, 2))
    out = ChainProcessor(preset, SR, 2, Tuning(-20.0, 0.0), kernel_set(True)).limit_only(sine, 1.0)
    assert true_peak_dbtp(sine, skip=100) == pytest.approx(0.0, abs=0.05)  # the meter: 0.015 dB of ripple at fs/4
    steady = out[frames // 2:]  # the limiter has settled
    assert np.abs(steady).max() <= 10 ** ((preset.limiter.ceiling_db - 2.9) / 20)
    assert true_peak_dbtp(out[frames // 2 - 100:], skip=100) <= preset.limiter.ceiling_db + TRUE_PEAK_TOLERANCE_DB


def test_limiter_alone_holds_the_ceiling_on_a_worst_case() -> None:
    preset = PRESETS["default"]
    processor = ChainProcessor(preset, SR, 2, Tuning(-20.0, 0.0), kernel_set(True))
    rng = np.random.default_rng(3)
    work = rng.standard_normal((SR, 2)) * 4.0
    work[::997] = 40.0  # isolated spikes one frame long
    out = processor.limit_only(work, 1.0)
    assert np.abs(out).max() <= processor.ceiling
    # The look-ahead delay: output frame i carries input frame i - latency (scaled by the gain).
    quiet = np.zeros((2000, 2))
    quiet[100] = 0.5
    delayed = ChainProcessor(preset, SR, 2, Tuning(-20.0, 0.0), kernel_set(True)).limit_only(quiet, 1.0)
    assert np.argmax(np.abs(delayed[:, 0])) == 100 + processor.latency


def test_eq_bands_have_their_designed_gain_at_their_centres() -> None:
    for band in PRESETS["bright"].bands:
        if band.kind == "peak":
            assert abs(response_db(design_band(band, SR)[np.newaxis], [band.freq], SR)[0] - band.gain_db) < 0.1
    shelf = Band("lowshelf", 100.0, 3.0)
    assert abs(response_db(design_band(shelf, SR)[np.newaxis], [5.0], SR)[0] - 3.0) < 0.1
    assert abs(response_db(design_band(shelf, SR)[np.newaxis], [100.0], SR)[0] - 1.5) < 0.1


@pytest.mark.parametrize("optimized", [True, False])
def test_applied_eq_matches_the_design_at_band_centres(optimized: bool) -> None:
    preset = PRESETS["warm"]
    processor = ChainProcessor(preset, SR, 2, Tuning(-20.0, 0.0), kernel_set(optimized))
    impulse = np.zeros((1 << 16, 2))
    impulse[0] = 1.0
    work = np.empty_like(impulse)
    processor._eq(impulse, work, processor.sos, processor.eq_state, np.empty(impulse.shape[0]))
    spectrum = np.abs(np.fft.rfft(work[:, 0]))
    freqs = np.fft.rfftfreq(impulse.shape[0], 1 / SR)
    centres = [b.freq for b in preset.bands if b.kind == "peak"]
    measured = 20 * np.log10(np.interp(centres, freqs, spectrum))
    assert np.allclose(measured, response_db(design_eq(preset.bands, SR), centres, SR), atol=0.1)


def test_presets_sound_different_but_gentle(engine: ReferenceEngine, clip: np.ndarray) -> None:
    """Mastering, not number-changing: the presets tilt the spectrum by a few dB, no more."""
    short = clip[: 8 * SR]

    def band_level(audio: np.ndarray, low: float, high: float) -> float:
        spectrum = np.abs(np.fft.rfft(audio.mean(axis=1))) ** 2
        freqs = np.fft.rfftfreq(audio.shape[0], 1 / SR)
        return 10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].sum())

    tilt = {p: band_level(engine.master(short, SR, p), 6000, 16000) - band_level(engine.master(short, SR, p), 60, 250)
            for p in ("warm", "bright")}
    assert 1.0 < tilt["bright"] - tilt["warm"] < 12.0
    out = engine.master(short, SR)
    correlation = np.corrcoef(out[:, 0], short[:, 0].astype(np.float64))[0, 1]
    assert correlation > 0.9  # still the same music


def test_plain_kernel_set_is_the_fallback() -> None:
    assert kernel_set(False) is PLAIN_KERNELS
