"""Loudness decisions of the pedalboard chain, measured with pyloudnorm (ITU-R BS.1770 / EBU R128).

Before the first sample is processed, for one source and preset:

1. **the track's integrated loudness**, exact, over the whole source: pyloudnorm meters it segment by
   segment (bounded memory, so a 1 GB file is never held whole) and the segments' 400 ms gating blocks
   are gated together, as BS.1770 gates one long measurement. It places the compressor threshold and
   does not depend on the preset, so a stream measures it once;
2. **what EQ and compressor change**, measured on `WINDOWS` windows spread over the track (each with a
   pre-roll that settles filters and envelope), or on the whole source when it is short. The change
   varies far less along a track than loudness itself, so a few seconds estimate it well;
3. **the gain** = target - (loudness + change), then corrected for what the limiter takes off at that
   gain, measured on the same windows (a few steps: a higher gain makes the limiter take more).

Whole-array mastering and streaming share this rule, so they give the same samples.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyloudnorm

from auralis_perf.engines.pedalboard_peer.chain import db_to_gain, limiter_board, pre_board
from auralis_perf.engines.support.presets import Preset

WINDOWS = 8
WINDOW_SECONDS = 1.0
PREROLL_SECONDS = 0.3
WHOLE_SOURCE_SECONDS = WINDOWS * (WINDOW_SECONDS + PREROLL_SECONDS)
#: BS.1770: 400 ms gating blocks every 100 ms, absolute gate at -70 LUFS, relative gate 10 LU down.
BLOCK_HOPS = 4
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = 10.0
#: Input loudness is metered in segments of this many 100 ms hops, each after a settling pre-roll.
SEGMENT_HOPS = 300
SEGMENT_PREROLL_HOPS = 5
#: Level the compressor threshold is referred to when a source is too short or too quiet to measure.
FALLBACK_INPUT_LUFS = -20.0
MAX_GAIN_DB = 30.0
#: The gain is corrected for what the limiter takes off until the windows land this close (at most STEPS).
LIMITER_TOLERANCE_LU = 0.05
LIMITER_STEPS = 4


class Reader(Protocol):
    sample_rate: int
    channels: int
    frames: int

    def read(self, start: int, count: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Window:
    start: int     # first measured frame
    preroll: int   # frames before `start` fed only to settle filters and envelope
    length: int    # measured frames


@dataclass
class Tuning:
    """What the analysis decided for one source and preset."""

    input_lufs: float          # the track's loudness (FALLBACK_INPUT_LUFS when unmeasurable)
    gain_db: float             # gain between compressor and limiter
    details: dict[str, Any] = field(default_factory=dict)
    #: The finished output (channels, frames) when the whole source was analysed at the final gain.
    output: np.ndarray | None = None


def planar(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (channels, frames) float32, contiguous: what pedalboard processes."""
    return np.ascontiguousarray(block.T, dtype=np.float32)


