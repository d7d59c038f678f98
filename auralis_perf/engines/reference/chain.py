"""The mastering chain: EQ -> compressor -> loudness gain -> look-ahead limiter, with state across blocks.

One code path serves whole files and streams: `master` is the streaming path run over the whole input
(see `run_span`). Everything that depends on the whole track is decided up front by `tune_chain`, an
analysis of the source with bounded cost and memory:

1. the source's own integrated loudness (BS.1770), which places the compressor threshold relative to
   the track (a quiet and a loud mix are treated alike);
2. the loudness of the EQ'd and compressed signal, giving the normalisation gain to the preset target;
3. one correction for what the limiter takes off.

Sources up to `FULL_ANALYSIS_SECONDS` are analysed completely. Longer ones are measured on
`ANALYSIS_WINDOWS` windows spread evenly over the track (each with a pre-roll so filters and envelope
settle), which bounds the time to the first streamed chunk whatever the file's length; the gated
measurement over those windows estimates the integrated loudness. Stream and whole-file share the rule,
so their outputs agree.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import kernels as k
from .filters import design_eq
from .jit import NUMBA_AVAILABLE
from .loudness import block_energies, gated_loudness, subblock_energies
from .pool import BufferPool
from .presets import PRESETS, Preset

SLOW_KERNEL_ENV = "AURALIS_PERF_SLOW_KERNEL"
BLOCK_FRAMES = 8192
FULL_ANALYSIS_SECONDS = 20.0
ANALYSIS_WINDOWS = 12
ANALYSIS_WINDOW_SECONDS = 0.8
ANALYSIS_PREROLL_SECONDS = 0.4
#: Level the compressor threshold is referred to when a track is too quiet to measure.
FALLBACK_INPUT_LUFS = -20.0
MAX_GAIN_DB = 30.0

#: Calls of each stage implementation ("stage/implementation"), for the evidence that master() really
#: runs the compiled kernels (the optimisation checks read it through KernelPair.evidence()).
KERNEL_CALLS: Counter[str] = Counter()


@dataclass(frozen=True)
class KernelSet:
    """The implementation used for each stage of the chain."""

    name: str
    eq: Callable[..., None]
    envelope: Callable[..., None]
    gain: Callable[..., None]
    limiter: Callable[..., None]


PLAIN_KERNELS = KernelSet("plain", k.eq_band_by_band, k.envelope_follower, k.compressor_gain_numpy, k.limiter)
FAST_KERNELS = (KernelSet("compiled", k.FAST_SOS_CASCADE, k.FAST_ENVELOPE, k.FAST_COMPRESSOR_GAIN,
                          k.FAST_LIMITER) if NUMBA_AVAILABLE else None)


def kernel_set(optimized: bool) -> KernelSet:
    """Compiled kernels when asked for and available, else every plain fallback."""
    return FAST_KERNELS if optimized and FAST_KERNELS is not None else PLAIN_KERNELS


def slow_kernels() -> frozenset[str]:
    """Kernels deliberately slowed for the regression self-test (environment AURALIS_PERF_SLOW_KERNEL)."""
    value = os.environ.get(SLOW_KERNEL_ENV, "")
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def get_preset(name: str) -> Preset:
    from ..base import AudioInputError
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise AudioInputError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class Tuning:
    """What the analysis decided for one source and preset."""

    input_lufs: float
    gain_db: float
    details: dict[str, Any] = field(default_factory=dict, compare=False)


class Reader(Protocol):
    frames: int
    channels: int
    sample_rate: int
    dtype: np.dtype

    def read(self, start: int, count: int, out: np.ndarray | None = None) -> np.ndarray: ...


class ChainProcessor:
    """The chain for one preset, sample rate and channel count, carrying every state between calls.

    `process(x, out)` consumes input frames and writes the same number of output frames, delayed by
    `latency` frames (the limiter's look-ahead).
    """

    def __init__(self, preset: Preset, sample_rate: int, channels: int, tuning: Tuning,
                 kernels: KernelSet, pool: BufferPool | None = None, block_frames: int = BLOCK_FRAMES) -> None:
        self.preset = preset
        self.sample_rate = sample_rate
        self.channels = channels
        self.tuning = tuning
        self.kernels = kernels
        self.block_frames = block_frames
        self._slow_envelope = "envelope" in slow_kernels()
        self._pool = pool or BufferPool()
        self.sos = design_eq(preset.bands, sample_rate)
        self.eq_state = np.zeros((self.sos.shape[0], 2, channels))
        comp = preset.compressor
        self.attack = math.exp(-1.0 / (comp.attack_ms * 1e-3 * sample_rate))
        self.release = math.exp(-1.0 / (comp.release_ms * 1e-3 * sample_rate))
        self.env_state = np.zeros(1)
        self.threshold_db = tuning.input_lufs + comp.threshold_db
        self.slope = 1.0 / comp.ratio - 1.0
        self.knee_db = comp.knee_db
        self.knee_start = 10.0 ** ((self.threshold_db - 0.5 * comp.knee_db) / 20.0)
        self.makeup = 10.0 ** (tuning.gain_db / 20.0)
        lim = preset.limiter
        self.latency = max(1, round(lim.lookahead_ms * 1e-3 * sample_rate))
        self.ceiling = 10.0 ** (lim.ceiling_db / 20.0)
        self.limiter_release = math.exp(-1.0 / (lim.release_ms * 1e-3 * sample_rate))
        self._delay = np.zeros((self.latency, channels))
        self._box = np.ones(self.latency + 1)
        self._dq_value = np.ones(self.latency + 1)
        self._dq_index = np.zeros(self.latency + 1, dtype=np.int64)
        self._istate = np.zeros(3, dtype=np.int64)
        self._fstate = np.array([float(self.latency + 1), 1.0])
        self._work = self._pool.acquire((block_frames, channels), np.float64)
        self._peak = self._pool.acquire((block_frames,), np.float64)
        self._env = self._pool.acquire((block_frames,), np.float64)
        self._gain = self._pool.acquire((block_frames,), np.float64)
        self._env_scratch = np.zeros(1)
        self._closed = False

    # -- stages ----------------------------------------------------------------------------------
    def _envelope(self, level: np.ndarray, env: np.ndarray) -> None:
        run = self.kernels.envelope
        if self._slow_envelope:
            # Regression self-test: real extra work (two discarded passes from the same start state).
            for _ in range(2):
                self._env_scratch[0] = self.env_state[0]
                run(level, env, self.attack, self.release, self._env_scratch)
        run(level, env, self.attack, self.release, self.env_state)
        KERNEL_CALLS[f"envelope/{self.kernels.name}"] += 1

    def _dynamics(self, x: np.ndarray, work: np.ndarray, gain: np.ndarray) -> None:
        """EQ into `work`, then the compressor's gain (times the normalisation gain) into `gain`."""
        n = x.shape[0]
        peak, env = self._peak[:n], self._env[:n]
        self.kernels.eq(x, work, self.sos, self.eq_state, peak)
        KERNEL_CALLS[f"eq/{self.kernels.name}"] += 1
        self._envelope(peak, env)
        self.kernels.gain(env, gain, self.knee_start, self.threshold_db, self.slope, self.knee_db, self.makeup)

    def _limit(self, work: np.ndarray, gain: np.ndarray, out: np.ndarray) -> None:
        self.kernels.limiter(work, gain, out, self.ceiling, self.limiter_release, self._delay, self._box,
                             self._dq_value, self._dq_index, self._istate, self._fstate)
        KERNEL_CALLS[f"limiter/{self.kernels.name}"] += 1

    # -- public ----------------------------------------------------------------------------------
    def process(self, x: np.ndarray, out: np.ndarray) -> None:
        """Run `x` (frames, channels) through the chain into `out` (same length, output delayed)."""
        for start in range(0, x.shape[0], self.block_frames):
            stop = min(start + self.block_frames, x.shape[0])
            n = stop - start
            work, gain = self._work[:n], self._gain[:n]
            self._dynamics(x[start:stop], work, gain)
            self._limit(work, gain, out[start:stop])

    def pre_limiter(self, x: np.ndarray) -> np.ndarray:
        """EQ and compression (with the normalisation gain) of `x`, without the limiter (for analysis)."""
        out = np.empty(x.shape, dtype=np.float64)
        for start in range(0, x.shape[0], self.block_frames):
            stop = min(start + self.block_frames, x.shape[0])
            n = stop - start
            gain = self._gain[:n]
            self._dynamics(x[start:stop], out[start:stop], gain)
            out[start:stop] *= gain[:, np.newaxis]
        return out

    def limit_only(self, pre: np.ndarray, gain_factor: float) -> np.ndarray:
        """The limiter alone on an already-gained pre-limiter signal times `gain_factor` (for analysis)."""
        out = np.empty_like(pre)
        gain = np.full(pre.shape[0], gain_factor)
        for start in range(0, pre.shape[0], self.block_frames):
            stop = min(start + self.block_frames, pre.shape[0])
            self._limit(pre[start:stop], gain[start:stop], out[start:stop])
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for buffer in (self._work, self._peak, self._env, self._gain):
                self._pool.release(buffer)


def run_span(processor: ChainProcessor, source: Reader, start: int, count: int, out: np.ndarray,
             zeros: np.ndarray, read_buffer: np.ndarray | None = None) -> None:
    """Feed source frames [start, start + count) to the processor, zeros past the source's end.

    Stream and whole-file both feed: the source, then `latency` zeros, dropping the first `latency`
    output frames; this is what keeps their outputs identical.
    """
    real = max(0, min(count, source.frames - start))
    if real:
        block = source.read(start, real, read_buffer)
        processor.process(block, out[:real])
    done = real
    while done < count:
        n = min(count - done, zeros.shape[0])
        processor.process(zeros[:n], out[done:done + n])
        done += n


# -- analysis: the decisions that need the whole track -----------------------------------------------

@dataclass(frozen=True)
class Window:
    start: int     # first measured frame
    preroll: int   # frames before `start` fed only to settle filters and envelopes
    length: int    # measured frames


def analysis_windows(frames: int, sample_rate: int) -> list[Window]:
    """The parts of a source the analysis reads: all of it, or evenly spread windows for long sources."""
    if frames <= FULL_ANALYSIS_SECONDS * sample_rate:
        return [Window(0, 0, frames)]
    length = round(ANALYSIS_WINDOW_SECONDS * sample_rate)
    preroll = round(ANALYSIS_PREROLL_SECONDS * sample_rate)
    windows = []
    for index in range(ANALYSIS_WINDOWS):
        centre = (index + 0.5) * frames / ANALYSIS_WINDOWS
        start = int(min(max(centre - length / 2, 0), frames - length))
        windows.append(Window(start, min(preroll, start), length))
    return windows


def _loudness(signals: list[tuple[np.ndarray, int]], sample_rate: int) -> float:
    blocks = [block_energies(subblock_energies(sig, sample_rate, skip)) for sig, skip in signals]
    return gated_loudness(np.concatenate(blocks) if blocks else np.zeros(0))


def tune_chain(source: Reader, preset: Preset, kernels: KernelSet) -> Tuning:
    """Measure the source and decide the compressor reference level and the normalisation gain."""
    rate = source.sample_rate
    windows = analysis_windows(source.frames, rate)
    raw = [(source.read(w.start - w.preroll, w.preroll + w.length), w.preroll) for w in windows]
    input_lufs = _loudness(raw, rate)
    measurable = math.isfinite(input_lufs) and input_lufs > -70.0
    reference = input_lufs if measurable else FALLBACK_INPUT_LUFS
    unity = Tuning(reference, 0.0)
    pre = []
    for audio, skip in raw:
        processor = ChainProcessor(preset, rate, source.channels, unity, kernels)
        pre.append((processor.pre_limiter(audio), skip))
        processor.close()
    pre_lufs = _loudness(pre, rate)
    if not (math.isfinite(pre_lufs) and pre_lufs > -70.0):
        return Tuning(reference, 0.0, {"input_lufs": input_lufs, "pre_limiter_lufs": pre_lufs,
                                       "windows": len(windows), "reason": "too quiet to normalise"})
    gain_db = float(np.clip(preset.target_lufs - pre_lufs, -MAX_GAIN_DB, MAX_GAIN_DB))
    limited = []
    for audio, skip in pre:
        processor = ChainProcessor(preset, rate, source.channels, unity, kernels)
        limited.append((processor.limit_only(audio, 10.0 ** (gain_db / 20.0)), skip + processor.latency))
        processor.close()
    post_lufs = _loudness(limited, rate)
    if math.isfinite(post_lufs):
        gain_db = float(np.clip(gain_db + preset.target_lufs - post_lufs, -MAX_GAIN_DB, MAX_GAIN_DB))
    return Tuning(reference, gain_db, {"input_lufs": input_lufs, "pre_limiter_lufs": pre_lufs,
                                       "limited_lufs": post_lufs, "windows": len(windows)})
