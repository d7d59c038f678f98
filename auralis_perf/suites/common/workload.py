"""Inputs of the memory and optimization scenarios: music-like audio, audio files, big WAVs, a library.

Audio comes from the shared test-audio helper (`suites.common.audio`: generated music-like signals, or the
user's own files when the run was given some), so a real file is usable wherever a generated signal is.
Files are written once per run folder and reused by the checks that need the same one.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import soundfile as sf

from auralis_perf.engines import NotSupported
from auralis_perf.engines.protocols.library import LibraryReader, MusicLibrary, QueryCache
from auralis_perf.library_tracks import generate_tracks
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


def open_library(ctx: SuiteContext, n_tracks: int, *, cache_entries: int | None = None,
                 cache_bytes: int | None = None) -> tuple[MusicLibrary, list[int]]:
    """The engine's library holding the harness's `n_tracks` generated tracks, and their ids in generation
    order. Built once per run folder (`MusicLibrary.bulk_import` of `library_tracks.generate_tracks`),
    opened anew on every call with the library protocol's cache bounds (`cache_entries`, and `cache_bytes`
    where the engine can bound bytes: NotSupported for it means entries only)."""
    path = library_path(ctx, n_tracks)
    ids_file = path.with_name(path.name + ".ids.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    lib = _open(ctx, path, cache_entries, cache_bytes)
    try:
        if ids_file.exists() and lib.repo.count_tracks() == n_tracks:
            return lib, [int(i) for i in json.loads(ids_file.read_text())]
        if lib.repo.count_tracks():  # a left-over of another size, or without its ids: start over
            lib.close()
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()
            lib = _open(ctx, path, cache_entries, cache_bytes)
        ids = [int(i) for i in lib.bulk_import(generate_tracks(n_tracks, seed=0))]
        ids_file.write_text(json.dumps(ids))
        return lib, ids
    except BaseException:
        lib.close()
        raise


def _open(ctx: SuiteContext, path: Path, cache_entries: int | None, cache_bytes: int | None) -> MusicLibrary:
    bounds = {k: v for k, v in (("cache_entries", cache_entries), ("cache_bytes", cache_bytes)) if v is not None}
    if "cache_bytes" in bounds:
        try:
            return ctx.engine.open_library(path, **bounds)
        except NotSupported:
            del bounds["cache_bytes"]  # an engine that bounds entries only
    return ctx.engine.open_library(path, **bounds)


def library_cache(lib: MusicLibrary, read: str) -> QueryCache:
    """The library's cache that serves the reader method `read` (e.g. "get_track"); NotSupported if none."""
    name = lib.caches.cache_for(read)
    if name is None:
        raise no_cache_serves(lib, read)
    return lib.caches[name]


def no_cache_serves(lib: MusicLibrary, read: str) -> NotSupported:
    """The `skip` for a check whose read no cache of the library serves, naming the reads that are cached."""
    served = [r for r in sorted(vars(LibraryReader)) if not r.startswith("_") and lib.caches.cache_for(r)]
    return NotSupported(f"no cache of the library serves {read}() (its caches serve: "
                        f"{', '.join(served) or 'nothing'})")


def library_file_bytes(lib: MusicLibrary) -> int | None:
    """Bytes of the library's SQLite file with its WAL and shared-memory companions (None without a path)."""
    path = lib.database().path
    if path is None:
        return None
    return sum(p.stat().st_size for p in (Path(str(path) + s) for s in ("", "-wal", "-shm")) if p.exists())


__all__ = ["MB", "SAMPLE_RATE", "library_cache", "library_file_bytes", "long_wav", "music", "music_file",
           "no_cache_serves", "open_library", "tiled_wav"]


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
