"""Batch mastering and a job queue for engines that only offer a `master` call (pedalboard, Auralis).

The reference engine has its own batch module; adapters of other engines get the same behaviour here,
built on nothing but the engine's `master`: items are `(audio, sample_rate)` pairs or file paths, the
executor is `serial`, `thread` or `process`, and outputs come back in input order. Worker processes
build their own engine by its registered name (`get_engine(name)`), once per process.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from auralis_perf.engines.base import AudioInputError

EXECUTORS = ("serial", "thread", "process")
MasterFunction = Callable[[np.ndarray, int, str], np.ndarray]

#: Engines built inside a worker process, by registered name (one per process, reused between tasks).
_WORKER_ENGINES: dict[str, Any] = {}


def decode_item(item: Any) -> tuple[np.ndarray, int]:
    """(audio, sample_rate) of a batch item: the pair itself, or a file decoded whole."""
    if isinstance(item, (str, os.PathLike)):
        from auralis_perf.engines.support.sources import FileSource  # the shared decoder: clear errors naming the file

        source = FileSource(item)
        try:
            return source.read(0, source.frames), source.sample_rate
        finally:
            source.close()
    if isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], np.ndarray):
        return item[0], item[1]
    raise AudioInputError(f"batch item must be (audio, sample_rate) or a file path, got {type(item).__name__}")


def _check_workers(workers: object) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise AudioInputError(f"workers must be a positive integer, got {workers!r}")
    return workers


def _master_in_worker(engine_name: str, item: Any, preset: str) -> np.ndarray:
    """Runs in a worker process: master one item with this process's own engine."""
    if engine_name not in _WORKER_ENGINES:
        from auralis_perf.engines import get_engine

        _WORKER_ENGINES[engine_name] = get_engine(engine_name)
    audio, sample_rate = decode_item(item)
    return _WORKER_ENGINES[engine_name].master(audio, sample_rate, preset)


def process_batch(master: MasterFunction, items: list[Any], *, workers: int, executor: str, preset: str,
                  engine_name: str, process_pools: Any) -> list[np.ndarray]:
    """Outputs in input order. `process_pools.get(workers)` gives a kept process pool (spawn)."""
    if executor not in EXECUTORS:
        raise AudioInputError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    _check_workers(workers)

    def one(item: Any) -> np.ndarray:
        audio, sample_rate = decode_item(item)
        return master(audio, sample_rate, preset)

    if executor == "serial" or not items:
        return [one(item) for item in items]
    if executor == "thread":
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine-batch") as pool:
            return list(pool.map(one, items))
    task = functools.partial(_master_in_worker, engine_name)
    return list(process_pools.get(workers).map(task, items, [preset] * len(items)))


class JobQueue:
    """Short mastering jobs on a thread pool; `stats()` gives each finished job's wait and run time."""

    def __init__(self, master: MasterFunction, workers: int = 1) -> None:
        self.workers = _check_workers(workers)
        self._master = master
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine-jobs")
        self._lock = threading.Lock()
        self._stats: list[dict[str, float]] = []

    def submit(self, audio: np.ndarray, sample_rate: int, preset: str = "default") -> Future[np.ndarray]:
        submitted = time.perf_counter()

        def job() -> np.ndarray:
            started = time.perf_counter()
            try:
                return self._master(audio, sample_rate, preset)
            finally:
                finished = time.perf_counter()
                with self._lock:
                    self._stats.append({"submitted": submitted, "wait": started - submitted,
                                        "run": finished - started})

        return self._pool.submit(job)

    def stats(self) -> list[dict[str, float]]:
        """One {"wait": s, "run": s, "submitted": perf_counter s} per finished job, in finishing order."""
        with self._lock:
            return [dict(s) for s in self._stats]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
