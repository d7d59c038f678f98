"""The mastering chain: EQ -> compressor -> loudness gain -> look-ahead true-peak limiter, with state across
blocks.

One code path serves whole files and streams: `master` is the streaming path run over the whole input
(see `run_span`). What depends on the whole track (the compressor's reference level, the normalisation
gain) is decided by `tuning` and `refinement` and handed to the processor as a `Tuning`, with the final
gain scheduled from a given input frame (`schedule_gain`).
"""
from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.reference import kernels as k
from auralis_perf.engines.reference.filters import design_eq, pad_sections
from auralis_perf.engines.reference.jit import NUMBA_AVAILABLE
from auralis_perf.engines.reference.pool import BufferPool
from auralis_perf.engines.support.presets import PRESETS, Preset

SLOW_KERNEL_ENV = "AURALIS_PERF_SLOW_KERNEL"
BLOCK_FRAMES = 8192
#: The interpolator of the limiter's true-peak detector (the same for every processor).
TRUE_PEAK_PHASES = k.true_peak_phases()
TRUE_PEAK_BOUND = float(np.abs(TRUE_PEAK_PHASES).sum(axis=1).max())

#: Calls of each stage implementation ("stage/implementation"), for the evidence that master() really
#: runs the compiled kernels (the optimisation checks read it through KernelPair.evidence()).
KERNEL_CALLS: Counter[str] = Counter()


@dataclass(frozen=True)
class KernelSet:
    """The implementation used for each stage of the chain."""

    name: str
    eq: Callable[..., None]
    eq_stereo: Callable[..., None]
    envelope: Callable[..., None]
    gain: Callable[..., None]
    limiter: Callable[..., None]

    @property
    def compiled(self) -> bool:
        return self.name == "compiled"


PLAIN_KERNELS = KernelSet("plain", k.eq_band_by_band, k.eq_band_by_band, k.envelope_follower,
                          k.compressor_gain_numpy, k.limiter)
FAST_KERNELS = (KernelSet("compiled", k.FAST_SOS_CASCADE, k.FAST_SOS_CASCADE_STEREO, k.FAST_ENVELOPE,
                          k.FAST_COMPRESSOR_GAIN, k.FAST_LIMITER) if NUMBA_AVAILABLE else None)


def kernel_set(optimized: bool) -> KernelSet:
    """Compiled kernels when asked for and available, else every plain fallback."""
    return FAST_KERNELS if optimized and FAST_KERNELS is not None else PLAIN_KERNELS


#: How many times its work a slowed kernel does when the switch names no factor (`envelope`, not `envelope:10`).
SLOW_FACTOR = 3


def slow_kernels() -> dict[str, int]:
    """Kernels deliberately slowed for the regression self-test (environment AURALIS_PERF_SLOW_KERNEL, a
    comma list of `name` or `name:factor`), each with how many times its work it does."""
    found = {}
    for part in os.environ.get(SLOW_KERNEL_ENV, "").split(","):
        name, _, factor = part.strip().partition(":")
        if not name:
            continue
        if factor and not (factor.isdigit() and int(factor) >= 1):
            raise ValueError(f"{SLOW_KERNEL_ENV}: {part.strip()!r} needs a whole factor of 1 or more, e.g. {name}:10")
        found[name] = int(factor) if factor else SLOW_FACTOR
    return found


def get_preset(name: str) -> Preset:
    """The preset called `name`, or AudioInputError listing the known ones."""
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



#: Block lengths whose scratch views a processor keeps (a stream uses one, plus a last short chunk).
MAX_BLOCK_VIEWS = 4


class BlockViews(NamedTuple):
    """A processor's scratch buffers cut to one block length, and `work`'s channels."""

    work: np.ndarray
    gain: np.ndarray
    peak: np.ndarray
    env: np.ndarray
    channels: tuple[np.ndarray, ...]


