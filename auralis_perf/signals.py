"""Deterministic, music-like test audio: chords with harmonics, bass, drums, sections, a stereo image.

Not white noise and not a sine: each 2-second bar (120 BPM, 4/4) holds a chord of additive-synthesis
notes (harmonics with a 1/k^1.5 roll-off, panned across the stereo field, the pad widened by a short
inter-channel delay), a bass line, and drums with sharp transients (a pitch-swept kick with a click,
a noisy snare, high-passed hi-hats). Sections of four bars cycle quiet -> loud -> medium -> loud, so
the signal has the dynamics a mastering chain must handle (a loudness range of several LU).

Every bar is rendered from `(seed, bar index)` alone, so any stretch of any length is reproducible and a
long file is written bar by bar with bounded memory. Engine-independent: the suites use it for any engine.
"""
from __future__ import annotations

import math
import os
from os import PathLike
from typing import Any

import numpy as np
import soundfile as sf

BAR_SECONDS = 2.0
BEATS_PER_BAR = 4
BARS_PER_SECTION = 4
#: Section gains in dB, cycled: quiet intro, loud chorus, medium verse, loud chorus.
SECTION_GAINS_DB = (-12.0, 0.0, -5.0, 0.0)
#: Chord progression as semitone offsets of (root, third, fifth) from the key's tonic: I V vi IV.
PROGRESSION = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))
_OVERALL_GAIN = 0.88


