"""Batch mastering (serial, threads, processes) gives the same outputs; the job queue reports timings."""
from __future__ import annotations

import platform

import numpy as np
import pytest

from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.engines.reference.allocator import return_large_buffers_to_the_system
from auralis_perf.signals import music, write_music

SR = 44100


@pytest.fixture(scope="module")
def items() -> list[tuple[np.ndarray, int]]:
    return [(music(0.6, SR, seed=seed), SR) for seed in range(3)]


def test_thread_and_serial_batches_match_master(engine: ReferenceEngine, items) -> None:
    expected = [engine.master(audio, sr, "punchy") for audio, sr in items]
    for executor in ("serial", "thread"):
        outputs = engine.process_batch(items, workers=2, executor=executor, preset="punchy")
        assert len(outputs) == len(items)
        assert len(outputs) == len(expected) > 0 and all(np.array_equal(a, b) for a, b in zip(outputs, expected))


def test_process_batch_matches_and_accepts_paths(engine: ReferenceEngine, items, tmp_path) -> None:
    path = write_music(tmp_path / "clip.wav", 0.6, SR, seed=11)
    outputs = engine.process_batch(items[:1] + [str(path)], workers=1, executor="process")
    assert np.array_equal(outputs[0], engine.master(*items[0]))
    decoded, _ = engine.utilities.decode(path)
    assert np.array_equal(outputs[1], engine.master(decoded, SR))


def test_job_queue_reports_wait_and_run(engine: ReferenceEngine) -> None:
    clip = music(0.3, SR)
    with engine.job_queue(workers=2) as queue:
        futures = [queue.submit(clip, SR) for _ in range(5)]
        results = [f.result(timeout=60) for f in futures]
        stats = queue.stats()
    assert len(results) > 1 and all(np.array_equal(r, results[0]) for r in results)
    assert len(stats) == 5
    assert stats and all(s["wait"] >= 0 and s["run"] > 0 for s in stats)



def test_large_buffers_are_unmapped_when_freed_on_glibc() -> None:
    on_glibc = platform.libc_ver()[0] == "glibc"
    assert return_large_buffers_to_the_system() is on_glibc  # mallopt took the threshold
    assert ReferenceEngine().large_buffers_unmapped is on_glibc
