"""Biquad design (peaking, shelving, high-pass) as normalised second-order sections.

Coefficients follow the well-known "Audio EQ Cookbook" formulas; each row is
[b0, b1, b2, 1, a1, a2] as scipy.signal expects. The K-weighting filter of ITU-R BS.1770 is designed for
any sample rate from its analogue parameters, so 44.1 kHz gets the same curve as the standard's 48 kHz
coefficients.
"""
from __future__ import annotations

import math

import numpy as np

from auralis_perf.engines.support.presets import Band  # what a band is; here: how to filter it


def _normalise(b0: float, b1: float, b2: float, a0: float, a1: float, a2: float) -> np.ndarray:
    return np.array([b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0])


def design_band(band: Band, sample_rate: int) -> np.ndarray:
    """One section [b0, b1, b2, 1, a1, a2] for `band` at `sample_rate` (the frequency is kept below Nyquist)."""
    freq = min(band.freq, 0.45 * sample_rate)
    w0 = 2.0 * math.pi * freq / sample_rate
    cos_w0, sin_w0 = math.cos(w0), math.sin(w0)
    alpha = sin_w0 / (2.0 * band.q)
    amp = 10.0 ** (band.gain_db / 40.0)
    if band.kind == "peak":
        return _normalise(1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp,
                          1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp)
    root = 2.0 * math.sqrt(amp) * alpha
    if band.kind == "lowshelf":
        return _normalise(amp * ((amp + 1) - (amp - 1) * cos_w0 + root),
                          2 * amp * ((amp - 1) - (amp + 1) * cos_w0),
                          amp * ((amp + 1) - (amp - 1) * cos_w0 - root),
                          (amp + 1) + (amp - 1) * cos_w0 + root,
                          -2 * ((amp - 1) + (amp + 1) * cos_w0),
                          (amp + 1) + (amp - 1) * cos_w0 - root)
    if band.kind == "highshelf":
        return _normalise(amp * ((amp + 1) + (amp - 1) * cos_w0 + root),
                          -2 * amp * ((amp - 1) + (amp + 1) * cos_w0),
                          amp * ((amp + 1) + (amp - 1) * cos_w0 - root),
                          (amp + 1) - (amp - 1) * cos_w0 + root,
                          2 * ((amp - 1) - (amp + 1) * cos_w0),
                          (amp + 1) - (amp - 1) * cos_w0 - root)
    if band.kind == "highpass":
        return _normalise((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2,
                          1 + alpha, -2 * cos_w0, 1 - alpha)
    raise ValueError(f"unknown EQ band kind {band.kind!r}")


def design_eq(bands: tuple[Band, ...], sample_rate: int) -> np.ndarray:
    """The cascade of `bands` as an (n_sections, 6) SOS array."""
    return np.vstack([design_band(band, sample_rate) for band in bands])


def pad_sections(sos: np.ndarray, multiple: int = 3) -> np.ndarray:
    """`sos` followed by identity sections ([1, 0, 0, 1, 0, 0], which pass samples through exactly) up
    to a multiple of `multiple` rows, the grouping the stereo EQ kernel works in."""
    missing = -sos.shape[0] % multiple
    identity = np.tile([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], (missing, 1))
    return np.vstack([sos, identity]) if missing else sos


def k_weighting(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting (high shelf "pre-filter" then RLB high-pass) as two sections."""
    # Stage 1: the head-effect high shelf (+4 dB above ~1.7 kHz).
    gain_db, q, f0 = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = _normalise(vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k,
                       a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k)
    # Stage 2: the revised low-frequency B-curve high-pass (~38 Hz).
    q, f0 = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = np.array([1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return np.vstack([shelf, highpass])


def response_db(sos: np.ndarray, freqs: np.ndarray, sample_rate: int) -> np.ndarray:
    """Magnitude response of a cascade in dB at `freqs` (Hz)."""
    z = np.exp(-1j * 2.0 * np.pi * np.asarray(freqs, dtype=float) / sample_rate)
    h = np.ones_like(z)
    for b0, b1, b2, _, a1, a2 in sos:
        h *= (b0 + b1 * z + b2 * z * z) / (1.0 + a1 * z + a2 * z * z)
    return 20.0 * np.log10(np.abs(h))
