"""Conversions around the chain: resampling, sample formats, channel layouts, codecs (via soundfile)."""
from __future__ import annotations

import math
import os
from os import PathLike

import numpy as np
import soundfile as sf
from scipy import signal

from auralis_perf.engines.base import AudioFileError, AudioInputError
from auralis_perf.engines.support.encode import write_in_blocks
from auralis_perf.engines.support.sources import FileSource
from auralis_perf.engines.support.validate import check_audio

FORMATS = {"WAV": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS"}
_INT_BITS = {16: np.int16, 24: np.int32, 32: np.int32}


def _bits(bits: int) -> int:
    if bits not in _INT_BITS:
        raise AudioInputError(f"bits must be 16, 24 or 32, got {bits!r}")
    return bits


class AudioUtilities:
    """`engine.utilities`: every method is a pure function of its arguments."""

    @staticmethod
    def resample(audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
        """Polyphase resampling (scipy.signal.resample_poly, Kaiser-windowed FIR) by the reduced ratio,
        e.g. 44100 -> 48000 is up 160, down 147. Keeps dtype and layout (frames, channels)."""
        for rate in (sr_from, sr_to):
            if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
                raise AudioInputError(f"sample rates must be positive integers, got {sr_from!r} -> {sr_to!r}")
        if sr_from == sr_to:
            return audio.copy()
        checked = check_audio(audio)
        common = math.gcd(int(sr_from), int(sr_to))
        out = signal.resample_poly(checked, sr_to // common, sr_from // common, axis=0)
        out = out.astype(audio.dtype, copy=False)
        return out[:, 0] if audio.ndim == 1 else out

    @staticmethod
    def float_to_int(audio: np.ndarray, bits: int = 16) -> np.ndarray:
        """Scale [-1, 1) floats to signed integers (int16 for 16 bits, int32 holding 24/32-bit values),
        rounding to nearest and clipping at full scale."""
        scale = float(2 ** (_bits(bits) - 1))
        scaled = np.rint(np.asarray(audio, dtype=np.float64) * scale)
        np.clip(scaled, -scale, scale - 1.0, out=scaled)
        return scaled.astype(_INT_BITS[bits])

    @staticmethod
    def int_to_float(data: np.ndarray, bits: int = 16) -> np.ndarray:
        """Signed integers of `bits` bits to float32 in [-1, 1)."""
        if not np.issubdtype(np.asarray(data).dtype, np.integer):
            raise AudioInputError(f"int_to_float expects integer samples, got {np.asarray(data).dtype}")
        return (np.asarray(data, dtype=np.float64) / float(2 ** (_bits(bits) - 1))).astype(np.float32)

    @staticmethod
    def interleave(planar: np.ndarray) -> np.ndarray:
        """(channels, frames) planar -> flat interleaved L R L R ..."""
        planar = np.asarray(planar)
        if planar.ndim != 2:
            raise AudioInputError(f"interleave expects planar (channels, frames), got shape {planar.shape}")
        return np.ascontiguousarray(planar.T).reshape(-1)

    @staticmethod
    def deinterleave(flat: np.ndarray, channels: int) -> np.ndarray:
        """Flat interleaved -> (channels, frames) planar."""
        flat = np.asarray(flat)
        if flat.ndim != 1 or channels < 1 or flat.shape[0] % channels:
            raise AudioInputError(f"cannot split {flat.shape} samples into {channels} channels")
        return np.ascontiguousarray(flat.reshape(-1, channels).T)

    @staticmethod
    def to_mono(audio: np.ndarray) -> np.ndarray:
        """(frames, channels) -> (frames, 1): the mean of the channels."""
        checked = check_audio(audio)
        return checked.mean(axis=1, keepdims=True, dtype=np.float64).astype(checked.dtype)

    @staticmethod
    def to_stereo(audio: np.ndarray) -> np.ndarray:
        """Mono (frames,) or (frames, 1) -> (frames, 2) with the same signal in both channels."""
        checked = check_audio(audio)
        if checked.shape[1] == 2:
            return checked.copy()
        return np.repeat(checked, 2, axis=1)

    @staticmethod
    def encode(audio: np.ndarray, sample_rate: int, path: str | PathLike[str], format: str = "WAV",
               subtype: str | None = None) -> str:
        """Write WAV (32-bit float), FLAC (24-bit) or Ogg Vorbis unless `subtype` says otherwise."""
        fmt = format.upper()
        if fmt not in FORMATS:
            raise AudioInputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        checked = check_audio(audio)
        path = os.fspath(path)
        try:  # in blocks: one call of a minute or more of Ogg Vorbis crashes libvorbis (see support.encode)
            write_in_blocks(path, checked, sample_rate, format=fmt, subtype=subtype or FORMATS[fmt])
        except (sf.SoundFileError, RuntimeError, ValueError) as exc:
            raise AudioFileError(f"{path}: cannot encode as {fmt}: {exc}") from exc
        return path

    @staticmethod
    def decode(path: str | PathLike[str], dtype: str = "float32") -> tuple[np.ndarray, int]:
        """Read a whole file as (frames, channels) floats and its sample rate (errors name the file)."""
        source = FileSource(path, dtype=dtype)
        try:
            return source.read(0, source.frames), source.sample_rate
        finally:
            source.close()
