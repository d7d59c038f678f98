"""Whole-array mastering: the streaming path run over the whole input (see chain.run_span)."""
from __future__ import annotations

import numpy as np

from auralis_perf.engines.reference.chain import ChainProcessor, get_preset, kernel_set, run_span
from auralis_perf.engines.reference.measurement import measure_source
from auralis_perf.engines.reference.refinement import exact_loudness, plan_tuning, schedule_final
from auralis_perf.engines.support.sources import ArraySource

#: Frames of zeros fed at a time after the source to flush the limiter's look-ahead.
_FLUSH_BLOCK = 4096


def master_array(audio: np.ndarray, sample_rate: int, preset: str = "default", *,
                 optimized: bool = True) -> np.ndarray:
    """Master a whole array; the output has the input's shape and dtype (a plain function, so worker
    processes can run it)."""
    squeeze = isinstance(audio, np.ndarray) and audio.ndim == 1
    source = ArraySource(audio, sample_rate)
    chain = get_preset(preset)
    kernels = kernel_set(optimized)
    # The stream's gain rule: the quick tuning, then the final gain from the settle frame on.
    quick = measure_source(source, kernels.compiled)
    tuning, refinement = plan_tuning(source, chain, kernels, quick, exact_loudness(source, quick, kernels.compiled))
    processor = ChainProcessor(chain, source.sample_rate, source.channels, tuning, kernels)
    if refinement is not None:
        schedule_final(processor, refinement, source)
    try:
        out = np.empty_like(source.audio)
        zeros = np.zeros((min(_FLUSH_BLOCK, processor.latency), source.channels), dtype=source.dtype)
        scratch = np.empty((processor.latency, source.channels), dtype=source.dtype)
        # The same feed as a stream: the source then `latency` zeros, the first `latency` outputs dropped.
        run_span(processor, source, 0, processor.latency, scratch, zeros)
        run_span(processor, source, processor.latency, source.frames, out, zeros)
    finally:
        processor.close()
    return out[:, 0] if squeeze else out
