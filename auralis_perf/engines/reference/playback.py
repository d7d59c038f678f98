"""A playback session: decode and master in a background thread into a ring of output buffers that a
simulated audio callback drains, at real-time pace or as fast as possible.

Two threads per session:
- the *producer* pulls processed chunks from a stream over the file and writes them into free ring
  slots. In real-time mode it keeps only `lead_chunks` chunks ahead of the callback (what a real player
  does to keep latency low), except that a pending preset switch lets it run one chunk further ahead so
  the switch is heard as early as possible;
- the *callback* wakes every chunk period (real time) or as soon as a chunk is ready (as fast as
  possible), consumes one chunk into a device buffer, and records how long that chunk waited; finding
  the ring empty at a deadline is a missed deadline (an underrun).

`timeline()` gives the figures the latency checks need (perf_counter seconds). `close()` stops and joins
both threads, closes the file and drops every buffer.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.reference.stream import ReferenceStream


class PlaybackSession:
    """Use as a context manager: `with engine.open_playback(path) as s: s.start(); s.wait()`."""

    def __init__(self, stream: ReferenceStream, *, buffer_chunks: int = 8, realtime: bool = False,
                 lead_chunks: int = 1) -> None:
        if buffer_chunks < 2:
            raise AudioInputError(f"buffer_chunks must be at least 2, got {buffer_chunks}")
        self._stream = stream
        self.sample_rate = stream.sample_rate
        self.channels = stream.channels
        self.chunk_size = stream.chunk_size
        self.realtime = realtime
        self._lead = max(1, min(lead_chunks, buffer_chunks - 1))
        self._slots = [np.zeros((self.chunk_size, self.channels), dtype=np.float32) for _ in range(buffer_chunks)]
        self._device = np.zeros((self.chunk_size, self.channels), dtype=np.float32)
        self._ready: deque[tuple[int, int, float]] = deque()   # (slot, frames, time written)
        self._free: deque[int] = deque(range(buffer_chunks))
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._switch_pending = False
        self._produced_all = False
        self._finished = threading.Event()
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._timeline: dict[str, Any] = {
            "opened": time.perf_counter(), "first_chunk": None, "playback_start": None, "finished": None,
            "preset_switches": [], "buffer_waits": [], "chunk_times": [], "missed_deadlines": 0, "chunks": 0,
            "realtime": realtime, "chunk_size": self.chunk_size, "sample_rate": self.sample_rate,
            "buffer_chunks": buffer_chunks, "lead_chunks": self._lead,
        }

    # -- control ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the session has already started")
        for name, target in (("producer", self._produce), ("callback", self._callback)):
            thread = threading.Thread(target=target, name=f"auralis-playback-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def set_preset(self, preset: str) -> None:
        """Switch preset; applied at the next chunk the producer processes (with a short crossfade)."""
        self._stream.set_preset(preset)
        with self._cond:
            self._switch_pending = True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the whole file has been played (re-raises an error from the producer)."""
        done = self._finished.wait(timeout)
        if self._error is not None:
            raise self._error
        return done

    def timeline(self) -> dict[str, Any]:
        with self._cond:
            snapshot = dict(self._timeline)
            snapshot["buffer_waits"] = list(self._timeline["buffer_waits"])
            snapshot["chunk_times"] = list(self._timeline["chunk_times"])
        snapshot["preset_switches"] = [list(pair) for pair in self._stream.preset_switches]
        return snapshot

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=10.0)
        self._threads = []
        self._stream.close()
        self._slots = []
        self._device = np.zeros((0, self.channels), dtype=np.float32)
        self._ready.clear()

    def __enter__(self) -> PlaybackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads ------------------------------------------------------------------------------------
    def _may_produce(self) -> bool:
        if not self._free:
            return False
        if not self.realtime:
            return True
        return len(self._ready) < self._lead or (self._switch_pending and len(self._ready) <= self._lead)

    def _produce(self) -> None:
        try:
            iterator = iter(self._stream)
            while not self._stop.is_set():
                with self._cond:
                    while not self._stop.is_set() and not self._may_produce():
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                    slot = self._free.popleft()
                    self._switch_pending = False
                started = time.perf_counter()
                chunk = next(iterator, None)
                if chunk is None:
                    with self._cond:
                        self._free.appendleft(slot)
                        self._produced_all = True
                        self._cond.notify_all()
                    return
                frames = chunk.shape[0]
                self._slots[slot][:frames] = chunk.reshape(frames, -1)
                del chunk
                now = time.perf_counter()
                with self._cond:
                    self._timeline["chunk_times"].append(now - started)
                    if self._timeline["first_chunk"] is None:
                        self._timeline["first_chunk"] = now
                    self._ready.append((slot, frames, now))
                    self._cond.notify_all()
        except BaseException as exc:  # reported by wait(); the callback stops too
            self._error = exc
            with self._cond:
                self._produced_all = True
                self._cond.notify_all()
            self._finished.set()

    def _callback(self) -> None:
        period = self.chunk_size / self.sample_rate
        deadline = None
        while not self._stop.is_set():
            if self.realtime and deadline is not None:
                pause = deadline - time.perf_counter()
                if pause > 0 and self._stop.wait(pause):  # the simulated device's clock
                    return
            with self._cond:
                while not self._ready and not self._produced_all and not self._stop.is_set():
                    if self.realtime and deadline is not None:
                        # Nothing to play at this deadline: an underrun. Try again next period.
                        self._timeline["missed_deadlines"] += 1
                        break
                    self._cond.wait()
                if self._stop.is_set():
                    return
                if not self._ready:
                    if self._produced_all:
                        self._timeline["finished"] = time.perf_counter()
                        self._finished.set()
                        return
                    deadline = (deadline or time.perf_counter()) + period
                    continue
                slot, frames, written = self._ready.popleft()
                now = time.perf_counter()
                self._device[:frames] = self._slots[slot][:frames]
                self._timeline["buffer_waits"].append(now - written)
                self._timeline["chunks"] += 1
                if self._timeline["playback_start"] is None:
                    self._timeline["playback_start"] = now
                self._free.append(slot)
                self._cond.notify_all()
            deadline = (deadline if deadline is not None else now) + period
