"""ReferenceEngine: the built-in engine, implementing every capability of the protocol."""
from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np

from auralis_perf.engines.base import AudioSource, Capability, Engine, KernelPair
from auralis_perf.engines.reference.allocator import return_large_buffers_to_the_system
from auralis_perf.engines.reference.analysis import analyze as run_analysis
from auralis_perf.engines.reference.batch import JobQueue, process_batch
from auralis_perf.engines.reference.chain import get_preset, kernel_set
from auralis_perf.engines.reference.jit import NUMBA_AVAILABLE, NUMBA_VERSION
from auralis_perf.engines.reference.mastering import master_array
from auralis_perf.engines.reference.playback import PlaybackSession
from auralis_perf.engines.reference.pool import BufferPool
from auralis_perf.engines.reference.stream import ReferenceStream
from auralis_perf.engines.reference.utilities import AudioUtilities
from auralis_perf.engines.support.batch import ProcessPools, ThreadPools
from auralis_perf.engines.support.presets import PRESETS
from auralis_perf.engines.support.sources import open_source
from auralis_perf.engines.support.validate import SUPPORTED_SAMPLE_RATES, check_audio, check_sample_rate


def _cache_analyzers() -> dict[str, Any]:
    """What the audio cache computes per kind: callables (audio, sample_rate) -> result."""
    return {
        "waveform": lambda audio, sr: run_analysis(audio, sr, "waveform"),
        "spectrum": lambda audio, sr: run_analysis(audio, sr, "spectrum"),
        "fingerprint": lambda audio, sr: run_analysis(audio, sr, "fingerprint"),
        "analysis": lambda audio, sr: run_analysis(audio, sr, "loudness"),
    }


class ReferenceEngine(Engine):
    """Mastering chain (EQ, compressor, loudness, limiter), streaming, playback, analysis, batch work,
    utilities, an audio cache and a music library. Created with no arguments."""

    name = "reference"
    capabilities = frozenset({
        Capability.MASTER, Capability.STREAM, Capability.FALLBACKS, Capability.KERNELS, Capability.PLAYBACK,
        Capability.ANALYSIS, Capability.BATCH, Capability.UTILITIES, Capability.AUDIO_CACHE,
        Capability.LIBRARY, Capability.PRESET_SWITCH, Capability.BUFFER_POOL,
    })
    presets = tuple(PRESETS)
    sample_rates = SUPPORTED_SAMPLE_RATES
    thread_safe = True  # no shared mutable state between calls: the conformance kit checks it

    def __init__(self) -> None:
        self.utilities = AudioUtilities()
        self._process_pools = ProcessPools()
        #: the parallel spectrum's threads (analyze(..., parallel=True) and its kernel pair), started once and
        #: kept between calls like the batch's processes: a pool per call started one thread or two as the
        #: scheduler decided, and its start-up was most of the difference a fast side measured
        self.thread_pools = ThreadPools()
        # what a batch frees must leave the process, not stay in its threads' arenas (see allocator.py)
        self.large_buffers_unmapped = return_large_buffers_to_the_system()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({"numba": NUMBA_VERSION, "compiled_kernels": NUMBA_AVAILABLE,
                     "sample_rates": list(self.sample_rates)})
        return info

    # -- every engine -----------------------------------------------------------------------------
    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        return master_array(audio, sample_rate, preset, optimized=optimized)

    def stream(self, source: AudioSource, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default", optimized: bool = True) -> ReferenceStream:
        squeeze = isinstance(source, np.ndarray) and source.ndim == 1
        opened = open_source(source, sample_rate)
        try:
            return ReferenceStream(opened, chunk_size=chunk_size, preset=preset, kernels=kernel_set(optimized),
                                   pool=BufferPool(), squeeze=squeeze)
        except BaseException:
            opened.close()
            raise

    # -- optional capabilities --------------------------------------------------------------------
    def kernels(self) -> Mapping[str, KernelPair]:
        from auralis_perf.engines.reference.kernel_pairs import kernel_pairs
        return kernel_pairs(self)

    def open_playback(self, *, chunk_size: int = 4096, preset: str = "default", buffer_chunks: int = 8,
                      lead_chunks: int = 1) -> PlaybackSession:
        get_preset(preset)  # an unknown preset is refused now, not when a file is loaded
        return PlaybackSession(lambda path: self.stream(path, chunk_size=chunk_size, preset=preset),
                               chunk_size=chunk_size, buffer_chunks=buffer_chunks, lead_chunks=lead_chunks)

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        checked = check_audio(audio)
        rate = check_sample_rate(sample_rate)
        return run_analysis(checked if audio.ndim == 2 else checked[:, 0], rate, kind, pools=self.thread_pools,
                            **options)

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        return process_batch(items, workers=workers, executor=executor, preset=preset,
                             process_pools=self._process_pools)

    def job_queue(self, workers: int = 1) -> JobQueue:
        return JobQueue(workers)

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        from auralis_perf.engines.reference.audio_cache import AudioCache
        return AudioCache(directory, analyzers=_cache_analyzers())

    def open_library(self, path: str | PathLike[str], *, cache_entries: int | None = None,
                     cache_bytes: int | None = None, **options: Any) -> Any:
        """The protocol's bounds (`cache_entries`, `cache_bytes`) apply to the query cache and to every
        entity cache; `options` are the reference library's own (see its `open_library`)."""
        from auralis_perf.engines.reference.library import open_library
        if cache_entries is not None:
            options.update(query_cache_entries=int(cache_entries), entity_cache_entries=int(cache_entries))
        if cache_bytes is not None:
            options.update(query_cache_bytes=int(cache_bytes), entity_cache_bytes=int(cache_bytes))
        return open_library(path, **options)

    def close(self) -> None:
        self._process_pools.close()
        self.thread_pools.close()
