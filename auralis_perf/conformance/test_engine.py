"""Conformance: what every engine offers (`Engine`, `Stream`) and what it must refuse.

Each test runs once per engine spec (`--perf-engine`), on clips of half a second.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from auralis_perf.engines import (
    AudioFileError,
    AudioInputError,
    Capability,
    Engine,
    NotSupported,
)
from auralis_perf.pytest_plugin.conformance import clip, require_capability
from auralis_perf.suites.common.compare import max_abs_diff

KNOWN_CAPABILITIES = {value for name, value in vars(Capability).items() if name.isupper()}


def test_declarations(perf_engine: Engine) -> None:
    assert isinstance(perf_engine.name, str) and perf_engine.name
    assert {Capability.MASTER, Capability.STREAM} <= set(perf_engine.capabilities)
    unknown = set(perf_engine.capabilities) - KNOWN_CAPABILITIES
    assert not unknown, f"capabilities the harness does not know: {sorted(unknown)}"
    assert "default" in perf_engine.presets
    assert 44100 in perf_engine.sample_rates
    assert perf_engine.tolerance >= 0
    description = perf_engine.describe()
    assert description.get("name") == perf_engine.name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_master_keeps_the_shape(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int], dtype: type) -> None:
    audio, sr = conformance_clip
    out = np.asarray(perf_engine.master(audio.astype(dtype), sr))
    assert out.shape == audio.shape
    assert np.issubdtype(out.dtype, np.floating)
    assert np.isfinite(out).all()
    assert np.abs(out).max() > 0, "mastering a clip of music gave silence"


def test_master_of_mono_is_mono(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int]) -> None:
    audio, sr = conformance_clip
    mono = np.ascontiguousarray(audio[:, 0])
    assert np.asarray(perf_engine.master(mono, sr)).shape == mono.shape


def _nan(audio: np.ndarray) -> np.ndarray:
    bad = audio.copy()
    bad[100, 0] = np.nan
    return bad


def _inf(audio: np.ndarray) -> np.ndarray:
    bad = audio.copy()
    bad[-1, 1] = np.inf
    return bad


BAD_INPUTS: dict[str, Callable[[Engine, np.ndarray, int], object]] = {
    "NaN sample": lambda e, a, sr: e.master(_nan(a), sr),
    "Inf sample": lambda e, a, sr: e.master(_inf(a), sr),
    "empty": lambda e, a, sr: e.master(a[:0], sr),
    "unsupported rate": lambda e, a, sr: e.master(a, 12345),
    "integer samples": lambda e, a, sr: e.master((a * 30000).astype(np.int16), sr),
    "3-D array": lambda e, a, sr: e.master(a[None], sr),
    "unknown preset": lambda e, a, sr: e.master(a, sr, "no-such-preset"),
    "stream of NaN": lambda e, a, sr: list(e.stream(_nan(a), sample_rate=sr)),
    "stream of an array without its rate": lambda e, a, sr: list(e.stream(a)),
    "stream with chunk_size 0": lambda e, a, sr: list(e.stream(a, sample_rate=sr, chunk_size=0)),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_clearly(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int],
                                      case: str) -> None:
    audio, sr = conformance_clip
    with pytest.raises(AudioInputError):
        BAD_INPUTS[case](perf_engine, audio, sr)


def test_a_missing_file_is_named(perf_engine: Engine, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-track.wav"
    with pytest.raises(AudioFileError, match="no-such-track.wav"):
        with perf_engine.stream(missing) as stream:
            list(stream)


@pytest.mark.parametrize("chunk_size", [1024, 1000])
def test_stream_equals_whole_within_tolerance(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int],
                                              chunk_size: int) -> None:
    audio, sr = conformance_clip
    whole = np.asarray(perf_engine.master(audio, sr))
    with perf_engine.stream(audio, sample_rate=sr, chunk_size=chunk_size) as stream:
        assert (stream.sample_rate, stream.channels, stream.chunk_size) == (sr, audio.shape[1], chunk_size)
        chunks = [np.array(c, copy=True) for c in stream]
    assert all(c.ndim == 2 and c.shape[1] == audio.shape[1] and c.shape[0] <= chunk_size for c in chunks)
    assert all(np.isfinite(c).all() for c in chunks)
    streamed = np.concatenate(chunks)
    assert streamed.shape == whole.shape
    difference = max_abs_diff(streamed, whole)
    assert difference <= perf_engine.tolerance, \
        f"streamed output differs from master() by {difference:g} (declared tolerance {perf_engine.tolerance:g})"


def test_stream_of_a_file(perf_engine: Engine, conformance_file: Path,
                          conformance_clip: tuple[np.ndarray, int]) -> None:
    audio, sr = conformance_clip
    with perf_engine.stream(conformance_file, chunk_size=4096) as stream:
        assert (stream.sample_rate, stream.channels) == (sr, audio.shape[1])
        frames = sum(np.asarray(c).shape[0] for c in stream)
    assert frames == audio.shape[0]


def test_close_twice_and_with(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int]) -> None:
    audio, sr = conformance_clip
    stream = perf_engine.stream(audio, sample_rate=sr, chunk_size=1024)
    with stream as entered:
        assert entered is stream
        next(iter(entered))
    stream.close()  # a second close is harmless


def _undeclared_calls(tmp_path: Path) -> dict[str, Callable[[Engine, np.ndarray, int], object]]:
    return {
        Capability.FALLBACKS: lambda e, a, sr: e.master(a, sr, optimized=False),
        Capability.KERNELS: lambda e, a, sr: e.kernels(),
        Capability.PLAYBACK: lambda e, a, sr: e.open_playback(),
        Capability.ANALYSIS: lambda e, a, sr: e.analyze(a, sr, "spectrum"),
        Capability.BATCH: lambda e, a, sr: e.job_queue(1),
        Capability.AUDIO_CACHE: lambda e, a, sr: e.open_audio_cache(tmp_path / "cache"),
        Capability.PRESET_SWITCH: lambda e, a, sr: e.stream(a, sample_rate=sr).set_preset("default"),
        Capability.BUFFER_POOL: lambda e, a, sr: e.stream(a, sample_rate=sr).pool_stats(),
    }


def test_what_is_not_declared_raises_not_supported(perf_engine: Engine, conformance_clip: tuple[np.ndarray, int],
                                                   tmp_path: Path) -> None:
    audio, sr = conformance_clip
    for capability, call in _undeclared_calls(tmp_path).items():
        if perf_engine.has(capability):
            continue
        with pytest.raises(NotSupported) as refused:
            call(perf_engine, audio, sr)
        assert str(refused.value), f"NotSupported for {capability!r} gives no reason"
    if not perf_engine.has(Capability.UTILITIES):
        assert perf_engine.utilities is None


def test_concurrent_use_where_declared(perf_engine: Engine) -> None:
    """`thread_safe` engines: masters and streams from three threads at once equal the serial results."""
    if not perf_engine.thread_safe:
        pytest.skip(f"engine {perf_engine.name!r} does not declare thread_safe")
    require_capability(perf_engine, Capability.MASTER)
    clips = [clip(0.3, seed=seed) for seed in (1, 2, 3)]
    serial = [np.asarray(perf_engine.master(c, 44100)) for c in clips]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clips))

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(2):
                results[i] = np.asarray(perf_engine.master(clips[i], 44100))
                with perf_engine.stream(clips[i], sample_rate=44100, chunk_size=2048) as stream:
                    results[-1 - i] = np.concatenate([np.array(c) for c in stream])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clips))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for i, expected in enumerate(serial):
        assert max_abs_diff(results[i], expected) <= perf_engine.tolerance
        assert max_abs_diff(results[-1 - i], expected) <= perf_engine.tolerance
