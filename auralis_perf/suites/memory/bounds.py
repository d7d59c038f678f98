"""MEM-09 beyond the library caches: the engine's audio cache and a stream's buffer pool, each pushed past
its bound, and the size it then holds against that bound.

- Audio cache: short distinct files, every cached kind of each, until twice its entry bound (the bounds
  come from the cache's own `stats()`: `max_entries`, `max_bytes`). Its size is its own entry and byte
  count, and beside them the Python allocations still alive once filled (tracemalloc), which counts what
  the cache really keeps whatever its bookkeeping says.
- Buffer pool: a stream consumed while the caller keeps every chunk, so a pool that keeps what it hands
  out must grow; the pool's bytes held after many kept chunks against after a few plus a few chunks'
  slack (`pool_stats()`'s `bytes_held`). A bounded pool stays flat; one that keeps every buffer grows
  with the chunks.

Each row says `of_bound` (held over bound; above 1 is a violation) or why it could not be measured.
"""
from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines import CACHE_KINDS, Capability
from auralis_perf.engines.support.encode import write_in_blocks
from auralis_perf.measure.memory import collect_garbage
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.workload import music

#: Each audio-cache file lasts this long (analyses of short files are cheap; entries are what is bounded).
CACHE_FILE_SECONDS = 0.25
#: At most this many entries are asked for (a bound above half of it is filled to the cap, and says so).
MAX_CACHE_ENTRIES_ASKED = 2400
POOL_CHUNK = 1024
POOL_FEW_CHUNKS = 40
POOL_MANY_CHUNKS = 240
POOL_SLACK_CHUNKS = 4


def audio_cache_row(ctx: SuiteContext, folder: Path) -> dict[str, Any]:
    """The engine's audio cache filled with twice its entry bound; its size against its bounds."""
    if not ctx.engine.has(Capability.AUDIO_CACHE):
        return {"cache": "audio_cache", "not_measured": f"engine {ctx.engine.name!r} has no audio cache"}
    files_dir, cache_dir = folder / "files", folder / "cache"
    files_dir.mkdir(parents=True, exist_ok=True)
    cache = ctx.engine.open_audio_cache(cache_dir)
    try:
        declared = dict(cache.stats())
        max_entries, max_bytes = declared.get("max_entries"), declared.get("max_bytes")
        if not max_entries and not max_bytes:
            return {"cache": "audio_cache", "not_measured": "the audio cache declares no bound "
                                                            "(stats() has no max_entries or max_bytes)"}
        wanted = min(2 * int(max_entries), MAX_CACHE_ENTRIES_ASKED) if max_entries else MAX_CACHE_ENTRIES_ASKED
        n_files = -(-wanted // len(CACHE_KINDS))
        piece, sr = music(ctx, n_files * CACHE_FILE_SECONDS, seed=9)
        frames = piece.shape[0] // n_files
        paths = [write_in_blocks(files_dir / f"cache-{i:04d}.wav", piece[i * frames:(i + 1) * frames], sr)
                 for i in range(n_files)]
        collect_garbage(trim=False)
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        try:
            traced_before, _ = tracemalloc.get_traced_memory()
            for path in paths:
                for kind in CACHE_KINDS:
                    cache.get(path, kind)
            collect_garbage(trim=False)
            traced_after, _ = tracemalloc.get_traced_memory()
        finally:
            if not was_tracing:
                tracemalloc.stop()
        stats = dict(cache.stats())
    finally:
        cache.close()
    held = max(0, traced_after - traced_before)
    entries = stats.get("entries")
    ratios = []
    if max_entries and entries is not None:
        ratios.append(entries / max_entries)
    if max_bytes:
        ratios.append(max(stats.get("bytes", 0), held) / max_bytes)
    return {"cache": "audio_cache", "entries": entries, "max_entries": max_entries,
            "bytes_reported": stats.get("bytes"), "bytes_measured": held, "max_bytes": max_bytes,
            "evictions": stats.get("evictions", 0), "entries_asked": n_files * len(CACHE_KINDS),
            "files": n_files, "of_bound": max(ratios) if ratios else None,
            "bytes_measured_is": "Python allocations alive after the fill, cache open (tracemalloc)"}


def buffer_pool_row(ctx: SuiteContext) -> dict[str, Any]:
    """A stream consumed while every chunk is kept: the pool's bytes held after many chunks over after few."""
    if not ctx.engine.has(Capability.BUFFER_POOL):
        return {"cache": "buffer_pool", "not_measured": f"engine {ctx.engine.name!r} has no buffer pool"}
    audio, sr = music(ctx, (POOL_MANY_CHUNKS + 4) * POOL_CHUNK / 44100, seed=8)
    kept: list[np.ndarray] = []
    few: dict[str, int] = {}
    with ctx.engine.stream(audio, sample_rate=sr, chunk_size=POOL_CHUNK) as stream:
        for chunk in stream:
            kept.append(chunk)  # the caller keeps every chunk: the pool cannot reuse what it handed out
            if len(kept) == POOL_FEW_CHUNKS:
                few = dict(stream.pool_stats())
            if len(kept) == POOL_MANY_CHUNKS:
                break
        many = dict(stream.pool_stats())
    if "bytes_held" not in many or not few:
        return {"cache": "buffer_pool", "not_measured": "pool_stats() has no bytes_held figure"
                if "bytes_held" not in many else f"the stream gave fewer than {POOL_FEW_CHUNKS} chunks"}
    chunk_bytes = POOL_CHUNK * audio.shape[1] * 8  # float64 chunks: the larger of the usual dtypes
    # a few buffers of slack (scratch made later in the stream); a pool keeping every chunk adds 200
    bound = few["bytes_held"] + POOL_SLACK_CHUNKS * chunk_bytes
    return {"cache": "buffer_pool", "bytes_held_after_few": few["bytes_held"],
            "bytes_held_after_many": many["bytes_held"], "chunks_few": POOL_FEW_CHUNKS,
            "chunks_many": len(kept), "allocations": many.get("allocations"), "reuses": many.get("reuses"),
            "max_bytes": bound, "bytes_reported": many["bytes_held"], "of_bound": many["bytes_held"] / bound,
            "bound_is": f"what the pool held after {POOL_FEW_CHUNKS} kept chunks plus {POOL_SLACK_CHUNKS} chunks' "
                        f"bytes: a bounded pool holds no more after {POOL_MANY_CHUNKS} kept chunks, one that "
                        "keeps every buffer holds one more per chunk"}


__all__ = ["audio_cache_row", "buffer_pool_row"]
