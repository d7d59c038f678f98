"""The decisions that depend on the whole track: the compressor's reference level and the normalisation gain.

A stream must hand over its first chunk within milliseconds, but integrated loudness is a statistic of the
whole track, and measuring it takes a pass over all of it (about 0.3 ms of CPU per second of stereo audio:
180 ms for ten minutes). No bounded sample can stand in for that pass: on music whose sections differ in
loudness, the share of each section in an affordable sample, and which blocks the BS.1770 relative gate
then drops, make a sampled estimate miss by up to 1-2 LU. So the gain is decided in two steps, by one rule
that streams and whole files share (their outputs agree):

1. **Quick tuning** (`quick_tuning`), before the first chunk, at a bounded cost: the quick input loudness
   (`measurement.measure_source`), which also places the compressor threshold for the whole track (a
   reference level: a quiet and a loud mix get the same treatment); `QUICK_WINDOWS` analysis windows;
   the gain solve.
2. **Final tuning** (`refinement.Refinement`), spread over the first chunks of a stream (a whole-file
   master runs it up front): the exact input loudness, `FINAL_WINDOWS` windows drawn from the whole
   track's blocks plus anchors at its quiet end, the gain solve again, counting the frames that keep the
   quick gain. From `refinement.settle_frame` the gain ramps to the final value. On the music-like test
   signal the two gains differ by 0.3 dB (median) and up to 2 dB.

Analysis windows (`ChainAnalysis`): EQ and compressor run on measured 400 ms blocks drawn with probability
proportional to their energy (systematic sampling along the cumulative gated energy, in track order), each
after a pre-roll that settles filters and envelope. Integrated loudness is an energy mean, so the plain
mean of the drawn blocks' energy ratios (chain out / in) estimates the whole track's. The limiter's share
at a gain is simulated on the same windows (only where a sample reaches the ceiling); it takes more the
more gain it is given, hence a few secant steps. The output's loudness is predicted block by block and
gated as BS.1770 gates (see `_OutputModel`).

Accuracy, validated on the music-like generator (every preset, 10 s to 600 s, 3 to 6 seeds per length;
220 masters): the output's integrated loudness lands within 0.4 LU of the target, median 0.1 LU (the
tests hold 0.5 LU). The biggest misses come from short, heavily limited tracks, where 16 windows sample
the limiter's work coarsely.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auralis_perf.engines.reference.chain import ChainProcessor, KernelSet, Reader, Tuning
from auralis_perf.engines.reference.loudness import KMeter, block_energies, gated_loudness
from auralis_perf.engines.reference.measurement import (
    BLOCK_SUBBLOCKS,
    SourceLoudness,
    db,
    energy_weighted_blocks,
    gated_mask,
    measured_blocks,
)
from auralis_perf.engines.support.presets import Preset

#: Sources up to this long get the exact `whole_source_tuning` up front (no quick and final steps).
WHOLE_SOURCE_SECONDS = 3.0
QUICK_WINDOWS = 4
FINAL_WINDOWS = 16
#: The final tuning's extra windows at these quantiles of the gated blocks' levels: they show the chain's
#: change at the quiet end (little compression, no limiting), where the gates decide.
ANCHOR_QUANTILES = (0.05, 0.25)
#: Groups of windows (by level) whose mean changes give the chain's change across levels.
SHAPE_GROUPS = 4
CHAIN_PREROLL_SECONDS = 0.1
#: The limiter's pre-roll in its simulation (longer than its release, so its gain has settled).
LIMITER_PREROLL_SECONDS = 0.1
#: Gain evaluations (each a limiter run on the windows that reach the ceiling) at most.
GAIN_STEPS = 4
#: The quick tuning's (the final one accounts for whatever the quick gain leaves).
QUICK_GAIN_STEPS = 2
GAIN_TOLERANCE_DB = 0.05
#: Relative CPU cost of the analysis steps (1.0 = one read block through the meter), so that a stream can
#: spread them evenly over its chunks.
WINDOW_STEP_COST, LIMITER_STEP_COST = 3.0, 0.7
#: Level the compressor threshold is referred to when a track is too quiet to measure.
FALLBACK_INPUT_LUFS = -20.0
MAX_GAIN_DB = 30.0


def _held_weights(centres: np.ndarray, settle: int, ramp: int) -> np.ndarray:
    """How much of the held (quick) gain each block keeps: all of it before the settle frame, then less
    along the raised-cosine ramp (see ChainProcessor.schedule_gain), none after."""
    progress = np.clip((centres - settle) / max(ramp, 1), 0.0, 1.0)
    return 1.0 - (0.5 - 0.5 * np.cos(np.pi * progress))


def _power(audio: np.ndarray) -> float:
    """Sum of squares (einsum, not BLAS: a BLAS dot may start threads that cost more than the sum)."""
    return float(np.einsum("ij,ij->", audio, audio))


def _clamp(gain_db: float) -> float:
    return float(np.clip(gain_db, -MAX_GAIN_DB, MAX_GAIN_DB))


def _search_gain(evaluate: Callable[[float], Iterator[float]], start_db: float, target: float,
                 steps: int) -> Generator[float, None, tuple[float, float, float]]:
    """The gain at which `evaluate` (a generator that yields work costs and returns the output loudness
    at a gain) meets `target`: secant steps from `start_db`, at most `steps` evaluations. Yields the
    evaluations' costs; returns (gain, loudness at the last gain evaluated, that gain)."""
    gain_db = _clamp(start_db)
    previous: tuple[float, float] | None = None
    limited, evaluated = math.nan, gain_db
    for _ in range(steps):
        limited = yield from evaluate(gain_db)
        evaluated = gain_db
        error = limited - target
        if abs(error) < GAIN_TOLERANCE_DB:
            break
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-9:
            slope = (error - previous[1]) / (gain_db - previous[0])
        previous = (gain_db, error)
        # The output's loudness rises with the gain, at most one for one (the limiter only takes off).
        gain_db = _clamp(gain_db - error / min(max(slope, 0.05), 1.0))
    return gain_db, limited, evaluated


