"""Auralis's I/O behind the protocol's `AudioUtilities`: `auralis.io.load`/`save` and its resampler.

- decode: `auralis.io.load` (soundfile, float32, always stereo: mono is doubled, more channels cut to two);
- encode: `auralis.io.save` (one soundfile.write; subtype PCM_16 as its default, VORBIS for Ogg);
- resample: `auralis.io.processing.resample_audio` (resampy channel by channel, linear interpolation when
  resampy is missing).

- to_stereo: `auralis.dsp.utils.audio_info.mono_to_stereo` (the channel duplicated).

Auralis has no other helpers for the sample-format conversions (float <-> integer PCM, interleave,
stereo -> mono): it does them inline with NumPy where it needs them, so those methods raise NotSupported.
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.api import AuralisAPI
from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import AudioFileError, AudioInputError, EngineError, NotSupported
from auralis_perf.engines.support.validate import check_audio, check_sample_rate

#: format -> (file extension, soundfile subtype passed to Auralis's save)
FORMATS = {"wav": ("wav", "PCM_16"), "flac": ("flac", "PCM_16"), "ogg": ("ogg", "VORBIS")}
#: One soundfile.write of this much stereo Ogg Vorbis or more segfaults libvorbis here (see
#: engines/support/encode.py), and Auralis's save writes in one call.
OGG_ONE_CALL_LIMIT_SECONDS = 60.0

NO_CONVERSIONS = ("Auralis has no helper for this sample-format conversion at this commit (float/integer PCM, "
                  "interleaving and the stereo-to-mono mix are inline NumPy inside its modules; its only one is "
                  "auralis.dsp.utils.audio_info.mono_to_stereo)")


class AuralisUtilities:
    """Decode, encode and resample with Auralis's own functions."""

    def __init__(self, api: AuralisAPI) -> None:
        self._load, self._save = api.get("io")
        (self._resample,) = api.get("resample")
        self._mono_to_stereo = api.get("channels")[0] if api.has("channels") else None

    def resample(self, audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
        checked = check_audio(audio)
        check_sample_rate(sr_from), check_sample_rate(sr_to)
        squeeze = np.ndim(audio) == 1
        with quiet():
            out = np.asarray(self._resample(checked[:, 0] if squeeze else checked, sr_from, sr_to))
        return out.astype(checked.dtype, copy=False)

    def float_to_int(self, audio: np.ndarray, bits: int = 16) -> np.ndarray:
        raise NotSupported(NO_CONVERSIONS)

    def int_to_float(self, data: np.ndarray, bits: int = 16) -> np.ndarray:
        raise NotSupported(NO_CONVERSIONS)

    def interleave(self, planar: np.ndarray) -> np.ndarray:
        raise NotSupported(NO_CONVERSIONS)

    def deinterleave(self, flat: np.ndarray, channels: int) -> np.ndarray:
        raise NotSupported(NO_CONVERSIONS)

    def to_mono(self, audio: np.ndarray) -> np.ndarray:
        raise NotSupported(NO_CONVERSIONS)

    def to_stereo(self, audio: np.ndarray) -> np.ndarray:
        if self._mono_to_stereo is None:
            raise NotSupported(NO_CONVERSIONS)
        mono = check_audio(audio)  # (frames, 1) for a mono input
        if mono.shape[1] != 1:
            raise AudioInputError(f"to_stereo takes mono audio, got {mono.shape[1]} channels")
        return np.asarray(self._mono_to_stereo(mono[:, 0]))

    def encode(self, audio: np.ndarray, sample_rate: int, path: str | PathLike[str], format: str = "WAV") -> Path:
        fmt = str(format).lower()
        if fmt not in FORMATS:
            raise AudioInputError(f"unknown format {format!r}; formats: {', '.join(FORMATS)}")
        checked = check_audio(audio)
        rate = check_sample_rate(sample_rate)
        if fmt == "ogg" and checked.shape[0] / rate >= OGG_ONE_CALL_LIMIT_SECONDS:
            raise EngineError(f"not attempted: Auralis's save writes a file in one soundfile.write call, and one "
                              f"call of {OGG_ONE_CALL_LIMIT_SECONDS:g} s or more of Ogg Vorbis segfaults libvorbis here")
        target = Path(path)
        with quiet():
            try:
                self._save(str(target), checked, rate, subtype=FORMATS[fmt][1])
            except RuntimeError as exc:
                raise AudioFileError(f"{target}: {exc}") from exc
        return target

    def decode(self, path: str | PathLike[str]) -> tuple[np.ndarray, int]:
        source = Path(path)
        if not source.is_file():
            raise AudioFileError(f"{source}: no such file")
        with quiet():
            try:
                audio, rate = self._load(str(source))
            except RuntimeError as exc:
                raise AudioFileError(f"{source}: {exc}") from exc
        return np.asarray(audio), int(rate)

    def describe(self) -> dict[str, Any]:
        return {"decode": "auralis.io.load (always stereo float32)", "encode": "auralis.io.save",
                "resample": "auralis.io.processing.resample_audio", "conversions": NO_CONVERSIONS}
