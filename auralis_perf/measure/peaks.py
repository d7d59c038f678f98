"""Peak levels of audio, measured by the harness itself (never by the engine that made the audio).

True peak as ITU-R BS.1770-4 defines it: the largest magnitude of the signal oversampled 4x. The
oversampling is SciPy's polyphase resampler (an 81-tap Kaiser-windowed sinc), run over overlapping
blocks so that a ten-minute track needs a few MB, not the whole 4x signal at once.

    true_peak_dbtp(out)      # e.g. -1.0 for a master limited to -1 dBTP
"""
from __future__ import annotations

import numpy as np
from scipy import signal

OVERSAMPLING = 4
#: Frames measured per block, and frames of context read on each side (the resampler's filter reaches
#: 10 input frames; more keeps every block's interior exactly what one long run would give).
BLOCK_FRAMES = 1 << 16
CONTEXT_FRAMES = 64


def _decibels(value: float) -> float:
    return float(20.0 * np.log10(value)) if value > 0.0 else float("-inf")


def sample_peak_dbfs(audio: np.ndarray) -> float:
    """The largest sample magnitude in dBFS (-inf for silence)."""
    return _decibels(float(np.abs(audio).max())) if audio.size else float("-inf")


def true_peak_dbtp(audio: np.ndarray, *, skip: int = 0) -> float:
    """The true peak of `audio` ((frames,) or (frames, channels)) in dBTP, -inf for silence.

    `skip` frames at each end are left out: a signal cut off abruptly rings there when oversampled.
    """
    data = np.asarray(audio)
    if data.ndim == 1:
        data = data[:, np.newaxis]
    frames = data.shape[0]
    first, last = skip, frames - skip
    peak = 0.0
    for start in range(first, last, BLOCK_FRAMES):
        stop = min(start + BLOCK_FRAMES, last)
        lo, hi = max(0, start - CONTEXT_FRAMES), min(frames, stop + CONTEXT_FRAMES)
        up = signal.resample_poly(data[lo:hi].astype(np.float64), OVERSAMPLING, 1, axis=0)
        inner = up[OVERSAMPLING * (start - lo):OVERSAMPLING * (stop - lo)]
        if inner.size:
            peak = max(peak, float(np.abs(inner).max()))
    return _decibels(peak)
