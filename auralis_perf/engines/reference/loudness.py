"""Loudness per ITU-R BS.1770-4 / EBU R128: K-weighting, 400 ms blocks every 100 ms, two gates.

The meter works on 100 ms "sub-block" energies and can be fed piece by piece (`KMeter`), so long
signals and files are measured with bounded memory: a 400 ms block is four consecutive sub-blocks,
a 3 s short-term window thirty.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal

from auralis_perf.engines.reference.filters import k_weighting
from auralis_perf.engines.reference.kernels import FAST_K_ENERGY, FAST_K_ENERGY_STEREO

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_FEED_BLOCK = 1 << 16


class KMeter:
    """Incremental K-weighted energy meter: `feed` audio (frames, channels), read `subblocks()`.

    Channel weights are 1.0 (left, right or mono; the engine supports no surround layouts).
    """

    def __init__(self, sample_rate: int, channels: int, compiled: bool = True, scale: float = 1.0) -> None:
        self.sample_rate = sample_rate
        self._scale = scale  # multiplies the samples fed (e.g. 2**-15 for raw int16): energies get scale**2
        self._kernel = (FAST_K_ENERGY_STEREO if channels == 2 else FAST_K_ENERGY) if compiled else None
        self._accumulator = np.zeros(2)
        self.hop = sample_rate // 10
        self._sos = k_weighting(sample_rate)
        self._state = np.zeros((self._sos.shape[0], 2, channels))
        self._partial = 0.0   # energy of the sub-block being filled
        self._filled = 0      # frames in it
        self._energies: list[np.ndarray] = []

    def reset(self) -> None:
        """Start over (filter settled from silence, no energies), to measure another stretch."""
        self._state[...] = 0.0
        self._accumulator[:] = 0.0
        self._partial, self._filled = 0.0, 0
        self._energies = []

    def feed(self, audio: np.ndarray, skip: int = 0) -> None:
        """Add frames; the first `skip` only settle the filter (pre-roll) and are not measured."""
        if self._kernel is not None:
            self._feed_compiled(audio, skip)
            return
        for start in range(0, audio.shape[0], _FEED_BLOCK):
            block = np.asarray(audio[start:start + _FEED_BLOCK], dtype=np.float64)
            weighted, self._state = signal.sosfilt(self._sos, block, axis=0, zi=self._state)
            drop = min(max(skip - start, 0), weighted.shape[0])
            self._measure((weighted[drop:] ** 2).sum(axis=1))

    def _feed_compiled(self, audio: np.ndarray, skip: int) -> None:
        skip = min(skip, audio.shape[0])
        if skip:
            self._kernel(audio[:skip], self._sos, self._state, False, self.hop, self._accumulator,
                         np.empty(0))
        rest = audio[skip:]
        if rest.shape[0]:
            energies = np.empty(rest.shape[0] // self.hop + 1)
            written = self._kernel(rest, self._sos, self._state, True, self.hop, self._accumulator, energies)
            self._energies.append(energies[:written])

    def _measure(self, power: np.ndarray) -> None:
        hop = self.hop
        pos = 0
        if self._filled:
            take = min(hop - self._filled, power.shape[0])
            self._partial += float(power[:take].sum())
            self._filled += take
            pos = take
            if self._filled == hop:
                self._energies.append(np.array([self._partial / hop]))
                self._partial, self._filled = 0.0, 0
        whole = (power.shape[0] - pos) // hop
        if whole:
            self._energies.append(power[pos:pos + whole * hop].reshape(whole, hop).mean(axis=1))
            pos += whole * hop
        rest = power[pos:]
        if rest.size:
            self._partial += float(rest.sum())
            self._filled += rest.size

    def subblocks(self) -> np.ndarray:
        """Energies of the complete 100 ms sub-blocks so far (a trailing partial one is left out)."""
        energies = np.concatenate(self._energies) if self._energies else np.zeros(0)
        return energies * (self._scale * self._scale) if self._scale != 1.0 else energies


def subblock_energies(audio: np.ndarray, sample_rate: int, skip: int = 0, compiled: bool = True) -> np.ndarray:
    """Channel-summed K-weighted mean square per 100 ms sub-block of `audio` (after `skip` frames)."""
    meter = KMeter(sample_rate, audio.shape[1], compiled)
    meter.feed(audio, skip)
    return meter.subblocks()


def block_energies(subblocks: np.ndarray, per_block: int = 4) -> np.ndarray:
    """Energies of the overlapping blocks made of `per_block` consecutive sub-blocks."""
    if subblocks.shape[0] < per_block:
        return np.zeros(0)
    cumulative = np.concatenate(([0.0], np.cumsum(subblocks)))
    return (cumulative[per_block:] - cumulative[:-per_block]) / per_block


def lufs(energy: float) -> float:
    return -0.691 + 10.0 * math.log10(energy) if energy > 0 else -math.inf


def _lufs_array(energies: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(energies)


def gated_loudness(blocks: np.ndarray) -> float:
    """Integrated loudness (LUFS) of 400 ms block energies with the absolute and relative gates."""
    if blocks.size == 0:
        return -math.inf
    above_absolute = blocks[_lufs_array(blocks) > ABSOLUTE_GATE_LUFS]
    if above_absolute.size == 0:
        return -math.inf
    relative_gate = lufs(float(above_absolute.mean())) + RELATIVE_GATE_LU
    gated = above_absolute[_lufs_array(above_absolute) > relative_gate]
    return lufs(float(gated.mean()))


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of a whole signal (frames, channels) in LUFS; -inf for silence or < 400 ms."""
    return gated_loudness(block_energies(subblock_energies(audio, sample_rate)))


def loudness_range(subblocks: np.ndarray) -> float:
    """EBU Tech 3342 loudness range (LU) from sub-block energies: spread of the 3 s short-term loudness
    (10th to 95th percentile) after an absolute and a -20 LU relative gate."""
    short_term = _lufs_array(block_energies(subblocks, per_block=30))
    short_term = short_term[short_term > ABSOLUTE_GATE_LUFS]
    if short_term.size < 2:
        return 0.0
    gate = lufs(float((10.0 ** ((short_term + 0.691) / 10.0)).mean())) + LRA_RELATIVE_GATE_LU
    kept = short_term[short_term > gate]
    if kept.size < 2:
        return 0.0
    low, high = np.percentile(kept, [10.0, 95.0])
    return float(high - low)


def true_peak(audio: np.ndarray, oversample: int = 4, block: int = 1 << 16) -> float:
    """Linear true peak by 4x polyphase oversampling (BS.1770-4 Annex 2), block by block."""
    margin = 64
    peak = 0.0
    frames = audio.shape[0]
    for start in range(0, frames, block):
        lo, hi = max(0, start - margin), min(frames, start + block + margin)
        up = signal.resample_poly(np.asarray(audio[lo:hi], dtype=np.float64), oversample, 1, axis=0)
        keep = up[(start - lo) * oversample:(min(frames, start + block) - lo) * oversample]
        if keep.size:
            peak = max(peak, float(np.max(np.abs(keep))))
    return max(peak, float(np.max(np.abs(audio))) if audio.size else 0.0)
