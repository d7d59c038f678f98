"""The mastering chain built from pedalboard plugins, with the reference engine's presets.

Per preset: a high-pass, a low shelf, eight peaking filters and a high shelf (the reference's EQ curve,
band for band), a compressor whose threshold sits relative to the track's loudness (as the reference's
does), the loudness gain, and pedalboard's look-ahead `BrickwallLimiter` at the preset's ceiling.

The chain runs in two pedalboard boards with the gain between them (in NumPy), so that the loudness gain
can be decided after measuring what EQ and compressor did. Differences from the reference, which pedalboard imposes: its high-pass is first
order (the reference's is a second-order biquad) and its compressor has a hard knee.
"""
from __future__ import annotations

import numpy as np
import pedalboard

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.support.presets import PRESETS, Preset

__all__ = ["PRESETS", "PeerChain", "db_to_gain", "get_preset", "limiter_board", "pre_board"]


def get_preset(name: str) -> Preset:
    """The preset called `name`, or AudioInputError listing the known ones."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise AudioInputError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _eq_plugin(kind: str, freq: float, gain_db: float, q: float, sample_rate: int) -> pedalboard.Plugin:
    freq = min(freq, 0.45 * sample_rate)  # keep every band below Nyquist at low sample rates
    if kind == "highpass":
        return pedalboard.HighpassFilter(cutoff_frequency_hz=freq)
    if kind == "lowshelf":
        return pedalboard.LowShelfFilter(cutoff_frequency_hz=freq, gain_db=gain_db, q=q)
    if kind == "highshelf":
        return pedalboard.HighShelfFilter(cutoff_frequency_hz=freq, gain_db=gain_db, q=q)
    if kind == "peak":
        return pedalboard.PeakFilter(cutoff_frequency_hz=freq, gain_db=gain_db, q=q)
    raise ValueError(f"unknown EQ band kind {kind!r}")


def compressor_threshold(preset: Preset, input_lufs: float) -> float:
    """The threshold in dBFS: the preset's offset above the track's integrated loudness."""
    return input_lufs + preset.compressor.threshold_db


def pre_board(preset: Preset, sample_rate: int, input_lufs: float) -> pedalboard.Pedalboard:
    """EQ and compressor of `preset` for a track at `input_lufs`."""
    comp = preset.compressor
    plugins = [_eq_plugin(b.kind, b.freq, b.gain_db, b.q, sample_rate) for b in preset.bands]
    plugins.append(pedalboard.Compressor(threshold_db=compressor_threshold(preset, input_lufs), ratio=comp.ratio,
                                         attack_ms=comp.attack_ms, release_ms=comp.release_ms))
    return pedalboard.Pedalboard(plugins)


def limiter_board(preset: Preset) -> pedalboard.Pedalboard:
    lim = preset.limiter
    return pedalboard.Pedalboard([pedalboard.BrickwallLimiter(ceiling_db=lim.ceiling_db, release_ms=lim.release_ms,
                                                              lookahead_ms=lim.lookahead_ms)])


class PeerChain:
    """One stateful chain for a stream: `process(planar)` takes and returns (channels, frames) float32.

    The first `latency` output frames are held back by the limiter's look-ahead; pedalboard releases them
    once more input (or zeros, at the end) arrives. Feed the largest block first: pedalboard re-prepares
    its plugins when a block is larger than every earlier one, which empties the limiter's delay line.
    """

    def __init__(self, preset: Preset, sample_rate: int, input_lufs: float, gain_db: float) -> None:
        self.sample_rate = sample_rate
        self._pre = pre_board(preset, sample_rate, input_lufs)
        self._limiter = limiter_board(preset)
        self._gain = np.float32(db_to_gain(gain_db))

    def process(self, planar: np.ndarray) -> np.ndarray:
        out = self._pre.process(planar, self.sample_rate, reset=False)
        out *= self._gain
        return self._limiter.process(out, self.sample_rate, reset=False)
