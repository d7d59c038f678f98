"""AuralisEngine: the real Auralis (installed by the user) behind the engine protocol."""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter import analysis
from auralis_perf.engines.auralis_adapter.api import CAPABILITY_PARTS, AuralisAPI, detect
from auralis_perf.engines.auralis_adapter.audio_cache import AuralisAudioCache
from auralis_perf.engines.auralis_adapter.environment import SINK, RedirectedHome, quiet, run_local_home
from auralis_perf.engines.auralis_adapter.kernels import MasterTrace, kernel_pairs, missing_pairs, traced_functions
from auralis_perf.engines.auralis_adapter.library import AuralisLibrary
from auralis_perf.engines.auralis_adapter.library.library import ABSENT_FEATURES
from auralis_perf.engines.auralis_adapter.playback import PLAYER_PROFILES, AuralisPlayback
from auralis_perf.engines.auralis_adapter.stream import AuralisStream, PoolCounter, from_auralis, to_auralis
from auralis_perf.engines.auralis_adapter.utilities import AuralisUtilities
from auralis_perf.engines.base import AudioInputError, AudioSource, Capability, Engine, KernelPair, NotSupported
from auralis_perf.engines.support.batch import MasterBatch
from auralis_perf.engines.support.sources import open_source
from auralis_perf.engines.support.validate import SUPPORTED_SAMPLE_RATES, check_audio, check_sample_rate

#: The report's preset names -> Auralis's (`UnifiedConfig.set_mastering_preset`).
PRESET_NAMES = {"default": "adaptive", "gentle": "gentle", "warm": "warm", "bright": "bright", "punchy": "punchy"}


