"""The gain decision: a quick tuning of bounded cost before the first chunk, the final tuning spread over
the next chunks, the ramp between them; streams and whole files still agree."""
from __future__ import annotations

import os

import numpy as np
import pytest

from auralis_perf.engines.reference import ReferenceEngine, measurement, refinement
from auralis_perf.engines.reference.chain import FAST_KERNELS, PLAIN_KERNELS, ChainProcessor, Tuning
from auralis_perf.engines.reference.loudness import integrated_loudness
from auralis_perf.engines.support.presets import PRESETS
from auralis_perf.engines.support.sources import ArraySource, FileSource
from auralis_perf.signals import music, write_music

SR = 44100


@pytest.fixture
def short_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scaled down so that a few seconds of audio go through every stage: a sampled quick measurement,
    a loudness scan, and the ramp to the final gain."""
    monkeypatch.setattr(measurement, "SEGMENTS", 3)
    monkeypatch.setattr(measurement, "SEGMENT_SECONDS", 0.4)
    monkeypatch.setattr(measurement, "COMPLETE_SECONDS", 0.0)
    monkeypatch.setattr(refinement, "SETTLE_SECONDS", 1.5)
    monkeypatch.setattr(refinement, "RAMP_SECONDS", 0.5)


def _streamed(engine: ReferenceEngine, source, chunk_size: int, **options) -> np.ndarray:
    with engine.stream(source, chunk_size=chunk_size, **options) as stream:
        return np.concatenate([chunk.copy() for chunk in stream])


def test_quick_measurement_reads_the_same_bounded_amount_whatever_the_length(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(measurement, "SEGMENTS", 4)
    monkeypatch.setattr(measurement, "SEGMENT_SECONDS", 0.4)
    monkeypatch.setattr(measurement, "COMPLETE_SECONDS", 2.0)
    read: list[int] = []
    original = FileSource.read_native

    def counting(self, start, count, out):
        block = original(self, start, count, out)
        read.append(block.shape[0])
        return block

    monkeypatch.setattr(FileSource, "read_native", counting)
    totals = []
    for seconds in (4.0, 12.0):
        source = FileSource(write_music(tmp_path / f"m{seconds:g}.wav", seconds, SR, subtype="PCM_16"))
        read.clear()
        loudness = measurement.measure_source(source)
        source.close()
        assert not loudness.complete and loudness.measurable
        totals.append(sum(read))
    bound = 4 * round((0.4 + measurement.SEGMENT_PREROLL_SECONDS) * SR)
    assert totals[0] == totals[1] <= bound


def test_a_short_source_is_measured_exactly() -> None:
    audio = music(4.0, SR, seed=2)
    loudness = measurement.measure_source(ArraySource(audio, SR))
    assert loudness.complete
    assert loudness.input_lufs == pytest.approx(integrated_loudness(audio, SR), abs=1e-9)


def test_the_scan_gives_the_exact_loudness() -> None:
    audio = music(6.0, SR, seed=3)
    scan = measurement.LoudnessScan(ArraySource(audio, SR))
    assert scan.steps_left > 1
    assert scan.result().input_lufs == pytest.approx(integrated_loudness(audio, SR), abs=1e-9)


@pytest.mark.parametrize("chunk_size", [256, 4096, 65536])
def test_stream_equals_master_while_the_final_tuning_takes_over(engine, short_schedule, chunk_size) -> None:
    clip = music(6.0, SR, seed=5)
    whole = engine.master(clip, SR, "punchy")
    with engine.stream(clip, sample_rate=SR, chunk_size=chunk_size, preset="punchy") as stream:
        quick_gain = stream._processor.tuning.gain_db
        streamed = np.concatenate([chunk.copy() for chunk in stream])
        final_gain = stream._processor.scheduled_gain_db
    assert final_gain is not None and abs(final_gain - quick_gain) > 1e-3  # the ramp really happens
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() <= 1e-5


def test_stream_equals_master_on_the_plain_path_with_a_ramp(engine, short_schedule) -> None:
    clip = music(3.5, SR, seed=6)
    whole = engine.master(clip, SR, optimized=False)
    with engine.stream(clip, sample_rate=SR, chunk_size=2048, optimized=False) as stream:
        streamed = np.concatenate([chunk.copy() for chunk in stream])
        assert stream._processor.scheduled_gain_db is not None
    assert np.abs(streamed - whole).max() <= 1e-5


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_short_clip_is_tuned_exactly_up_front(engine, preset) -> None:
    clip = music(2.5, SR, seed=8)
    with engine.stream(clip, sample_rate=SR, chunk_size=4096, preset=preset) as stream:
        assert stream._refinement is None and stream._processor.tuning.details["stage"] == "whole source"
        streamed = np.concatenate([chunk.copy() for chunk in stream])
    assert abs(integrated_loudness(streamed, SR) - PRESETS[preset].target_lufs) < 0.1


def test_first_chunk_waits_only_for_the_quick_tuning_and_the_rest_is_spread(engine, short_schedule, tmp_path) -> None:
    path = write_music(tmp_path / "track.wav", 8.0, SR, subtype="PCM_16")
    with engine.stream(path, chunk_size=4096) as stream:
        iterator = iter(stream)
        next(iterator)
        assert stream._exact.position == 0          # no loudness scan before the first chunk
        next(iterator)
        assert stream._exact.position > 0           # the second chunk takes a share of it
        settle = refinement.settle_frame(stream.frames, SR)
        for _ in iterator:
            if stream._refinement is None:
                break
        assert stream._refinement is None and stream._processor.position <= settle + 4096 + stream.latency
        assert stream._processor.scheduled_gain_db is not None


def test_closing_mid_refinement_closes_the_scans_file(engine, short_schedule, tmp_path) -> None:
    path = write_music(tmp_path / "track.wav", 8.0, SR, subtype="PCM_16")
    before = len(os.listdir("/proc/self/fd"))
    stream = engine.stream(path, chunk_size=1024)
    iterator = iter(stream)
    for _ in range(3):
        next(iterator)
    assert stream._exact.position > 0 and stream._refinement is not None
    stream.close()
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("kernels", [FAST_KERNELS or PLAIN_KERNELS, PLAIN_KERNELS], ids=["fast", "plain"])
def test_scheduled_gain_ramps_smoothly_to_its_value(kernels) -> None:
    rng = np.random.default_rng(7)
    audio = 0.01 * rng.standard_normal((3 * SR, 2))  # far below the compressor and the limiter
    tuning = Tuning(-20.0, 2.0)
    plain = ChainProcessor(PRESETS["default"], SR, 2, tuning, kernels)
    ramped = ChainProcessor(PRESETS["default"], SR, 2, tuning, kernels)
    start, length = SR, SR // 2
    ramped.schedule_gain(5.0, start, length)
    out_plain, out_ramped = np.empty_like(audio), np.empty_like(audio)
    for first in range(0, audio.shape[0], 5000):  # blocks that straddle the ramp's ends
        plain.process(audio[first:first + 5000], out_plain[first:first + 5000])
        ramped.process(audio[first:first + 5000], out_ramped[first:first + 5000])
    delay = plain.latency
    assert np.array_equal(out_plain[:start + delay], out_ramped[:start + delay])
    ratio = out_ramped[start + length + delay:] / out_plain[start + length + delay:]
    assert np.allclose(ratio, 10.0 ** (3.0 / 20.0), rtol=1e-12)
    span = slice(start + delay, start + length + delay)
    during = out_ramped[span, 0] / out_plain[span, 0]
    assert np.all(np.diff(during) >= -1e-12)  # rises monotonically, no step


@pytest.mark.parametrize("preset", ["default", "punchy"])
def test_loudness_reaches_the_target_on_a_longer_track(engine, preset) -> None:
    clip = music(45.0, SR, seed=3)
    assert abs(integrated_loudness(engine.master(clip, SR, preset), SR) - PRESETS[preset].target_lufs) < 0.5
