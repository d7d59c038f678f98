"""Batch mastering and a job queue for engines that only offer a `master` call (pedalboard, Auralis).

The reference engine has its own batch module (its workers run its chain directly); adapters of other
engines get the same behaviour here,
built on nothing but the engine's `master`: items are `(audio, sample_rate)` pairs or file paths, the
executor is `serial`, `thread` or `process`, and outputs come back in input order. Worker processes
build their own engine by its registered name (`get_engine(name)`), once per process.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
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


def check_workers(workers: object) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise AudioInputError(f"workers must be a positive integer, got {workers!r}")
    return workers


class ExecutorPools:
    """Executors by worker count, created on first use (`make`) and shut down by `close()`: kept by an
    engine between calls, since starting workers costs more than a short task."""

    def __init__(self, make: Callable[[int], Executor]) -> None:
        self._make = make
        self._pools: dict[int, Executor] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def get(self, workers: int) -> Executor:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the workers are its parent's, it must start its own
                self._pools, self._pid = {}, os.getpid()
            if workers not in self._pools:
                self._pools[workers] = self._make(workers)
            return self._pools[workers]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def _spawned_process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


class ProcessPools(ExecutorPools):
    """Process pools by worker count. They use the "spawn" start method (safe with threads in the parent);
    starting workers (imports, loading compiled kernels from Numba's cache) costs far more than a task."""

    def __init__(self) -> None:
        super().__init__(_spawned_process_pool)


def started_thread_pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool with all `workers` threads already running. ThreadPoolExecutor starts a thread per
    submit only while none is idle, so how many a call got depended on the scheduler (one or two for a
    two-part call): each worker here waits at a barrier until every one has started."""
    pool = ThreadPoolExecutor(max_workers=workers)
    barrier = threading.Barrier(workers)
    for future in [pool.submit(barrier.wait) for _ in range(workers)]:
        future.result()
    return pool


class ThreadPools(ExecutorPools):
    """Thread pools by worker count, every thread started up front (see `started_thread_pool`)."""

    def __init__(self) -> None:
        super().__init__(started_thread_pool)


def _master_in_worker(engine_name: str, item: Any, preset: str) -> np.ndarray:
    """Runs in a worker process: master one item with this process's own engine."""
    if engine_name not in _WORKER_ENGINES:
        from auralis_perf.engines import get_engine

        _WORKER_ENGINES[engine_name] = get_engine(engine_name)
    audio, sample_rate = decode_item(item)
    return _WORKER_ENGINES[engine_name].master(audio, sample_rate, preset)


def process_batch(master: MasterFunction, items: list[Any], *, workers: int, executor: str, preset: str,
                  process_pools: ProcessPools, engine_name: str | None = None,
                  in_worker: Callable[[Any, str], np.ndarray] | None = None) -> list[np.ndarray]:
    """Outputs in input order. `executor` is "serial", "thread" or "process".

    A worker process masters an item with `in_worker(item, preset)` (a module-level function, so it
    pickles), or by default with its own engine built by registered name (`engine_name`)."""
    if executor not in EXECUTORS:
        raise AudioInputError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    check_workers(workers)

    def one(item: Any) -> np.ndarray:
        audio, sample_rate = decode_item(item)
        return master(audio, sample_rate, preset)

    if executor == "serial" or not items:
        return [one(item) for item in items]
    if executor == "thread":
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine-batch") as pool:
            return list(pool.map(one, items))
    task = in_worker or functools.partial(_master_in_worker, engine_name)
    return list(process_pools.get(workers).map(task, items, [preset] * len(items)))


class JobQueue:
    """Short mastering jobs on a thread pool; `stats()` gives each finished job's wait and run time."""

    def __init__(self, master: MasterFunction, workers: int = 1) -> None:
        self.workers = check_workers(workers)
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


class MasterBatch:
    """`process_batch` and `job_queue` built on nothing but the engine's own `master`, for engines that
    offer nothing else for them (the peers). Worker processes build the engine by its registered `name`;
    the engine's `close()` calls `close_batch()` to shut the process pools it kept."""

    name: str
    master: MasterFunction  # the engine's own `master`

    @functools.cached_property
    def process_pools(self) -> ProcessPools:
        return ProcessPools()

    def process_batch(self, items: list[Any], *, workers: int = 1, executor: str = "thread",
                      preset: str = "default") -> list[np.ndarray]:
        return process_batch(self.master, items, workers=workers, executor=executor, preset=preset,
                             engine_name=self.name, process_pools=self.process_pools)

    def job_queue(self, workers: int = 1) -> JobQueue:
        return JobQueue(self.master, workers)

    def close_batch(self) -> None:
        if "process_pools" in self.__dict__:  # pools are made on first use only
            self.process_pools.close()
