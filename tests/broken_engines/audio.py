"""Doubles that break mastering, streaming, playback, batch work, analysis or the utilities.

Each is the reference engine with one fault, large enough to fail its checks on any machine: a sleep
that caps the real-time factor at 10x, a first chunk that takes 0.6 s, memory held in hundreds of MB,
an output that moves by 1e-4 to 1e-3, a race that needs only two threads.
"""
from __future__ import annotations

import mmap
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import soundfile as sf
from against_engines import busy_for

from auralis_perf.engines import Capability, PlaybackSession, Stream
from auralis_perf.engines.support.batch import JobQueue
from broken_engines.base import DelegatingEngine, DelegatingStream
from broken_engines.swap import page_out, private_block

MB = 1024 * 1024


class SlowErraticMaster(DelegatingEngine):
    """master() sleeps 0.1 or 0.4 s per second of audio, alternately: a real-time factor of at most 10 and
    run-to-run spread far above 10 %."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        self.calls += 1
        time.sleep(audio.shape[0] / sample_rate * (0.1 if self.calls % 2 else 0.4))
        return super().master(audio, sample_rate, preset, optimized=optimized)


class _LateFirstChunk(DelegatingStream):
    def chunk(self, index: int, chunk: np.ndarray) -> np.ndarray:
        if index == 0:
            time.sleep(SlowStart.DELAY_S)
        return chunk


class SlowStart(DelegatingEngine):
    """Every stream's first chunk, and every playback session, comes 0.6 s late (a slow open)."""

    DELAY_S = 0.6

    def stream(self, source: Any, **options: Any) -> Stream:
        return _LateFirstChunk(super().stream(source, **options))

    def open_playback(self, **options: Any) -> PlaybackSession:
        time.sleep(self.DELAY_S)
        return super().open_playback(**options)


class DeepPlaybackBuffer(DelegatingEngine):
    """Playback keeps twelve chunks (over a second) processed ahead of the device."""

    def open_playback(self, **options: Any) -> Any:
        return super().open_playback(**{**options, "buffer_chunks": 16, "lead_chunks": 12})


class _Degrading(DelegatingStream):
    def __init__(self, inner: Stream, total_frames: int) -> None:
        super().__init__(inner)
        self.total_frames = max(1, total_frames)

    def __iter__(self) -> Iterator[np.ndarray]:
        done = 0
        for chunk in self.inner:
            done += len(chunk)
            position = done / self.total_frames
            # CPU work, not a sleep: on a loaded machine the real work of the first tenth stretches and a
            # sleep in the last would not, so the ratio could read > 1 (seen once at load 3 on 2 cores)
            busy_for(position ** 8 * len(chunk) / self.sample_rate)
            yield chunk


class DegradingStream(DelegatingEngine):
    """Towards the end of a track a stream falls behind real time: a chunk at position p (0..1) takes p^8
    times its own duration more CPU time (as if a buffer were re-scanned ever more often). The last tenth runs at
    a real-time factor of at most 2.3, far below any engine's first tenth."""

    def stream(self, source: Any, **options: Any) -> Stream:
        frames = len(source) if isinstance(source, np.ndarray) else sf.info(str(source)).frames
        return _Degrading(super().stream(source, **options), frames)


class _SlowSwitch(DelegatingStream):
    def __init__(self, inner: Stream) -> None:
        super().__init__(inner)
        self.switching = False

    def set_preset(self, preset: str) -> None:
        super().set_preset(preset)
        self.switching = True

    def chunk(self, index: int, chunk: np.ndarray) -> np.ndarray:
        if self.switching:  # rebuilding the chain for the new preset takes a quarter of a second
            time.sleep(0.25)
            self.switching = False
        return chunk


class SlowPresetSwitch(DelegatingEngine):
    """The chunk after a preset switch takes 0.25 s more (no playback: switches are timed on a stream)."""

    dropped = frozenset({Capability.PLAYBACK})

    def stream(self, source: Any, **options: Any) -> Stream:
        return _SlowSwitch(super().stream(source, **options))


