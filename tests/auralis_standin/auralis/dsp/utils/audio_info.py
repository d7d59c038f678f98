"""Stand-in for auralis.dsp.utils.audio_info: only `mono_to_stereo(audio)` (same signature and result shape)."""
import numpy as np


def mono_to_stereo(audio: np.ndarray) -> np.ndarray:
    """The one channel twice: (frames,) or (frames, 1) -> (frames, 2)."""
    mono = np.asarray(audio).reshape(len(audio), -1)[:, 0]
    return np.stack([mono, mono], axis=1)
