"""Analysis: waveform peaks, spectrum (plain, batched, parallel), fingerprint, loudness."""
from __future__ import annotations

import threading

import numpy as np
import pyloudnorm
import pytest

from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.engines.reference.analysis import (
    fingerprint_similarity,
    spectrum_batched,
    spectrum_frame_by_frame,
    spectrum_parallel,
)
from auralis_perf.engines.support.batch import started_thread_pool
from auralis_perf.signals import music

SR = 44100


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return music(12.0, SR, seed=12)


def test_waveform_peaks(engine: ReferenceEngine, clip: np.ndarray) -> None:
    peaks = engine.analyze(clip, SR, "waveform", columns=300)
    assert peaks["min"].shape == peaks["max"].shape == (300, 2)
    assert (peaks["min"] <= peaks["max"]).all()
    assert np.isclose(peaks["max"].max(), clip.max()) and np.isclose(peaks["min"].min(), clip.min())


def test_spectrum_paths_agree(engine: ReferenceEngine, clip: np.ndarray) -> None:
    short = clip[: SR].astype(np.float64)
    plain = spectrum_frame_by_frame(short)
    assert plain.shape == (1 + (SR - 2048) // 512, 1025)
    assert np.abs(spectrum_batched(short) - plain).max() < 1e-9
    assert np.abs(spectrum_parallel(short, workers=3) - plain).max() < 1e-9
    fast = engine.analyze(short, SR, "spectrum", parallel=True, workers=2)
    assert fast.dtype == np.float32 and np.allclose(fast, plain, atol=1e-4)


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_parallel_spectrum_keeps_its_threads_until_close(clip: np.ndarray) -> None:
    """The engine's parallel spectrum (analyze and its kernel pair) runs on threads it starts once, every
    worker at once, and keeps until close(): later calls start none and give the same result."""
    short = clip[: SR // 2].astype(np.float64)
    engine = ReferenceEngine()
    before = _threads()
    try:
        first = engine.analyze(short, SR, "spectrum", parallel=True, workers=2)
        started = _threads() - before
        assert len(started) == 2, started
        again = engine.analyze(short, SR, "spectrum", parallel=True, workers=2)
        assert _threads() - before == started and np.array_equal(first, again)
        pair = engine.kernels()["spectrum_parallel"]
        fast = pair.fast(short)
        with_pair = _threads() - before
        assert len(with_pair) == 2 + (pair.info["workers"] if pair.info["workers"] != 2 else 0), with_pair
        assert np.array_equal(pair.fast(short), fast) and _threads() - before == with_pair
        assert np.abs(fast - spectrum_frame_by_frame(short)).max() < 1e-9
    finally:
        engine.close()
    assert not (_threads() - before), "close() left the spectrum's threads running"


def test_a_forked_child_starts_its_own_spectrum_threads(clip: np.ndarray) -> None:
    """A child forked after the engine started its threads has none of them: its parallel spectrum starts
    its own instead of waiting for the parent's forever."""
    import os
    import select
    import signal

    short = clip[: SR // 4].astype(np.float64)
    engine = ReferenceEngine()
    try:
        expected = engine.analyze(short, SR, "spectrum", parallel=True, workers=2)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report whether its result matches, then leave at once
            ok = False
            try:
                ok = np.array_equal(engine.analyze(short, SR, "spectrum", parallel=True, workers=2), expected)
            finally:
                os.write(write, b"1" if ok else b"0")
                os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], 120)  # a child waiting for its parent's threads never answers
        answer = os.read(read, 1) if ready else b""
        os.close(read)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert answer == b"1", "the forked child's parallel spectrum did not finish" if not ready else answer
    finally:
        engine.close()


def test_started_thread_pool_runs_every_worker_before_the_first_task() -> None:
    before = _threads()
    pool = started_thread_pool(4)
    try:
        assert len(_threads() - before) == 4
        assert pool.submit(sum, [1, 2]).result() == 3 and len(_threads() - before) == 4
    finally:
        pool.shutdown(wait=True)
    assert not (_threads() - before)


def test_spectrum_peaks_at_a_tone() -> None:
    tone = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)
    peak_bin = spectrum_batched(tone).mean(axis=0).argmax()
    assert abs(peak_bin * SR / 2048 - 1000) < SR / 2048


def test_fingerprint_is_compact_and_robust(engine: ReferenceEngine, clip: np.ndarray) -> None:
    print_a = engine.analyze(clip, SR, "fingerprint")
    assert print_a.dtype == np.uint32 and print_a.nbytes < clip.nbytes / 1000
    assert fingerprint_similarity(print_a, engine.analyze(clip, SR, "fingerprint")) == 1.0
    quieter = engine.analyze(clip * 0.3, SR, "fingerprint")
    assert fingerprint_similarity(print_a, quieter) > 0.95
    other = engine.analyze(music(12.0, SR, seed=99), SR, "fingerprint")
    assert fingerprint_similarity(print_a, other) < 0.8


def test_loudness_analysis(engine: ReferenceEngine, clip: np.ndarray) -> None:
    result = engine.analyze(clip, SR, "loudness")
    reference = pyloudnorm.Meter(SR).integrated_loudness(clip.astype(np.float64))
    assert abs(result["integrated_lufs"] - reference) < 0.05
    assert result["true_peak_dbtp"] >= result["sample_peak_dbfs"] - 1e-9
    assert result["crest_factor_db"] == pytest.approx(result["sample_peak_dbfs"] - result["rms_dbfs"])
    assert result["loudness_range_lu"] > 1.0  # the clip has a quiet and a loud section
    mastered = engine.analyze(engine.master(clip, SR), SR, "analysis")
    assert mastered["sample_peak_dbfs"] <= -1.0 + 1e-6
