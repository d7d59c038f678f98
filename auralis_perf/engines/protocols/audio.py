"""Typed protocols of the optional audio capabilities: what a check may ask of an engine, and nothing more.

An engine declares a capability by listing its name in `Engine.capabilities` (see `Capability`) and
implementing the protocol below that the name stands for. A check whose capability is not declared is
reported as `skip` with the engine's reason; a method an engine cannot honour raises `NotSupported` with
a sentence saying why (it becomes that check's `skip`).

Conventions shared by every protocol:

- Audio is a NumPy array shaped (frames, channels), float32 or float64, values nominally in [-1, 1].
  A 1-D array is mono. Outputs keep the input's frame count unless a method says otherwise.
- Bad input raises `AudioInputError` (NaN/Inf, empty, wrong shape or dtype, a rate the engine does not
  accept); a missing or unreadable file raises `AudioFileError` naming the file. Never another error
  type for bad input: the harness reports bad input as `error`, and must be able to tell it apart.
- Times are `time.perf_counter()` seconds (the harness's clock).
- Objects with `close()` are context managers; `close()` may be called twice.

The conformance kit (`pytest --perf-engine module:Factory -m conformance`) checks an engine against
each protocol it declares.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal, Protocol, Union, runtime_checkable

import numpy as np

PathType = Union[str, "PathLike[str]"]

#: The analysis kinds the checks ask for (`Analysis.analyze`).
AnalysisKind = Literal["waveform", "spectrum", "fingerprint", "loudness"]
ANALYSIS_KINDS: tuple[str, ...] = ("waveform", "spectrum", "fingerprint", "loudness")

#: The kinds an audio cache stores (`AudioCache.get`): the analysis kinds, with "analysis" standing for
#: whatever the engine's mastering analyses of a track (its loudness, content, ...).
CacheKind = Literal["waveform", "spectrum", "fingerprint", "analysis"]
CACHE_KINDS: tuple[str, ...] = ("waveform", "spectrum", "fingerprint", "analysis")

#: An analysis result: an array, or a mapping (or dataclass) whose leaves are arrays and numbers. The
#: harness compares results for equality (largest absolute difference), so they must be deterministic.
AnalysisResult = Union[np.ndarray, Mapping[str, Any], Any]

#: How `Batch.process_batch` runs its items.
Executor = Literal["serial", "thread", "process"]
EXECUTORS: tuple[str, ...] = ("serial", "thread", "process")

#: One batch item: an (audio, sample_rate) pair, or the path of a file to decode whole.
BatchItem = Union[tuple[np.ndarray, int], str, "PathLike[str]"]


# -- stream extras: preset switch and buffer pool ---------------------------------------------------------

@runtime_checkable
class PresetSwitch(Protocol):
    """Capability `preset_switch`: change the preset of a running stream (`Engine.stream`).

    The harness calls `set_preset` between two chunks of the stream's iteration and times how long the
    next chunk takes to arrive (RT-09 without playback).
    """

    def set_preset(self, preset: str) -> None:
        """Take effect at the next chunk, without a click (a short crossfade is fine).

        `preset` is one of `Engine.presets`; another name raises `AudioInputError`. Streams of an engine
        without the capability raise `NotSupported`.
        """
        ...


@runtime_checkable
class BufferPool(Protocol):
    """Capability `buffer_pool`: a stream reuses its working buffers, and counts it (MEM-18)."""

    def pool_stats(self) -> Mapping[str, int]:
        """Figures so far for this stream: at least `allocations` (buffers newly allocated) and `reuses`
        (requests served by a buffer already held). Both only grow. The harness reads them after a few
        chunks and at the end, and judges reuses / (allocations + reuses) in between (MEM-18).
        Optional: `bytes_held`, the bytes the pool keeps now; with it MEM-09 checks that the pool stays
        bounded while the caller keeps every chunk (without it, that part is reported as not measured).

        Streams of an engine without the capability raise `NotSupported`.
        """
        ...


# -- playback -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaybackChunk:
    """One processed chunk handed to the (simulated) audio device."""

    #: (frames, channels) float32 or float64; `chunk_size` frames except possibly the last chunk. It may be
    #: a buffer the session reuses: valid until the next `pull`.
    audio: np.ndarray
    #: perf_counter seconds when the engine finished processing it (it is then ready to be played).
    ready_at: float
    #: The preset this chunk was processed with (during a crossfade: the preset being faded to).
    preset: str


@runtime_checkable
class PlaybackSession(Protocol):
    """Capability `playback`: a player playing one file, with no sound device.

    The harness plays the part of the device: it calls `pull()` once per chunk period on its own clock
    (real-time pace) or as fast as chunks come (MEM-08), and measures from the chunks' `ready_at`
    stamps how long a chunk waited in the output buffer (RT-08), when the first one was ready (RT-10),
    how soon a preset switch was heard (RT-09) and whether a chunk was late (missed deadline).

    Life cycle: `Engine.open_playback(...)` → `load(path)` → `start()` → `pull()` until it returns
    None with `finished` True → `close()`. An engine may process ahead in threads of its own (then
    `pull` hands over what is ready) or process on demand inside `pull`; both are fine.
    """

    sample_rate: int
    channels: int
    chunk_size: int

    def load(self, path: PathType) -> None:
        """Open and prepare the file (decode, analyse what mastering needs). Sets `sample_rate` and
        `channels`. A missing or unreadable file raises `AudioFileError` naming it."""
        ...

    def start(self) -> None:
        """Start playback: from now on the engine may process chunks ahead. Raises RuntimeError when
        nothing is loaded or when already started."""
        ...

    def pull(self, timeout: float | None = None) -> PlaybackChunk | None:
        """The next processed chunk, in order.

        Waits at most `timeout` seconds for it (None: as long as it takes) and returns None when none
        was ready in time (an underrun: the harness counts a missed deadline and asks again one period
        later) or when the track is over (then `finished` is True). An engine that processes on demand
        processes the chunk now, whatever the timeout. Errors of the engine's own threads are raised
        here.
        """
        ...

    @property
    def finished(self) -> bool:
        """True once every chunk of the track has been pulled."""
        ...

    def set_preset(self, preset: str) -> None:
        """Switch preset while playing. Called from another thread than `pull`, so it must be
        thread-safe. The first chunk processed with it carries `preset` in `PlaybackChunk.preset`."""
        ...

    def close(self) -> None:
        """Stop processing, join the session's threads, close the file and drop every buffer."""
        ...

    def __enter__(self) -> PlaybackSession: ...

    def __exit__(self, *exc: object) -> None: ...


