"""Where audio comes from: an in-memory array or a file read block by block (bounded memory).

Both offer the same small interface the chain needs: `frames`, `channels`, `sample_rate`, `dtype`,
`read(start, count, out=None)` and `close()`. File problems (missing, not audio, truncated, corrupt)
become AudioFileError with the file's name; audio problems (rate, channels) AudioInputError.
"""
from __future__ import annotations

import os
import struct
from os import PathLike

import numpy as np
import soundfile as sf

from auralis_perf.engines.base import AudioFileError, AudioInputError
from auralis_perf.engines.support.validate import MAX_CHANNELS, check_audio, check_sample_rate


class ArraySource:
    """An array (frames, channels) already checked by `check_audio`; reads are views, never copies."""

    def __init__(self, audio: np.ndarray, sample_rate: int, name: str = "audio") -> None:
        self.name = name
        self.audio = check_audio(audio, name)
        self.sample_rate = check_sample_rate(sample_rate, name)
        self.frames, self.channels = self.audio.shape
        self.dtype = self.audio.dtype

    def read(self, start: int, count: int, out: np.ndarray | None = None) -> np.ndarray:
        block = self.audio[start:start + count]
        if out is None:
            return block
        out[:block.shape[0]] = block
        return out[:block.shape[0]]


    def close(self) -> None:
        self.audio = self.audio[:0]


def _wav_data_chunk(path: str) -> tuple[int, int] | None:
    """(offset, declared size) of a little-endian RIFF/WAVE file's data chunk, or None."""
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"data":
                return handle.tell(), size
            handle.seek(size + (size & 1), os.SEEK_CUR)


def _wav_truncation(path: str, file_size: int) -> str | None:
    """For a RIFF/WAVE file, a message if its data chunk is shorter than the header declares."""
    found = _wav_data_chunk(path)
    if found is None:
        return None
    offset, size = found
    available = file_size - offset
    if size not in (0, 0xFFFFFFFF) and size > available:
        return f"truncated: the header declares {size} data bytes but only {available} remain"
    return None


#: Subtypes read as raw integers and scaled by NumPy: libsndfile's own int-to-float conversion costs
#: several times more than the read, and x * 2**-15 in float32 is exact, so the values are identical.
_NATIVE_INT = {"PCM_16": (np.int16, 2.0 ** -15)}


class FileSource:
    """A sound file (WAV, FLAC, Ogg Vorbis, ...) decoded block by block through soundfile."""

    def __init__(self, path: str | PathLike[str], dtype: str = "float32") -> None:
        self.path = os.fspath(path)
        self.name = self.path
        if not os.path.exists(self.path):
            raise AudioFileError(f"{self.path}: no such file")
        if os.path.isdir(self.path):
            raise AudioFileError(f"{self.path}: is a directory, not an audio file")
        file_size = os.path.getsize(self.path)
        if file_size == 0:
            raise AudioFileError(f"{self.path}: empty file (0 bytes), not audio")
        try:
            self._file = sf.SoundFile(self.path)
        except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioFileError(f"{self.path}: not a readable audio file ({exc})") from exc
        try:
            self._check_header(file_size)
        except BaseException:
            self._file.close()
            raise
        self.sample_rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.frames = int(self._file.frames)
        self.dtype = np.dtype(dtype)
        self._position = 0
        native = _NATIVE_INT.get(self._file.subtype)
        self.native_dtype, self.native_scale = (np.dtype(native[0]), native[1]) if native else (self.dtype, 1.0)
        self._scratch = np.empty((0, self.channels), dtype=self.native_dtype)

    def reopen(self) -> FileSource:
        """Another reader of the same file, with its own handle and position."""
        return FileSource(self.path, dtype=self.dtype.name)

    def _check_header(self, file_size: int) -> None:
        handle = self._file
        check_sample_rate(handle.samplerate, self.path)
        if handle.channels > MAX_CHANNELS:
            raise AudioInputError(f"{self.path}: {handle.channels} channels; the engine handles mono or stereo")
        if handle.frames <= 0:
            raise AudioFileError(f"{self.path}: contains no audio frames")
        if handle.format == "WAV":
            problem = _wav_truncation(self.path, file_size)
            if problem:
                raise AudioFileError(f"{self.path}: {problem}")

    def read(self, start: int, count: int, out: np.ndarray | None = None) -> np.ndarray:
        """Frames [start, start + count) clipped to the file as floats, into `out` if given."""
        count = max(0, min(count, self.frames - start))
        if out is None:
            out = np.empty((count, self.channels), dtype=self.dtype)
        target = out[:count]
        if self.native_scale == 1.0:
            return self._decode(start, target)
        if self._scratch.shape[0] < count:
            self._scratch = np.empty((count, self.channels), dtype=self.native_dtype)
        raw = self._decode(start, self._scratch[:count])
        np.multiply(raw, target.dtype.type(self.native_scale), out=target)
        return target

    def read_native(self, start: int, count: int, out: np.ndarray) -> np.ndarray:
        """Frames as stored (int16 for 16-bit PCM, else floats): multiply by `native_scale` for floats."""
        count = max(0, min(count, self.frames - start))
        return self._decode(start, out[:count])

    def _decode(self, start: int, target: np.ndarray) -> np.ndarray:
        count = target.shape[0]
        if count == 0:
            return target
        try:
            if start != self._position:
                self._file.seek(start)
            got = self._file.read(count, dtype=target.dtype.name, always_2d=True, out=target)
        except (sf.SoundFileError, RuntimeError) as exc:
            self._position = -1
            raise AudioFileError(f"{self.path}: corrupt or truncated audio data near frame {start} ({exc})") from exc
        self._position = start + got.shape[0]
        if got.shape[0] < count:
            raise AudioFileError(f"{self.path}: truncated: expected {count} frames from frame {start}, "
                                 f"decoded {got.shape[0]}")
        if target.dtype.kind == "f" and not np.isfinite(target.sum(dtype=np.float64)) \
                and not np.isfinite(target).all():
            raise AudioFileError(f"{self.path}: corrupt audio data (NaN or Inf samples) near frame {start}")
        return target

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def open_source(source: object, sample_rate: int | None = None, *, dtype: str = "float32") -> ArraySource | FileSource:
    """An ArraySource for an ndarray (sample_rate required), a FileSource for a path."""
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise AudioInputError("audio array: sample_rate is required when streaming an array")
        return ArraySource(source, sample_rate)
    if isinstance(source, (str, PathLike)):
        return FileSource(source, dtype=dtype)
    raise AudioInputError(f"source must be a file path or a NumPy array, got {type(source).__name__}")