# -- loudness with pyloudnorm -----------------------------------------------------------------------
def block_energies(planar_audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Channel-summed mean-square energy of each 400 ms block (100 ms apart), K-weighted by pyloudnorm."""
    if planar_audio.shape[1] < BLOCK_HOPS * (sample_rate // 10):
        return np.zeros(0)
    meter = pyloudnorm.Meter(sample_rate)
    with warnings.catch_warnings():  # silent blocks give log10(0): pyloudnorm warns, the energy is 0
        warnings.simplefilter("ignore", RuntimeWarning)
        meter.integrated_loudness(planar_audio.T)
    # pyloudnorm keeps each block's loudness -0.691 + 10 log10(sum of channel energies) (channel
    # weights are 1 for mono and stereo): undo the log to gate blocks of several measurements together.
    return 10.0 ** ((np.asarray(meter.blockwise_loudness, dtype=np.float64) + 0.691) / 10.0)


def gated_loudness(energies: np.ndarray) -> float | None:
    """BS.1770 integrated loudness of block energies (absolute then relative gate), or None."""
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(energies)
    kept = energies[loudness >= ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return None
    relative = -0.691 + 10.0 * math.log10(kept.mean()) - RELATIVE_GATE_LU
    kept = energies[(loudness > relative) & (loudness > ABSOLUTE_GATE_LUFS)]
    return -0.691 + 10.0 * math.log10(kept.mean()) if kept.size else None


def parts_loudness(parts: list[np.ndarray], sample_rate: int) -> float | None:
    """Integrated loudness of planar parts gated together (each part metered on its own)."""
    return gated_loudness(np.concatenate([block_energies(p, sample_rate) for p in parts]))


def input_loudness(source: Reader) -> float | None:
    """The whole source's integrated loudness, metered in segments so memory stays bounded.

    Each segment is read with a pre-roll for pyloudnorm's K-weighting filters to settle; the blocks
    starting in the pre-roll are dropped, so every block of the track is counted once.
    """
    hop = source.sample_rate // 10
    segment, preroll = SEGMENT_HOPS * hop, SEGMENT_PREROLL_HOPS * hop
    tail = (BLOCK_HOPS - 1) * hop  # a segment's last blocks reach this far beyond it
    energies = []
    for start in range(0, source.frames, segment):
        lead = min(preroll, start)
        count = min(lead + segment + tail, source.frames - start + lead)
        blocks = block_energies(planar(source.read(start - lead, count)), source.sample_rate)
        energies.append(blocks[lead // hop:lead // hop + SEGMENT_HOPS])
    return gated_loudness(np.concatenate(energies))


# -- the decisions ----------------------------------------------------------------------------------
def analysis_windows(frames: int, sample_rate: int) -> list[Window]:
    """The whole source when it is short, else `WINDOWS` windows spread evenly over it."""
    if frames <= WHOLE_SOURCE_SECONDS * sample_rate:
        return [Window(0, 0, frames)]
    length = round(WINDOW_SECONDS * sample_rate)
    preroll = round(PREROLL_SECONDS * sample_rate)
    windows = []
    for index in range(WINDOWS):
        centre = (index + 0.5) * frames / WINDOWS
        start = int(min(max(centre - length / 2, preroll), frames - length))
        windows.append(Window(start, preroll, length))
    return windows


def tune(source: Reader, preset: Preset, *, input_lufs: float | None = None, measured: bool = False,
         keep_output: bool = False) -> Tuning:
    """Decide the compressor reference and the loudness gain of `preset` on `source`.

    Pass `input_lufs` with `measured=True` to reuse a loudness measured before (a stream switching
    preset). With `keep_output`, a whole-source analysis also returns the finished output, so whole-array
    mastering does not run the chain twice.
    """
    rate = source.sample_rate
    if not measured:
        input_lufs = input_loudness(source)
    if input_lufs is None:
        return Tuning(FALLBACK_INPUT_LUFS, 0.0, {"input_lufs": None, "reason": "too short or too quiet to measure"})
    windows = analysis_windows(source.frames, rate)
    raw = [planar(source.read(w.start - w.preroll, w.preroll + w.length)) for w in windows]
    pre = [pre_board(preset, rate, input_lufs).process(block, rate) for block in raw]  # a fresh board each
    # the whole source's loudness is the input's, measured already
    raw_lufs = input_lufs if len(windows) == 1 else parts_loudness([r[:, w.preroll:] for w, r in zip(windows, raw)],
                                                                   rate)
    pre_lufs = parts_loudness([p[:, w.preroll:] for w, p in zip(windows, pre)], rate)
    if raw_lufs is None or pre_lufs is None:
        return Tuning(input_lufs, 0.0, {"input_lufs": input_lufs, "reason": "the windows are too quiet to measure"})
    chain_change = pre_lufs - raw_lufs
    gain_db = float(np.clip(preset.target_lufs - (input_lufs + chain_change), -MAX_GAIN_DB, MAX_GAIN_DB))
    # What the windows should measure after the limiter: their loudness at that gain, had it taken nothing.
    wanted = pre_lufs + gain_db
    limiter_change, steps = 0.0, 0
    for steps in range(1, LIMITER_STEPS + 1):  # pushing harder makes the limiter take more: a few steps
        limited = _limit(preset, pre, gain_db, rate)
        limited_lufs = parts_loudness([x[:, w.preroll:] for w, x in zip(windows, limited)], rate)
        miss = 0.0 if limited_lufs is None else wanted - limited_lufs
        if abs(miss) <= LIMITER_TOLERANCE_LU:
            break
        gain_db = float(np.clip(gain_db + miss, -MAX_GAIN_DB, MAX_GAIN_DB))
        limiter_change -= miss
    else:
        limited = _limit(preset, pre, gain_db, rate)
    details = {"input_lufs": input_lufs, "chain_change_lu": chain_change, "limiter_change_lu": limiter_change,
               "limiter_steps": steps, "windows": len(windows),
               "analysed": "whole source" if len(windows) == 1 else f"{len(windows)} windows"}
    whole = keep_output and len(windows) == 1
    return Tuning(input_lufs, gain_db, details, limited[0] if whole else None)


def _limit(preset: Preset, pre: list[np.ndarray], gain_db: float, rate: int) -> list[np.ndarray]:
    gain = np.float32(db_to_gain(gain_db))
    return [limiter_board(preset).process(p * gain, rate) for p in pre]
