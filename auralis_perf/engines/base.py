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
from types import MappingProxyType
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np

from auralis_perf.engines.protocols.audio import (
    AnalysisResult,
    AudioCache,
    AudioUtilities,
    BufferPool,
    JobQueue,
    PlaybackSession,
    PresetSwitch,
)
from auralis_perf.engines.protocols.library import MusicLibrary

AudioSource = Union[str, "PathLike[str]", np.ndarray]


class Capability:
    """Names of optional capabilities. An engine lists the ones it has in `Engine.capabilities`."""

    MASTER = "master"          # Engine.master (every engine)
    STREAM = "stream"          # Engine.stream (every engine)
    FALLBACKS = "fallbacks"    # Engine.master(..., optimized=False): every plain path at once
    KERNELS = "kernels"        # Engine.kernels(): fast/plain pairs (envelope, eq, spectrum, ...)
    PLAYBACK = "playback"      # Engine.open_playback() -> PlaybackSession
    ANALYSIS = "analysis"      # Engine.analyze(...): protocol Analysis
    BATCH = "batch"            # Engine.process_batch(...), Engine.job_queue(...): protocol Batch
    UTILITIES = "utilities"    # Engine.utilities: protocol AudioUtilities
    AUDIO_CACHE = "audio_cache"  # Engine.open_audio_cache(...) -> AudioCache
    LIBRARY = "library"        # Engine.open_library(...): protocol MusicLibrary
    PRESET_SWITCH = "preset_switch"  # Stream.set_preset mid-stream: protocol PresetSwitch
    BUFFER_POOL = "buffer_pool"      # Stream.pool_stats: protocol BufferPool


class EngineError(Exception):
    """Base class of errors an engine raises on purpose."""


class AudioInputError(EngineError, ValueError):
    """Bad audio input: NaN/Inf, empty, wrong shape or dtype, too many channels, unsupported rate."""


class AudioFileError(EngineError, OSError):
    """A file that is missing, truncated, corrupt or not audio. The message names the file."""


class NotSupported(EngineError, NotImplementedError):
    """The engine lacks the capability asked for. The message says which one."""

    @classmethod
    def because(cls, message: str, reason: str | None) -> "NotSupported":
        """`message`, followed by the engine's or library's own reason when it gave one."""
        return cls(f"{message}: {reason}" if reason else message)


@runtime_checkable
class Stream(PresetSwitch, BufferPool, Protocol):
    """A chunk-by-chunk processing of one source. Iterating yields processed chunks (frames, channels).

    Filter and envelope state carry across chunks: the concatenated chunks equal `Engine.master` of the
    whole source within the engine's tolerance. A stream is iterated once; it is a context manager and
    `close()` frees it. `set_preset` (capability `preset_switch`) and `pool_stats` (capability
    `buffer_pool`) raise `NotSupported` on an engine without them (see `PresetSwitch`, `BufferPool`).
    """

    sample_rate: int
    channels: int
    chunk_size: int

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Stream": ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass
class KernelPair:
    """One optimisation and its plain form, for the checks that compare them.

    `fast` and `plain` take the input made by `make_input(audio, sample_rate)` and return an array; the
    harness passes `audio` (music-like float64, shaped (frames, 2)), so an engine needs no signal of its own;
    their outputs must agree within `tolerance`. `evidence()` returns proof that the fast path is what
    the engine's own `master` call uses (e.g. a call counter or a compiled-signature list), or None when
    the engine cannot tell.
    """

    name: str
    description: str
    fast: Callable[[Any], np.ndarray]
    plain: Callable[[Any], np.ndarray]
    make_input: Callable[[np.ndarray, int], Any]
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
    #: Largest absolute sample difference allowed between results the protocols say agree: a stream's
    #: concatenated chunks and `master` of the whole signal, batch or queued outputs and `master`, a
    #: parallel analysis and its serial form. The conformance kit holds the engine to it.
    tolerance: float = 1e-6
    #: True when one engine object may be used from several threads at once (`master`, `stream`,
    #: `analyze`) with the same results as one after the other; the conformance kit then checks it.
    thread_safe: bool = False
    #: Why the engine lacks a capability or a kernel pair, by its name (e.g. {"fallbacks": "no switch runs
    #: every plain path at once"}): the harness appends the reason to the `skip` it reports, so a reader
    #: learns which part of the engine is missing. Optional; names without a reason get the bare message.
    absent: Mapping[str, str] = MappingProxyType({})

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise self.lacks(capability)

    def lacks(self, capability: str) -> NotSupported:
        """The NotSupported for a missing capability, with the engine's reason from `absent` when it has one."""
        return NotSupported.because(f"engine {self.name!r} has no capability {capability!r}",
                                    self.absent.get(capability))

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
    # Each is a typed protocol in engines/protocols/audio.py (the docstrings there are the contract);
    # the defaults below raise NotSupported, which the harness reports as `skip` with the reason.

    #: Capability `utilities`: an object implementing `AudioUtilities`, or None.
    utilities: AudioUtilities | None = None

    def kernels(self) -> Mapping[str, KernelPair]:
        """Capability `kernels`: fast/plain pairs by name. The names the checks look for: "envelope",
        "eq", "spectrum_batched", "spectrum_parallel" (info["workers"]; info["kept_workers"] True when its
        threads are the engine's, kept between calls), "chain"; others are listed too."""
        raise self.lacks("kernels")

    def open_playback(self, *, chunk_size: int = 4096, preset: str = "default") -> PlaybackSession:
        """Capability `playback`: a new player session (see `PlaybackSession`)."""
        raise self.lacks("playback")

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> AnalysisResult:
        """Capability `analysis`: see `Analysis.analyze` (kinds `waveform`, `spectrum`, `fingerprint`,
        `loudness`)."""
        raise self.lacks("analysis")

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[np.ndarray]:
        """Capability `batch`: see `Batch.process_batch` (executor `serial`, `thread` or `process`)."""
        raise self.lacks("batch")

    def job_queue(self, workers: int = 1) -> JobQueue:
        """Capability `batch`: a queue of short mastering jobs (see `JobQueue`)."""
        raise self.lacks("batch")

    def open_audio_cache(self, directory: str | PathLike[str]) -> AudioCache:
        """Capability `audio_cache`: the engine's cache of file analyses, persisted under `directory`."""
        raise self.lacks("audio_cache")

    def open_library(self, path: str | PathLike[str], **options: Any) -> MusicLibrary:
        """Capability `library`: the music library at `path`, created when missing (see `MusicLibrary`
        in engines/protocols/library.py). Options the harness passes: `cache_entries=n` bounds every cache
        of the library to `n` entries, `cache_bytes=b` to `b` bytes (NotSupported when the library cannot
        bound that; the memory checks then fall back to entries only). Other options are the engine's own."""
        raise self.lacks("library")

    def close(self) -> None:
        """Free pools, threads and files the engine holds."""