class Playback(Protocol):
    """The engine side of capability `playback`."""

    def open_playback(self, *, chunk_size: int = 4096, preset: str = "default") -> PlaybackSession:
        """A new, empty player session of `chunk_size` frames per chunk, starting with `preset`. An
        unknown preset raises `AudioInputError`."""
        ...


# -- analysis -------------------------------------------------------------------------------------------

class Analysis(Protocol):
    """Capability `analysis`: the engine's analysers (MEM-14 measures their peak memory; OPT-11 their
    parallel spectrum; the kernel-evidence checks run a spectrum once)."""

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> AnalysisResult:
        """Analyse a whole signal. `kind` is one of `ANALYSIS_KINDS`:

        - "waveform": min/max envelope for display (a mapping of arrays, or an array);
        - "spectrum": magnitude spectrogram, an array shaped (frames, bins); the harness may pass
          `parallel=True, workers=N` (the engine's parallel path; same result as the serial one within
          the engine's tolerance). An engine without a parallel path raises `NotSupported` for it;
        - "fingerprint": an array (or mapping) identifying the track;
        - "loudness": a mapping of figures (integrated loudness in LUFS, range, peaks, ...).

        Other kinds raise `AudioInputError`; a kind the engine lacks raises `NotSupported` naming it.
        The result must not depend on earlier calls (same input, same result).
        """
        ...


# -- batch work -----------------------------------------------------------------------------------------

@runtime_checkable
class JobQueue(Protocol):
    """A queue of short mastering jobs run by a pool of workers (RT-13)."""

    def submit(self, audio: np.ndarray, sample_rate: int, preset: str = "default") -> Future[np.ndarray]:
        """Queue one job: master `audio`; the future's result equals `Engine.master(audio, sample_rate,
        preset)` within the engine's tolerance, and carries the job's error if it fails."""
        ...

    def stats(self) -> Sequence[Mapping[str, float]]:
        """One entry per finished job, in finishing order: `wait` (seconds from submit to start) and
        `run` (seconds running). Entries are only appended."""
        ...

    def close(self) -> None:
        """Finish queued jobs, then stop the workers."""
        ...

    def __enter__(self) -> JobQueue: ...

    def __exit__(self, *exc: object) -> None: ...


