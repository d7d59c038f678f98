"""Test audio for every suite: music-like signals from `auralis_perf.signals`, or the user's own files.

    audio, sr = test_audio(ctx, 60.0)        # (frames, channels) float32 of 60 s
    path = audio_file(ctx, 30.0)             # a file to stream or play

When the run was given audio files (`ctx.audio_files`), those are used wherever a generated signal would
be: decoded with soundfile, joined in order and looped or cut to the length asked for, so a 10 s check and
a 600 s check both run on real music. `audio_file` then hands out the user's first file itself (its own
length), because decoding the real format is part of what file-based checks measure.

Everything is cached per run (`ctx.shared`, files under `ctx.workdir/audio`): several checks ask for the
same lengths.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from auralis_perf.engines import AudioFileError
from auralis_perf.engines.support.encode import write_in_blocks
from auralis_perf.suites import SuiteContext

DEFAULT_SAMPLE_RATE = 44100
DEFAULT_CHANNELS = 2
_CACHE_KEY = "_audio_cache"


def uses_user_audio(ctx: SuiteContext) -> bool:
    return bool(ctx.audio_files)


def test_audio(ctx: SuiteContext, seconds: float, *, seed: int = 0,
               sample_rate: int = DEFAULT_SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """(audio float32 shaped (frames, channels), sample_rate) lasting `seconds`.

    Generated music-like stereo at `sample_rate`, or the user's audio at its own rate (then `seed` picks
    where in the user's material the excerpt starts, so different seeds give different excerpts).
    The returned array is shared between callers: copy it before writing into it.
    """
    if not seconds > 0:
        raise ValueError(f"test audio needs a positive length, got {seconds!r} s")
    cache: dict[Any, tuple[np.ndarray, int]] = ctx.shared.setdefault(_CACHE_KEY, {})
    key = ("audio", float(seconds), seed, sample_rate, tuple(map(str, ctx.audio_files)))
    if key not in cache:
        if uses_user_audio(ctx):
            cache[key] = _excerpt(_user_material(ctx), seconds, seed)
        else:
            cache[key] = (_generated_prefix(ctx, seconds, sample_rate, seed), sample_rate)
        cache[key][0].flags.writeable = False
    return cache[key]


def audio_file(ctx: SuiteContext, seconds: float, *, seed: int = 0, fmt: str = "WAV",
               subtype: str = "PCM_16") -> Path:
    """A file to stream or play: the user's first file, or a generated one of `seconds` (written once)."""
    if uses_user_audio(ctx):
        return Path(ctx.audio_files[0])
    folder = ctx.workdir / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    extension = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg"}.get(fmt.upper())
    if extension is None:
        raise ValueError(f"unsupported test file format {fmt!r}; choose WAV, FLAC or OGG")
    path = folder / f"test-{seconds:g}s-seed{seed}-{subtype.lower()}.{extension}"
    if not path.exists():
        audio, sr = test_audio(ctx, seconds, seed=seed)
        partial = path.with_name(path.stem + ".partial." + extension)  # a killed run leaves no half file
        write_in_blocks(partial, audio, sr, format=fmt.upper(), subtype=subtype)  # Ogg in one call can crash
        partial.replace(path)
    return path


def file_seconds(path: str | Path) -> float:
    """Duration of an audio file, from its header (an unreadable file: AudioFileError naming it)."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError) as exc:  # LibsndfileError is a SoundFileError
        raise AudioFileError(f"{path}: cannot read the audio file's header: {exc}") from exc
    return info.frames / info.samplerate


def describe_source(ctx: SuiteContext) -> dict[str, Any]:
    """What the test audio is, for a record's details."""
    if uses_user_audio(ctx):
        return {"audio_source": "user files", "audio_files": [Path(p).name for p in ctx.audio_files]}
    return {"audio_source": "generated music-like signal (auralis_perf.signals)"}


