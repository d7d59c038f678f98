"""Batch mastering across threads or processes, and a job queue for short clips.

Threads work because the compiled kernels release the GIL (`nogil=True`). Processes come from the shared
`ProcessPools` (engines/support/batch.py), kept by the engine between calls; the workers run the
reference chain directly (`master_item` is a module function, so it pickles).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from auralis_perf.engines.reference.mastering import master_array
from auralis_perf.engines.support.batch import JobQueue as SharedJobQueue
from auralis_perf.engines.support.batch import ProcessPools, decode_item
from auralis_perf.engines.support.batch import process_batch as shared_process_batch


def master_item(item: Any, preset: str = "default", optimized: bool = True) -> np.ndarray:
    """Master one batch item: an (audio, sample_rate) pair or a file path (decoded whole)."""
    audio, sample_rate = decode_item(item)
    return master_array(audio, sample_rate, preset, optimized=optimized)


def process_batch(items: list[Any], *, workers: int, executor: str, preset: str,
                  process_pools: ProcessPools) -> list[np.ndarray]:
    """Outputs in input order. `executor` is "serial", "thread" or "process"."""
    return shared_process_batch(master_array, items, workers=workers, executor=executor, preset=preset,
                                process_pools=process_pools, in_worker=master_item)


class JobQueue(SharedJobQueue):
    """The reference's job queue: the shared thread-pool queue running the reference chain."""

    def __init__(self, workers: int = 1) -> None:
        super().__init__(master_array, workers)
