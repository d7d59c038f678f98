"""Chunk-by-chunk mastering through `HybridProcessor.process_realtime_chunk`.

Each stream gets its own processor, so the real-time EQ's and dynamics' state carries across its chunks
and never leaks into another stream. Auralis's real-time processor returns the chunk unprocessed when
something inside it fails (it swallows the exception); the adapter notices (the very object it passed in
comes back) and raises, rather than timing a pass-through.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import EngineError
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


class AuralisStream(ChunkedStream):
    """Iterate to get processed chunks (frames, channels) in the source's dtype (float32 for files)."""

    def __init__(self, source: ArraySource | FileSource, processor: Any, *, chunk_size: int,
                 squeeze: bool = False, on_chunk: Callable[[float], None] | None = None) -> None:
        super().__init__(source, chunk_size=chunk_size, squeeze=squeeze)
        self._processor = processor
        self._on_chunk = on_chunk

    def set_preset(self, preset: str) -> None:
        from auralis_perf.engines.base import NotSupported

        raise NotSupported("engine 'auralis' has no capability 'preset_switch': its real-time chunk path does "
                           "not read the mastering preset")

    def _chunks(self) -> Iterator[np.ndarray]:
        position = 0
        while position < self.frames and not self._closed:
            count = min(self.chunk_size, self.frames - position)
            sent = to_auralis(self._source.read(position, count))
            started = time.perf_counter()
            with quiet():
                out = self._processor.process_realtime_chunk(sent)
            if self._on_chunk:
                self._on_chunk(time.perf_counter() - started)
            if out is sent:
                raise EngineError(f"Auralis's real-time processor failed on the chunk at frame {position} and "
                                  "returned it unprocessed")
            chunk = from_auralis(out, sent, self.channels, self.dtype, "process_realtime_chunk")
            position += count
            self.chunks += 1
            yield chunk[:, 0] if self._squeeze else chunk