def _generated_prefix(ctx: SuiteContext, seconds: float, sample_rate: int, seed: int) -> np.ndarray:
    """The first `seconds` of the seed's piece. Shorter requests are prefixes of longer ones, so each
    seed's piece is rendered once, extended when a longer length is asked for (rendering is slow)."""
    from auralis_perf import signals  # imported late: only generated audio needs it

    pieces: dict[tuple[int, int], np.ndarray] = ctx.shared.setdefault(_CACHE_KEY, {}).setdefault("pieces", {})
    frames = max(1, round(seconds * sample_rate))
    have = pieces.get((seed, sample_rate))
    if have is None:
        have = _saved_piece(ctx, seed, sample_rate)
    if have.shape[0] < frames:
        extension = signals.music((frames - have.shape[0]) / sample_rate, sample_rate, channels=DEFAULT_CHANNELS,
                                  seed=seed, offset=have.shape[0] / sample_rate)
        have = np.concatenate([have, np.asarray(extension, dtype=np.float32)])
        _save_piece(ctx, seed, sample_rate, have)
    have.flags.writeable = False
    pieces[(seed, sample_rate)] = have
    return have[:frames]


def _piece_path(ctx: SuiteContext, seed: int, sample_rate: int) -> Path:
    return Path(ctx.workdir) / "audio" / f"piece-seed{seed}-{sample_rate}.npy"


def _saved_piece(ctx: SuiteContext, seed: int, sample_rate: int) -> np.ndarray:
    """The seed's piece as far as an earlier process of this run rendered it (a round measured in a fresh
    process, say: rendering 120 s takes seconds, reading it back milliseconds), else an empty one."""
    try:
        piece = np.load(_piece_path(ctx, seed, sample_rate))
        if piece.dtype == np.float32 and piece.ndim == 2 and piece.shape[1] == DEFAULT_CHANNELS:
            return piece
    except (OSError, ValueError):
        pass  # none yet, or unreadable: render it
    return np.empty((0, DEFAULT_CHANNELS), dtype=np.float32)


def _save_piece(ctx: SuiteContext, seed: int, sample_rate: int, piece: np.ndarray) -> None:
    path = _piece_path(ctx, seed, sample_rate)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, piece)
        os.replace(partial, path)  # whole or not at all, for a process reading it meanwhile
    except OSError:
        pass  # a read-only or full scratch folder only costs the next process a render


def _user_material(ctx: SuiteContext) -> tuple[np.ndarray, int]:
    """All the user's files decoded and joined (files at another rate than the first are left out)."""
    cache = ctx.shared.setdefault(_CACHE_KEY, {})
    key = ("material", tuple(map(str, ctx.audio_files)))
    if key in cache:
        return cache[key]
    parts: list[np.ndarray] = []
    rate: int | None = None
    channels: int | None = None
    for path in ctx.audio_files:
        try:
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError, OSError) as exc:
            raise ValueError(f"{path}: cannot decode the audio file given with --audio: {exc}") from exc
        if data.shape[0] == 0:
            raise ValueError(f"{path}: the audio file given with --audio holds no samples")
        if data.shape[1] > 2:
            raise ValueError(f"{path}: {data.shape[1]} channels; the checks take mono or stereo files")
        rate = rate or sr
        channels = channels or data.shape[1]
        if sr != rate:
            continue
        if data.shape[1] != channels:  # mixed mono and stereo: bring all to the first file's layout
            data = np.repeat(data, 2, axis=1) if channels == 2 else data.mean(axis=1, keepdims=True)
        parts.append(data)
    assert rate is not None
    cache[key] = (np.concatenate(parts), rate)
    return cache[key]


def _excerpt(material: tuple[np.ndarray, int], seconds: float, seed: int) -> tuple[np.ndarray, int]:
    """`seconds` of the material starting at a seed-dependent offset, looping when it is shorter."""
    data, sr = material
    frames = max(1, round(seconds * sr))
    start = (seed * 7919 * sr) % data.shape[0]  # seed 0 starts at the beginning
    index = (start + np.arange(frames)) % data.shape[0]
    return np.ascontiguousarray(data[index]), sr


test_audio.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, whatever its name

__all__ = ["DEFAULT_SAMPLE_RATE", "audio_file", "describe_source", "file_seconds", "test_audio",
           "uses_user_audio"]
