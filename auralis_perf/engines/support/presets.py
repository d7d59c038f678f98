"""The mastering presets: EQ curve, compressor, limiter and loudness target of each.

They are targets that engines share: the reference chain builds them from its own biquads and kernels,
the pedalboard peer from pedalboard's plugins. So they live here, described as plain settings (`Band`
says what an EQ band is, not how to filter it), and no engine imports another engine to read them.

The settings are deliberately gentle, as a mastering engineer would use them: EQ moves of a dB or two
with broad Q, a 1.5:1 to 3:1 compressor with a soft knee whose threshold sits relative to the track's own
loudness (so a quiet and a loud mix get the same treatment), a look-ahead limiter 1 dB under full scale,
and a streaming-style loudness target.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """One EQ band: `kind` is "peak", "lowshelf", "highshelf" or "highpass"."""

    kind: str
    freq: float
    gain_db: float = 0.0
    q: float = 0.7071067811865476


@dataclass(frozen=True)
class Compressor:
    #: Threshold in dB relative to the track's integrated loudness (the peak envelope sits ~5-12 dB above).
    threshold_db: float
    ratio: float
    knee_db: float
    attack_ms: float
    release_ms: float


@dataclass(frozen=True)
class Limiter:
    ceiling_db: float = -1.0
    lookahead_ms: float = 5.0
    release_ms: float = 60.0


@dataclass(frozen=True)
class Preset:
    name: str
    bands: tuple[Band, ...]
    compressor: Compressor
    limiter: Limiter
    target_lufs: float


def _bands(low_shelf: float, b200: float, b400: float, b800: float, b1600: float, b3000: float,
           b5000: float, b7500: float, b10k: float, high_shelf: float) -> tuple[Band, ...]:
    """A subsonic high-pass plus ten musical bands (two shelves, eight peaks) with the given gains."""
    return (
        Band("highpass", 20.0, 0.0, 0.7071),
        Band("lowshelf", 90.0, low_shelf, 0.7071),
        Band("peak", 200.0, b200, 1.0),
        Band("peak", 400.0, b400, 1.2),
        Band("peak", 800.0, b800, 1.4),
        Band("peak", 1600.0, b1600, 1.2),
        Band("peak", 3000.0, b3000, 1.0),
        Band("peak", 5000.0, b5000, 2.0),
        Band("peak", 7500.0, b7500, 3.0),
        Band("peak", 10000.0, b10k, 0.9),
        Band("highshelf", 12000.0, high_shelf, 0.7071),
    )


PRESETS: dict[str, Preset] = {
    "default": Preset(
        "default", _bands(1.0, -0.8, -0.6, -0.3, 0.4, 0.6, -0.5, -0.4, 0.6, 1.2),
        Compressor(threshold_db=8.0, ratio=2.0, knee_db=6.0, attack_ms=20.0, release_ms=150.0),
        Limiter(), target_lufs=-14.0),
    "gentle": Preset(
        "gentle", _bands(0.5, -0.4, -0.3, -0.2, 0.2, 0.3, -0.3, -0.2, 0.3, 0.6),
        Compressor(threshold_db=10.0, ratio=1.5, knee_db=8.0, attack_ms=30.0, release_ms=250.0),
        Limiter(release_ms=100.0), target_lufs=-16.0),
    "warm": Preset(
        "warm", _bands(2.0, 0.8, -0.4, -0.3, -0.2, -0.6, -1.0, -0.8, -0.8, -1.5),
        Compressor(threshold_db=8.0, ratio=2.5, knee_db=6.0, attack_ms=25.0, release_ms=200.0),
        Limiter(), target_lufs=-14.0),
    "bright": Preset(
        "bright", _bands(-0.5, -1.0, -0.8, -0.2, 0.5, 1.0, 0.6, -0.3, 1.5, 2.5),
        Compressor(threshold_db=8.0, ratio=2.0, knee_db=6.0, attack_ms=15.0, release_ms=120.0),
        Limiter(), target_lufs=-14.0),
    "punchy": Preset(
        "punchy", _bands(1.5, -1.2, -0.8, 0.3, 0.8, 1.0, -0.3, -0.5, 0.5, 1.0),
        Compressor(threshold_db=6.0, ratio=3.0, knee_db=4.0, attack_ms=30.0, release_ms=100.0),
        Limiter(release_ms=50.0), target_lufs=-13.0),
}
