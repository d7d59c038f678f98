"""How loud the input is: BS.1770 block energies of a source, measured quickly or exactly.

- `measure_source`: the quick measurement, at a bounded cost whatever the source's length: `SEGMENTS`
  stretches of `SEGMENT_SECONDS`, one per equal stratum of the track at a golden-ratio offset (so they do
  not line up with a periodic structure such as a fixed section length), each after a pre-roll that
  settles the K-weighting filter; their 400 ms blocks are gated as BS.1770 gates a whole track's. A source
  up to `COMPLETE_SECONDS` long is measured completely (exactly).
- `LoudnessScan`: the exact measurement, the meter over the whole source, one read block per step.

A file is read in its stored sample format (int16 for 16-bit PCM: no float conversion; the meter applies
the scale to the energies).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from auralis_perf.engines.reference.chain import Reader
from auralis_perf.engines.reference.loudness import (
    ABSOLUTE_GATE_LUFS,
    RELATIVE_GATE_LU,
    KMeter,
    block_energies,
    gated_loudness,
    lufs,
)
from auralis_perf.engines.support.sources import ArraySource

SEGMENTS = 12
SEGMENT_SECONDS = 0.8
SEGMENT_PREROLL_SECONDS = 0.05
#: Sources up to this long are measured completely (a few ms of CPU; it spares them the exact scan).
COMPLETE_SECONDS = 20.0
BLOCK_SUBBLOCKS = 4  # a BS.1770 block: four 100 ms sub-blocks
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_READ_BLOCK = 1 << 16


@dataclass(frozen=True)
class Window:
    start: int     # first measured frame
    preroll: int   # frames before `start` fed only to settle filters and envelopes
    length: int    # measured frames (whole 100 ms sub-blocks)


@dataclass(frozen=True)
class SourceLoudness:
    """The measured stretches of a source, their 100 ms K-weighted sub-block energies, and the integrated
    loudness of their 400 ms blocks (of the whole source when one stretch covers it)."""

    segments: tuple[Window, ...]
    subblocks: tuple[np.ndarray, ...]
    input_lufs: float

    @property
    def measurable(self) -> bool:
        return math.isfinite(self.input_lufs) and self.input_lufs > ABSOLUTE_GATE_LUFS

    @property
    def complete(self) -> bool:
        """Whether the stretches cover the whole source (the loudness is then exact)."""
        return len(self.segments) == 1 and self.segments[0].start == 0


def _of(segments: Sequence[Window], subblocks: Sequence[np.ndarray]) -> SourceLoudness:
    blocks = np.concatenate([block_energies(s, BLOCK_SUBBLOCKS) for s in subblocks])
    return SourceLoudness(tuple(segments), tuple(subblocks), gated_loudness(blocks))


def loudness_segments(frames: int, sample_rate: int) -> list[Window]:
    """The whole source when it is short, else one stretch per equal stratum at a golden-ratio offset."""
    hop = sample_rate // 10
    length = round(SEGMENT_SECONDS * 10) * hop
    preroll = round(SEGMENT_PREROLL_SECONDS * sample_rate)
    if frames <= max(SEGMENTS * (length + preroll), COMPLETE_SECONDS * sample_rate):
        return [Window(0, 0, (frames // hop) * hop)]
    stratum = frames / SEGMENTS
    slack = stratum - (length + preroll)
    return [Window(int(i * stratum + preroll + (((i + 1) * _GOLDEN) % 1.0) * slack), preroll, length)
            for i in range(SEGMENTS)]


class _NativeReader:
    """Reads a source for the meter: an array in place, a file in its stored sample format (int16 for
    16-bit PCM: no float conversion, the meter applies the scale to the energies)."""

    def __init__(self, source: Reader, compiled: bool) -> None:
        self._source = source
        self._array = isinstance(source, ArraySource)
        scale = 1.0 if self._array else source.native_scale  # type: ignore[attr-defined]
        self.meter = KMeter(source.sample_rate, source.channels, compiled, scale=scale)
        self._buffer = None if self._array else np.empty((_READ_BLOCK, source.channels),
                                                         dtype=source.native_dtype)  # type: ignore[attr-defined]

    def feed(self, start: int, count: int, skip: int = 0) -> None:
        """Frames [start, start + count) to the meter, the first `skip` of them only settling its filter."""
        if self._array:
            self.meter.feed(self._source.audio[start:start + count], skip)  # type: ignore[attr-defined]
            return
        for offset in range(0, count, _READ_BLOCK):
            block = self._source.read_native(start + offset, min(_READ_BLOCK, count - offset),  # type: ignore[attr-defined]
                                             self._buffer)
            self.meter.feed(block, max(skip - offset, 0))


def measure_source(source: Reader, compiled: bool = True) -> SourceLoudness:
    """The quick input loudness: the stretches `loudness_segments` picks (all of a short source)."""
    segments = loudness_segments(source.frames, source.sample_rate)
    reader = _NativeReader(source, compiled)
    subblocks = []
    for window in segments:
        reader.meter.reset()
        reader.feed(window.start - window.preroll, window.preroll + window.length, window.preroll)
        subblocks.append(reader.meter.subblocks())
    return _of(segments, subblocks)


class LoudnessScan:
    """The exact input loudness, measured `_READ_BLOCK` frames per `step()` (a stream spreads the steps
    over its chunks). A file is read through a handle of its own, opened at the first step, so a
    stream's file position is left alone; `close()` releases it."""

    def __init__(self, source: Reader, compiled: bool = True) -> None:
        self._source = source
        self._compiled = compiled
        self._own: Reader | None = None
        self._reader: _NativeReader | None = None
        self._result: SourceLoudness | None = None
        self.position = 0

    @property
    def steps_left(self) -> int:
        return -(-(self._source.frames - self.position) // _READ_BLOCK)

    def step(self) -> None:
        if self._reader is None:
            reopen = getattr(self._source, "reopen", None)
            self._own = reopen() if reopen is not None else self._source
            self._reader = _NativeReader(self._own, self._compiled)
        count = min(_READ_BLOCK, self._source.frames - self.position)
        self._reader.feed(self.position, count)
        self.position += count
        if not self.steps_left:
            self.close()

    def result(self) -> SourceLoudness:
        while self.steps_left:
            self.step()
        if self._result is None:
            hop = self._source.sample_rate // 10
            subblocks = self._reader.meter.subblocks() if self._reader is not None else np.zeros(0)
            self._result = _of([Window(0, 0, (self._source.frames // hop) * hop)], [subblocks])
        return self._result

    def close(self) -> None:
        if self._own is not None and self._own is not self._source:
            self._own.close()
        self._own = None


def measured_blocks(loudness: SourceLoudness, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """First frames and K-weighted energies of every measured 400 ms block (100 ms apart in a stretch)."""
    starts, energies = [], []
    for window, subblocks in zip(loudness.segments, loudness.subblocks):
        blocks = block_energies(subblocks, BLOCK_SUBBLOCKS)
        starts.append(window.start + hop * np.arange(blocks.shape[0]))
        energies.append(blocks)
    return np.concatenate(starts), np.concatenate(energies)


def energy_weighted_blocks(loudness: SourceLoudness, hop: int, count: int) -> list[tuple[int, float]]:
    """(first frame, K-weighted energy) of `count` measured 400 ms blocks that pass the BS.1770 gates, drawn
    with probability proportional to energy: systematic sampling along the cumulative energy, in track
    order."""
    start, energy = measured_blocks(loudness, hop)
    keep = gated_mask(energy)
    start, energy = start[keep], energy[keep]
    cumulative = np.cumsum(energy)
    targets = (np.arange(count) + 0.5) / count * cumulative[-1]
    picks = np.minimum(np.searchsorted(cumulative, targets, side="right"), energy.shape[0] - 1)
    return [(int(start[i]), float(energy[i])) for i in picks]


def level_anchors(loudness: SourceLoudness, hop: int, quantiles: Sequence[float]) -> list[tuple[int, float]]:
    """(first frame, energy) of the gated measured blocks at these quantiles of their levels (by count):
    blocks from the quiet end, which energy-weighted draws seldom reach."""
    start, energy = measured_blocks(loudness, hop)
    keep = gated_mask(energy)
    start, energy = start[keep], energy[keep]
    order = np.argsort(energy, kind="stable")
    picks = [order[min(int(q * (order.shape[0] - 1)), order.shape[0] - 1)] for q in quantiles]
    return [(int(start[i]), float(energy[i])) for i in picks]


def gated_mask(blocks: np.ndarray) -> np.ndarray:
    """Which 400 ms block energies pass the BS.1770 absolute and relative gates."""
    level = -0.691 + db(blocks)
    keep = level > ABSOLUTE_GATE_LUFS
    return keep & (level > lufs(float(blocks[keep].mean())) + RELATIVE_GATE_LU)


def db(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(values)
