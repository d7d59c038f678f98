"""Wall-clock timing: warm-up, calibrated inner loops, repeated samples, raw samples kept.

`measure_time(fn)` is the one entry point for "how long does this call take". Sub-millisecond work is
timed in batches of `loops` calls so that one sample lasts at least `sample_target` seconds (timer
resolution and call overhead then vanish); a sample is reported per call (batch time / loops).

Scenario code that times a region itself (a chunk loop, a query) uses `Stopwatch`, and turns what it
collected into the same `Timing` with `Timing.from_samples`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from auralis_perf.measure.rounds import round_share
from auralis_perf.measure.stats import MIN_STABLE_SAMPLES, SampleStats, describe, stability_warnings
from auralis_perf.measure.turns import pass_turn

#: One sample of calibrated work should last at least this long (seconds).
DEFAULT_SAMPLE_TARGET = 0.015
#: Calibration never goes beyond this many inner loops (a no-op call would otherwise ask for millions).
MAX_INNER_LOOPS = 1_000_000
_NS = 1e-9


def _stat(name: str) -> property:
    """A read-only attribute forwarding to the same-named field of `Timing.stats`."""
    return property(lambda self: getattr(self.stats, name), doc=f"{name} of the samples (see SampleStats)")


@dataclass
class Timing:
    """Per-call wall times in seconds and their statistics; `cpu_samples`, when measured, the process's CPU
    seconds per call of the same samples (a neighbour on other cores does not inflate them)."""

    samples: list[float]
    loops: int = 1
    warmup: int = 0
    cpu_samples: list[float] | None = None
    stats: SampleStats = field(init=False, repr=False)
    warnings: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.loops < 1:
            raise ValueError(f"loops must be >= 1, got {self.loops}")
        self.samples = [float(s) for s in self.samples]
        self.stats = describe(self.samples)
        self.warnings = stability_warnings(self.stats)

    @classmethod
    def from_samples(cls, samples: Sequence[float], *, loops: int = 1, warmup: int = 0) -> "Timing":
        """Wrap per-call seconds measured elsewhere (e.g. with `Stopwatch`) for the same statistics."""
        return cls(list(samples), loops=loops, warmup=warmup)

    # The statistics as attributes (timing.median, timing.cv, ...), all in seconds per call except n and cv.
    n = _stat("n")
    median = _stat("median")
    q1 = _stat("q1")
    q3 = _stat("q3")
    iqr = _stat("iqr")
    mean = _stat("mean")
    stdev = _stat("stdev")
    cv = _stat("cv")
    min = _stat("min")
    max = _stat("max")

    @property
    def stable(self) -> bool:
        """False when there are too few samples or the spread is >= 10 % of the mean (pyperf's rule)."""
        return not self.warnings

    @property
    def warning(self) -> str | None:
        """The stability warnings as one sentence, or None when stable."""
        return "; ".join(self.warnings) if self.warnings else None

    def to_dict(self) -> dict[str, Any]:
        """Raw samples, loops, warm-up, statistics and warnings, JSON-able (for `CheckResult.details`)."""
        return {"samples": list(self.samples), "loops": self.loops, "warmup": self.warmup,
                "summary": self.summary(), "warnings": list(self.warnings),
                **({"cpu_samples": list(self.cpu_samples)} if self.cpu_samples else {})}

    def summary(self) -> dict[str, float]:
        """JSON-able statistics for `CheckResult.summary` (seconds per call; `stable` is 1.0 or 0.0)."""
        summary = self.stats.as_dict()
        summary["loops"] = self.loops
        summary["stable"] = 1.0 if self.stable else 0.0
        if self.cpu_samples:
            summary["cpu_median"] = describe(self.cpu_samples).median
        return summary


def _run_batch(fn: Callable[..., Any], loops: int, setup: Callable[[], Any] | None) -> int:
    """Nanoseconds taken by `loops` calls of fn (setup, if any, runs once before, untimed)."""
    if setup is None:
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        return time.perf_counter_ns() - start
    state = setup()
    start = time.perf_counter_ns()
    for _ in range(loops):
        fn(state)
    return time.perf_counter_ns() - start


def calibrate_loops(fn: Callable[..., Any], *, setup: Callable[[], Any] | None = None,
                    sample_target: float = DEFAULT_SAMPLE_TARGET) -> int:
    """The number of inner loops that makes one batch of `fn` last at least `sample_target` seconds."""
    target_ns = sample_target / _NS
    loops = 1
    while loops < MAX_INNER_LOOPS:
        elapsed = _run_batch(fn, loops, setup)
        if elapsed >= target_ns:
            return loops
        # Jump close to the target when the estimate is usable, but never grow more than 10x at a time:
        # the first calls of a function are often slower or faster than the steady state.
        estimate = math.ceil(loops * target_ns * 1.2 / max(elapsed, 1))
        loops = min(max(loops * 2, min(estimate, loops * 10)), MAX_INNER_LOOPS)
    return MAX_INNER_LOOPS


def measure_time(fn: Callable[..., Any], *, warmup: int = 1, repeat: int = 5, min_time: float = 0.2,
                 max_time: float | None = None, inner_loops: int | None = None,
                 setup: Callable[[], Any] | None = None,
                 sample_target: float = DEFAULT_SAMPLE_TARGET, round_repeat: int = 1) -> Timing:
    """Time `fn()` and return per-call seconds for at least `repeat` samples.

    - `warmup` untimed calls first (JIT compilation, caches, page faults).
    - `inner_loops=None` calibrates: sub-millisecond work runs in batches lasting >= `sample_target`.
    - Samples are added until there are `repeat` of them AND `min_time` seconds were spent sampling;
      `max_time` (seconds, optional) stops adding samples once `repeat` is reached, whatever `min_time`.
    - `setup`, if given, runs before each sample, untimed, and its return value is passed to `fn`
      (`fn(state)`) on every call of that sample: if fn consumes its state, pass `inner_loops=1`.
    - Each sample also records the process's CPU time per call (`Timing.cpu_samples`; it includes the
      engine's own threads, and `setup` when given).
    - Inside `measure.rounds.measuring_round` only that round's share of the samples is taken, and at
      least `round_repeat` of them (a round's figure is the median of its samples: of three, one sample
      slowed by a burst cannot set it).
    - Inside `measure.turns.taking_turns` the warm-up and each timed sample hand the turn to the other
      side's process.
    """
    if not callable(fn):
        raise TypeError(f"measure_time needs a callable, got {type(fn).__name__}")
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if inner_loops is not None and inner_loops < 1:
        raise ValueError(f"inner_loops must be >= 1 or None, got {inner_loops}")
    if max_time is not None and max_time <= 0:
        raise ValueError(f"max_time must be positive or None, got {max_time}")

    if round_repeat < 1:
        raise ValueError(f"round_repeat must be >= 1, got {round_repeat}")
    repeat, warmup, min_time, max_time = round_share(repeat, warmup, min_time, max_time, min_share=round_repeat)
    last_warmup_ns = 0
    for _ in range(warmup):
        last_warmup_ns = _run_batch(fn, 1, setup)
    if warmup:
        pass_turn()  # interleaved: both sides warm up, then their samples follow each other directly
    if inner_loops is not None:
        loops = inner_loops
    elif warmup and last_warmup_ns * _NS >= sample_target:
        loops = 1  # one call already lasts long enough: no need to spend calls on calibration
    else:
        loops = calibrate_loops(fn, setup=setup, sample_target=sample_target)
    samples: list[float] = []
    cpu_samples: list[float] = []
    min_ns = min_time / _NS
    max_ns = None if max_time is None else max_time / _NS
    begin = time.perf_counter_ns()
    waited_ns = 0  # turns the other side's process held (interleaved rounds): not this side's sampling
    while True:
        cpu_start = time.process_time_ns()
        elapsed = _run_batch(fn, loops, setup)
        cpu_samples.append((time.process_time_ns() - cpu_start) * _NS / loops)
        samples.append(elapsed * _NS / loops)
        waited_ns += round(pass_turn() / _NS)  # interleaved rounds: the other side's sample comes next
        if len(samples) < repeat:
            continue
        spent = time.perf_counter_ns() - begin - waited_ns
        if spent >= min_ns or (max_ns is not None and spent >= max_ns):
            break
    return Timing(samples, loops=loops, warmup=warmup, cpu_samples=cpu_samples)


def time_once(fn: Callable[[], Any]) -> float:
    """Seconds taken by a single call of `fn` (no warm-up, no loops): for work that can run only once."""
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) * _NS


