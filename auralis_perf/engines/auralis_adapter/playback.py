"""Auralis's player behind the protocol's `PlaybackSession`, with the harness as the sound device.

`EnhancedAudioPlayer(PlayerConfig(buffer_size=chunk_size, enable_auto_mastering=True))` with its
auto-mastering effect switched on (`set_effect_enabled("auto_mastering", True)`: the config flag alone
builds the processor but leaves it disabled). `load` is its `load_file`, `start` its `play`, and each
`pull` one `get_audio_chunk(chunk_size)` made on the harness's clock, in the harness's thread: Auralis's
player has no output thread of its own without a sound device, so it processes on demand. A preset
switch is `set_auto_master_profile`.

Its profiles are balanced, warm, bright and punchy: the report's "default" and "gentle" both play as
"balanced" (Auralis's player has no gentle profile). Auralis pads the last chunk with silence to the full
size; the adapter hands over only the file's own frames.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.api import AuralisAPI
from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import AudioFileError, AudioInputError
from auralis_perf.engines.protocols.audio import PlaybackChunk
from auralis_perf.engines.support.validate import check_chunk_size

LOADING_WORKAROUND = ("EnhancedAudioPlayer.load_file leaves the player in LOADING, so play() returns False; the "
                      "adapter sets its public `state` to STOPPED before play()")

#: The report's presets -> the player's auto-master profiles (`AutoMasterProcessor.profiles`).
PLAYER_PROFILES = {"default": "balanced", "gentle": "balanced", "warm": "warm", "bright": "bright",
                   "punchy": "punchy"}


class AuralisPlayback:
    """One player session; `pull` processes the next chunk in the calling thread."""

    channels = 2  # Auralis's player always outputs stereo

    def __init__(self, api: AuralisAPI, *, chunk_size: int = 4096, preset: str = "default") -> None:
        (player_class,) = api.get("player")
        (config_class,) = api.get("player_config")
        self.chunk_size = check_chunk_size(chunk_size)
        self._preset = self._check(preset)
        self.sample_rate = 44100
        self._lock = threading.Lock()
        with quiet():
            self._player = player_class(config_class(buffer_size=self.chunk_size, enable_auto_mastering=True))
            self._player.set_effect_enabled("auto_mastering", True)
            self._player.set_auto_master_profile(PLAYER_PROFILES[self._preset])
        self._frames = 0
        self._position = 0
        self.workarounds: list[str] = []
        self._loaded = self._started = self._closed = False

    @staticmethod
    def _check(preset: str) -> str:
        if preset not in PLAYER_PROFILES:
            raise AudioInputError(f"unknown preset {preset!r}; presets: {', '.join(PLAYER_PROFILES)}")
        return preset

    def load(self, path: str | os.PathLike[str]) -> None:
        source = Path(path)
        if not source.is_file():
            raise AudioFileError(f"{source}: no such file")
        with quiet():
            loaded = self._player.load_file(str(source))
        if not loaded:
            raise AudioFileError(f"{source}: Auralis's player could not load it")
        self.sample_rate = int(self._player.sample_rate)
        self._frames = len(self._player.audio_data)
        self._position = 0
        self._loaded = True

    def start(self) -> None:
        if not self._loaded:
            raise RuntimeError("nothing loaded: call load(path) first")
        if self._started:
            raise RuntimeError("already started")
        with quiet():
            playing = self._player.play()
            state = self._player.state
            if not playing and getattr(state, "name", "") == "LOADING":
                # At 087974e2 `load_file` leaves the player LOADING (its `stop()` only leaves PLAYING or
                # PAUSED), so `play()` refuses; the player's public `state` setter puts it to STOPPED first.
                self._player.state = type(state).STOPPED
                self.workarounds.append(LOADING_WORKAROUND)
                playing = self._player.play()
        if not playing:
            raise RuntimeError(f"Auralis's player refused to play the loaded file (state {self._player.state})")
        self._started = True

    @property
    def finished(self) -> bool:
        return self._loaded and self._position >= self._frames

    def pull(self, timeout: float | None = None) -> PlaybackChunk | None:
        if not self._started:
            raise RuntimeError("not started")
        if self.finished or self._closed:
            return None
        remaining = self._frames - self._position
        with self._lock, quiet():  # a switch lands between chunks, never inside one
            preset = self._preset
            chunk = self._player.get_audio_chunk(self.chunk_size)
        ready = time.perf_counter()
        count = min(self.chunk_size, remaining)
        self._position += count
        audio = np.asarray(chunk)[:count]
        if not np.isfinite(audio).all():
            raise RuntimeError(f"Auralis's player produced NaN or Inf at frame {self._position - count}")
        return PlaybackChunk(audio=audio, ready_at=ready, preset=preset)

    def set_preset(self, preset: str) -> None:
        name = self._check(preset)
        with self._lock:
            with quiet():
                self._player.set_auto_master_profile(PLAYER_PROFILES[name])
            self._preset = name

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with quiet():
            self._player.stop()
            cleanup = getattr(self._player, "cleanup", None)
            if cleanup is not None:
                cleanup()

    def __enter__(self) -> "AuralisPlayback":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {"player": "EnhancedAudioPlayer, auto-mastering on, processing on demand in pull()",
                "profiles": dict(PLAYER_PROFILES), "workarounds": list(dict.fromkeys(self.workarounds))}
