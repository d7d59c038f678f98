"""Memory figures, each saying which kind it is.

Kinds (the `kind` of a `MemoryFigure`, and what `CheckResult.kind` should carry):
- "rss": resident set size, pages of this process in RAM now (shared library pages included);
- "uss": unique set size, pages only this process holds (what would be freed if it exited);
- "peak_rss": the highest RSS over a call, from the kernel's high-water mark where it can be reset
  (Linux `/proc/self/clear_refs`), else from sampling; a sampled series is kept for plots either way;
- "traced": bytes Python asked for (tracemalloc); NumPy buffers count as soon as allocated, RSS only once
  their pages are touched;
- "swap": swap used by the process.

Peak sampling uses a thread of this process by default; memory_profiler's `memory_usage` is available as
`sampler="memory_profiler"`, but it forks a sampling process per call (~0.1-0.3 s here), and forking a
process that holds BLAS and Numba threads is slow and fragile. On Linux the peak itself comes from the
kernel's high-water mark either way, so short spikes between two samples are not missed.
"""
from __future__ import annotations

import ctypes
import gc
import math
import re
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import psutil

MB = 1024 * 1024
KINDS = ("rss", "uss", "peak_rss", "traced", "swap")
T = TypeVar("T")


@dataclass
class MemoryFigure:
    """One memory figure in MiB, with its kind and, when sampled, its time series."""

    value_mb: float
    kind: str
    series: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown memory kind {self.kind!r}; known: {', '.join(KINDS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _process(pid: int | None = None) -> psutil.Process:
    return psutil.Process(pid) if pid is not None else psutil.Process()


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of the process (this one by default), in MiB. Kind: "rss"."""
    return _process(pid).memory_info().rss / MB


def uss_mb(pid: int | None = None) -> float:
    """Unique set size of the process (this one by default), in MiB. Kind: "uss". Slower than RSS."""
    return _process(pid).memory_full_info().uss / MB


def current(kind: str = "rss", pid: int | None = None) -> MemoryFigure:
    """The process's memory now as a `MemoryFigure` of kind "rss", "uss" or "swap"."""
    readers = {"rss": rss_mb, "uss": uss_mb, "swap": process_swap_mb}
    if kind not in readers:
        raise ValueError(f"current() reads kinds {', '.join(readers)}, not {kind!r}")
    value = readers[kind](pid)
    return MemoryFigure(math.nan if value is None else value, kind)


# --------------------------------------------------------------------------------------------- swap

def process_swap_mb(pid: int | None = None, *, include_children: bool = False) -> float | None:
    """Swap used by the process (and its children) in MiB, kind "swap"; None where the OS hides it."""
    process = _process(pid)
    members = [process, *(process.children(recursive=True) if include_children else [])]
    total = 0
    for member in members:
        try:
            swap = getattr(member.memory_full_info(), "swap", None)
        except psutil.NoSuchProcess:
            continue  # a child that ended meanwhile uses no swap
        except psutil.AccessDenied:
            return None
        if swap is None:
            return None
        total += swap
    return total / MB


def system_swap_counters() -> dict[str, float | None]:
    """System swap: total and used MiB, and the cumulative bytes swapped in/out (None if unknown)."""
    swap = psutil.swap_memory()
    return {"total_mb": swap.total / MB, "used_mb": swap.used / MB,
            "sin_bytes": float(swap.sin) if swap.sin is not None else None,
            "sout_bytes": float(swap.sout) if swap.sout is not None else None}


def swap_activity_during(fn: Callable[[], T], *, include_children: bool = False
                         ) -> tuple[T, dict[str, float | None]]:
    """Run fn; return its result, the system's swap-in/out bytes during the call and the process's swap
    (with its children if asked) just after it."""
    before = system_swap_counters()
    result = fn()
    after = system_swap_counters()

    def delta(key: str) -> float | None:
        if before[key] is None or after[key] is None:
            return None
        return after[key] - before[key]

    return result, {"swap_in_bytes": delta("sin_bytes"), "swap_out_bytes": delta("sout_bytes"),
                    "process_swap_mb": process_swap_mb(include_children=include_children)}


# ---------------------------------------------------------------------------------------- peak RSS

@dataclass
class PeakMemory:
    """Peak RSS over a call. `delta_mb` = peak - baseline: what the call added at its worst."""

    baseline_mb: float
    peak_mb: float
    end_mb: float
    duration_s: float
    #: "hwm" (kernel high-water mark, exact) or "sampled" (highest of the samples; may miss short spikes)
    method: str
    times_s: list[float] = field(default_factory=list)
    series_mb: list[float] = field(default_factory=list)
    include_children: bool = False
    kind: str = "peak_rss"

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.baseline_mb

    @property
    def retained_mb(self) -> float:
        """RSS still held after the call, against before it."""
        return self.end_mb - self.baseline_mb

    def figure(self) -> MemoryFigure:
        return MemoryFigure(self.peak_mb, "peak_rss", list(self.series_mb))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["delta_mb"] = self.delta_mb
        data["retained_mb"] = self.retained_mb
        return data


_HWM_PATTERN = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)


def _read_hwm_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            match = _HWM_PATTERN.search(status.read())
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


#: Peak marks of the peak_rss_during calls in progress: a nested call resets the kernel's mark, so it
#: first hands the mark so far to every enclosing call (a list per call, shared through this stack).
_open_hwm_marks: list[list[float]] = []
_hwm_lock = threading.Lock()


def _reset_hwm() -> bool:
    """Reset this process's peak-RSS mark to its current RSS (Linux >= 4.0). True if it worked."""
    with _hwm_lock:
        mark = _read_hwm_mb()
        if mark is not None:
            for marks in _open_hwm_marks:
                marks.append(mark)
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
                clear_refs.write("5")  # 5 resets only the peak mark; 1-4 would clear page bits
        except OSError:
            return False
    return True


def _rss_with_children(process: psutil.Process, include_children: bool) -> float:
    total = process.memory_info().rss
    if include_children:
        for child in process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass  # a child that ended between listing and reading adds nothing
    return total / MB


def _sample_with_thread(fn: Callable[[], T], interval: float, include_children: bool,
                        times: list[float], series: list[float]) -> T:
    process = psutil.Process()
    stop = threading.Event()
    begin = time.perf_counter()

    def sampler() -> None:
        while not stop.wait(interval):
            times.append(time.perf_counter() - begin)
            series.append(_rss_with_children(process, include_children))

    thread = threading.Thread(target=sampler, name="peak-rss-sampler", daemon=True)
    thread.start()
    try:
        return fn()
    finally:
        stop.set()
        thread.join()


def _sample_with_memory_profiler(fn: Callable[[], T], interval: float, include_children: bool,
                                 times: list[float], series: list[float]) -> T:
    from memory_profiler import memory_usage  # forks a sampling process: see the module's note

    begin = time.time()
    usage, result = memory_usage((fn, (), {}), interval=interval, retval=True, timestamps=True,
                                 include_children=include_children, max_iterations=1)
    for value_mib, stamp in usage:
        times.append(stamp - begin)
        series.append(float(value_mib))
    return result


_SAMPLERS = {"thread": _sample_with_thread, "memory_profiler": _sample_with_memory_profiler}


def peak_rss_during(fn: Callable[[], T], interval: float = 0.005, *, include_children: bool = False,
                    sampler: str = "thread") -> tuple[T, PeakMemory]:
    """Run fn() while sampling RSS every `interval` seconds; return its result and the peak.

    The peak is the kernel's high-water mark where it can be reset (method "hwm", exact), else the
    highest sample (method "sampled"). `include_children` adds child processes' RSS to each sample and
    forces "sampled" (the mark is per process). `sampler` is "thread" (a thread of this process) or
    "memory_profiler" (its `memory_usage`, which samples from a forked process).
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    if sampler not in _SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; known: {', '.join(_SAMPLERS)}")
    process = psutil.Process()
    times: list[float] = [0.0]
    series: list[float] = [_rss_with_children(process, include_children)]
    baseline = series[0]
    marks: list[float] = []
    use_hwm = not include_children and _reset_hwm()
    _open_hwm_marks.append(marks)
    begin = time.perf_counter()
    try:
        result = _SAMPLERS[sampler](fn, interval, include_children, times, series)
    finally:
        # by identity: list.remove would compare by value and could drop an enclosing call's marks
        _open_hwm_marks[:] = [other for other in _open_hwm_marks if other is not marks]
    duration = time.perf_counter() - begin
    times.append(duration)
    series.append(_rss_with_children(process, include_children))
    peak, method = max(series), "sampled"
    if use_hwm:
        hwm = _read_hwm_mb()
        if hwm is not None:
            peak, method = max([peak, hwm, *marks]), "hwm"
    return result, PeakMemory(baseline_mb=baseline, peak_mb=peak, end_mb=series[-1], duration_s=duration,
                              method=method, times_s=times, series_mb=series,
                              include_children=include_children)


# ------------------------------------------------------------------------------------- tracemalloc

@dataclass
class TracedMemory:
    """Python allocations (tracemalloc) over `calls` calls of a function."""

    net_bytes: int      # allocated and still alive after the calls
    peak_bytes: int     # highest traced size during the calls, above the size before them
    calls: int
    kind: str = "traced"

    @property
    def per_call_bytes(self) -> float:
        return self.net_bytes / self.calls

    @property
    def net_mb(self) -> float:
        return self.net_bytes / MB

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def figure(self) -> MemoryFigure:
        return MemoryFigure(self.peak_mb, "traced")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_call_bytes"] = self.per_call_bytes
        return data


def traced_allocations(fn: Callable[[], T], *, calls: int = 1) -> tuple[T, TracedMemory]:
    """Call fn `calls` times under tracemalloc; return the last result and the traced bytes.

    If tracemalloc was already tracing, it keeps tracing afterwards (its peak is reset, though).
    """
    if calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = None
        for _ in range(calls):
            result = fn()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, TracedMemory(net_bytes=after - before, peak_bytes=peak - before, calls=calls)


# ----------------------------------------------------------------------------------- housekeeping

def collect_garbage(*, trim: bool = True) -> int:
    """Run every GC generation until nothing more is found; optionally hand freed heap back to the OS.

    `trim` calls glibc's malloc_trim(0) where available, so that RSS after freeing reflects what is
    really still in use rather than what the allocator keeps cached. Returns the objects collected.
    """
    collected = 0
    for _ in range(3):
        found = gc.collect()
        collected += found
        if not found:
            break
    if trim:
        _malloc_trim()
    return collected


def _malloc_trim() -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


# --------------------------------------------------------------------------------------- leak slope

@dataclass(frozen=True)
class SlopeFit:
    """Least-squares line y = intercept + slope * x, with the slope's standard error and 95 % CI."""

    slope: float
    intercept: float
    stderr: float
    ci_low: float
    ci_high: float
    r_squared: float
    p_value: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def leak_slope(series_x: Sequence[float], series_y: Sequence[float], *, confidence: float = 0.95) -> SlopeFit:
    """Fit memory (y) against a count (x: tracks, cycles, ...) and give the slope's confidence interval."""
    from scipy import stats  # scipy imports in ~0.2 s; only pay for it here

    x = [float(v) for v in series_x]
    y = [float(v) for v in series_y]
    if len(x) != len(y):
        raise ValueError(f"leak_slope needs x and y of the same length, got {len(x)} and {len(y)}")
    if len(x) < 3:
        raise ValueError(f"leak_slope needs at least 3 points for a confidence interval, got {len(x)}")
    if len(set(x)) < 2:
        raise ValueError("leak_slope needs at least two distinct x values")
    fit = stats.linregress(x, y)
    t = stats.t.ppf(0.5 + confidence / 2, len(x) - 2)
    stderr = float(fit.stderr)
    slope = float(fit.slope)
    p_value = float(fit.pvalue) if not math.isnan(fit.pvalue) else 1.0
    return SlopeFit(slope=slope, intercept=float(fit.intercept), stderr=stderr,
                    ci_low=slope - t * stderr, ci_high=slope + t * stderr,
                    r_squared=float(fit.rvalue) ** 2 if not math.isnan(fit.rvalue) else 0.0,
                    p_value=p_value, n=len(x))


def is_leak(fit: SlopeFit, tolerance_per_unit: float) -> bool:
    """A leak only when even the slope's lower 95 % bound grows faster than the tolerance."""
    return fit.ci_low > tolerance_per_unit


__all__ = ["KINDS", "MB", "MemoryFigure", "PeakMemory", "SlopeFit", "TracedMemory", "collect_garbage",
           "current", "is_leak", "leak_slope", "peak_rss_during", "process_swap_mb", "rss_mb",
           "swap_activity_during", "system_swap_counters", "traced_allocations", "uss_mb"]