def _finish(work: Generator[float, None, Any]) -> Any:
    """Run a generator of work steps to its end; its return value."""
    while True:
        try:
            next(work)
        except StopIteration as done:
            return done.value


class _OutputModel:
    """The output's integrated loudness predicted block by block: each measured input block's energy
    times the chain's change at its level and times its gain, then gated as BS.1770 gates.

    The gates matter: the compressor and the limiter take more off loud blocks, so the output's relative
    gate sits lower and lets quieter blocks in; a start kept quieter can drop out of the gated blocks.
    The change's shape across levels: the mean change (dB) of SHAPE_GROUPS groups of the energy-weighted
    windows by level, and each anchor window's change, interpolated (held beyond the ends); it is scaled
    so that the gated input blocks' total energy changes by the energy-weighted windows' mean ratio, the
    unbiased estimate of the energy-weighted change.
    """

    def __init__(self, loudness: SourceLoudness, hop: int, windows: Sequence[_ChainWindow],
                 anchors: Sequence[_ChainWindow], held: tuple[float, int, int] | None) -> None:
        starts, self.blocks = measured_blocks(loudness, hop)
        self.levels = db(self.blocks)
        self.gated = gated_mask(self.blocks)
        self.window_levels = db(np.array([w.input_energy for w in windows]))  # ascending
        self.anchor_levels = db(np.array([w.input_energy for w in anchors]))
        self.held_db = None if held is None else held[0]
        self.held_weight = None if held is None else \
            _held_weights(starts + BLOCK_SUBBLOCKS * hop // 2, held[1], held[2])

    def loudness(self, change: np.ndarray, gain_db: float, anchor_change: np.ndarray | None = None,
                 holding: bool = True) -> float:
        """Output loudness for the windows' energy ratios `change` (and the anchors') at `gain_db` (and
        the held gain)."""
        groups = np.array_split(np.arange(change.shape[0]), min(SHAPE_GROUPS, change.shape[0]))
        levels = np.array([self.window_levels[g].mean() for g in groups])
        changes = np.array([db(change[g]).mean() for g in groups])
        if anchor_change is not None and anchor_change.shape[0]:
            levels = np.concatenate([levels, self.anchor_levels])
            changes = np.concatenate([changes, db(anchor_change)])
            order = np.argsort(levels, kind="stable")
            levels, changes = levels[order], changes[order]
        per_block = 10.0 ** (np.interp(self.levels, levels, changes) / 10.0)
        gated = self.gated
        scale = float(change.mean()) * self.blocks[gated].sum() / (self.blocks[gated] * per_block[gated]).sum()
        gain = np.full(self.blocks.shape, gain_db)
        if holding and self.held_weight is not None:
            gain += self.held_weight * (self.held_db - gain_db)
        return gated_loudness(self.blocks * per_block * scale * 10.0 ** (gain / 10.0))


@dataclass
class _ChainWindow:
    """One drawn block through EQ and compressor (with its pre-roll and the limiter's look-ahead)."""

    pre: np.ndarray        # pre-limiter signal at unity normalisation gain, pre-roll included
    preroll: int
    input_energy: float    # K-weighted energy of the block, as the loudness measurement found it
    output_energy: float   # the same after EQ and compressor
    peak: float
    block_power: float     # plain (unweighted) energy of the block after EQ and compressor

    @property
    def ratio(self) -> float:
        return self.output_energy / self.input_energy


class ChainAnalysis:
    """EQ and compressor on analysis windows of one source and preset, and the gain solve on them.

    The compressor threshold is referred to the quick loudness for the whole track.
    """

    def __init__(self, source: Reader, preset: Preset, kernels: KernelSet, quick: SourceLoudness) -> None:
        self.source = source
        self.preset = preset
        self.reference_lufs = quick.input_lufs
        rate = source.sample_rate
        self.processor = ChainProcessor(preset, rate, source.channels, Tuning(quick.input_lufs, 0.0), kernels)
        self._meter = KMeter(rate, source.channels, kernels.compiled)
        self._preroll = round(CHAIN_PREROLL_SECONDS * rate)
        self._limiter_preroll = round(LIMITER_PREROLL_SECONDS * rate)
        self.hop = rate // 10
        self._block = BLOCK_SUBBLOCKS * self.hop
        self.quick = quick
        if quick.complete:  # every QUICK_WINDOWS-th of the final windows: the final tuning reuses them
            stride = FINAL_WINDOWS // QUICK_WINDOWS
            self.quick_picks = energy_weighted_blocks(quick, self.hop, FINAL_WINDOWS)[stride // 2::stride]
        else:
            self.quick_picks = energy_weighted_blocks(quick, self.hop, QUICK_WINDOWS)
        self._windows: dict[int, _ChainWindow] = {}

    def _energy(self, audio: np.ndarray, skip: int) -> float:
        self._meter.reset()
        self._meter.feed(audio, skip)
        return float(self._meter.subblocks()[:BLOCK_SUBBLOCKS].mean())

    def window(self, start: int, energy: float) -> _ChainWindow:
        """The block at `start` (whose input energy is `energy`) through EQ and compressor (kept for reuse)."""
        if start not in self._windows:
            self._windows[start] = self._run_window(start, energy)
        return self._windows[start]

    def _run_window(self, start: int, energy: float) -> _ChainWindow:
        preroll = min(self._preroll, start)
        # Past the source's end the chain is fed zeros, as a stream is (the limiter's look-ahead included).
        audio = np.zeros((preroll + self._block + self.processor.latency, self.source.channels),
                         dtype=self.source.dtype)
        self.source.read(start - preroll, audio.shape[0], audio)
        self.processor.reset()
        pre = self.processor.pre_limiter(audio)
        block = pre[preroll:preroll + self._block]
        return _ChainWindow(pre, preroll, energy, self._energy(pre, preroll), float(np.abs(pre).max()),
                            _power(block))

    def _kept(self, window: _ChainWindow, factor: float) -> float:
        """The part of the window's block energy the limiter leaves at gain `factor` (1.0 if it never acts:
        below the ceiling the limiter passes its input through unchanged)."""
        processor = self.processor
        if window.peak * factor <= processor.ceiling:
            return 1.0
        settled = window.preroll - min(window.preroll, self._limiter_preroll)
        processor.reset()
        limited = processor.limit_only(window.pre[settled:], factor)
        # The limiter's gain moves slowly next to the audio, so plain energies give its share as well as
        # K-weighted ones would (at a fraction of the cost).
        first = window.preroll - settled + processor.latency
        block = limited[first:first + self._block]
        return _power(block) / (window.block_power * factor * factor)

    def solve(self, loudness: SourceLoudness, picks: Sequence[tuple[int, float]], result: dict[str, float],
              anchors: Sequence[tuple[int, float]] = (), held: tuple[float, int, int] | None = None,
              steps: int = GAIN_STEPS, guess_db: float | None = None) -> Iterator[float]:
        """Solve the gain on the energy-weighted windows at `picks` (and the `anchors`, see _OutputModel)
        for the input `loudness` measured; yields the cost of each window's EQ and compressor and of each
        limiter run (so a stream can spread the work); fills `result` with gain_db and what went into it.
        `held` = (gain in dB, settle frame, ramp frames): the blocks before the settle frame keep that gain
        (the quick one), those in the ramp part of it. `guess_db`: where the search starts (default: the
        gain that would be right without the limiter).
        """
        windows, anchored = [], []
        for group, starts in ((windows, picks), (anchored, anchors)):
            for start, energy in starts:
                group.append(self.window(start, energy))
                yield WINDOW_STEP_COST
        windows.sort(key=lambda w: w.input_energy)
        model = _OutputModel(loudness, self.hop, windows, anchored, held)
        ratios = np.array([w.ratio for w in windows])
        anchor_ratios = np.array([w.ratio for w in anchored])
        before_limiter = model.loudness(ratios, 0.0, anchor_ratios, holding=False)

        def evaluate(gain_db: float) -> Iterator[float]:
            factor = 10.0 ** (gain_db / 20.0)
            kept = np.ones(len(windows) + len(anchored))
            for index, window in enumerate(windows + anchored):
                kept[index] = self._kept(window, factor)
                if kept[index] != 1.0:
                    yield LIMITER_STEP_COST
            return model.loudness(ratios * kept[:len(windows)], gain_db, anchor_ratios * kept[len(windows):])

        start = self.preset.target_lufs - before_limiter if guess_db is None else guess_db
        gain_db, limited, evaluated = yield from _search_gain(evaluate, start, self.preset.target_lufs, steps)
        result.update({"gain_db": gain_db, "input_lufs": loudness.input_lufs,
                       "chain_change_lu": before_limiter - loudness.input_lufs,
                       "limiter_change_lu": limited - before_limiter - evaluated,
                       "windows": float(len(windows))})

    def close(self) -> None:
        self.processor.close()
        self._windows.clear()


def whole_source_tuning(source: Reader, preset: Preset, kernels: KernelSet, loudness: SourceLoudness) -> Tuning:
    """A short source's tuning, exact and in one go: the chain and the limiter on the whole source (the
    output's integrated loudness measured, not predicted), cheaper than windows that would cover it
    several times over. `loudness` must be complete."""
    rate, channels = source.sample_rate, source.channels
    processor = ChainProcessor(preset, rate, channels, Tuning(loudness.input_lufs, 0.0), kernels)
    meter = KMeter(rate, channels, kernels.compiled)
    try:
        # The source then the limiter's look-ahead in zeros, as a stream feeds it.
        audio = np.zeros((source.frames + processor.latency, channels), dtype=source.dtype)
        source.read(0, source.frames, audio)
        pre = processor.pre_limiter(audio)
        peak = float(np.abs(pre).max())
        meter.feed(pre)
        before_limiter = gated_loudness(block_energies(meter.subblocks(), BLOCK_SUBBLOCKS))

        def evaluate(gain_db: float) -> Iterator[float]:
            factor = 10.0 ** (gain_db / 20.0)
            if peak * factor <= processor.ceiling:  # the limiter passes it unchanged
                return before_limiter + gain_db
            yield LIMITER_STEP_COST
            processor.reset()
            meter.reset()
            meter.feed(processor.limit_only(pre, factor), processor.latency)
            return gated_loudness(block_energies(meter.subblocks(), BLOCK_SUBBLOCKS))

        gain_db, limited, evaluated = _finish(_search_gain(evaluate, preset.target_lufs - before_limiter,
                                                           preset.target_lufs, GAIN_STEPS))
    finally:
        processor.close()
    return Tuning(loudness.input_lufs, gain_db,
                  {"gain_db": gain_db, "input_lufs": loudness.input_lufs, "stage": "whole source",
                   "chain_change_lu": before_limiter - loudness.input_lufs,
                   "limiter_change_lu": limited - before_limiter - evaluated})


def fallback_tuning(loudness: SourceLoudness) -> Tuning:
    return Tuning(FALLBACK_INPUT_LUFS, 0.0, {"input_lufs": loudness.input_lufs,
                                             "reason": "too quiet or too short to measure"})


def quick_tuning(analysis: ChainAnalysis) -> Tuning:
    """The quick tuning: the quick loudness and the quick windows."""
    result: dict[str, float] = {}
    _finish(analysis.solve(analysis.quick, analysis.quick_picks, result, steps=QUICK_GAIN_STEPS))
    return Tuning(analysis.reference_lufs, result["gain_db"], dict(result, stage="quick"))
