"""The decisions that need the whole track, made before the first sample is processed.

`tune_chain` returns a `Tuning` for one source and preset:

1. **Input loudness** (BS.1770 integrated, exact): one pass of the compiled K-weighting meter over the
   whole source, block by block (bounded memory). It places the compressor threshold relative to the
   track, so a quiet and a loud mix get the same treatment. It does not depend on the preset, so a
   stream measures it once (`measure_source`) and reuses it when the preset changes.
2. **What the chain does to loudness**, measured on `ANALYSIS_WINDOWS` windows spread evenly over the
   track (each with a pre-roll so filters and envelope settle): the EQ'd and compressed signal against
   the input on the same 100 ms grid, then what the limiter takes off at the resulting gain. Short
   sources are one window, i.e. measured completely.
3. **Normalisation gain** = target - (input loudness + the chain's change), clamped to +-30 dB.

The windows bound the cost of step 2 whatever the file's length; the change they estimate (mostly the
EQ's and the compressor's effect) varies far less along a track than loudness itself. Streams and whole
files share this rule, so their outputs agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .chain import ChainProcessor, KernelSet, Reader, Tuning
from .loudness import ABSOLUTE_GATE_LUFS, KMeter, block_energies, gated_loudness
from .presets import Preset
from .sources import ArraySource

ANALYSIS_WINDOWS = 12
ANALYSIS_WINDOW_SECONDS = 0.6
ANALYSIS_PREROLL_SECONDS = 0.2
#: Level the compressor threshold is referred to when a track is too quiet to measure.
FALLBACK_INPUT_LUFS = -20.0
MAX_GAIN_DB = 30.0
_READ_BLOCK = 1 << 16


@dataclass(frozen=True)
class SourceLoudness:
    """Step 1's result: the input's 100 ms K-weighted sub-block energies and integrated loudness."""

    subblocks: np.ndarray
    input_lufs: float

    @property
    def measurable(self) -> bool:
        return math.isfinite(self.input_lufs) and self.input_lufs > ABSOLUTE_GATE_LUFS


@dataclass(frozen=True)
class Window:
    start: int     # first measured frame (a multiple of the 100 ms sub-block)
    preroll: int   # frames before `start` fed only to settle filters and envelopes
    length: int    # measured frames (whole sub-blocks)


def measure_source(source: Reader, compiled: bool = True) -> SourceLoudness:
    """Integrated loudness of the whole source: an array in place, a file block by block in its stored
    sample format (bounded memory and no float conversion; the scale is applied to the energies)."""
    if isinstance(source, ArraySource):
        meter = KMeter(source.sample_rate, source.channels, compiled)
        meter.feed(source.audio)
    else:
        meter = KMeter(source.sample_rate, source.channels, compiled, scale=source.native_scale)
        buffer = np.empty((min(_READ_BLOCK, source.frames), source.channels), dtype=source.native_dtype)
        for start in range(0, source.frames, _READ_BLOCK):
            meter.feed(source.read_native(start, _READ_BLOCK, buffer))
    subblocks = meter.subblocks()
    return SourceLoudness(subblocks, gated_loudness(block_energies(subblocks)))


def analysis_windows(frames: int, sample_rate: int) -> list[Window]:
    """The whole source when it is short, else evenly spread windows aligned to the 100 ms grid."""
    hop = sample_rate // 10
    length = round(ANALYSIS_WINDOW_SECONDS * 10) * hop
    preroll = round(ANALYSIS_PREROLL_SECONDS * sample_rate)
    if frames <= ANALYSIS_WINDOWS * (length + preroll):
        return [Window(0, 0, (frames // hop) * hop)]
    windows = []
    for index in range(ANALYSIS_WINDOWS):
        centre = (index + 0.5) * frames / ANALYSIS_WINDOWS
        start = int(min(max(centre - length / 2, 0), frames - length)) // hop * hop
        windows.append(Window(start, min(preroll, start), length))
    return windows


def _gated(subblock_sets: list[np.ndarray]) -> float:
    return gated_loudness(np.concatenate([block_energies(s) for s in subblock_sets]))


def _energies(audio: np.ndarray, sample_rate: int, skip: int, compiled: bool) -> np.ndarray:
    meter = KMeter(sample_rate, audio.shape[1], compiled)
    meter.feed(audio, skip)
    return meter.subblocks()


def tune_chain(source: Reader, preset: Preset, kernels: KernelSet,
               loudness: SourceLoudness | None = None) -> Tuning:
    """Decide the compressor reference level and the normalisation gain for `preset` on `source`."""
    rate, compiled = source.sample_rate, kernels.compiled
    if loudness is None:
        loudness = measure_source(source, compiled)
    if not loudness.measurable:
        return Tuning(FALLBACK_INPUT_LUFS, 0.0, {"input_lufs": loudness.input_lufs,
                                                 "reason": "too quiet or too short to measure"})
    hop = rate // 10
    unity = Tuning(loudness.input_lufs, 0.0)
    windows = analysis_windows(source.frames, rate)
    processor = ChainProcessor(preset, rate, source.channels, unity, kernels)  # reset per window
    try:
        raw_sets, pre_sets, pre_audio = [], [], []
        for w in windows:
            processor.reset()
            pre = processor.pre_limiter(source.read(w.start - w.preroll, w.preroll + w.length))
            pre_audio.append(pre)
            pre_sets.append(_energies(pre, rate, w.preroll, compiled))
            raw_sets.append(loudness.subblocks[w.start // hop:w.start // hop + pre_sets[-1].shape[0]])
        chain_change = _gated(pre_sets) - _gated(raw_sets)
        gain_db = preset.target_lufs - (loudness.input_lufs + chain_change)
        gain_db = float(np.clip(gain_db, -MAX_GAIN_DB, MAX_GAIN_DB))
        # What the limiter takes off at that gain, on the same windows (its output lags by `latency`).
        # Where no sample reaches the ceiling the limiter passes the signal unchanged: no need to run it.
        limited_sets, reference_sets = [], []
        factor = 10.0 ** (gain_db / 20.0)
        for w, pre, pre_energy in zip(windows, pre_audio, pre_sets):
            measured = (pre.shape[0] - w.preroll - processor.latency) // hop
            reference = pre_energy[:measured] * (factor * factor)
            if np.abs(pre).max() * factor > processor.ceiling:
                processor.reset()
                limited = processor.limit_only(pre, factor)
                limited_sets.append(_energies(limited, rate, w.preroll + processor.latency, compiled))
            else:
                limited_sets.append(reference)
            reference_sets.append(reference)
    finally:
        processor.close()
    limiter_change = _gated(limited_sets) - _gated(reference_sets) if limited_sets else 0.0
    if math.isfinite(limiter_change):
        gain_db = float(np.clip(gain_db - limiter_change, -MAX_GAIN_DB, MAX_GAIN_DB))
    return Tuning(loudness.input_lufs, gain_db,
                  {"input_lufs": loudness.input_lufs, "chain_change_lu": chain_change,
                   "limiter_change_lu": limiter_change, "windows": len(windows)})
