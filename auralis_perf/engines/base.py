"""The engine protocol: the only way the harness talks to an engine.

An engine is anything that can master audio. Beyond the two calls every engine offers (`master`,
`stream`), it declares *capabilities*; a check that needs a capability the engine lacks is reported as
`skip` with the reason, never measured on something else.

The harness (suites, notebooks, pytest) must use only what is declared here, never an engine's internals,
so that other engines (the real Auralis, pedalboard, ...) plug in through an adapter.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np

AudioSource = Union[str, "PathLike[str]", np.ndarray]


class Capability:
    """Names of optional capabilities. An engine lists the ones it has in `Engine.capabilities`."""

    MASTER = "master"          # Engine.master (every engine)
    STREAM = "stream"          # Engine.stream (every engine)
    FALLBACKS = "fallbacks"    # Engine.master(..., optimized=False): every plain path at once
    KERNELS = "kernels"        # Engine.kernels(): fast/plain pairs (envelope, eq, spectrum, ...)
    PLAYBACK = "playback"      # Engine.open_playback(...)
    ANALYSIS = "analysis"      # Engine.analyze(...)
    BATCH = "batch"            # Engine.process_batch(...), Engine.job_queue(...)
    UTILITIES = "utilities"    # Engine.resample / convert / encode / decode
    AUDIO_CACHE = "audio_cache"  # Engine.open_audio_cache(...)
    LIBRARY = "library"        # Engine.open_library(...)
    PRESET_SWITCH = "preset_switch"  # Stream.set_preset mid-stream
    BUFFER_POOL = "buffer_pool"      # Stream.pool_stats


class EngineError(Exception):
    """Base class of errors an engine raises on purpose."""


class AudioInputError(EngineError, ValueError):
    """Bad audio input: NaN/Inf, empty, wrong shape or dtype, too many channels, unsupported rate."""


class AudioFileError(EngineError, OSError):
    """A file that is missing, truncated, corrupt or not audio. The message names the file."""


class NotSupported(EngineError, NotImplementedError):
    """The engine lacks the capability asked for. The message says which one."""


@runtime_checkable
class Stream(Protocol):
    """A chunk-by-chunk processing of one source. Iterating yields processed chunks (frames, channels).

    Filter and envelope state carry across chunks. A stream is a context manager; `close()` frees it.
    """

    sample_rate: int
    channels: int
    chunk_size: int

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def set_preset(self, preset: str) -> None:
        """Takes effect at the next chunk, without a click (capability `preset_switch`)."""

    def pool_stats(self) -> Mapping[str, int]:
        """Buffer-pool figures: at least `allocations` and `reuses` (capability `buffer_pool`)."""

    def close(self) -> None: ...

    def __enter__(self) -> "Stream": ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass
class KernelPair:
    """One optimisation and its plain form, for the checks that compare them.

    `fast` and `plain` take the input made by `make_input(n_frames, sample_rate)` and return an array;
    their outputs must agree within `tolerance`. `evidence()` returns proof that the fast path is what
    the engine's own `master` call uses (e.g. a call counter or a compiled-signature list), or None when
    the engine cannot tell.
    """

    name: str
    description: str
    fast: Callable[[Any], np.ndarray]
    plain: Callable[[Any], np.ndarray]
    make_input: Callable[[int, int], Any]
    tolerance: float = 1e-9
    evidence: Callable[[], Mapping[str, Any] | None] = lambda: None
    info: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """Base of every engine. Subclasses set `name`, `capabilities` and `presets`."""

    name: str = "engine"
    capabilities: frozenset[str] = frozenset({Capability.MASTER, Capability.STREAM})
    presets: tuple[str, ...] = ("default",)
    #: Sample rates the engine accepts.
    sample_rates: tuple[int, ...] = (44100, 48000)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise NotSupported(f"engine {self.name!r} has no capability {capability!r}")

    def describe(self) -> dict[str, Any]:
        """Name, version and anything else a report should show about the engine."""
        return {"name": self.name, "capabilities": sorted(self.capabilities), "presets": list(self.presets)}

    # -- every engine ------------------------------------------------------------------------------
    @abc.abstractmethod
    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        """Master a whole signal shaped (frames, channels); returns the same shape.

        `optimized=False` runs every plain fallback at once (capability `fallbacks`).
        """

    @abc.abstractmethod
    def stream(self, source: AudioSource, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default") -> Stream:
        """Process a file path or an array chunk by chunk. `sample_rate` is required for arrays."""

    # -- optional capabilities ------------------------------------------------------------------------
    # The shapes below are the contract the suites rely on; the reference engine implements them all.
    #
    # kernels() -> {name: KernelPair}; the reference names: "envelope" (compiled vs pure-Python loop),
    #   "eq" (all sections at once vs band by band), "spectrum_batched" (batched STFT vs frame by frame),
    #   "spectrum_parallel" (across workers vs sequential; info["workers"]), "chain" (master optimized vs
    #   every fallback).
    # open_playback(...) -> session with start(), set_preset(name), wait(timeout) -> bool, close(),
    #   context manager, and timeline() -> {"opened", "first_chunk", "playback_start": perf_counter seconds,
    #   "preset_switches": [[requested, applied], ...], "buffer_waits": [seconds, ...],
    #   "chunk_times": [seconds, ...], "missed_deadlines": int, "chunks": int}.
    # analyze(audio, sr, kind, **options): kind "waveform" (columns=...), "spectrum" (n_fft=..., parallel=bool,
    #   workers=int), "fingerprint", "loudness" (integrated LUFS, loudness range, true peak, crest factor).
    # process_batch(items, workers, executor) -> outputs in input order; job_queue(workers) -> queue with
    #   submit(audio, sample_rate, preset) -> Future, stats() -> [{"wait": s, "run": s}, ...], close().
    # utilities -> object with resample(audio, sr_from, sr_to), float_to_int(audio, bits),
    #   int_to_float(data, bits), interleave(planar), deinterleave(flat, channels), to_mono(audio),
    #   to_stereo(audio), encode(audio, sr, path, format), decode(path) -> (audio, sr).
    # open_audio_cache(directory) -> cache with get(path, kind) for kind in waveform/spectrum/fingerprint/
    #   analysis, invalidate(path), stats() -> {"hits", "misses", "evictions", "bytes"}, close().
    # open_library(path, **options) -> the music library (see engines/reference/library).
    utilities: Any = None

    def kernels(self) -> Mapping[str, KernelPair]:
        """Fast/plain pairs by name; the reference engine offers `envelope`, `eq`, `spectrum`, `chain`."""
        raise NotSupported(f"engine {self.name!r} has no capability 'kernels'")

    def open_playback(self, path: str | PathLike[str], *, chunk_size: int = 4096, buffer_chunks: int = 8,
                      realtime: bool = False, preset: str = "default") -> Any:
        """A playback session (see the reference engine's `PlaybackSession`)."""
        raise NotSupported(f"engine {self.name!r} has no capability 'playback'")

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        """Analysis by kind: `waveform`, `spectrum`, `fingerprint`, `loudness`."""
        raise NotSupported(f"engine {self.name!r} has no capability 'analysis'")

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        """Master many tracks (arrays or paths); executor is `serial`, `thread` or `process`."""
        raise NotSupported(f"engine {self.name!r} has no capability 'batch'")

    def job_queue(self, workers: int = 1) -> Any:
        """A queue of short mastering jobs that reports per-job wait and run times."""
        raise NotSupported(f"engine {self.name!r} has no capability 'batch'")

    def open_audio_cache(self, directory: str | PathLike[str]) -> Any:
        raise NotSupported(f"engine {self.name!r} has no capability 'audio_cache'")

    def open_library(self, path: str | PathLike[str], **options: Any) -> Any:
        raise NotSupported(f"engine {self.name!r} has no capability 'library'")

    def close(self) -> None:
        """Free pools, threads and files the engine holds."""
