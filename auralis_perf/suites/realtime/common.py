"""Shared by the real-time checks: sizes per profile, unit helpers, work shared between checks."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import psutil

from auralis_perf.measure.stats import quantile
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import scaled

#: Sizes per profile. The catalogue's sizes are the `full` column; tests shrink the `smoke` column.
SIZES: dict[str, dict[str, Any]] = {
    # RT-01..03: seconds of audio mastered whole (the catalogue's: 10, 60, 600)
    "rtf_seconds": {"smoke": (10.0, 20.0, 30.0), "standard": (10.0, 60.0, 120.0), "full": (10.0, 60.0, 600.0)},
    "rtf_runs": {"smoke": 5, "standard": 7, "full": 10},
    # ... and at least this many seconds of timed calls per clip (RT-01, RT-02, RT-03): the 10 s clip gets
    # more runs (in --against rounds, each round's share: at standard, 3 calls, as its single ~85 ms calls
    # were the noisiest paired figure). The longer clips keep their runs: RT-05 is the CV of RT-02's runs, and
    # a longer window of them catches more of a shared machine's bursts. Smoke, a quick look, keeps its 5.
    "rtf_min_seconds": {"smoke": (0.0, 0.0, 0.0), "standard": (3.0, 0.0, 0.0), "full": (6.0, 0.0, 0.0)},
    # ... and in each --against round at least this many calls per clip: the round's figure is their median,
    # which one call slowed by a burst cannot set (measured, one call per round: a 5 % slower RT-02 read
    # p 0.039 with two bursts of +13 and +21 % among 12 rounds)
    "rtf_round_runs": {"smoke": 1, "standard": 3, "full": 3},
    # RT-06/RT-07/RT-14: length of the streamed file (at `full`, 232.7 s: the length of a typical album track)
    "stream_seconds": {"smoke": 10.0, "standard": 60.0, "full": 240.0},
    "latency_repeats": {"smoke": 5, "standard": 9, "full": 15},
    # RT-08/RT-09: one real-time-paced playback session of this length, with this many preset switches
    "playback_seconds": {"smoke": 2.0, "standard": 4.0, "full": 10.0},
    "preset_switches": {"smoke": 5, "standard": 8, "full": 20},
    # RT-10: the file played (its length barely matters: only the start is timed)
    "start_seconds": {"smoke": 5.0, "standard": 10.0, "full": 30.0},
    # RT-11: 5 tracks of this length, this many interleaved rounds
    "concurrent_seconds": {"smoke": 3.0, "standard": 5.0, "full": 60.0},
    "concurrent_rounds": {"smoke": 5, "standard": 5, "full": 7},
    # RT-12 / RT-15: a batch of (tracks, seconds each)
    "batch": {"smoke": (4, 3.0), "standard": (8, 8.0), "full": (100, 30.0)},
    "batch_repeats": {"smoke": 5, "standard": 5, "full": 5},
    "memory_repeats": {"smoke": 3, "standard": 3, "full": 5},
    # RT-13: clips of this length through the job queue, per round
    "queue_jobs": {"smoke": 20, "standard": 60, "full": 200},
    "queue_clip_seconds": {"smoke": 0.5, "standard": 1.0, "full": 1.0},
    "queue_rounds": {"smoke": 5, "standard": 5, "full": 7},
    # RT-14: wall seconds of ONE continuous stream (the catalogue says only "long"; `full` runs 5 minutes)
    "sustained_wall_seconds": {"smoke": 3.0, "standard": 20.0, "full": 300.0},
    # RT-16/RT-17: input length of the kernel pairs (seconds of audio)
    "envelope_seconds": {"smoke": 1.0, "standard": 3.0, "full": 10.0},
    "eq_seconds": {"smoke": 2.0, "standard": 10.0, "full": 60.0},
    # RT-18: must stay above 60 s (the check's definition)
    "spectrum_seconds": {"smoke": 61.0, "standard": 61.0, "full": 600.0},
    # RT-19/RT-20: the whole chain, optimized against every fallback
    "chain_seconds": {"smoke": 0.5, "standard": 2.0, "full": 30.0},
    "pair_rounds": {"smoke": 5, "standard": 5, "full": 9},
}
#: Seed sizes a profile may scale down (reported in details["scaled"]).
SEED_SIZES = {"rtf_seconds": (10.0, 60.0, 600.0), "stream_seconds": 240.0, "sustained_wall_seconds": 300.0}
CONCURRENT_TRACKS = 5
#: RT-20: the fallback chain must equal the compiled one within this (also the catalogue's bound).
FALLBACK_TOLERANCE = 1e-4
MB = 1024 * 1024


def size(ctx: SuiteContext, key: str) -> Any:
    """This profile's entry of SIZES[key]."""
    return ctx.sizes(SIZES[key])


def seed_scaled(ctx: SuiteContext, key: str, what: str) -> dict[str, str]:
    used, seed = size(ctx, key), SEED_SIZES[key]
    return scaled(ctx.profile, what, seed, used)


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000.0 for s in seconds]


def percentile(values: Sequence[float], q: float) -> float:
    return quantile(sorted(values), q)


def channels(audio: np.ndarray) -> int:
    return 1 if audio.ndim == 1 else audio.shape[1]


def shared_once(ctx: SuiteContext, key: str, compute: Callable[[SuiteContext], Any]) -> Any:
    """Compute once per run and share between checks (a failure is re-raised for each of them)."""
    store = ctx.shared.setdefault("realtime", {})
    if key not in store:
        try:
            store[key] = ("ok", compute(ctx))
        except Exception as exc:  # noqa: BLE001 - re-raised for every check that needs it
            store[key] = ("error", exc)
    status, value = store[key]
    if status == "error":
        raise value
    return value


def cores() -> int:
    return psutil.cpu_count(logical=True) or 1