class DriftingParallelBatch(DelegatingEngine):
    """Batch outputs depend on the executor: in threads 2e-4 louder, in processes 1e-4 louder than the
    same batch one by one."""

    uses = frozenset({Capability.BATCH})
    DRIFT = {"serial": 0.0, "thread": 2e-4, "process": 1e-4}

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        outputs = self.batch_through_master(items, workers=workers, executor=executor, preset=preset)
        drift = np.float32(self.DRIFT[executor])
        return [np.asarray(out) + drift for out in outputs] if drift else outputs


class SerializedSlowBatch(DelegatingEngine):
    """Batches and the job queue run their items one at a time under one engine-wide lock, and each item
    first waits 0.1 s per second of its audio (as if the chain were rebuilt for every item): whatever the
    workers, at most 10x real time against the 20x the throughput checks ask. master() alone is unchanged."""

    uses = frozenset({Capability.BATCH})
    WAIT_PER_AUDIO_SECOND = 0.1

    def __init__(self) -> None:
        super().__init__()
        self.item_lock = threading.Lock()

    def one_item(self, audio: np.ndarray, sample_rate: int, preset: str = "default") -> np.ndarray:
        with self.item_lock:
            time.sleep(audio.shape[0] / sample_rate * self.WAIT_PER_AUDIO_SECOND)
            return self.inner.master(audio, sample_rate, preset)

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        decoded = [item if isinstance(item, tuple) else self.utilities.decode(item) for item in items]
        return [self.one_item(audio, sample_rate, preset) for audio, sample_rate in decoded]

    def job_queue(self, workers: int = 1) -> JobQueue:
        return JobQueue(self.one_item, workers)


class BloatedIdle(DelegatingEngine):
    """Building the engine pre-allocates, and writes, a 500 MB buffer pool (room for a whole session's
    tracks) that it holds while idle: ten times the 50 MB an engine holding no track may hold."""

    POOL = 500 * MB
    #: MEM-01 runs its fresh processes only for this double (the can-fail runs skip them otherwise)
    suite_sizes = {"auralis_perf.suites.memory.baseline": {"idle_runs": 1}}

    def __init__(self) -> None:
        super().__init__()
        self.pool = _touched_anonymous_map(self.POOL)

    def close(self) -> None:
        self.pool.close()
        super().close()


