"""The harness's simulated audio device: it plays an engine's `PlaybackSession` on the harness's clock.

An engine's player only loads, starts, switches presets and hands over processed chunks (`pull`). The
device is ours, so every latency figure is measured the same way for every engine:

- real time: a callback thread wakes once per chunk period and pulls one chunk without waiting (the
  first one it waits for). No chunk ready at a deadline is an underrun (a missed deadline, asked again
  one period later); a `pull` that took longer than a period (an engine that processes on demand) is a
  missed deadline too;
- as fast as possible (`realtime=False`): the callback pulls the next chunk as soon as it is ready.

`timeline()` gives what the latency checks read (perf_counter seconds): "opened" (before
`open_playback`), "loaded", "first_chunk" (the first chunk's `ready_at`), "playback_start" (the device
took it), "finished", "buffer_waits" (per chunk: taken by the device minus `ready_at`), "pull_times"
(per chunk, aligned with "buffer_waits": seconds inside the `pull` that delivered it), "preset_switches" ([requested, heard] per switch, heard = `ready_at` of the
first chunk processed with the new preset, None while pending), "missed_deadlines", "chunks".
"""
from __future__ import annotations

import threading
import time
from os import PathLike
from typing import Any

from auralis_perf.engines import Engine, PlaybackSession


class PacedPlayback:
    """Load `path` in a new session of `engine` and play it: `with PacedPlayback(...) as p: p.start(); p.wait()`."""

    def __init__(self, engine: Engine, path: str | PathLike[str], *, chunk_size: int = 4096,
                 realtime: bool = True, preset: str = "default") -> None:
        opened = time.perf_counter()
        self.session: PlaybackSession = engine.open_playback(chunk_size=chunk_size, preset=preset)
        try:
            self.session.load(path)
        except BaseException:
            self.session.close()
            raise
        self.realtime = realtime
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._switches: list[list[Any]] = []  # [requested, heard, preset]
        self._timeline: dict[str, Any] = {
            "opened": opened, "loaded": time.perf_counter(), "first_chunk": None, "playback_start": None,
            "finished": None, "buffer_waits": [], "pull_times": [], "missed_deadlines": 0, "chunks": 0,
            "realtime": realtime, "chunk_size": self.session.chunk_size, "sample_rate": self.session.sample_rate,
        }

    # -- control ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the playback has already started")
        self.session.start()
        self._thread = threading.Thread(target=self._device, name="harness-audio-device", daemon=True)
        self._thread.start()

    def set_preset(self, preset: str) -> None:
        with self._lock:
            self._switches.append([time.perf_counter(), None, preset])
        self.session.set_preset(preset)

    def wait(self, timeout: float | None = None) -> bool:
        """True once every chunk has been played (re-raises what the session raised while playing)."""
        done = self._done.wait(timeout)
        if self._error is not None:
            raise self._error
        return done

    def timeline(self) -> dict[str, Any]:
        with self._lock:
            snapshot = dict(self._timeline)
            snapshot["buffer_waits"] = list(self._timeline["buffer_waits"])
            snapshot["pull_times"] = list(self._timeline["pull_times"])
            snapshot["preset_switches"] = [[requested, heard] for requested, heard, _ in self._switches]
        return snapshot

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30.0)
            self._thread = None
        self.session.close()

    def __enter__(self) -> PacedPlayback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the device ---------------------------------------------------------------------------------
    def _device(self) -> None:
        try:
            self._play()
        except BaseException as exc:  # handed to wait()
            self._error = exc
            self._done.set()

    def _play(self) -> None:
        period = self.session.chunk_size / self.session.sample_rate
        deadline: float | None = None
        while not self._stop.is_set():
            if self.realtime and deadline is not None:
                pause = deadline - time.perf_counter()
                if pause > 0 and self._stop.wait(pause):
                    return
            asked = time.perf_counter()
            paced = self.realtime and deadline is not None
            chunk = self.session.pull(0.0 if paced else None)
            taken = time.perf_counter()
            with self._lock:
                if chunk is None:
                    if self.session.finished:
                        self._timeline["finished"] = taken
                        self._done.set()
                        return
                    if not paced:
                        raise RuntimeError("pull() without a timeout returned no chunk before the track ended")
                    self._timeline["missed_deadlines"] += 1  # underrun: nothing to play at this deadline
                    deadline = (deadline or asked) + period
                    continue
                if paced and taken - asked > period:
                    self._timeline["missed_deadlines"] += 1  # the chunk came later than the device could wait
                self._timeline["buffer_waits"].append(max(0.0, taken - chunk.ready_at))
                self._timeline["pull_times"].append(taken - asked)
                self._timeline["chunks"] += 1
                if self._timeline["first_chunk"] is None:
                    self._timeline["first_chunk"] = chunk.ready_at
                    self._timeline["playback_start"] = taken
                for switch in self._switches:
                    if switch[1] is None and chunk.preset == switch[2] and chunk.ready_at >= switch[0]:
                        switch[1] = chunk.ready_at
            deadline = (deadline if deadline is not None else taken) + period
