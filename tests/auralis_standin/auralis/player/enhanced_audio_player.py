from enum import Enum

import numpy as np
from auralis.io.loader import load
from auralis.player.config import PlayerConfig

PROFILE_GAINS = {"balanced": 1.0, "warm": 0.9, "bright": 0.8, "punchy": 0.7}


class PlaybackState(Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    LOADING = "loading"


class EnhancedAudioPlayer:
    """Stand-in: reads the whole file, plays it chunk by chunk, the auto-master profile is a gain."""

    def __init__(self, config=None, library_manager=None):
        self.config = config or PlayerConfig()
        self.audio_data = None
        self.position = 0
        self.state = PlaybackState.STOPPED
        self.profile = "balanced"
        self.auto_mastering = False

    def load_file(self, file_path):
        self.state = PlaybackState.LOADING
        try:
            self.audio_data, self.sample_rate = load(file_path)
        except RuntimeError:
            return False
        self.stop()  # as at 087974e2: stop() leaves only PLAYING, so the player stays LOADING
        return True

    def play(self):
        if self.audio_data is None or self.state != PlaybackState.STOPPED:
            return False
        self.state = PlaybackState.PLAYING
        return True

    def stop(self):
        if self.state == PlaybackState.PLAYING:
            self.state, self.position = PlaybackState.STOPPED, 0
        return True

    def get_audio_chunk(self, chunk_size=None):
        chunk_size = chunk_size or self.config.buffer_size
        if self.audio_data is None or self.state != PlaybackState.PLAYING:
            return np.zeros((chunk_size, 2), dtype=np.float32)
        chunk = self.audio_data[self.position:self.position + chunk_size]
        self.position += len(chunk)
        gain = PROFILE_GAINS[self.profile] if self.auto_mastering else 1.0
        return (chunk * gain).astype(np.float32)

    def set_effect_enabled(self, effect_name, enabled):
        if effect_name == "auto_mastering":
            self.auto_mastering = enabled

    def set_auto_master_profile(self, profile):
        self.profile = profile if profile in PROFILE_GAINS else "balanced"

    def cleanup(self):
        self.stop()
        self.audio_data = None
