"""Measurement core: timing, memory, the machine description and the control workload.

Every figure says what it is: timings are seconds per call with raw samples kept (`Timing`); memory
figures carry a kind ("rss", "uss", "peak_rss", "traced", "swap"); `describe_machine()` goes into every
run's metadata and its `fingerprint` keys the history store.
"""
from auralis_perf.measure.control import CONTROL_VERSION, run_control_workload
from auralis_perf.measure.isolated import IsolatedRun, SubprocessFailed, run_in_subprocess, run_isolated
from auralis_perf.measure.machine import describe_machine, fingerprint, package_versions
from auralis_perf.measure.memory import KINDS as MEMORY_KINDS
from auralis_perf.measure.memory import (
                     MemoryFigure,
                     PeakMemory,
                     SlopeFit,
                     TracedMemory,
                     collect_garbage,
                     current,
                     is_leak,
                     leak_slope,
                     peak_rss_during,
                     process_swap_mb,
                     rss_mb,
                     swap_activity_during,
                     system_swap_counters,
                     traced_allocations,
                     uss_mb,
)
from auralis_perf.measure.stats import MIN_STABLE_SAMPLES, UNSTABLE_CV, SampleStats, describe, stability_warnings
from auralis_perf.measure.timing import Stopwatch, Timing, calibrate_loops, measure_time, rtf, throughput, time_once

__all__ = [
    "CONTROL_VERSION", "IsolatedRun", "MEMORY_KINDS", "MIN_STABLE_SAMPLES", "MemoryFigure", "PeakMemory",
    "SampleStats", "SlopeFit", "Stopwatch", "SubprocessFailed", "Timing", "TracedMemory", "UNSTABLE_CV",
    "calibrate_loops", "collect_garbage", "current", "describe", "describe_machine", "fingerprint", "is_leak",
    "leak_slope", "measure_time", "package_versions", "peak_rss_during", "process_swap_mb", "rss_mb", "rtf", "run_control_workload",
    "run_in_subprocess", "run_isolated", "stability_warnings", "swap_activity_during", "system_swap_counters",
    "throughput", "time_once", "traced_allocations", "uss_mb",
]