class BloatedEngine(DelegatingEngine):
    """master() touches a 240 MB scratch buffer (batches run through it); a stream holds 80 MB while open."""

    uses = frozenset({Capability.BATCH})
    MASTER_SCRATCH = 240 * MB
    STREAM_SCRATCH = 80 * MB

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        scratch = np.ones(self.MASTER_SCRATCH // 8)
        time.sleep(0.03)  # held long enough for a sampled peak to see it
        del scratch
        return super().master(audio, sample_rate, preset, optimized=optimized)

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        return self.batch_through_master(items, workers=workers, executor=executor, preset=preset)

    def stream(self, source: Any, **options: Any) -> Stream:
        stream = super().stream(source, **options)
        stream_scratch = np.ones(self.STREAM_SCRATCH // 8)
        return _Holding(stream, stream_scratch)


class _Holding(DelegatingStream):
    def __init__(self, inner: Stream, held: Any) -> None:
        super().__init__(inner)
        self.held = held

    def close(self) -> None:
        self.held = None
        super().close()


def _touched_anonymous_map(size: int) -> mmap.mmap:
    """Memory outside the Python allocators (tracemalloc does not see it), every page written."""
    block = mmap.mmap(-1, max(mmap.PAGESIZE, size))
    np.frombuffer(block, dtype=np.uint8)[:] = 1
    return block


class SwappedOutRenders(DelegatingEngine):
    """Every master() call keeps a copy of its output that nothing reads again, and that copy goes to swap
    at once (`broken_engines.swap.page_out`: what memory pressure does to cold pages). Needs swap on."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[mmap.mmap] = []
        self.lock = threading.Lock()

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        out = super().master(audio, sample_rate, preset, optimized=optimized)
        block = private_block(memoryview(np.ascontiguousarray(out)).cast("B"))
        page_out(block)
        with self.lock:
            self.kept.append(block)
        return out

    def close(self) -> None:
        self.kept.clear()
        super().close()


class LeakyEngine(DelegatingEngine):
    """Every master() call keeps 40 times its input's size, in memory the Python allocators do not trace;
    batches run through that master()."""

    uses = frozenset({Capability.BATCH})

    def __init__(self) -> None:
        super().__init__()
        self.leaked: list[mmap.mmap] = []
        self.lock = threading.Lock()

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        block = _touched_anonymous_map(40 * audio.nbytes)
        with self.lock:
            self.leaked.append(block)
        return super().master(audio, sample_rate, preset, optimized=optimized)

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[Any]:
        return self.batch_through_master(items, workers=workers, executor=executor, preset=preset)

    def close(self) -> None:
        self.leaked.clear()
        super().close()


class ImmortalSessions(DelegatingEngine):
    """Streams register themselves in a list that close() never empties."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[Stream] = []

    def stream(self, source: Any, **options: Any) -> Stream:
        stream = DelegatingStream(super().stream(source, **options))
        self.sessions.append(stream)
        return stream


class _Unpooled(DelegatingStream):
    def __init__(self, inner: Stream) -> None:
        super().__init__(inner)
        self.allocations = 0

    def chunk(self, index: int, chunk: np.ndarray) -> np.ndarray:
        self.allocations += 1
        return np.array(chunk, copy=True)  # a new buffer for every chunk, never one from a pool

    def pool_stats(self) -> Mapping[str, int]:
        return {"allocations": self.allocations, "reuses": 0}


class UnpooledStream(DelegatingEngine):
    """Streams hand out a freshly allocated buffer for every chunk and never reuse one."""

    def stream(self, source: Any, **options: Any) -> Stream:
        return _Unpooled(super().stream(source, **options))


class _Hoarding(DelegatingStream):
    def __init__(self, inner: Stream) -> None:
        super().__init__(inner)
        self.kept: list[np.ndarray] = []

    def chunk(self, index: int, chunk: np.ndarray) -> np.ndarray:
        self.kept.append(np.array(chunk, copy=True))
        return chunk

    def close(self) -> None:
        self.kept.clear()
        super().close()


class HoardingStream(DelegatingEngine):
    """A stream keeps a copy of every chunk it has produced until it is closed: memory grows with the file."""

    def stream(self, source: Any, **options: Any) -> Stream:
        return _Hoarding(super().stream(source, **options))


class _Precomputed:
    """A `Stream` over audio already processed whole: it hands out chunks of an array it holds."""

    def __init__(self, audio: np.ndarray, sample_rate: int, chunk_size: int) -> None:
        self.audio, self.sample_rate, self.chunk_size = audio, sample_rate, chunk_size
        self.channels = 1 if audio.ndim == 1 else audio.shape[1]
        self.handed = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.audio), self.chunk_size):
            self.handed += 1
            yield self.audio[start:start + self.chunk_size]

    def set_preset(self, preset: str) -> None:  # too late: the whole file is already mastered
        pass

    def pool_stats(self) -> Mapping[str, int]:
        return {"allocations": self.handed, "reuses": 0}

    def close(self) -> None:
        self.audio = np.empty((0, self.channels), dtype=np.float32)

    def __enter__(self) -> "_Precomputed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EagerStream(DelegatingEngine):
    """stream() is lazy in name only: it decodes the whole file, widens it to float64 and masters it all
    at once before the first chunk, then hands out chunks of the result; streaming holds more memory than
    decoding the file whole and mastering it in memory."""

    #: MEM-19 on 30 s of audio: the whole file, not the stream's fixed working memory, decides its peak
    suite_sizes = {"auralis_perf.suites.memory.efficiency": {"lazy_s": 30.0}}

    def stream(self, source: Any, *, sample_rate: int | None = None, chunk_size: int = 4096,
               preset: str = "default") -> Stream:
        if isinstance(source, np.ndarray):
            audio, rate = source, int(sample_rate or 44100)
        else:
            audio, rate = self.utilities.decode(source)
        wide = np.asarray(audio, dtype=np.float64)
        return _Precomputed(self.inner.master(wide, rate, preset), rate, chunk_size)


