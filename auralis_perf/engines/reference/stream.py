"""Chunk-by-chunk mastering of a file or an array, with preset switching and pooled buffers."""
from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from auralis_perf.engines.reference.chain import ChainProcessor, KernelSet, get_preset, run_span
from auralis_perf.engines.reference.measurement import LoudnessScan, measure_source
from auralis_perf.engines.reference.pool import BufferPool
from auralis_perf.engines.reference.refinement import (
    Refinement,
    exact_loudness,
    plan_tuning,
    schedule_final,
    settle_frame,
)
from auralis_perf.engines.support.chunked_stream import ChunkedStream
from auralis_perf.engines.support.sources import ArraySource, FileSource

CROSSFADE_SECONDS = 0.05
#: Input frames a new preset's chain runs over before it is heard, so its filters start settled.
WARMUP_SECONDS = 0.2


class ReferenceStream(ChunkedStream):
    """Iterate to get processed chunks (frames, channels) in the source's dtype (float32 for files).

    Output chunks come from a buffer pool and are reused once the caller drops them; keeping a chunk
    is always safe. A 1-D (mono) array source yields 1-D chunks. The plumbing (layout, close/with,
    iterate once) is the shared `ChunkedStream`'s.
    """

    def __init__(self, source: ArraySource | FileSource, *, chunk_size: int, preset: str,
                 kernels: KernelSet, pool: BufferPool | None = None, squeeze: bool = False) -> None:
        super().__init__(source, chunk_size=chunk_size, squeeze=squeeze)
        self._kernels = kernels
        self._pool = pool or BufferPool()
        self.preset = get_preset(preset).name
        # The quick loudness and what gives the exact one do not depend on the preset: measured once.
        self._quick = measure_source(source, kernels.compiled)
        self._exact = exact_loudness(source, self._quick, kernels.compiled)
        self._settle = settle_frame(self.frames, self.sample_rate)
        self._refinement: Refinement | None = None
        self._processor = self._new_processor(self.preset, 0)
        self.latency = self._processor.latency
        self._pending: tuple[str, float] | None = None
        self._fading: ChainProcessor | None = None
        self._fade_pos = 0
        self._switch_requested = 0.0
        self._fade_len = max(1, round(CROSSFADE_SECONDS * self.sample_rate))
        #: [[requested, applied], ...] in time.perf_counter() seconds.
        self.preset_switches: list[list[float]] = []

    # -- protocol -----------------------------------------------------------------------------------
    def set_preset(self, preset: str) -> None:
        """Switch preset; the next chunk starts a short crossfade from the old chain to the new one."""
        name = get_preset(preset).name
        self._pending = (name, time.perf_counter())

    def pool_stats(self) -> dict[str, int]:
        return self._pool.stats()

    def close(self) -> None:
        if self._closed:
            return
        for processor in (self._processor, self._fading):
            if processor is not None:
                processor.close()
        self._fading = None
        self._drop_refinement()
        if isinstance(self._exact, LoudnessScan):
            self._exact.close()
        super().close()  # the source
        self._pool.clear()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- internals ----------------------------------------------------------------------------------
    def _new_processor(self, preset: str, origin: int) -> ChainProcessor:
        """The chain for `preset` fed from input frame `origin`; its refinement becomes the stream's."""
        chain = get_preset(preset)
        tuning, refinement = plan_tuning(self._source, chain, self._kernels, self._quick, self._exact, origin)
        processor = ChainProcessor(chain, self.sample_rate, self.channels, tuning, self._kernels, self._pool)
        processor.position = origin
        self._drop_refinement()
        self._refinement = refinement
        return processor

    def _drop_refinement(self) -> None:
        if self._refinement is not None:
            self._refinement.analysis.close()
            self._refinement = None

    def _refine(self, position: int, count: int) -> None:
        """A share of the final tuning's work, so that it is done before the chunk that reaches the settle
        frame; that chunk finishes whatever is left and schedules the final gain. The first chunk waits
        for nothing but the quick tuning (unless it reaches the settle frame itself)."""
        refinement = self._refinement
        if refinement is None:
            return
        if position + count > self._settle:
            schedule_final(self._processor, refinement, self._source)
            self._refinement = None
            return
        if not self.chunks:
            return
        chunks_left = max(1, (self._settle - position) // self.chunk_size)
        refinement.advance(refinement.work_left / chunks_left)

    def _apply_pending(self, position: int, scratch: np.ndarray, zeros: np.ndarray,
                       read_buffer: np.ndarray) -> None:
        """Start the crossfade to the requested preset, its chain warmed on the input just heard."""
        name, requested = self._pending  # type: ignore[misc]
        self._pending = None
        if name == self.preset and self._fading is None:
            self.preset_switches.append([requested, time.perf_counter()])
            return
        if self._fading is not None:  # a switch during a fade: drop the oldest chain
            self._fading.close()
        warm = min(position, round(WARMUP_SECONDS * self.sample_rate))
        outgoing = self._processor
        incoming = self._new_processor(name, position - warm)
        done = 0
        while done < warm:
            n = min(warm - done, scratch.shape[0])
            run_span(incoming, self._source, position - warm + done, n, scratch, zeros, read_buffer)
            done += n
        self._fading, self._processor = outgoing, incoming
        self._fade_pos = 0
        self.preset = name
        self._switch_requested = requested

    def _chunks(self) -> Iterator[np.ndarray]:
        size, channels, pool = self.chunk_size, self.channels, self._pool
        work_dtype = self.dtype
        chunk_shape = (size, channels)
        scratch = pool.acquire((size, channels), work_dtype)
        mix = pool.acquire((size, channels), work_dtype)
        zeros = np.zeros((min(size, 4096), channels), dtype=work_dtype)
        read_buffer = pool.acquire((size, channels), work_dtype) if isinstance(self._source, FileSource) else None
        try:
            # The first `latency` output frames are the limiter's look-ahead filling up: drop them.
            position = 0
            while position < self.latency:
                n = min(self.latency - position, size)
                run_span(self._processor, self._source, position, n, scratch, zeros, read_buffer)
                position += n
            emitted = 0
            while emitted < self.frames and not self._closed:
                if self._pending is not None:
                    self._apply_pending(position, scratch, zeros, read_buffer)
                count = min(size, self.frames - emitted)
                self._refine(position, count)
                chunk = pool.lease(chunk_shape, work_dtype)
                out = chunk if count == size else chunk[:count]  # no view to make for a full chunk
                run_span(self._processor, self._source, position, count, out, zeros, read_buffer)
                if self._fading is not None:
                    self._crossfade(position, count, out, mix, zeros, read_buffer)
                position += count
                emitted += count
                self.chunks += 1
                result = out
                del chunk, out
                if self._squeeze:
                    result = result[:, 0]
                yield result
                del result
        finally:
            for buffer in (scratch, mix) + ((read_buffer,) if read_buffer is not None else ()):
                pool.release(buffer)

    def _crossfade(self, position: int, count: int, out: np.ndarray, mix: np.ndarray, zeros: np.ndarray,
                   read_buffer: np.ndarray | None) -> None:
        """Mix the outgoing chain under the new one with an equal-gain raised-cosine fade."""
        old = mix[:count]
        run_span(self._fading, self._source, position, count, old, zeros, read_buffer)  # type: ignore[arg-type]
        n = min(count, self._fade_len - self._fade_pos)
        ramp = np.arange(self._fade_pos, self._fade_pos + n, dtype=np.float64)
        weight = 0.5 - 0.5 * np.cos(math.pi * (ramp + 1.0) / self._fade_len)
        weight = weight.astype(out.dtype)[:, np.newaxis]
        out[:n] = old[:n] + weight * (out[:n] - old[:n])
        self._fade_pos += n
        if self._fade_pos >= self._fade_len:
            self._fading.close()  # type: ignore[union-attr]
            self._fading = None
        if self._fade_pos == n:  # first chunk processed with the new preset
            self.preset_switches.append([self._switch_requested, time.perf_counter()])