def _pan(signal: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan, position -1 (left) .. +1 (right): returns (frames, 2)."""
    angle = (position + 1.0) * math.pi / 4.0
    return np.stack([signal * math.cos(angle), signal * math.sin(angle)], axis=1)


def _additive(freq: float, t: np.ndarray, harmonics: int, sample_rate: int, tilt: float) -> np.ndarray:
    """Sum of harmonics k*freq (below Nyquist) with amplitude 1/k^tilt."""
    out = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if k * freq >= 0.45 * sample_rate:
            break
        out += np.sin(2.0 * math.pi * k * freq * t) / k ** tilt
    return out


def _envelope(n: int, sample_rate: int, attack: float, release: float) -> np.ndarray:
    """Linear attack, flat sustain, linear release reaching zero at the end of the n frames."""
    env = np.ones(n)
    a, r = min(n, int(attack * sample_rate)), min(n, int(release * sample_rate))
    if a:
        env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    if r:
        env[n - r:] *= np.linspace(1.0, 0.0, r)
    return env


def _add_hit(bar: np.ndarray, start: int, hit: np.ndarray) -> None:
    stop = min(bar.shape[0], start + hit.shape[0])
    if stop > start:
        bar[start:stop] += hit[:stop - start]


def _kick(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    phase = 2.0 * math.pi * (48.0 * t + 110.0 * 0.03 * (1.0 - np.exp(-t / 0.03)))
    body = np.sin(phase) * np.exp(-t / 0.12)
    click = rng.standard_normal(t.shape[0]) * np.exp(-t / 0.002) * 0.5
    return body + click


def _snare(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    noise = rng.standard_normal(t.shape[0]) * np.exp(-t / 0.06)
    tone = np.sin(2.0 * math.pi * 190.0 * t) * np.exp(-t / 0.04)
    return 0.45 * noise + 0.6 * tone


def _hat(sample_rate: int, rng: np.random.Generator, length: float) -> np.ndarray:
    t = np.arange(int(length * sample_rate)) / sample_rate
    noise = rng.standard_normal(t.shape[0] + 1)
    return np.diff(noise) * 0.5 * np.exp(-t / 0.015)


def render_bar(index: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Bar `index` as float64 stereo (2 * sample_rate frames, 2)."""
    rng = np.random.default_rng([seed, index])
    n = int(round(BAR_SECONDS * sample_rate))
    beat = n // BEATS_PER_BAR
    t = np.arange(n) / sample_rate
    section = (index // BARS_PER_SECTION) % len(SECTION_GAINS_DB)
    level = 10.0 ** (SECTION_GAINS_DB[section] / 20.0)
    loud = SECTION_GAINS_DB[section] >= -6.0
    tonic = 220.0 * 2.0 ** ((seed % 12) / 12.0 - 1.0)  # key: A3 shifted by the seed, an octave down
    chord = PROGRESSION[index % len(PROGRESSION)]
    out = np.zeros((n, 2))

    # Pad: the chord's notes (one inverted up an octave at random), panned apart, a 7 ms Haas widening.
    pad = np.zeros((n, 2))
    positions = (-0.6, 0.1, 0.6)
    for note, position in zip(chord, positions):
        octave = 2.0 if rng.random() < 0.3 else 1.0
        freq = tonic * 2.0 * octave * 2.0 ** (note / 12.0)
        tone = _additive(freq, t, 8, sample_rate, 1.5) * _envelope(n, sample_rate, 0.08, 0.25)
        pad += _pan(tone, position) * (0.08 * (0.9 + 0.2 * rng.random()))
    haas = int(0.007 * sample_rate)
    pad[haas:, 1] = pad[:-haas, 1].copy() if haas else pad[:, 1]
    out += pad

    # Bass: the chord root, one note per beat with a plucked decay.
    root = tonic * 0.5 * 2.0 ** (chord[0] / 12.0)
    for b in range(BEATS_PER_BAR):
        tb = t[:beat]
        note = _additive(root * (2.0 if (b == 3 and rng.random() < 0.4) else 1.0), tb, 5, sample_rate, 1.0)
        note *= np.exp(-tb / 0.35) * _envelope(beat, sample_rate, 0.004, 0.02)
        _add_hit(out, b * beat, _pan(note, 0.0) * 0.22 * (0.85 + 0.3 * rng.random()))

    # Drums: hats every eighth (quiet sections too), kick and snare in the medium and loud sections.
    eighth = beat // 2
    for e in range(BEATS_PER_BAR * 2):
        accent = 1.0 if e % 2 == 0 else 0.6
        length = 0.18 if (e == 7 and rng.random() < 0.5) else 0.06
        _add_hit(out, e * eighth, _pan(_hat(sample_rate, rng, length), 0.45) * 0.12 * accent)
    if section != 0:
        kicks = (0, 2, 2.5) if loud else (0, 2)
        for position in kicks:
            _add_hit(out, int(position * beat), _pan(_kick(sample_rate, rng), 0.0) * 0.42)
        for position in (1, 3):
            _add_hit(out, position * beat, _pan(_snare(sample_rate, rng), -0.1) * 0.3)
    return out * (level * _OVERALL_GAIN)


def music(duration: float, sample_rate: int = 44100, *, channels: int = 2, seed: int = 0,
          dtype: np.dtype | type = np.float32, offset: float = 0.0) -> np.ndarray:
    """`duration` seconds of music-like audio shaped (frames, channels), starting `offset` s into the piece."""
    if duration < 0 or offset < 0:
        raise ValueError(f"duration and offset must be >= 0, got {duration} and {offset}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    first = int(round(offset * sample_rate))
    frames = int(round(duration * sample_rate))
    out = np.empty((frames, channels), dtype=dtype)
    bar_frames = int(round(BAR_SECONDS * sample_rate))
    done = 0
    while done < frames:
        position = first + done
        bar_index, within = divmod(position, bar_frames)
        bar = render_bar(bar_index, sample_rate, seed)[within:]
        n = min(bar.shape[0], frames - done)
        out[done:done + n] = bar[:n] if channels == 2 else bar[:n].mean(axis=1, keepdims=True)
        done += n
    return out


def write_music(path: str | PathLike[str], duration: float, sample_rate: int = 44100, *, channels: int = 2,
                seed: int = 0, format: str | None = None, subtype: str | None = None) -> str:
    """Write `duration` seconds of `music(...)` to `path` bar by bar (bounded memory); returns the path.

    The format follows the extension (.wav, .flac, .ogg) unless given; WAV defaults to 32-bit float.
    """
    path = os.fspath(path)
    if format is None:
        format = {"ogg": "OGG", "flac": "FLAC"}.get(path.rsplit(".", 1)[-1].lower(), "WAV")
    if subtype is None:
        subtype = {"WAV": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS"}.get(format.upper())
    bar_frames = int(round(BAR_SECONDS * sample_rate))
    frames = int(round(duration * sample_rate))
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=channels, format=format,
                      subtype=subtype) as handle:
        for start in range(0, frames, bar_frames):
            n = min(bar_frames, frames - start)
            handle.write(music(n / sample_rate, sample_rate, channels=channels, seed=seed,
                               offset=start / sample_rate))
    return path


def kernel_input(pair: Any, n_frames: int, sample_rate: int) -> Any:
    """The input of an engine's kernel pair: `n_frames` of music-like float64 stereo audio, which the pair
    turns into its kernels' arguments with `make_input(audio, sample_rate)`. The harness makes the audio,
    so no engine needs this module."""
    return pair.make_input(music(n_frames / sample_rate, sample_rate, dtype=np.float64), sample_rate)
