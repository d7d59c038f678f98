"""Writing audio files in blocks, for every encoder of the project (engines and harness alike).

`soundfile.write` of a minute or more of stereo to Ogg Vorbis in one call crashes the process: libvorbis's
analysis keeps per-call work on the stack and overflows it (python-soundfile issues #426 and #396,
libsndfile #1095; seen here with soundfile 0.14.0 / libsndfile 1.2.2). Handing the encoder the same audio
in blocks of 65,536 frames writes the same file and never crashes, so every path that encodes goes through
`write_in_blocks`.
"""
from __future__ import annotations

import os
from os import PathLike

import numpy as np
import soundfile as sf

#: Frames handed to the encoder per call (600 s of stereo Ogg written this way works; one call does not).
BLOCK_FRAMES = 65_536


def write_in_blocks(path: str | PathLike[str], audio: np.ndarray, sample_rate: int, *, format: str | None = None,
                    subtype: str | None = None, block_frames: int = BLOCK_FRAMES) -> str:
    """Write `audio` (frames,) or (frames, channels) to `path`, `block_frames` frames per encoder call.

    `format` and `subtype` are soundfile's (None: from the file's extension and soundfile's default).
    Errors are soundfile's own; callers wrap them with their own message.
    """
    if block_frames < 1:
        raise ValueError(f"block_frames must be positive, got {block_frames!r}")
    data = np.asarray(audio)
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    path = os.fspath(path)
    with sf.SoundFile(path, "w", samplerate=int(sample_rate), channels=channels, format=format,
                      subtype=subtype) as out:
        for start in range(0, data.shape[0], block_frames):
            out.write(data[start:start + block_frames])
    return path


__all__ = ["BLOCK_FRAMES", "write_in_blocks"]
