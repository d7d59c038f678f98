"""Checks on audio handed to the engine: every problem becomes an AudioInputError naming it."""
from __future__ import annotations

import numbers

import numpy as np

from auralis_perf.engines.base import AudioInputError

SUPPORTED_SAMPLE_RATES: tuple[int, ...] = (22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
MAX_CHANNELS = 2
MAX_CHUNK = 1 << 20


def check_sample_rate(sample_rate: object, source: str = "audio") -> int:
    """The sample rate as an int, or AudioInputError if it is not one the engine supports."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral):
        if isinstance(sample_rate, float) and sample_rate.is_integer():
            sample_rate = int(sample_rate)
        else:
            raise AudioInputError(f"{source}: sample rate must be an integer number of Hz, "
                                  f"got {sample_rate!r}")
    rate = int(sample_rate)
    if rate not in SUPPORTED_SAMPLE_RATES:
        supported = ", ".join(str(r) for r in SUPPORTED_SAMPLE_RATES)
        raise AudioInputError(f"{source}: unsupported sample rate {rate} Hz (supported: {supported})")
    return rate


def check_audio(audio: object, source: str = "audio") -> np.ndarray:
    """`audio` viewed as (frames, channels) float32/float64, or AudioInputError saying what is wrong.

    A 1-D array is taken as mono. The data are not copied unless they are not C-contiguous.
    """
    if not isinstance(audio, np.ndarray):
        raise AudioInputError(f"{source}: audio must be a NumPy array shaped (frames, channels), "
                              f"got {type(audio).__name__}")
    if audio.dtype not in (np.float32, np.float64):
        raise AudioInputError(f"{source}: audio dtype must be float32 or float64, got {audio.dtype} "
                              "(convert integer PCM with utilities.int_to_float)")
    if audio.ndim == 1:
        audio = audio[:, np.newaxis]
    elif audio.ndim != 2:
        raise AudioInputError(f"{source}: audio must be 1-D (mono) or 2-D (frames, channels), "
                              f"got {audio.ndim} dimensions with shape {audio.shape}")
    frames, channels = audio.shape
    if channels > MAX_CHANNELS:
        hint = (" (it looks transposed: pass (frames, channels), e.g. audio.T)"
                if frames <= MAX_CHANNELS and frames > 0 else "")
        raise AudioInputError(f"{source}: {channels} channels; the engine handles mono or stereo{hint}")
    if frames == 0 or channels == 0:
        raise AudioInputError(f"{source}: audio is empty (shape {audio.shape})")
    if not np.isfinite(audio.sum(dtype=np.float64)):
        bad = np.flatnonzero(~np.isfinite(audio).all(axis=1))
        if bad.size:
            kind = "NaN" if np.isnan(audio[bad[0]]).any() else "Inf"
            raise AudioInputError(f"{source}: audio contains {bad.size} frame(s) with NaN or Inf samples "
                                  f"(first: {kind} at frame {int(bad[0])})")
    if not audio.flags.c_contiguous:
        audio = np.ascontiguousarray(audio)
    return audio


def check_chunk_size(chunk_size: object) -> int:
    """A stream's chunk size as an int, or AudioInputError if it is not 1..MAX_CHUNK frames."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise AudioInputError(f"chunk_size must be an integer number of frames, got {chunk_size!r}")
    if not 1 <= int(chunk_size) <= MAX_CHUNK:
        raise AudioInputError(f"chunk_size must be between 1 and {MAX_CHUNK} frames, got {chunk_size}")
    return int(chunk_size)