class ChainProcessor:
    """The chain for one preset, sample rate and channel count, carrying every state between calls.

    `process(x, out)` consumes input frames and writes the same number of output frames, delayed by
    `latency` frames (the limiter's look-ahead and its true-peak detector's own delay).
    """

    def __init__(self, preset: Preset, sample_rate: int, channels: int, tuning: Tuning,
                 kernels: KernelSet, pool: BufferPool | None = None, block_frames: int = BLOCK_FRAMES) -> None:
        self.preset = preset
        self.sample_rate = sample_rate
        self.channels = channels
        self.tuning = tuning
        self.kernels = kernels
        self.block_frames = block_frames
        self._envelope_runs = slow_kernels().get("envelope", 1)
        self._pool = pool or BufferPool()
        self.sos = pad_sections(design_eq(preset.bands, sample_rate))
        self._eq = kernels.eq_stereo if channels == 2 else kernels.eq
        comp = preset.compressor
        self.attack = math.exp(-1.0 / (comp.attack_ms * 1e-3 * sample_rate))
        self.release = math.exp(-1.0 / (comp.release_ms * 1e-3 * sample_rate))
        self.threshold_db = tuning.input_lufs + comp.threshold_db
        self.slope = 1.0 / comp.ratio - 1.0
        self.knee_db = comp.knee_db
        self.knee_start = 10.0 ** ((self.threshold_db - 0.5 * comp.knee_db) / 20.0)
        self.makeup = 10.0 ** (tuning.gain_db / 20.0)
        lim = preset.limiter
        self.lookahead = max(1, round(lim.lookahead_ms * 1e-3 * sample_rate))
        # the true-peak detector runs T/2 frames behind the input, and a frame's gain must also hold for
        # the interpolated values of the T/2 frames after it (see kernels.limiter)
        self.latency = self.lookahead + k.TRUE_PEAK_TAPS
        self.ceiling = 10.0 ** (lim.ceiling_db / 20.0)
        self.limiter_release = math.exp(-1.0 / (lim.release_ms * 1e-3 * sample_rate))
        self.eq_state = np.zeros((self.sos.shape[0], 2, channels))
        self.env_state = np.zeros(1)
        self._delay = np.zeros((self.latency, channels))
        self._box = np.ones(self.lookahead + 1)
        self._dq_value = np.ones(self.lookahead + 1 + k.TRUE_PEAK_TAPS)
        self._dq_index = np.zeros(self.lookahead + 1 + k.TRUE_PEAK_TAPS, dtype=np.int64)
        self._istate = np.zeros(7, dtype=np.int64)
        self._fstate = np.zeros(4)
        self._history = np.zeros((channels, 2 * k.TRUE_PEAK_TAPS))
        self._ramp: tuple[int, int, float] | None = None
        self.scheduled_gain_db: float | None = None
        self.reset()
        self._work = self._pool.acquire((block_frames, channels), np.float64)
        self._peak = self._pool.acquire((block_frames,), np.float64)
        self._env = self._pool.acquire((block_frames,), np.float64)
        self._gain = self._pool.acquire((block_frames,), np.float64)
        self._env_scratch = np.zeros(1)
        self._views: dict[int, BlockViews] = {}
        # counter keys built once: an f-string per call would allocate on every block
        self._keys = {stage: f"{stage}/{kernels.name}" for stage in ("eq", "envelope", "limiter")}
        self._closed = False

    def reset(self) -> None:
        """Back to silence: every filter, envelope and limiter state as at the start of a track."""
        self.eq_state[...] = 0.0
        self.env_state[...] = 0.0
        self._delay[...] = 0.0
        self._history[...] = 0.0
        self._box[...] = 1.0
        self._dq_value[...] = 1.0
        self._dq_index[...] = 0
        self._istate[...] = 0
        self._fstate[:] = (float(self.lookahead + 1), 1.0, 0.0, TRUE_PEAK_BOUND)
        self.position = 0  # input frame (of the source) that `process` consumes next

    def schedule_gain(self, gain_db: float, start: int, length: int) -> None:
        """From input frame `start` on, move the normalisation gain to `gain_db` along a raised-cosine
        ramp in dB of `length` frames (the final tuning taking over from the quick one)."""
        self._ramp = (start, max(1, length), math.log(10.0) * (gain_db - self.tuning.gain_db) / 20.0)
        self.scheduled_gain_db = gain_db

    def _follow_ramp(self, gain: np.ndarray) -> None:
        """Multiply the gains of the frames starting at `position` by the scheduled change so far."""
        start, length, nepers = self._ramp  # type: ignore[misc]
        first, n = self.position, gain.shape[0]
        if first + n <= start:
            return
        if first >= start + length:  # past the ramp: the new gain becomes the makeup gain itself
            change = math.exp(nepers)
            gain *= change
            self.makeup *= change
            self._ramp = None
            return
        progress = np.clip((np.arange(first, first + n) - start + 1.0) / length, 0.0, 1.0)
        gain *= np.exp(nepers * (0.5 - 0.5 * np.cos(np.pi * progress)))

    # -- stages ----------------------------------------------------------------------------------
    def _block(self, n: int) -> BlockViews:
        """The scratch buffers' views for a block of `n` frames, made once per block length: a stream's
        blocks all have the same length, so the steady state creates no array objects."""
        views = self._views.get(n)
        if views is None:
            if len(self._views) >= MAX_BLOCK_VIEWS:  # lengths seen once (a last short chunk) do not pile up
                self._views.clear()
            work = self._work[:n]
            views = self._views[n] = BlockViews(work, self._gain[:n], self._peak[:n], self._env[:n],
                                                tuple(work[:, c] for c in range(self.channels)))
        return views

    def _envelope(self, level: np.ndarray, env: np.ndarray) -> None:
        run = self.kernels.envelope
        # Regression self-test (normally off): real extra work, passes discarded, from the same start state.
        for _ in range(self._envelope_runs - 1):
            self._env_scratch[0] = self.env_state[0]
            run(level, env, self.attack, self.release, self._env_scratch)
        run(level, env, self.attack, self.release, self.env_state)
        KERNEL_CALLS[self._keys["envelope"]] += 1

    def _dynamics(self, x: np.ndarray, work: np.ndarray, gain: np.ndarray, peak: np.ndarray,
                  env: np.ndarray) -> None:
        """EQ into `work`, then the compressor's gain (times the normalisation gain) into `gain`; `peak`
        and `env` are scratch of the same length."""
        self._eq(x, work, self.sos, self.eq_state, peak)
        KERNEL_CALLS[self._keys["eq"]] += 1
        self._envelope(peak, env)
        self.kernels.gain(env, gain, self.knee_start, self.threshold_db, self.slope, self.knee_db, self.makeup)

    def _limit(self, work: tuple[np.ndarray, ...], gain: np.ndarray, out: np.ndarray) -> None:
        """The limiter over per-channel views `work` (see kernels.limiter) into `out` (frames, channels)."""
        self.kernels.limiter(work, gain, out, self.ceiling, self.limiter_release, self._delay, self._box,
                             self._dq_value, self._dq_index, self._istate, self._fstate, TRUE_PEAK_PHASES,
                             self._history)
        KERNEL_CALLS[self._keys["limiter"]] += 1

    # -- public ----------------------------------------------------------------------------------
    def process(self, x: np.ndarray, out: np.ndarray) -> None:
        """Run `x` (frames, channels) through the chain into `out` (same length, output delayed)."""
        frames = x.shape[0]
        if frames <= self.block_frames:  # a stream's chunk: one block, no slices of x and out to make
            self._process_block(x, out)
            return
        for start in range(0, frames, self.block_frames):
            stop = min(start + self.block_frames, frames)
            self._process_block(x[start:stop], out[start:stop])

    def _process_block(self, x: np.ndarray, out: np.ndarray) -> None:
        n = x.shape[0]
        views = self._block(n)
        self._dynamics(x, views.work, views.gain, views.peak, views.env)
        if self._ramp is not None:
            self._follow_ramp(views.gain)
        self._limit(views.channels, views.gain, out)
        self.position += n

    def pre_limiter(self, x: np.ndarray) -> np.ndarray:
        """EQ and compression (with the normalisation gain) of `x`, without the limiter (for analysis)."""
        out = np.empty(x.shape, dtype=np.float64)
        for start in range(0, x.shape[0], self.block_frames):
            stop = min(start + self.block_frames, x.shape[0])
            n = stop - start
            views = self._block(n)
            self._dynamics(x[start:stop], out[start:stop], views.gain, views.peak, views.env)
            out[start:stop] *= views.gain[:, np.newaxis]
        return out

    def limit_only(self, pre: np.ndarray, gain_factor: float) -> np.ndarray:
        """The limiter alone on an already-gained pre-limiter signal times `gain_factor` (for analysis)."""
        out = np.empty_like(pre)
        gain = np.full(pre.shape[0], gain_factor)
        for start in range(0, pre.shape[0], self.block_frames):
            stop = min(start + self.block_frames, pre.shape[0])
            self._limit(tuple(pre[start:stop, c] for c in range(pre.shape[1])), gain[start:stop], out[start:stop])
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._views.clear()
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
