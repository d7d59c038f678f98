"""The calls whose instructions are counted, each built through the engine protocols in a fresh process.

Every function here is a workload factory (see `measure.instructions`): it takes JSON-able arguments,
does the set-up (engine, clip, cache) outside the count and returns the zero-argument call to count.
The engine is named by `engine_spec` (a registered name or package.module:Factory).
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auralis_perf.engines.base import Engine
from auralis_perf.signals import music, write_music
from auralis_perf.suites.common.engine_spec import engine_from_spec

#: A short clip keeps the counted child quick under Valgrind (~50x slower than native).
CLIP_SECONDS = 0.5
SAMPLE_RATE = 44100
CHUNK = 4096


def _clip(seconds: float = CLIP_SECONDS):
    return music(seconds, SAMPLE_RATE, dtype="float64")


def master_call(engine: str, preset: str, seconds: float = CLIP_SECONDS) -> Callable[[], Any]:
    """`master()` of a short clip with one preset."""
    built: Engine = engine_from_spec(engine)
    audio = _clip(seconds)
    return lambda: built.master(audio, SAMPLE_RATE, preset)


def stream_chunk_call(engine: str, preset: str = "default") -> Callable[[], Any]:
    """One chunk of a stream: each call takes the next chunk of a source long enough for every call."""
    built: Engine = engine_from_spec(engine)
    source = _clip(CHUNK * 64 / SAMPLE_RATE)  # 64 chunks: warm-up plus 3 x reps, with room to spare
    chunks = iter(built.stream(source, sample_rate=SAMPLE_RATE, chunk_size=CHUNK, preset=preset))
    return lambda: next(chunks)


def kernel_call(engine: str, kernel: str, side: str) -> Callable[[], Any]:
    """The fast or plain side of one of the engine's kernel pairs, on the short clip."""
    if side not in ("fast", "plain"):
        raise ValueError(f"kernel side must be 'fast' or 'plain', got {side!r}")
    pair = engine_from_spec(engine).kernels()[kernel]
    prepared = pair.make_input(_clip(), SAMPLE_RATE)
    function = pair.fast if side == "fast" else pair.plain
    return lambda: function(prepared)


def analysis_call(engine: str, kind: str = "spectrum") -> Callable[[], Any]:
    """One analysis (`spectrum` by default) of the short clip."""
    built: Engine = engine_from_spec(engine)
    audio = _clip()
    return lambda: built.analyze(audio, SAMPLE_RATE, kind)


def audio_cache_hit_call(engine: str, kind: str = "spectrum") -> Callable[[], Any]:
    """A hit of the engine's audio cache: the file's analysis was computed once during set-up."""
    built: Engine = engine_from_spec(engine)
    folder = Path(tempfile.mkdtemp(prefix="auralis-perf-counts-"))  # the child process is thrown away
    path = write_music(folder / "clip.wav", CLIP_SECONDS, SAMPLE_RATE)
    cache = built.open_audio_cache(folder / "cache")
    cache.get(path, kind)  # the miss
    return lambda: cache.get(path, kind)