class IdleParallelAnalysis(DelegatingEngine):
    """The "parallel" spectrum analysis waits 0.2 s on a lock and then runs on one core."""

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        if kind == "spectrum" and options.get("parallel"):
            time.sleep(0.2)
            options = {**options, "parallel": False}
        return super().analyze(audio, sample_rate, kind, **options)


class FramesHoardingAnalysis(DelegatingEngine):
    """Every analysis first copies the signal into 4096-sample frames at a hop of 512, in float64 (eight
    overlapping copies at twice the width: about 16 times the float32 input), and holds them until it
    returns: far above the 4x of the input that mastering may hold."""

    FRAME, HOP = 4096, 512

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        flat = np.asarray(audio, dtype=np.float64).ravel()
        frames = np.lib.stride_tricks.sliding_window_view(flat, self.FRAME)[::self.HOP].copy()
        result = super().analyze(audio, sample_rate, kind, **options)
        del frames
        return result


class SpectrumIgnoresSize(DelegatingEngine):
    """The spectrum analysis always uses its default FFT size, whatever `n_fft` asks for."""

    def analyze(self, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
        if kind == "spectrum":
            options.pop("n_fft", None)
        return super().analyze(audio, sample_rate, kind, **options)


class RacyMaster(DelegatingEngine):
    """master() keeps the input's peak in engine-wide state and reads it back 20 ms later: calls from two
    threads at once scale each other's output."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = 1.0

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        own = float(np.max(np.abs(audio))) or 1.0
        self.peak = own
        time.sleep(0.02)
        out = super().master(audio, sample_rate, preset, optimized=optimized)
        return out * np.float32(self.peak / own)


class _Utilities:
    """The reference utilities; a subclass overrides the one it breaks."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _SwappingUtilities(_Utilities):
    """deinterleave() puts the channels in reverse order."""

    def deinterleave(self, flat: np.ndarray, channels: int) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(self.inner.deinterleave(flat, channels))[::-1])


class SwappedChannelUtilities(DelegatingEngine):
    """Interleaving followed by deinterleaving swaps the channels."""

    def __init__(self) -> None:
        super().__init__()
        self.utilities = _SwappingUtilities(self.inner.utilities)


class _SlowCodecs(_Utilities):
    """resample(), encode() and decode() wait 0.1 s per second of the audio they handle."""

    WAIT_PER_AUDIO_SECOND = 0.1

    def wait_for(self, frames: int, sample_rate: int) -> None:
        time.sleep(frames / sample_rate * self.WAIT_PER_AUDIO_SECOND)

    def resample(self, audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
        self.wait_for(len(audio), sr_from)
        return self.inner.resample(audio, sr_from, sr_to)

    def encode(self, audio: np.ndarray, sample_rate: int, path: Any, format: str = "WAV") -> Any:
        self.wait_for(len(audio), sample_rate)
        return self.inner.encode(audio, sample_rate, path, format)

    def decode(self, path: Any) -> tuple[np.ndarray, int]:
        audio, sample_rate = self.inner.decode(path)
        self.wait_for(len(audio), sample_rate)
        return audio, sample_rate


class SlowCodecUtilities(DelegatingEngine):
    """The resampler and the codecs run at 10x real time at best (a pure-Python filter loop would): the
    seed's 20x floor is missed by a factor of two or more on any machine."""

    def __init__(self) -> None:
        super().__init__()
        self.utilities = _SlowCodecs(self.inner.utilities)
