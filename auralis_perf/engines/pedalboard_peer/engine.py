"""PedalboardEngine: the pedalboard peer behind the engine protocol."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from types import MappingProxyType
from typing import Any

import numpy as np
import pedalboard

from auralis_perf.engines.base import AudioSource, Capability, Engine
from auralis_perf.engines.pedalboard_peer.chain import PRESETS, db_to_gain, get_preset, limiter_board, pre_board
from auralis_perf.engines.pedalboard_peer.stream import PedalboardStream
from auralis_perf.engines.pedalboard_peer.tuning import tune
from auralis_perf.engines.support.batch import MasterBatch
from auralis_perf.engines.support.sources import ArraySource, open_source
from auralis_perf.engines.support.validate import SUPPORTED_SAMPLE_RATES


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


class PedalboardEngine(MasterBatch, Engine):
    """Mastering with Spotify's pedalboard (C++ plugins) and pyloudnorm; no library, no kernel pairs.

    Capabilities: master, stream (stateful `reset=False` processing, preset switch mid-stream) and batch
    work (threads: pedalboard releases the GIL while it processes; processes; a job queue). Bad input is
    rejected as the reference engine rejects it (AudioInputError, AudioFileError naming the file); files
    are decoded with soundfile, as the reference's are, so the comparison is of the DSP.
    """

    name = "pedalboard"
    capabilities = frozenset({Capability.MASTER, Capability.STREAM, Capability.PRESET_SWITCH, Capability.BATCH})
    thread_safe = True  # no shared mutable state between calls: the conformance kit checks it
    absent = MappingProxyType({
        "kernels": "pedalboard has no plain paths of its own to compare",
        "fallbacks": "pedalboard has no plain paths of its own to run",
        "library": "pedalboard has no music library", "audio_cache": "pedalboard has no analysis cache",
        "playback": "not mapped in this peer", "analysis": "not mapped in this peer",
        "utilities": "not mapped in this peer"})
    presets = tuple(PRESETS)
    sample_rates = SUPPORTED_SAMPLE_RATES

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({
            "pedalboard": pedalboard.__version__, "pyloudnorm": _installed("pyloudnorm"),
            "chain": "HighpassFilter (1st order), LowShelf, 8 PeakFilter, HighShelf (the reference's EQ curve), "
                     "Compressor (threshold relative to the track's loudness, hard knee), gain to the preset's "
                     "loudness (pyloudnorm), BrickwallLimiter (look-ahead)",
            "processing_precision": "float32 (pedalboard); output in the input's dtype",
            "sample_rates": list(self.sample_rates),
            "not_offered": dict(self.absent),
        })
        return info

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        if not optimized:
            raise self.lacks("fallbacks")
        squeeze = isinstance(audio, np.ndarray) and audio.ndim == 1
        source = ArraySource(audio, sample_rate)  # every check of bad input, with the reference's messages
        chain = get_preset(preset)
        tuning = tune(source, chain, keep_output=True)
        out = tuning.output
        if out is None:  # a long source was tuned on windows: run the chain once over all of it
            planar = np.ascontiguousarray(source.audio.T, dtype=np.float32)
            rate = source.sample_rate
            pre = pre_board(chain, rate, tuning.input_lufs).process(planar, rate)
            pre *= np.float32(db_to_gain(tuning.gain_db))
            out = limiter_board(chain).process(pre, rate)
        return out[0].astype(source.dtype) if squeeze else np.ascontiguousarray(out.T, dtype=source.dtype)

    def stream(self, source: AudioSource, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default") -> PedalboardStream:
        squeeze = isinstance(source, np.ndarray) and source.ndim == 1
        opened = open_source(source, sample_rate)
        try:
            return PedalboardStream(opened, chunk_size=chunk_size, preset=preset, squeeze=squeeze)
        except BaseException:
            opened.close()
            raise

    def close(self) -> None:
        self.close_batch()
