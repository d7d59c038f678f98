"""Batch mastering across threads or processes, and a job queue for short clips.

Threads work because the compiled kernels release the GIL (`nogil=True`). The process pool uses the
"spawn" start method (safe with threads in the parent) and is kept by the engine between calls, since
starting workers (imports, loading compiled kernels from Numba's cache) costs far more than a task.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np

from auralis_perf.engines.base import AudioInputError
from auralis_perf.engines.reference.mastering import master_array
from auralis_perf.engines.support.batch import JobQueue as SharedJobQueue
from auralis_perf.engines.support.sources import FileSource

EXECUTORS = ("serial", "thread", "process")


def master_item(item: Any, preset: str = "default", optimized: bool = True) -> np.ndarray:
    """Master one batch item: an (audio, sample_rate) pair or a file path (decoded whole)."""
    if isinstance(item, (str, os.PathLike)):
        source = FileSource(item)
        try:
            audio = source.read(0, source.frames)
        finally:
            source.close()
        return master_array(audio, source.sample_rate, preset, optimized=optimized)
    if isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], np.ndarray):
        return master_array(item[0], item[1], preset, optimized=optimized)
    raise AudioInputError(f"batch item must be (audio, sample_rate) or a file path, got {type(item).__name__}")


class ProcessPools:
    """Process pools by worker count, created on first use and shut down by `close()`."""

    def __init__(self) -> None:
        self._pools: dict[int, ProcessPoolExecutor] = {}
        self._lock = threading.Lock()

    def get(self, workers: int) -> ProcessPoolExecutor:
        with self._lock:
            if workers not in self._pools:
                context = multiprocessing.get_context("spawn")
                self._pools[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            return self._pools[workers]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def process_batch(items: list[Any], *, workers: int, executor: str, preset: str,
                  process_pools: ProcessPools) -> list[np.ndarray]:
    """Outputs in input order. `executor` is "serial", "thread" or "process"."""
    if executor not in EXECUTORS:
        raise AudioInputError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise AudioInputError(f"workers must be a positive integer, got {workers!r}")
    if executor == "serial" or not items:
        return [master_item(item, preset) for item in items]
    if executor == "thread":
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="auralis-batch") as pool:
            return list(pool.map(master_item, items, [preset] * len(items)))
    pool: Executor = process_pools.get(workers)
    return list(pool.map(master_item, items, [preset] * len(items)))


class JobQueue(SharedJobQueue):
    """The reference's job queue: the shared thread-pool queue running the reference chain."""

    def __init__(self, workers: int = 1) -> None:
        super().__init__(master_array, workers)
