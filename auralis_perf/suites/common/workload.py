"""Inputs of the memory and optimization scenarios: music-like audio, audio files, big WAVs, a library.

Audio comes from the shared test-audio helper (`suites.common.audio`: generated music-like signals, or the
user's own files when the run was given some), so a real file is usable wherever a generated signal is.
Files are written once per run folder and reused by the checks that need the same one.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import audio as suite_audio

SAMPLE_RATE = 44100
MB = 1024 * 1024


def music(ctx: SuiteContext, seconds: float, *, seed: int = 0) -> tuple[np.ndarray, int]:
    """(audio float32 shaped (frames, channels), sample_rate): music-like, or the user's audio.

    The array is shared with other checks (read-only): copy it before writing into it.
    """
    return suite_audio.test_audio(ctx, seconds, seed=seed)


def music_file(ctx: SuiteContext, seconds: float, *, seed: int = 0, fmt: str = "WAV",
               subtype: str = "PCM_16") -> Path:
    """A file of `seconds` of test audio (written once per run folder), or the user's first file."""
    return suite_audio.audio_file(ctx, seconds, seed=seed, fmt=fmt, subtype=subtype)


def long_wav(ctx: SuiteContext, target_bytes: int, *, subtype: str = "PCM_16") -> Path:
    """A WAV of about `target_bytes` of 44.1 kHz stereo (see `tiled_wav`), reused within the run folder."""
    bytes_per_frame = 2 * {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}[subtype]
    seconds = max(1, target_bytes // bytes_per_frame) / SAMPLE_RATE
    return tiled_wav(ctx, seconds, name=f"memopt-large-{target_bytes // MB}MB", subtype=subtype)


def tiled_wav(ctx: SuiteContext, seconds: float, *, name: str, block_seconds: float = 20.0,
              subtype: str = "PCM_16") -> Path:
    """A long WAV written block by block, never whole in memory: a rendered block of test audio repeated.

    Rendering music-like audio costs about as long as mastering it; for long memory scenarios, where the
    content matters less than its length, one block is rendered and written again and again, each time
    with a slowly changing gain so that the dynamics processing does not see one block over and over.
    """
    folder = ctx.workdir / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wav"
    if path.exists():
        return path
    block, sr = music(ctx, min(block_seconds, seconds), seed=7)
    total_frames = max(1, int(seconds * sr))
    tmp = path.with_suffix(".partial.wav")
    written = 0
    with sf.SoundFile(tmp, "w", samplerate=sr, channels=block.shape[1], format="WAV", subtype=subtype) as out:
        repeat = 0
        while written < total_frames:
            n = min(len(block), total_frames - written)
            gain = 0.6 + 0.4 * math.sin(repeat * 0.7)
            out.write(block[:n] * np.float32(gain))
            written += n
            repeat += 1
    tmp.replace(path)
    return path


def library_path(ctx: SuiteContext, n_tracks: int) -> Path:
    return ctx.workdir / "library" / f"memopt-{n_tracks}.db"


def open_library(ctx: SuiteContext, n_tracks: int, **options: Any) -> Any:
    """The engine's library with `n_tracks` synthetic tracks (built once per run folder), opened anew."""
    path = library_path(ctx, n_tracks)
    path.parent.mkdir(parents=True, exist_ok=True)
    lib = ctx.engine.open_library(path, **options)
    try:
        have = lib.counts()["tracks"]
        if have and have != n_tracks:  # a left-over of another size: start over
            lib.close()
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()
            lib = ctx.engine.open_library(path, **options)
            have = 0
        if not have:
            lib.populate(n_tracks, seed=0)
    except BaseException:
        lib.close()
        raise
    return lib


__all__ = ["MB", "SAMPLE_RATE", "long_wav", "music", "music_file", "open_library", "tiled_wav"]


def decode(ctx: SuiteContext, path: Path) -> tuple[np.ndarray, int]:
    """Read a whole file as the engine would (its own decoder when it has one, else soundfile)."""
    if ctx.engine.has("utilities") and ctx.engine.utilities is not None:
        return ctx.engine.utilities.decode(path)
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    return audio, sr


def warm_engine(ctx: SuiteContext) -> None:
    """Master a short clip once per run, so compilation and first-use costs stay out of memory figures."""
    if ctx.shared.get("memopt_warm"):
        return
    audio, sr = music(ctx, 2.0, seed=99)
    ctx.engine.master(audio, sr)
    ctx.shared["memopt_warm"] = True


def downsample_series(times: list[float], values: list[float], limit: int = 400) -> dict[str, list[float]]:
    """A time series thinned to at most `limit` points for a record's details, keeping each bucket's max."""
    n = len(values)
    if n <= limit:
        return {"t_s": list(times), "mb": list(values)}
    step = math.ceil(n / limit)
    t_out, v_out = [], []
    for start in range(0, n, step):
        bucket = values[start:start + step]
        peak = max(range(len(bucket)), key=bucket.__getitem__)
        t_out.append(times[start + peak])
        v_out.append(bucket[peak])
    return {"t_s": t_out, "mb": v_out}
