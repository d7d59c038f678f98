"""CPU use during a call, judged against the cores present: cores seen, threads used, use per core.

`CpuMonitor` wraps a region of code and reports what this process (and its child processes) burnt in CPU
time against the wall time and the cores, how many of its threads really ran, and the system-wide use of
each core over the same span (psutil). On a shared machine the per-core figures include other programs;
the process figure does not.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil


@dataclass
class CpuUse:
    cores: int
    wall_s: float
    #: CPU seconds of this process and its children over the region
    cpu_s: float
    #: cpu_s / (wall_s * cores), in percent: 100 % means every core busy with our work all along
    process_percent_of_machine: float
    #: cpu_s / wall_s: how many cores' worth of work ran on average
    cores_busy: float
    #: system-wide use of each core over the region (psutil.cpu_percent(percpu=True)), other programs included
    per_core_percent: list[float]
    #: threads of this process that burnt at least 5 % of the wall time in CPU
    threads_used: int
    threads_max: int
    threads_cpu_s: list[float] = field(default_factory=list)

    @property
    def others_percent(self) -> float:
        """Machine use by other programs over the region (mean core use minus ours), in percent."""
        mean = sum(self.per_core_percent) / len(self.per_core_percent) if self.per_core_percent else 0.0
        return max(0.0, mean - self.process_percent_of_machine)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["others_percent"] = self.others_percent
        return data


def _thread_times(process: psutil.Process) -> dict[int, float]:
    try:
        return {t.id: t.user_time + t.system_time for t in process.threads()}
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return {}


def _cpu_seconds(process: psutil.Process) -> float:
    """This process's CPU time plus that of children alive now and of children already waited for."""
    times = process.cpu_times()
    total = times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


class CpuMonitor:
    """Context manager: `with CpuMonitor() as mon: work()`, then `mon.result`."""

    def __init__(self, thread_sample_interval: float = 0.05) -> None:
        self._interval = thread_sample_interval
        self._process = psutil.Process()
        self.result: CpuUse | None = None

    def __enter__(self) -> "CpuMonitor":
        self._stop = threading.Event()
        self._threads_max = self._process.num_threads()
        self._sampler = threading.Thread(target=self._sample, name="cpu-monitor", daemon=True)
        psutil.cpu_percent(percpu=True)  # starts the per-core interval
        self._threads_before = _thread_times(self._process)
        self._threads_last: dict[int, float] = dict(self._threads_before)
        self._cpu_before = _cpu_seconds(self._process)
        self._start = time.perf_counter()
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self._record_threads()

    def _record_threads(self) -> None:
        # threads of a pool may end before the region does: keep each one's last CPU time seen
        seen = _thread_times(self._process)
        self._threads_max = max(self._threads_max, len(seen))
        self._threads_last.update(seen)

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._start
        cpu_after = _cpu_seconds(self._process)
        per_core = psutil.cpu_percent(percpu=True)
        self._stop.set()
        self._sampler.join()
        self._record_threads()
        threads_after = self._threads_last
        cores = psutil.cpu_count() or 1
        # a pool's children that ended and were reaped move into children_user/system: still counted
        cpu = max(0.0, cpu_after - self._cpu_before)
        used = [threads_after[t] - self._threads_before.get(t, 0.0) for t in threads_after]
        busy = [u for u in used if u >= 0.05 * wall]
        self.result = CpuUse(cores=cores, wall_s=wall, cpu_s=cpu,
                             process_percent_of_machine=100.0 * cpu / (wall * cores) if wall > 0 else 0.0,
                             cores_busy=cpu / wall if wall > 0 else 0.0, per_core_percent=list(per_core),
                             threads_used=len(busy), threads_max=self._threads_max,
                             threads_cpu_s=sorted(busy, reverse=True))


def free_cores(window_s: float = 0.5) -> dict[str, Any]:
    """How many cores were free of other programs just now: system-wide use of each core over `window_s`
    seconds while this process waits (psutil), and the 1-minute load average.

    For the record of a parallel check (a parallel figure on a machine whose cores others hold is bounded
    by the machine, not by the engine); never part of its verdict.
    """
    own_before = _cpu_seconds(psutil.Process())
    started = time.perf_counter()
    per_core = psutil.cpu_percent(interval=window_s, percpu=True)
    wall = time.perf_counter() - started
    own = (_cpu_seconds(psutil.Process()) - own_before) / wall if wall > 0 else 0.0  # our threads, if any ran
    cores = len(per_core) or (psutil.cpu_count() or 1)
    busy_by_others = max(0.0, sum(per_core) / 100.0 - own)
    try:
        load_1min: float | None = psutil.getloadavg()[0]
    except (AttributeError, OSError):
        load_1min = None
    return {"cores": cores, "free_cores": round(max(0.0, cores - busy_by_others), 2),
            "busy_by_others_cores": round(busy_by_others, 2), "per_core_percent": per_core,
            "load_average_1min": load_1min, "window_s": round(wall, 3),
            "how": "system-wide use of each core over a short window just before the measurement, this "
                   "process idle (psutil.cpu_percent); a record detail, not part of the verdict"}


__all__ = ["CpuMonitor", "CpuUse", "free_cores"]
