"""The reference engine behind the engine protocol, for doubles that break one thing each.

`DelegatingEngine` forwards every call of `auralis_perf.engines.Engine` to a reference engine it builds
itself (so a fresh process can build the same double from its name alone); a double overrides the one
call it breaks. Its `name` is its import path ("broken_engines.audio:SlowMaster"), which
`get_engine` resolves in the child processes some checks start.

`DelegatingStream` forwards a `Stream`, with `chunk(index, chunk)` as the place a double breaks it.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from typing import Any

import numpy as np

from auralis_perf.engines import Capability, Engine, KernelPair, PlaybackSession, Stream, get_engine

#: Capabilities whose checks cost the most (worker processes, libraries, audio-cache fills); a double
#: offers them only when its fault needs them (`uses`), so a group run skips the checks it does not break.
COSTLY = frozenset({Capability.BATCH, Capability.LIBRARY, Capability.AUDIO_CACHE})


class DelegatingEngine(Engine):
    """Every call goes to a reference engine. Of the costly capabilities it offers only those in `uses`;
    `dropped` capabilities are not offered either."""

    uses: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.inner = get_engine("reference")
        self.name = f"{type(self).__module__}:{type(self).__qualname__}"
        self.capabilities = frozenset(self.inner.capabilities - (COSTLY - self.uses) - self.dropped)
        self.presets = self.inner.presets
        self.sample_rates = self.inner.sample_rates
        self.utilities = self.inner.utilities

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        return self.inner.master(audio, sample_rate, preset, optimized=optimized)

    def stream(self, source: Any, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default") -> Stream:
        return self.inner.stream(source, sample_rate=sample_rate, chunk_size=chunk_size, preset=preset)

    def kernels(self) -> Mapping[str, KernelPair]:
        return self.inner.kernels()

    def open_playback(self, **options: Any) -> PlaybackSession:
        return self.inner.open_playback(**options)

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        return self.inner.analyze(audio, sample_rate, kind, **options)

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        return self.inner.process_batch(items, workers=workers, executor=executor, preset=preset)

    def job_queue(self, workers: int = 1) -> Any:
        return self.inner.job_queue(workers)

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        return self.inner.open_audio_cache(directory)

    def open_library(self, path: str | PathLike[str], **options: Any) -> Any:
        return self.inner.open_library(path, **options)

    def close(self) -> None:
        self.inner.close()

    def batch_through_master(self, items: list[Any], *, workers: int, executor: str,
                             preset: str = "default") -> list[Any]:
        """A batch mastered by this double's own `master` (serial, or in threads; a process pool would
        run the reference chain, so "process" runs in threads here too)."""
        def one(item: Any) -> np.ndarray:
            audio, sample_rate = item if isinstance(item, tuple) else self.utilities.decode(item)
            return self.master(audio, sample_rate, preset)

        if executor == "serial" or workers == 1:
            return [one(item) for item in items]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, items))


class DelegatingStream:
    """A `Stream` that forwards to another; `chunk()` sees (and may change) every chunk it yields."""

    def __init__(self, inner: Stream) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.channels = inner.channels
        self.chunk_size = inner.chunk_size

    def chunk(self, index: int, chunk: np.ndarray) -> np.ndarray:
        return chunk

    def __iter__(self) -> Iterator[np.ndarray]:
        for index, chunk in enumerate(self.inner):
            yield self.chunk(index, chunk)

    def set_preset(self, preset: str) -> None:
        self.inner.set_preset(preset)

    def pool_stats(self) -> Mapping[str, int]:
        return self.inner.pool_stats()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> "DelegatingStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
