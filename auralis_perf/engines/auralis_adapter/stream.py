"""Chunk-by-chunk mastering through `HybridProcessor.process_realtime_chunk`.

Each stream gets its own processor, so the real-time EQ's and dynamics' state carries across its chunks
and never leaks into another stream. Auralis's real-time processor returns the chunk unprocessed when
something inside it fails (it swallows the exception); the adapter notices (the very object it passed in
comes back) and raises, rather than timing a pass-through.

Buffer pool: each chunk's input buffer (the float64 stereo array handed to Auralis) comes from an Auralis
`MemoryPool` (`auralis.optimization.memory.memory_pool`) and goes back to it after the chunk, which is
what its `PerformanceOptimizer.get_audio_buffer`/`return_audio_buffer` do. At 087974e2 nothing in Auralis's
own pipeline asks its pool for buffers, so these figures describe the pool serving the stream's input
buffers. MemoryPool counts no reuses; the adapter tells them from its public `get_stats()`: a request that
raised `active_buffers` without raising `total_allocated_mb` was served by a held buffer.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import EngineError, NotSupported
from auralis_perf.engines.support.chunked_stream import ChunkedStream
from auralis_perf.engines.support.sources import ArraySource, FileSource


def to_auralis(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> what Auralis processes: float64 stereo (mono is doubled)."""
    stereo = block if block.shape[1] == 2 else np.repeat(block, 2, axis=1)
    return np.array(stereo, dtype=np.float64, order="C", copy=True)


def from_auralis(out: Any, sent: np.ndarray, channels: int, dtype: np.dtype, what: str) -> np.ndarray:
    """Auralis's result back in the caller's layout, or EngineError saying what came back instead."""
    if not isinstance(out, np.ndarray) or out.shape != sent.shape:
        got = f"shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise EngineError(f"Auralis {what} returned {got} for input shaped {sent.shape}")
    if not np.isfinite(out).all():
        raise EngineError(f"Auralis {what} returned NaN or Inf samples")
    if channels == 1:
        out = out.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(out, dtype=dtype)


class PoolCounter:
    """An Auralis MemoryPool and its allocation/reuse counts (read from its public stats around each request)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.allocations = 0
        self.reuses = 0

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        before = self.pool.get_stats()
        buffer = self.pool.get_buffer(shape, np.float64)
        after = self.pool.get_stats()
        reused = (after["active_buffers"] > before["active_buffers"]
                  and after["total_allocated_mb"] == before["total_allocated_mb"])
        if reused:
            self.reuses += 1
        else:
            self.allocations += 1
        return buffer

    def give_back(self, buffer: np.ndarray) -> None:
        self.pool.return_buffer(buffer)

    def stats(self) -> dict[str, int]:
        return {"allocations": self.allocations, "reuses": self.reuses}


class AuralisStream(ChunkedStream):
    """Iterate to get processed chunks (frames, channels) in the source's dtype (float32 for files)."""

    def __init__(self, source: ArraySource | FileSource, processor: Any, *, chunk_size: int,
                 squeeze: bool = False, on_chunk: Callable[[float], None] | None = None,
                 pool: PoolCounter | None = None) -> None:
        super().__init__(source, chunk_size=chunk_size, squeeze=squeeze)
        self._processor = processor
        self._on_chunk = on_chunk
        self._pool = pool

    def set_preset(self, preset: str) -> None:
        raise NotSupported("engine 'auralis' has no capability 'preset_switch': its real-time chunk path "
                           "(HybridProcessor.process_realtime_chunk) does not read the mastering preset; its "
                           "player's profile switch is measured through playback")

    def pool_stats(self) -> Mapping[str, int]:
        if self._pool is None:
            raise NotSupported("this Auralis has no MemoryPool (auralis.optimization.memory.memory_pool)")
        return self._pool.stats()

    def _input(self, block: np.ndarray) -> np.ndarray:
        """The chunk as Auralis takes it, in a pooled buffer when there is a pool."""
        if self._pool is None:
            return to_auralis(block)
        buffer = self._pool.take((block.shape[0], 2))
        buffer[:] = block if block.shape[1] == 2 else np.repeat(block, 2, axis=1)
        return buffer

    def _chunks(self) -> Iterator[np.ndarray]:
        position = 0
        while position < self.frames and not self._closed:
            count = min(self.chunk_size, self.frames - position)
            sent = self._input(self._source.read(position, count))
            started = time.perf_counter()
            with quiet():
                out = self._processor.process_realtime_chunk(sent)
            if self._on_chunk:
                self._on_chunk(time.perf_counter() - started)
            if out is sent:
                raise EngineError(f"Auralis's real-time processor failed on the chunk at frame {position} and "
                                  "returned it unprocessed")
            chunk = np.array(from_auralis(out, sent, self.channels, self.dtype, "process_realtime_chunk"), copy=True)
            if self._pool is not None:
                self._pool.give_back(sent)  # zeroed by the pool: the chunk above is a copy
            position += count
            self.chunks += 1
            yield chunk[:, 0] if self._squeeze else chunk
