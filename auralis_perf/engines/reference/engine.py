"""ReferenceEngine: the built-in engine, implementing every capability of the protocol."""
from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np

from ..base import AudioSource, Capability, Engine, KernelPair
from .chain import ChainProcessor, get_preset, kernel_set, run_span
from .tuning import tune_chain
from .jit import NUMBA_AVAILABLE, NUMBA_VERSION
from .pool import BufferPool
from .presets import PRESETS
from .sources import ArraySource, open_source
from .stream import ReferenceStream
from .validate import SUPPORTED_SAMPLE_RATES

#: Frames of zeros fed after the source to flush the limiter's look-ahead.
_FLUSH_BLOCK = 4096


def master_array(audio: np.ndarray, sample_rate: int, preset: str = "default", *,
                 optimized: bool = True) -> np.ndarray:
    """Master a whole array (the engine's `master`, as a plain function so worker processes can use it)."""
    squeeze = isinstance(audio, np.ndarray) and audio.ndim == 1
    source = ArraySource(audio, sample_rate)
    chain = get_preset(preset)
    kernels = kernel_set(optimized)
    processor = ChainProcessor(chain, source.sample_rate, source.channels, tune_chain(source, chain, kernels),
                               kernels)
    try:
        out = np.empty_like(source.audio)
        zeros = np.zeros((min(_FLUSH_BLOCK, max(processor.latency, 1)), source.channels), dtype=source.dtype)
        scratch = np.empty((processor.latency, source.channels), dtype=source.dtype)
        # Same feed as a stream: source then `latency` zeros, the first `latency` outputs dropped.
        run_span(processor, source, 0, processor.latency, scratch, zeros)
        run_span(processor, source, processor.latency, source.frames, out, zeros)
    finally:
        processor.close()
    return out[:, 0] if squeeze else out


class ReferenceEngine(Engine):
    """Mastering chain (EQ, compressor, limiter, loudness), streaming, analysis, batch and utilities."""

    name = "reference"
    capabilities = frozenset({
        Capability.MASTER, Capability.STREAM, Capability.FALLBACKS, Capability.KERNELS,
        Capability.PRESET_SWITCH, Capability.BUFFER_POOL,
    })
    presets = tuple(PRESETS)
    sample_rates = SUPPORTED_SAMPLE_RATES

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({"numba": NUMBA_VERSION, "compiled_kernels": NUMBA_AVAILABLE,
                     "sample_rates": list(self.sample_rates)})
        return info

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

    def kernels(self) -> Mapping[str, KernelPair]:
        from .kernel_pairs import kernel_pairs
        return kernel_pairs(self)
