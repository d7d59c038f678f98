"""Fast path against plain path, side by side: interleaved timing and the largest output difference.

Every speedup the memory and optimization suites report comes from `compare_paths`: the two callables
are timed in alternation (fast, plain, fast, plain, ...) so that a burst of load on this shared machine
hits both sides alike, and their outputs are compared on the same input. A fast path whose output moves
beyond the tolerance is a violation, however fast it is.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auralis_perf.measure.stats import describe
from auralis_perf.measure.timing import Timing, calibrate_loops
from auralis_perf.signals import kernel_input


def max_abs_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between two results of the same shape (arrays, dicts, lists, objects).

    Arrays are compared in float64; nested containers element by element. Shapes, keys or lengths that
    differ make the difference infinite: the outputs are not the same thing at all.
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return math.inf
        if x.size == 0:
            return 0.0
        if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
            return 0.0 if np.array_equal(x, y) else math.inf
        wide = np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(y) else np.float64
        x64, y64 = x.astype(wide, copy=False), y.astype(wide, copy=False)
        with np.errstate(invalid="ignore"):
            diff = np.abs(x64 - y64)
        same = (x64 == y64) | (np.isnan(x64) & np.isnan(y64))  # equal infinities and NaN pairs agree
        diff = np.where(same, 0.0, diff)
        return float(np.max(np.where(np.isnan(diff), np.inf, diff)))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            return math.inf
        return max((max_abs_diff(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return math.inf
        return max((max_abs_diff(x, y) for x, y in zip(a, b)), default=0.0)
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return max_abs_diff(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        if math.isnan(float(a)) and math.isnan(float(b)):
            return 0.0
        return abs(float(a) - float(b))
    if hasattr(a, "__dict__") and hasattr(b, "__dict__") and type(a) is type(b):
        return max_abs_diff(vars(a), vars(b))
    return 0.0 if a == b else math.inf


@dataclass
class PathComparison:
    """A fast/plain pair measured side by side on one input."""

    fast: Timing
    plain: Timing
    #: plain time / fast time, one per interleaved round
    speedups: list[float]
    max_abs_diff: float
    tolerance: float
    units: float = 1.0  # work per call (e.g. samples), for throughput figures
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        """Median of the per-round speedups (paired, so load bursts cancel out)."""
        return describe(self.speedups).median

    @property
    def within_tolerance(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def throughput(self, side: str = "fast") -> tuple[float, list[float]]:
        """Work units per second: the median and one per sample."""
        timing = self.fast if side == "fast" else self.plain
        per_sample = [self.units / s for s in timing.samples]
        return describe(per_sample).median, per_sample

    def row(self) -> dict[str, Any]:
        """One table row for a record's details."""
        return {"fast_s": self.fast.median, "plain_s": self.plain.median, "speedup": self.speedup,
                "speedup_iqr": describe(self.speedups).iqr, "max_abs_diff": self.max_abs_diff,
                "tolerance": self.tolerance, "within_tolerance": self.within_tolerance,
                "fast_samples": self.fast.samples, "plain_samples": self.plain.samples,
                "units_per_call": self.units, "loops_fast": self.fast.loops, "loops_plain": self.plain.loops,
                **self.extra}


def _batch_seconds(fn: Callable[[], Any], loops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(loops):
        fn()
    return (time.perf_counter_ns() - start) * 1e-9 / loops


def compare_paths(fast: Callable[[], Any], plain: Callable[[], Any], *, rounds: int = 5,
                  tolerance: float = 1e-9, units: float = 1.0, warmup: int = 1,
                  sample_target: float = 0.01, max_time: float | None = None) -> PathComparison:
    """Time `fast()` and `plain()` in alternation for `rounds` rounds and compare their outputs.

    Sub-millisecond calls run in calibrated batches (each side separately) so that timer resolution does
    not dominate. `max_time` (seconds) stops adding rounds after the third one once it is exceeded.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    out_fast = out_plain = None
    first_fast = first_plain = 0.0
    for _ in range(max(1, warmup)):
        start = time.perf_counter()
        out_fast = fast()
        first_fast = time.perf_counter() - start
        start = time.perf_counter()
        out_plain = plain()
        first_plain = time.perf_counter() - start
    diff = max_abs_diff(out_fast, out_plain)
    del out_fast, out_plain

    def loops_for(fn: Callable[[], Any], last_call: float) -> int:
        # a call that already lasts a sample needs no calibration (and a slow plain path costs seconds)
        return 1 if last_call >= sample_target else calibrate_loops(fn, sample_target=sample_target)

    loops_fast = loops_for(fast, first_fast)
    loops_plain = loops_for(plain, first_plain)
    fast_samples: list[float] = []
    plain_samples: list[float] = []
    begin = time.perf_counter()
    for i in range(rounds):
        # alternate which side goes first, so neither always runs on a cache the other just warmed
        if i % 2 == 0:
            fast_samples.append(_batch_seconds(fast, loops_fast))
            plain_samples.append(_batch_seconds(plain, loops_plain))
        else:
            plain_samples.append(_batch_seconds(plain, loops_plain))
            fast_samples.append(_batch_seconds(fast, loops_fast))
        if max_time is not None and i >= 2 and time.perf_counter() - begin > max_time:
            break
    speedups = [p / f for f, p in zip(fast_samples, plain_samples)]
    return PathComparison(fast=Timing(fast_samples, loops=loops_fast, warmup=warmup),
                          plain=Timing(plain_samples, loops=loops_plain, warmup=warmup),
                          speedups=speedups, max_abs_diff=diff, tolerance=tolerance, units=units)


def time_side_by_side(calls: Mapping[str, Callable[[], Any]], *, rounds: int = 5,
                      sample_target: float = 0.005) -> dict[str, Timing]:
    """Time several callables in alternating rounds (order rotated each round); per-call seconds each.

    The same idea as `compare_paths` for more than two ways of doing one job (FFT libraries, filter
    realisations): a burst of load on a shared machine then hits every contender alike.
    """
    names = list(calls)
    loops = {}
    for name in names:  # warm-up, then calibration from the warm call's duration
        start = time.perf_counter()
        calls[name]()
        first = time.perf_counter() - start
        loops[name] = 1 if first >= sample_target else calibrate_loops(calls[name], sample_target=sample_target)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            samples[name].append(_batch_seconds(calls[name], loops[name]))
    return {name: Timing(samples[name], loops=loops[name], warmup=1) for name in names}


def compare_kernel_pair(pair: Any, n_frames: int, sample_rate: int, **options: Any) -> PathComparison:
    """`compare_paths` on an engine `KernelPair` with the input it makes for `n_frames` frames.

    Throughput units are the samples of the input's signal array (frames x channels), else frames.
    """
    data = kernel_input(pair, n_frames, sample_rate)
    array = first_array(data)
    units = float(array.size) if array is not None else float(n_frames)
    options.setdefault("tolerance", pair.tolerance)
    result = compare_paths(lambda: pair.fast(data), lambda: pair.plain(data), units=units, **options)
    result.extra.update({"kernel": pair.name, "n_frames": n_frames,
                         "input_dtype": str(array.dtype) if array is not None else type(data).__name__})
    return result


def first_array(data: Any) -> np.ndarray | None:
    """The first NumPy array of a kernel input (an array, or a tuple whose first array is the signal)."""
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (tuple, list)):
        return next((item for item in data if isinstance(item, np.ndarray)), None)
    return None


__all__ = ["PathComparison", "compare_kernel_pair", "compare_paths", "first_array", "max_abs_diff",
           "time_side_by_side"]
