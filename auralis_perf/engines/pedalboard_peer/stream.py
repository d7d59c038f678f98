"""Chunk-by-chunk mastering with pedalboard's stateful processing (`reset=False`).

Filter, compressor and limiter state carry across chunks inside pedalboard's plugins, so a stream gives
the same samples as whole-array mastering. The limiter's look-ahead holds back its first few
milliseconds; the stream keeps a small queue of processed frames, so every chunk it yields has exactly
`chunk_size` frames (the last one fewer), and feeds zeros after the source to flush the look-ahead.

A preset switch builds the new preset's chain, settles it on the input just heard (so its filters and
envelope start where the old chain's are), and crossfades from the old chain to the new one over 50 ms,
as the reference engine does: changing a filter's coefficients in place would leave a transient.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from auralis_perf.engines.pedalboard_peer.chain import PeerChain, get_preset
from auralis_perf.engines.pedalboard_peer.tuning import Tuning, input_loudness, planar, tune
from auralis_perf.engines.support.chunked_stream import ChunkedStream
from auralis_perf.engines.support.sources import ArraySource, FileSource

#: A preset switch crossfades from the old chain to the new one over this long.
CROSSFADE_SECONDS = 0.05
#: Input frames a new preset's chain runs over before it is heard, so its filters start settled.
WARMUP_SECONDS = 0.2


class PedalboardStream(ChunkedStream):
    """Iterate to get processed chunks (frames, channels) in the source's dtype (float32 for files).

    A 1-D (mono) array source yields 1-D chunks.
    """

    def __init__(self, source: ArraySource | FileSource, *, chunk_size: int, preset: str,
                 squeeze: bool = False) -> None:
        super().__init__(source, chunk_size=chunk_size, squeeze=squeeze)
        self.preset = get_preset(preset).name
        self._input_lufs = input_loudness(source)  # one pass over the source; reused by every preset
        self._tunings: dict[str, Tuning] = {}
        tuning = self._tuning(self.preset)
        self._chain = PeerChain(get_preset(self.preset), self.sample_rate, tuning.input_lufs, tuning.gain_db)
        self._fading: PeerChain | None = None     # the old chain during a crossfade
        self._fade_pos = 0
        self._fade_len = max(1, round(CROSSFADE_SECONDS * self.sample_rate))
        self._pending: tuple[str, float] | None = None
        self._switch_requested: float | None = None
        #: [[requested, applied], ...] in time.perf_counter() seconds.
        self.preset_switches: list[list[float]] = []

    # -- protocol -----------------------------------------------------------------------------------
    def set_preset(self, preset: str) -> None:
        """Switch preset at the next chunk, crossfading from the old chain to the new one."""
        self._pending = (get_preset(preset).name, time.perf_counter())

    def tuning(self, preset: str | None = None) -> dict[str, Any]:
        """What the loudness analysis decided for `preset` (default: the current one)."""
        t = self._tuning(preset or self.preset)
        return {"input_lufs": t.input_lufs, "gain_db": t.gain_db, **t.details}

    # -- internals ----------------------------------------------------------------------------------
    def _tuning(self, preset: str) -> Tuning:
        if preset not in self._tunings:  # the input's loudness does not depend on the preset: reused
            self._tunings[preset] = tune(self._source, get_preset(preset), input_lufs=self._input_lufs,
                                         measured=True)
        return self._tunings[preset]

    def _apply_pending(self, position: int) -> None:
        """Start the crossfade to the requested preset, its chain settled on the input just heard."""
        name, requested = self._pending  # type: ignore[misc]
        self._pending = None
        if name == self.preset and self._fading is None:
            self.preset_switches.append([requested, time.perf_counter()])
            return
        tuning = self._tuning(name)
        incoming = PeerChain(get_preset(name), self.sample_rate, tuning.input_lufs, tuning.gain_db)
        # Largest block first (a chunk of zeros), then the last input frames in chunk-sized blocks: the
        # new chain's look-ahead then holds what the old chain's holds, so their outputs line up.
        incoming.process(np.zeros((self.channels, self.chunk_size), dtype=np.float32))
        warm_start = max(0, position - round(WARMUP_SECONDS * self.sample_rate))
        for start in range(warm_start, position, self.chunk_size):
            incoming.process(planar(self._source.read(start, min(self.chunk_size, position - start))))
        self._fading, self._chain = self._chain, incoming  # a switch during a fade drops the oldest chain
        self._fade_pos = 0
        self.preset = name
        self._switch_requested = requested

    def _process(self, block: np.ndarray) -> np.ndarray:
        """The current chain's output, mixed over the outgoing one's during a crossfade."""
        out = self._chain.process(block)
        if self._fading is None:
            return out
        old = self._fading.process(block)
        n = min(out.shape[1], self._fade_len - self._fade_pos)
        ramp = np.arange(self._fade_pos + 1, self._fade_pos + n + 1, dtype=np.float64)
        weight = (0.5 - 0.5 * np.cos(np.pi * ramp / self._fade_len)).astype(np.float32)
        out[:, :n] = old[:, :n] + weight * (out[:, :n] - old[:, :n])
        self._fade_pos += n
        if self._fade_pos >= self._fade_len:
            self._fading = None
        return out

    def _chunks(self) -> Iterator[np.ndarray]:
        queue: deque[np.ndarray] = deque()   # processed planar blocks not yet handed out
        queued = 0
        position = 0                         # input frames fed to the chain
        emitted = 0
        while emitted < self.frames and not self._closed:
            if self._pending is not None:
                self._apply_pending(position)
            count = min(self.chunk_size, self.frames - emitted)
            while queued < count:
                # Feed only what this chunk still lacks: once the look-ahead is filled, frames in equal
                # frames out, so nothing processed waits in the queue and a preset switch is heard in
                # the very next chunk. Never a block larger than the first one: pedalboard re-prepares
                # its plugins for a larger block, which empties the limiter's delay line.
                n = min(self.chunk_size, count - queued)
                if position < self.frames:
                    n = min(n, self.frames - position)
                    block = planar(self._source.read(position, n))
                    position += n
                else:  # zeros after the source release the look-ahead
                    block = np.zeros((self.channels, n), dtype=np.float32)
                out = self._process(block)
                if out.shape[1]:
                    queue.append(out)
                    queued += out.shape[1]
            chunk = _take(queue, count)
            queued -= count
            emitted += count
            self.chunks += 1
            if self._switch_requested is not None:
                self.preset_switches.append([self._switch_requested, time.perf_counter()])
                self._switch_requested = None
            yield chunk[0].astype(self.dtype) if self._squeeze else np.ascontiguousarray(chunk.T, dtype=self.dtype)


def _take(queue: deque[np.ndarray], count: int) -> np.ndarray:
    """The first `count` frames of the queued planar blocks, removed from the queue."""
    parts, got = [], 0
    while got < count:
        head = queue[0]
        need = count - got
        if head.shape[1] <= need:
            parts.append(queue.popleft())
            got += head.shape[1]
        else:
            parts.append(head[:, :need])
            queue[0] = head[:, need:]
            got += need
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
