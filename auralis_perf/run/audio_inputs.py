"""The user's `--audio` files, probed before anything runs: every file must decode from end to end.

A file that cannot be read would otherwise surface an hour later as `error` records (or worse, as a
`fail` of the check that happened to decode it first). So each file is decoded here, block by block
(bounded memory), and the unusable ones are named:

- files named one by one on the command line must all be usable, else the run stops with exit code 3;
- files found in a folder the user named are left out with a warning (kept in the run's parameters and
  shown in the report) as long as at least one good file remains; none left is exit code 3.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

#: The suites handle mono and stereo (see suites/common/audio.py).
MAX_CHANNELS = 2
_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class AudioChoice:
    """The files the run will use, and the ones left out with the reason (path, problem)."""

    files: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...] = ()

    def warnings(self) -> list[str]:
        return [f"--audio: left out {path}: {problem}" for path, problem in self.skipped]


def audio_problem(path: Path) -> str | None:
    """Why `path` cannot serve as test audio (unreadable, corrupt, empty, > 2 channels), or None."""
    try:
        with sf.SoundFile(str(path)) as handle:
            if handle.channels > MAX_CHANNELS:
                return f"{handle.channels} channels; the checks take mono or stereo files"
            if handle.frames == 0:
                return "holds no samples"
            block = np.empty((_BLOCK_FRAMES, handle.channels), dtype=np.float32)
            decoded = 0
            while True:
                got = handle.read(_BLOCK_FRAMES, dtype="float32", always_2d=True, out=block)
                if got.shape[0] == 0:
                    break
                if not np.isfinite(got).all():
                    return f"NaN or infinite samples near frame {decoded}"
                decoded += got.shape[0]
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        return f"cannot decode: {exc}"
    if decoded == 0:
        return "holds no samples"
    return None


def choose_audio(named: Sequence[Path], found_in_folders: Sequence[Path]) -> AudioChoice:
    """Probe every file; ValueError (naming each bad file) when the run cannot go on with what is left.

    `named` are files the user gave one by one (each must be usable); `found_in_folders` are files found
    by searching folders the user gave (bad ones are left out while a good one remains).
    """
    bad_named = [(p, problem) for p in named if (problem := audio_problem(p))]
    if bad_named:
        raise ValueError("unusable audio file(s) given with --audio: "
                         + "; ".join(f"{p}: {problem}" for p, problem in bad_named))
    skipped = [(p, problem) for p in found_in_folders if (problem := audio_problem(p))]
    left_out = {p for p, _ in skipped}
    files = tuple(dict.fromkeys([*named, *(p for p in found_in_folders if p not in left_out)]))
    if not files and skipped:
        raise ValueError("no usable audio file in the folder(s) given with --audio: "
                         + "; ".join(f"{p}: {problem}" for p, problem in skipped))
    return AudioChoice(files=files, skipped=tuple(skipped))


__all__ = ["AudioChoice", "MAX_CHANNELS", "audio_problem", "choose_audio"]
