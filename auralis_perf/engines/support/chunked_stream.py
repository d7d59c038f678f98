"""What every engine adapter's stream shares: the source's layout, close/with, and iterate-once.

A subclass yields its processed chunks from `_chunks()`; the plumbing around it lives here so the adapters
only hold what makes their processing different.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Self

import numpy as np

from auralis_perf.engines.base import NotSupported
from auralis_perf.engines.support.sources import ArraySource, FileSource
from auralis_perf.engines.support.validate import check_chunk_size


class ChunkedStream:
    """Iterate once to get processed chunks (frames, channels) in the source's dtype (float32 for files);
    a 1-D (mono) array source with `squeeze` yields 1-D chunks."""

    def __init__(self, source: ArraySource | FileSource, *, chunk_size: int, squeeze: bool = False) -> None:
        self.chunk_size = check_chunk_size(chunk_size)
        self._source = source
        self.sample_rate = source.sample_rate
        self.channels = source.channels
        self.frames = source.frames
        self.dtype = np.dtype(source.dtype)
        self._squeeze = squeeze
        self.opened = time.perf_counter()
        self.chunks = 0
        self._started = False
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._source.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The optional stream protocols (PresetSwitch, BufferPool): a subclass that has them overrides these.
    def set_preset(self, preset: str) -> None:
        raise NotSupported(f"{type(self).__name__} cannot switch presets mid-stream (no capability 'preset_switch')")

    def pool_stats(self) -> Mapping[str, int]:
        raise NotSupported(f"{type(self).__name__} keeps no buffer pool (no capability 'buffer_pool')")

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:
            raise RuntimeError("a stream can be iterated once; open a new one to start again")
        self._started = True
        return self._chunks()

    def _chunks(self) -> Iterator[np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} must yield its chunks from _chunks()")
