"""Analysis: waveform peaks, STFT magnitude (frame by frame, batched, parallel), fingerprint, loudness.

All results are plain arrays or dicts of floats so an audio cache can store them. Long signals are
processed in bounded batches, so memory stays proportional to the result, not to a 4x working copy.
"""
from __future__ import annotations

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.reference.jit import compiled
from auralis_perf.engines.reference.loudness import KMeter, block_energies, gated_loudness, loudness_range, true_peak
from auralis_perf.engines.support.batch import ThreadPools

N_FFT = 2048
HOP = 512
#: Which spectrum path `analyze` ran, for the evidence that the batched/parallel forms are in use.
SPECTRUM_CALLS: Counter[str] = Counter()
_BATCH_FRAMES = 32  # STFT frames per batch: ~0.5 MB of float64 at n_fft=2048, so it stays in cache


def _mono(audio: np.ndarray) -> np.ndarray:
    """The channels' mean, one column at a time: the same values as `audio.mean(axis=1)` at a fraction of
    its cost (NumPy reduces a short last axis slowly)."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio
    if audio.shape[1] == 1:
        return audio[:, 0]
    mono = np.add(audio[:, 0], audio[:, 1], dtype=audio.dtype if audio.dtype.kind == "f" else np.float64)
    for channel in range(2, audio.shape[1]):
        mono += audio[:, channel]
    mono /= audio.shape[1]
    return mono


def _frame_count(n: int, n_fft: int, hop: int) -> int:
    return 1 + (n - n_fft) // hop if n >= n_fft else 1


def _padded(mono: np.ndarray, n_fft: int) -> np.ndarray:
    return mono if mono.shape[0] >= n_fft else np.pad(mono, (0, n_fft - mono.shape[0]))


def _check_fft(n_fft: int, hop: int) -> None:
    if n_fft < 16 or hop < 1:
        raise AudioInputError(f"spectrum: n_fft must be >= 16 and hop >= 1, got n_fft={n_fft}, hop={hop}")


def spectrum_frame_by_frame(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """STFT magnitude (frames, n_fft // 2 + 1) of the mono mix, one FFT call per frame (plain path)."""
    _check_fft(n_fft, hop)
    mono = _padded(_mono(audio), n_fft)
    window = np.hanning(n_fft)
    count = _frame_count(mono.shape[0], n_fft, hop)
    out = np.empty((count, n_fft // 2 + 1))
    for i in range(count):
        out[i] = np.abs(sfft.rfft(mono[i * hop:i * hop + n_fft] * window))
    return out


def window_frames(mono, hop, first, window, out):  # type: ignore[no-untyped-def]
    """out[r] = mono[(first + r) * hop:...] * window for every row r of `out`: the frames gathered and
    windowed in one pass (compiled; NumPy multiplies a strided view of the frames when Numba is absent)."""
    size = window.shape[0]
    for r in range(out.shape[0]):
        base = (first + r) * hop
        for j in range(size):
            out[r, j] = mono[base + j] * window[j]


def magnitude(spectrum, out):  # type: ignore[no-untyped-def]
    """|spectrum| as sqrt(re^2 + im^2) in one pass (np.abs takes the slower, overflow-safe hypot; the
    values agree to the last bit or two, and FFT magnitudes of audio are far from overflow)."""
    for i in range(spectrum.shape[0]):
        for j in range(spectrum.shape[1]):
            value = spectrum[i, j]
            out[i, j] = math.sqrt(value.real * value.real + value.imag * value.imag)


_FAST_WINDOW_FRAMES = compiled(window_frames)
_FAST_MAGNITUDE = compiled(magnitude)


def _batched_into(mono: np.ndarray, out: np.ndarray, first: int, last: int, n_fft: int, hop: int,
                  window: np.ndarray) -> None:
    """Frames [first, last) in batches small enough to stay in cache: the frames windowed into a reused
    buffer, one FFT call per batch, the magnitude written straight into the result."""
    frames = sliding_window_view(mono, n_fft)[::hop]
    buffer = np.empty((min(_BATCH_FRAMES, max(last - first, 1)), n_fft))
    for start in range(first, last, _BATCH_FRAMES):
        stop = min(start + _BATCH_FRAMES, last)
        windowed = buffer[:stop - start]
        if _FAST_WINDOW_FRAMES is not None:
            _FAST_WINDOW_FRAMES(mono, hop, start, window, windowed)
        else:
            np.multiply(frames[start:stop], window, out=windowed)
        spectrum = sfft.rfft(windowed, axis=1, overwrite_x=True, workers=1)
        if _FAST_MAGNITUDE is not None:
            _FAST_MAGNITUDE(spectrum, out[start:stop])
        else:
            np.abs(spectrum, out=out[start:stop])


def spectrum_batched(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP,
                     dtype: np.dtype | type = np.float64) -> np.ndarray:
    """The same STFT magnitude, many frames per FFT call (vectorised), in bounded batches."""
    _check_fft(n_fft, hop)
    mono = _padded(_mono(audio), n_fft)
    count = _frame_count(mono.shape[0], n_fft, hop)
    out = np.empty((count, n_fft // 2 + 1), dtype=dtype)
    _batched_into(mono, out, 0, count, n_fft, hop, np.hanning(n_fft))
    return out


def spectrum_parallel(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP, workers: int = 2,
                      dtype: np.dtype | type = np.float64, pools: ThreadPools | None = None) -> np.ndarray:
    """Batched STFT magnitude with the frames split into contiguous ranges across `workers` threads
    (SciPy's FFT and NumPy's array operations release the GIL). The threads are `pools`' (kept by the
    engine, started once) or, without `pools`, a pool made for this call."""
    _check_fft(n_fft, hop)
    if workers < 1:
        raise AudioInputError(f"spectrum: workers must be >= 1, got {workers}")
    mono = _padded(_mono(audio), n_fft)
    count = _frame_count(mono.shape[0], n_fft, hop)
    out = np.empty((count, n_fft // 2 + 1), dtype=dtype)
    window = np.hanning(n_fft)
    bounds = np.linspace(0, count, workers + 1).astype(int)
    with ExitStack() as own:
        pool = pools.get(workers) if pools is not None else own.enter_context(ThreadPoolExecutor(workers))
        futures = [pool.submit(_batched_into, mono, out, int(a), int(b), n_fft, hop, window)
                   for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        for future in futures:
            future.result()
    return out


def waveform_peaks(audio: np.ndarray, columns: int = 1000) -> dict[str, np.ndarray]:
    """Min and max per display column and channel: {"min": (columns, ch), "max": (columns, ch)} float32."""
    if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise AudioInputError(f"waveform: columns must be a positive integer, got {columns!r}")
    audio2 = audio if audio.ndim == 2 else audio[:, np.newaxis]
    columns = int(min(columns, audio2.shape[0]))
    edges = np.linspace(0, audio2.shape[0], columns + 1).astype(np.int64)[:-1]
    return {"min": np.minimum.reduceat(audio2, edges, axis=0).astype(np.float32),
            "max": np.maximum.reduceat(audio2, edges, axis=0).astype(np.float32)}


FINGERPRINT_BANDS = 33  # 32 bits per frame from energy differences between 33 bands
FINGERPRINT_LOW_HZ, FINGERPRINT_HIGH_HZ = 300.0, 2000.0


def fingerprint(audio: np.ndarray, sample_rate: int, n_fft: int = 4096, hop: int = 2048) -> np.ndarray:
    """A compact fingerprint: one uint32 per hop, each bit the sign of the change over time of the energy
    difference between adjacent log-spaced bands (300-2000 Hz). Robust to gain and mild EQ. Band
    energies are computed batch by batch, so memory stays proportional to the fingerprint."""
    _check_fft(n_fft, hop)
    mono = _padded(_mono(audio), n_fft)
    frames = sliding_window_view(mono, n_fft)[::hop]
    window = np.hanning(n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    bins = np.searchsorted(freqs, np.geomspace(FINGERPRINT_LOW_HZ, FINGERPRINT_HIGH_HZ, FINGERPRINT_BANDS + 1))
    energy = np.empty((frames.shape[0], FINGERPRINT_BANDS))
    for start in range(0, frames.shape[0], _BATCH_FRAMES):
        stop = min(start + _BATCH_FRAMES, frames.shape[0])
        power = np.abs(sfft.rfft(frames[start:stop] * window, axis=1)) ** 2
        energy[start:stop] = np.add.reduceat(power, bins[:-1], axis=1)[:, :FINGERPRINT_BANDS]
    diff = energy[:, :-1] - energy[:, 1:]
    bits = (diff[1:] - diff[:-1]) > 0
    weights = (1 << np.arange(FINGERPRINT_BANDS - 1, dtype=np.uint64)).astype(np.uint64)
    return (bits.astype(np.uint64) @ weights).astype(np.uint32)


def fingerprint_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 - bit error rate over the common length (1.0 = identical, ~0.5 = unrelated)."""
    n = min(a.shape[0], b.shape[0])
    if n == 0:
        return 0.0
    differing = np.unpackbits((a[:n] ^ b[:n]).view(np.uint8)).sum()
    return 1.0 - float(differing) / (32.0 * n)


def loudness_analysis(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    """What mastering needs to know: integrated loudness, loudness range, peaks, RMS, crest factor."""
    audio2 = audio if audio.ndim == 2 else audio[:, np.newaxis]
    meter = KMeter(sample_rate, audio2.shape[1])
    meter.feed(audio2)
    sub = meter.subblocks()
    momentary = block_energies(sub, 4)
    short_term = block_energies(sub, 30)
    peak = float(np.max(np.abs(audio2)))
    rms = math.sqrt(float(np.mean(np.square(audio2, dtype=np.float64))))

    def db(value: float) -> float:
        return 20.0 * math.log10(value) if value > 0 else -math.inf

    def max_lufs(energies: np.ndarray) -> float:
        return -0.691 + 10.0 * math.log10(float(energies.max())) if energies.size and energies.max() > 0 \
            else -math.inf

    return {
        "integrated_lufs": gated_loudness(momentary),
        "loudness_range_lu": loudness_range(sub),
        "momentary_max_lufs": max_lufs(momentary),
        "short_term_max_lufs": max_lufs(short_term),
        "true_peak_dbtp": db(true_peak(audio2)),
        "sample_peak_dbfs": db(peak),
        "rms_dbfs": db(rms),
        "crest_factor_db": db(peak) - db(rms) if rms > 0 else 0.0,
        "duration_s": audio2.shape[0] / sample_rate,
    }


def analyze(audio: np.ndarray, sample_rate: int, kind: str, *, pools: ThreadPools | None = None,
            **options: Any) -> Any:
    """Dispatch by kind: "waveform", "spectrum", "fingerprint", "loudness" (alias "analysis"); a parallel
    spectrum runs on `pools`' threads when given (see `spectrum_parallel`)."""
    if kind == "waveform":
        return waveform_peaks(audio, **options)
    if kind == "spectrum":
        parallel = options.pop("parallel", False)
        workers = options.pop("workers", 2)
        dtype = options.pop("dtype", np.float32)
        SPECTRUM_CALLS["parallel" if parallel else "batched"] += 1
        if parallel:
            return spectrum_parallel(audio, workers=workers, dtype=dtype, pools=pools, **options)
        return spectrum_batched(audio, dtype=dtype, **options)
    if kind == "fingerprint":
        return fingerprint(audio, sample_rate, **options)
    if kind in ("loudness", "analysis"):
        return loudness_analysis(audio, sample_rate)
    raise AudioInputError(f"unknown analysis kind {kind!r}; kinds: waveform, spectrum, fingerprint, loudness")
