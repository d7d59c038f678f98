"""Free parallel capacity: how many of the machine's cores this process can get right now.

The control workload runs on one thread, so it cannot see that the cores a parallel check needs are
taken by a neighbour (two CPU-bound processes on a 2-core machine made RT-11 read -32 % on unchanged
code). Here one busy thread per core multiplies matrices (BLAS held to one thread each; NumPy releases
the GIL inside the product) for a short, fixed wall time; the process's CPU time over that wall time is
the number of cores it actually got: about the core count on an idle machine, about half of it when a
CPU-bound neighbour runs on every core.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

_SIZE = 160
_SEED = 1414


def _busy(stop: threading.Event, a: np.ndarray, b: np.ndarray) -> None:
    while not stop.is_set():
        a @ b


def free_cores(seconds: float = 0.2, cores: int | None = None) -> dict[str, Any]:
    """{"cores", "free_cores", "seconds"}: CPU seconds obtained per wall second by `cores` busy threads."""
    cores = cores or os.cpu_count() or 1
    rng = np.random.default_rng(_SEED)
    a, b = rng.standard_normal((_SIZE, _SIZE)), rng.standard_normal((_SIZE, _SIZE))
    stop = threading.Event()
    with threadpool_limits(limits=1):
        threads = [threading.Thread(target=_busy, args=(stop, a, b), daemon=True) for _ in range(cores)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cores": cores, "free_cores": round(min(float(cores), cpu / wall), 3), "seconds": round(wall, 3)}


__all__ = ["free_cores"]