class AuralisEngine(MasterBatch, Engine):
    """Masters through `HybridProcessor(UnifiedConfig()).process(ndarray)`, always an array, never a path
    (at commit 087974e2 `process(str)` ignores the file and processes 5 s of noise).

    Options: `home` (where Auralis may write, default $AURALIS_PERF_AURALIS_HOME or ./auralis-home) and
    `result_cache` (default False: Auralis caches real-time results under a key made from the printed
    form of the input array, so a repeated measurement would time cache hits, not processing).
    """

    name = "auralis"
    presets = tuple(PRESET_NAMES)
    sample_rates = SUPPORTED_SAMPLE_RATES

    def __init__(self, *, home: str | PathLike[str] | None = None, result_cache: bool = False) -> None:
        self._home = RedirectedHome(run_local_home(home))
        started = time.perf_counter()
        try:
            self.api: AuralisAPI = detect()
        except BaseException:
            self._home.restore(remove_if_unused=True)
            raise
        self.import_seconds = time.perf_counter() - started
        self._result_cache = result_cache
        self._local = threading.local()  # one processor per thread and preset: batch threads never share
        self._timing_lock = threading.Lock()
        self.master_calls: list[dict[str, float]] = []
        self._trace = MasterTrace(self.master, lambda audio, sr: self._master(audio, sr, "default", record=False),
                                  traced_functions(self.api))
        self._pairs: dict[str, KernelPair] | None = None
        processor_class = self.api.get("hybrid_processor")[0]
        capabilities = {Capability.MASTER, Capability.BATCH}
        if hasattr(processor_class, "process_realtime_chunk"):
            capabilities.add(Capability.STREAM)
        if kernel_pairs(self.api, self._trace):
            capabilities.add(Capability.KERNELS)
        capabilities.update(c for c, parts in CAPABILITY_PARTS.items() if self.api.has(*parts))
        if Capability.STREAM not in capabilities:
            capabilities.discard(Capability.BUFFER_POOL)  # its figures are a stream's
        self.capabilities = frozenset(capabilities)
        self.utilities = AuralisUtilities(self.api) if Capability.UTILITIES in capabilities else None
        self.absent = self._absent_parts()

    # -- Auralis objects --------------------------------------------------------------------------
    def _new_processor(self, preset: str, sample_rate: int) -> Any:
        if preset not in PRESET_NAMES:
            raise AudioInputError(f"unknown preset {preset!r}; presets: {', '.join(PRESET_NAMES)}")
        config_class = self.api.get("unified_config")[0]
        processor_class = self.api.get("hybrid_processor")[0]
        with quiet():
            config = config_class(internal_sample_rate=sample_rate)
            config.set_mastering_preset(PRESET_NAMES[preset])
            processor = processor_class(config)
        optimizer_config = getattr(getattr(processor, "performance_optimizer", None), "config", None)
        if optimizer_config is not None and hasattr(optimizer_config, "enable_caching"):
            optimizer_config.enable_caching = self._result_cache
        return processor

    def _processor(self, preset: str, sample_rate: int) -> Any:
        cache = self._local.__dict__.setdefault("processors", {})
        key = (preset, sample_rate)
        if key not in cache:
            cache[key] = self._new_processor(preset, sample_rate)
        return cache[key]

    # -- every engine -----------------------------------------------------------------------------
    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        if not optimized:
            raise self.lacks("fallbacks")
        return self._master(audio, sample_rate, preset, record=True)

    def _master(self, audio: np.ndarray, sample_rate: int, preset: str, *, record: bool) -> np.ndarray:
        """master(); `record=False` keeps the call out of the cold/warm figures (the traced evidence call)."""
        squeeze = isinstance(audio, np.ndarray) and audio.ndim == 1
        checked = check_audio(audio)  # an array, never a path
        rate = check_sample_rate(sample_rate)
        processor = self._processor(preset, rate)
        sent = to_auralis(checked)
        started = time.perf_counter()
        with quiet():
            out = processor.process(sent)
        elapsed = time.perf_counter() - started
        if record:
            with self._timing_lock:
                self.master_calls.append({"seconds": elapsed, "audio_seconds": checked.shape[0] / rate})
        result = from_auralis(out, sent, checked.shape[1], checked.dtype, "HybridProcessor.process")
        return result[:, 0] if squeeze else result

    def stream(self, source: AudioSource, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default") -> AuralisStream:
        if Capability.STREAM not in self.capabilities:
            self.require(Capability.STREAM)
        squeeze = isinstance(source, np.ndarray) and source.ndim == 1
        opened = open_source(source, sample_rate)
        try:
            processor = self._new_processor(preset, opened.sample_rate)  # its own state, from the first chunk
            pool = None
            if Capability.BUFFER_POOL in self.capabilities:
                with quiet():
                    pool = PoolCounter(self.api.get("memory_pool")[0]())  # Auralis's default 64 MB budget
            return AuralisStream(opened, processor, chunk_size=chunk_size, squeeze=squeeze, pool=pool)
        except BaseException:
            opened.close()
            raise

    # -- optional capabilities --------------------------------------------------------------------
    def kernels(self) -> Mapping[str, KernelPair]:
        self.require(Capability.KERNELS)
        if self._pairs is None:
            self._pairs = kernel_pairs(self.api, self._trace)
        return self._pairs

    def open_playback(self, *, chunk_size: int = 4096, preset: str = "default") -> AuralisPlayback:
        self.require(Capability.PLAYBACK)
        return AuralisPlayback(self.api, chunk_size=chunk_size, preset=preset)

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        self.require(Capability.ANALYSIS)
        return analysis.analyze(self.api, audio, sample_rate, kind, **options)

    def open_audio_cache(self, directory: str | PathLike[str]) -> AuralisAudioCache:
        self.require(Capability.AUDIO_CACHE)
        return AuralisAudioCache(self.api, directory)

    def open_library(self, path: str | PathLike[str], *, cache_entries: int | None = None,
                     **options: Any) -> AuralisLibrary:
        self.require(Capability.LIBRARY)
        if options:
            raise NotSupported(f"Auralis's LibraryManager takes a database path only (not {', '.join(options)})")
        return AuralisLibrary(self.api.get("library")[0], self.api.get("library_models"),
                              self.api.module_of("query_cache"), path, cache_entries=cache_entries)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        with self._timing_lock:
            calls = list(self.master_calls)
        warm = [c["audio_seconds"] / c["seconds"] for c in calls[1:] if c["seconds"] > 0]
        info.update({
            "auralis_version": self.api.version, "auralis_module": self.api.module_file,
            "api_found": sorted(self.api.found), "api_missing": dict(self.api.missing),
            "kernel_pairs_missing": missing_pairs(self.api),
            "presets_as_auralis": dict(PRESET_NAMES),
            "auralis_home": str(self._home.home), "numba_cache_dir": self._home.numba_cache_dir,
            "result_cache": self._result_cache, "import_seconds": round(self.import_seconds, 3),
            "cold_master": ({"seconds": calls[0]["seconds"], "audio_seconds": calls[0]["audio_seconds"],
                             "note": "the first master() call of this process, compilation included"}
                            if calls else None),
            "warm_master_rtf_median": float(np.median(warm)) if warm else None,
            "warm_master_calls": len(warm),
            "auralis_printed_lines": SINK.lines,
            "not_offered": dict(self.absent),
            "playback_profiles": dict(PLAYER_PROFILES),
            "library_features_absent": dict(ABSENT_FEATURES),
        })
        return info

    def _absent_parts(self) -> dict[str, str]:
        """Each capability and kernel pair this Auralis lacks, with the reason (see `Engine.absent`)."""
        missing = {
            "fallbacks": "Auralis has no switch that runs every plain path at once",
            "preset_switch": "the real-time chunk path (process_realtime_chunk) does not read the mastering "
                             "preset; the player's profile switch is offered through playback",
            "spectrum_batched": "Auralis's spectrum analysers (SpectrumAnalyzer, ParallelSpectrumAnalyzer) "
                                "transform one chunk per call; neither has a batched form to compare with",
            "chain": "Auralis has no plain form of its whole processing chain",
            "analysis kind waveform": "Auralis has no waveform (peak envelope) analysis",
            "utilities conversions": "no float/integer PCM, interleave or channel-mix helpers",
        }
        missing.update(missing_pairs(self.api))
        for capability, parts in CAPABILITY_PARTS.items():
            if capability not in self.capabilities:
                missing[capability] = "Auralis lacks " + (self.api.why_missing(*parts) or "its parts")
        return missing

    def close(self) -> None:
        self.close_batch()
        self._home.restore()
