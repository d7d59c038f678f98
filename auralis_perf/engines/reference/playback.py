"""The reference player (protocol `PlaybackSession`): decode and master in a background thread into a ring
of output buffers, from which the device (the harness) pulls one chunk per period.

The *producer* thread pulls processed chunks from a stream over the file and writes them into free ring
slots. It keeps only `lead_chunks` chunks ahead of the device (what a real player does to keep latency
low), except that a pending preset switch lets it run one chunk further ahead so the switch is heard as
early as possible. `pull` hands the oldest ready chunk over, stamped with the moment it was ready and
the preset it was processed with. `close()` stops and joins the producer, closes the file and drops
every buffer.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from os import PathLike

import numpy as np

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.protocols.audio import PlaybackChunk
from auralis_perf.engines.reference.stream import ReferenceStream

StreamOpener = Callable[[str | PathLike[str]], ReferenceStream]


class PlaybackSession:
    """`session.load(path); session.start()`, then `pull()` until `finished`; a context manager."""

    def __init__(self, open_stream: StreamOpener, *, chunk_size: int, buffer_chunks: int = 8,
                 lead_chunks: int = 1) -> None:
        if buffer_chunks < 2:
            raise AudioInputError(f"buffer_chunks must be at least 2, got {buffer_chunks}")
        self._open_stream = open_stream
        self._stream: ReferenceStream | None = None
        self.chunk_size = chunk_size
        self.sample_rate = 0
        self.channels = 0
        self._buffer_chunks = buffer_chunks
        self._lead = max(1, min(lead_chunks, buffer_chunks - 1))
        self._slots: list[np.ndarray] = []
        self._device = np.zeros((0, 0), dtype=np.float32)
        self._ready: deque[tuple[int, int, float, str]] = deque()   # (slot, frames, ready at, preset)
        self._free: deque[int] = deque(range(buffer_chunks))
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._switch_pending = False
        self._produced_all = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # -- protocol -----------------------------------------------------------------------------------
    def load(self, path: str | PathLike[str]) -> None:
        if self._stream is not None:
            raise RuntimeError("the session has already loaded a file")
        if not isinstance(path, (str, PathLike)):
            raise AudioInputError(f"a playback session plays a file: pass its path, got {type(path).__name__}")
        self._stream = self._open_stream(path)
        self.sample_rate = self._stream.sample_rate
        self.channels = self._stream.channels
        self.chunk_size = self._stream.chunk_size
        self._slots = [np.zeros((self.chunk_size, self.channels), dtype=np.float32)
                       for _ in range(self._buffer_chunks)]
        self._device = np.zeros((self.chunk_size, self.channels), dtype=np.float32)

    def start(self) -> None:
        if self._stream is None:
            raise RuntimeError("load a file before starting the session")
        if self._thread is not None:
            raise RuntimeError("the session has already started")
        self._thread = threading.Thread(target=self._produce, name="auralis-playback-producer", daemon=True)
        self._thread.start()

    def pull(self, timeout: float | None = None) -> PlaybackChunk | None:
        """The oldest ready chunk (its audio is the session's device buffer: valid until the next pull)."""
        with self._cond:
            if not self._ready and not self._produced_all and not self._stop.is_set():
                self._cond.wait_for(lambda: self._ready or self._produced_all or self._stop.is_set(), timeout)
            if self._error is not None:
                raise self._error
            if not self._ready:
                return None
            slot, frames, ready_at, preset = self._ready.popleft()
            self._device[:frames] = self._slots[slot][:frames]
            self._free.append(slot)
            self._cond.notify_all()
        return PlaybackChunk(self._device[:frames], ready_at, preset)

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._produced_all and not self._ready and self._error is None

    def set_preset(self, preset: str) -> None:
        """Switch preset; applied at the next chunk the producer processes (with a short crossfade)."""
        if self._stream is None:
            raise RuntimeError("load a file before switching presets")
        self._stream.set_preset(preset)
        with self._cond:
            self._switch_pending = True
            self._cond.notify_all()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None
        if self._stream is not None:
            self._stream.close()
        self._slots = []
        self._device = np.zeros((0, self.channels), dtype=np.float32)
        self._ready.clear()

    def __enter__(self) -> PlaybackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the producer -------------------------------------------------------------------------------
    def _may_produce(self) -> bool:
        if not self._free:
            return False
        return len(self._ready) < self._lead or (self._switch_pending and len(self._ready) <= self._lead)

    def _produce(self) -> None:
        stream = self._stream
        assert stream is not None  # start() checked it
        heard, switches_seen = stream.preset, 0
        try:
            iterator = iter(stream)
            while not self._stop.is_set():
                with self._cond:
                    while not self._stop.is_set() and not self._may_produce():
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                    slot = self._free.popleft()
                    self._switch_pending = False
                chunk = next(iterator, None)
                if chunk is None:
                    with self._cond:
                        self._free.appendleft(slot)
                        self._produced_all = True
                        self._cond.notify_all()
                    return
                if len(stream.preset_switches) > switches_seen:  # this chunk completed a switch
                    switches_seen, heard = len(stream.preset_switches), stream.preset
                frames = chunk.shape[0]
                self._slots[slot][:frames] = chunk.reshape(frames, -1)
                del chunk
                with self._cond:
                    self._ready.append((slot, frames, time.perf_counter(), heard))
                    self._cond.notify_all()
        except BaseException as exc:  # raised by the next pull()
            with self._cond:
                self._error = exc
                self._produced_all = True
                self._cond.notify_all()