class Batch(Protocol):
    """Capability `batch`: many tracks at once (the throughput, batch-memory and parallel-speedup checks)."""

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[np.ndarray]:
        """Master every item (see `BatchItem`) with `workers` workers of kind `executor` (one of
        `EXECUTORS`); outputs in input order, each equal to `Engine.master` of that item within the
        engine's tolerance. `workers < 1` or an unknown executor raises `AudioInputError`."""
        ...

    def job_queue(self, workers: int = 1) -> JobQueue:
        """A new job queue with `workers` workers."""
        ...


# -- utilities ------------------------------------------------------------------------------------------

@runtime_checkable
class AudioUtilities(Protocol):
    """Capability `utilities` (`Engine.utilities`): the conversions and codecs a player needs (OPT-17..20;
    the harness also decodes files with `decode` when the engine has it). An engine that has codecs but
    no sample-format helpers raises `NotSupported` from `float_to_int` .. `to_stereo` (those checks skip)."""

    def resample(self, audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
        """`audio` at `sr_to`: frames scale by sr_to / sr_from (rounded), channels kept."""
        ...

    def float_to_int(self, audio: np.ndarray, bits: int = 16) -> np.ndarray:
        """Float samples to integer PCM of `bits` (16 or 24; 24-bit held in int32), clipped, same shape."""
        ...

    def int_to_float(self, data: np.ndarray, bits: int = 16) -> np.ndarray:
        """Integer PCM of `bits` back to float in [-1, 1), same shape."""
        ...

    def interleave(self, planar: np.ndarray) -> np.ndarray:
        """(channels, frames) planar to a flat 1-D array of frames x channels, frame-major."""
        ...

    def deinterleave(self, flat: np.ndarray, channels: int) -> np.ndarray:
        """The inverse of `interleave`: flat 1-D to (channels, frames)."""
        ...

    def to_mono(self, audio: np.ndarray) -> np.ndarray:
        """(frames, channels) to (frames,) or (frames, 1): the mean of the channels."""
        ...

    def to_stereo(self, audio: np.ndarray) -> np.ndarray:
        """Mono to (frames, 2), both channels equal."""
        ...

    def encode(self, audio: np.ndarray, sample_rate: int, path: PathType, format: str = "WAV") -> Any:
        """Write `audio` to `path` in `format` ("wav", "flac" or "ogg", any case). An unknown format
        raises `AudioInputError`; a format the engine cannot write raises `NotSupported`."""
        ...

    def decode(self, path: PathType) -> tuple[np.ndarray, int]:
        """Read a whole file: ((frames, channels) float array, sample rate). A missing or unreadable
        file raises `AudioFileError` naming it."""
        ...


# -- audio cache ----------------------------------------------------------------------------------------

@runtime_checkable
class AudioCache(Protocol):
    """Capability `audio_cache` (`Engine.open_audio_cache(directory)`): analyses of audio files, kept in
    memory and, where the engine persists them, under `directory` so that they survive a restart
    (CACHE-11..15, 17, 18; MEM-09)."""

    def get(self, path: PathType, kind: str) -> AnalysisResult:
        """The analysis `kind` (one of `CACHE_KINDS`) of the file: computed on the first request, served
        from the cache afterwards while the file is unchanged. A changed file (size, mtime or content)
        must never get its old result. Unknown kinds raise `AudioInputError`; unreadable files
        `AudioFileError`."""
        ...

    def invalidate(self, path: PathType) -> Any:
        """Drop every entry of this file, in memory and on disk."""
        ...

    def stats(self) -> Mapping[str, int]:
        """Counters since opening: at least `hits`, `misses`, `evictions` and `bytes` (held in memory).

        Optional: `entries` (held in memory now) and the bounds `max_entries` / `max_bytes`; with a bound,
        MEM-09 fills the cache past it and judges what it holds (without, that part is not measured).
        """
        ...

    def close(self) -> None:
        """Flush what must persist and free the memory tier."""
        ...

    def __enter__(self) -> AudioCache: ...

    def __exit__(self, *exc: object) -> None: ...


__all__ = ["ANALYSIS_KINDS", "CACHE_KINDS", "EXECUTORS", "Analysis", "AnalysisKind", "AnalysisResult",
           "AudioCache", "AudioUtilities", "Batch", "BatchItem", "BufferPool", "CacheKind", "Executor",
           "JobQueue", "PathType", "Playback", "PlaybackChunk", "PlaybackSession", "PresetSwitch"]