class Stopwatch:
    """Times a region of code; reusable, each `with` block adds one sample.

        sw = Stopwatch()
        for chunk in chunks:
            with sw:
                engine.process(chunk)
        sw.samples        # seconds per block
        sw.timing()       # Timing of those samples
    """

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._start: int | None = None

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = time.perf_counter_ns()
        if self._start is None:
            raise RuntimeError("Stopwatch exited without being entered")
        self.samples.append((end - self._start) * _NS)
        self._start = None

    @property
    def elapsed(self) -> float:
        """Seconds of the last completed block (0.0 before any)."""
        return self.samples[-1] if self.samples else 0.0

    @property
    def total(self) -> float:
        """Seconds of all completed blocks together."""
        return math.fsum(self.samples)

    def timing(self) -> Timing:
        if not self.samples:
            raise ValueError("Stopwatch has no samples yet: time at least one block first")
        return Timing.from_samples(self.samples)


def throughput(units_per_call: float, timing: Timing | Sequence[float]) -> tuple[float, list[float]]:
    """Work units per wall second (samples, frames, tracks...): the median and one per timing sample."""
    if not units_per_call > 0:
        raise ValueError(f"units per call must be positive, got {units_per_call!r}")
    samples = timing.samples if isinstance(timing, Timing) else [float(s) for s in timing]
    if not samples:
        raise ValueError("a rate needs at least one timing sample")
    if any(s <= 0 for s in samples):
        raise ValueError(f"timing samples must be positive seconds, got {min(samples)!r}")
    per_sample = [units_per_call / s for s in samples]
    return describe(per_sample).median, per_sample


def rtf(audio_seconds: float, timing: Timing | Sequence[float]) -> tuple[float, list[float]]:
    """Real-time factor (audio seconds processed per wall second): the median and one per sample."""
    return throughput(audio_seconds, timing)


__all__ = ["DEFAULT_SAMPLE_TARGET", "MIN_STABLE_SAMPLES", "Stopwatch", "Timing", "calibrate_loops",
           "measure_time", "rtf", "throughput", "time_once"]
