"""Streaming: equal to whole-file output for any chunk size, preset switching without a click, pooled
buffers, files read with bounded memory."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.signals import music, write_music

SR = 44100


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return music(3.0, SR, seed=4)


def _streamed(engine: ReferenceEngine, source, chunk_size: int, **options) -> np.ndarray:
    with engine.stream(source, chunk_size=chunk_size, **options) as stream:
        return np.concatenate([chunk.copy() for chunk in stream])


@pytest.mark.parametrize("chunk_size", [256, 1000, 4096, 65536])
def test_streamed_equals_whole_file(engine: ReferenceEngine, clip: np.ndarray, chunk_size: int) -> None:
    whole = engine.master(clip, SR)
    streamed = _streamed(engine, clip, chunk_size, sample_rate=SR)
    assert streamed.shape == whole.shape and streamed.dtype == whole.dtype
    assert np.abs(streamed - whole).max() <= 1e-5


def test_streamed_equals_whole_file_on_the_plain_path(engine: ReferenceEngine, clip: np.ndarray) -> None:
    short = clip[: SR // 2]
    whole = engine.master(short, SR, optimized=False)
    assert np.abs(_streamed(engine, short, 512, sample_rate=SR, optimized=False) - whole).max() <= 1e-5


def test_chunks_have_the_requested_size_and_mono_stays_mono(engine: ReferenceEngine) -> None:
    mono = music(1.0, SR, channels=1)[:, 0]
    with engine.stream(mono, sample_rate=SR, chunk_size=4096) as stream:
        sizes = [chunk.shape for chunk in stream]
    assert all(shape == (4096,) for shape in sizes[:-1]) and sum(s[0] for s in sizes) == mono.shape[0]


@pytest.mark.parametrize("extension", ["wav", "flac"])
def test_file_stream_equals_master_of_the_decoded_file(engine: ReferenceEngine, tmp_path, extension: str) -> None:
    path = write_music(tmp_path / f"track.{extension}", 25.0, SR, seed=9)  # long enough for windowed analysis
    decoded, rate = sf.read(path, dtype="float32")
    streamed = _streamed(engine, path, 4096)
    assert np.abs(streamed - engine.master(decoded, rate)).max() <= 1e-5


def _peak_traced_while_streaming(engine: ReferenceEngine, path) -> int:
    tracemalloc.start()
    try:
        with engine.stream(path, chunk_size=4096) as stream:
            for _chunk in stream:
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_file_stream_memory_is_bounded_and_flat_in_file_length(engine: ReferenceEngine, tmp_path) -> None:
    short = _peak_traced_while_streaming(engine, write_music(tmp_path / "short.wav", 30.0, SR))
    long = _peak_traced_while_streaming(engine, write_music(tmp_path / "long.wav", 90.0, SR))
    decoded_bytes = int(90.0 * SR) * 2 * 4
    assert long < decoded_bytes / 3, f"peak traced allocation {long} bytes for a {decoded_bytes}-byte track"
    assert long < 1.2 * short + 2**20


def test_pool_reuses_buffers_when_chunks_are_dropped(engine: ReferenceEngine, clip: np.ndarray) -> None:
    with engine.stream(clip, sample_rate=SR, chunk_size=512) as stream:
        total = sum(chunk.shape[0] for chunk in stream)
        stats = stream.pool_stats()
    assert total == clip.shape[0]
    assert stats["reuses"] / (stats["reuses"] + stats["allocations"]) > 0.9


def test_kept_chunks_are_never_overwritten(engine: ReferenceEngine, clip: np.ndarray) -> None:
    with engine.stream(clip, sample_rate=SR, chunk_size=2048) as stream:
        kept = list(stream)
    assert np.array_equal(np.concatenate(kept), engine.master(clip, SR))


def _second_difference_peak(audio: np.ndarray) -> float:
    return float(np.abs(np.diff(audio, n=2, axis=0)).max())


def test_preset_switch_takes_effect_next_chunk_without_a_click(engine: ReferenceEngine) -> None:
    t = np.arange(2 * SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t))[:, np.newaxis].repeat(2, axis=1)
    chunk, switch_at = 1024, 40
    with engine.stream(tone, sample_rate=SR, chunk_size=chunk, preset="gentle") as stream:
        chunks = []
        for index, out in enumerate(stream):
            chunks.append(out.copy())
            if index == switch_at - 1:
                stream.set_preset("bright")
        switches = stream.preset_switches
    out = np.concatenate(chunks)
    assert len(switches) == 1 and switches[0][1] >= switches[0][0]
    gentle = engine.master(tone, SR, "gentle")
    bright = engine.master(tone, SR, "bright")
    boundary = switch_at * chunk
    assert np.array_equal(out[:boundary], gentle[:boundary])  # nothing changes before the next chunk
    assert not np.allclose(out[-chunk:], gentle[-chunk:])     # the new preset is heard
    assert np.abs(out[-chunk:] - bright[-chunk:]).max() < 0.01
    steady = _second_difference_peak(out[boundary - 4 * chunk:boundary])
    around = _second_difference_peak(out[boundary - 64:boundary + 4 * chunk])
    assert around < 1.5 * steady
    # The check does catch a click: a hard cut between the two presets.
    hard = np.concatenate([gentle[:boundary], bright[boundary:]])
    assert _second_difference_peak(hard[boundary - 64:boundary + 4 * chunk]) > 1.5 * steady


def test_iterating_twice_is_refused_and_close_is_idempotent(engine: ReferenceEngine, clip: np.ndarray) -> None:
    stream = engine.stream(clip, sample_rate=SR)
    next(iter(stream))
    with pytest.raises(RuntimeError, match="once"):
        iter(stream)
    stream.close()
    stream.close()
