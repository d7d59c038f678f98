"""Real-time processing (RT-01..RT-20): speed against the clock, latency, throughput, optimisations.

Four groups of five checks, each a scenario on the engine protocol only:

- Real-time factor (`_realtime_rtf`): `master()` on short, medium and long audio, warm, >= 5 timed runs.
- Latency (`_realtime_latency`): first chunk of a stream on a file, per-chunk times against the chunk's
  deadline, and the playback session's timeline (buffer wait, preset switch, start of playback).
- Throughput (`_realtime_throughput`): 5 tracks at once (thread and process executors, judged against the
  cores present), batch throughput, the job queue, a sustained run, peak RSS per track of a batch.
- Optimization effectiveness (`_realtime_optimizations`): each fast path against its plain form, timed
  side by side with the output difference beside the speedup and the proof that `master()` runs it, and
  the chain in a fresh process with Numba blocked.

Sizes per profile live in `SIZES` (`_realtime_common`); where a profile scales a seed size down, the
record says so in `details["scaled"]`.
"""
from __future__ import annotations

from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import run_checks
from auralis_perf.suites.realtime.common import FALLBACK_TOLERANCE, SIZES
from auralis_perf.suites.realtime.latency import (
    check_buffer_wait,
    check_chunk_times,
    check_first_chunk,
    check_playback_start,
    check_preset_switch,
)
from auralis_perf.suites.realtime.optimizations import (
    check_chain,
    check_envelope,
    check_eq,
    check_spectrum_parallel,
    check_without_numba,
    fallback_child,
    judge_evidence,
)
from auralis_perf.suites.realtime.rtf import real_time_factor_checks
from auralis_perf.suites.realtime.throughput import (
    check_batch_memory,
    check_batch_throughput,
    check_concurrent,
    check_queue_rate,
    check_sustained,
)

CATEGORY = "realtime"


@group("Real-time factor", category=CATEGORY, ids=["RT-01", "RT-02", "RT-03", "RT-04", "RT-05"])
def real_time_factor(ctx: SuiteContext) -> list[CheckResult]:
    return real_time_factor_checks(ctx)


@group("Latency", category=CATEGORY, ids=["RT-06", "RT-07", "RT-08", "RT-09", "RT-10"])
def latency(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-06", check_first_chunk), ("RT-07", check_chunk_times),
                            ("RT-08", check_buffer_wait), ("RT-09", check_preset_switch),
                            ("RT-10", check_playback_start)])


@group("Throughput", category=CATEGORY, ids=["RT-11", "RT-12", "RT-13", "RT-14", "RT-15"])
def throughput(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-11", check_concurrent), ("RT-12", check_batch_throughput),
                            ("RT-13", check_queue_rate), ("RT-14", check_sustained),
                            ("RT-15", check_batch_memory)])


@group("Optimization effectiveness", category=CATEGORY, ids=["RT-16", "RT-17", "RT-18", "RT-19", "RT-20"])
def optimization_effectiveness(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("RT-16", check_envelope), ("RT-17", check_eq), ("RT-18", check_spectrum_parallel),
                            ("RT-19", check_chain), ("RT-20", check_without_numba)])


__all__ = ["FALLBACK_TOLERANCE", "SIZES", "check_envelope", "fallback_child", "judge_evidence", "latency",
           "optimization_effectiveness", "real_time_factor", "throughput"]
