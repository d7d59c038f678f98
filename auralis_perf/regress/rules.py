"""Which comparison rule a check's figure gets, decided from its `kind`, `unit` and samples.

- "exact": counts (statements, hits, stale reads, mismatches, ...) and figures a suite marks
  deterministic (`kind` "count" or "exact"): any change is a change.
- "instructions": instruction counts (`kind` "instructions", see `counts`): deterministic to well under 1 %,
  so no noise model: a change beyond INSTRUCTIONS_FLOOR is regressed or improved, anything less unchanged.
- "memory": memory figures in a memory unit (B/KB/MB/GB, also per track, per chunk, ...): a change must
  exceed the check's `memory_tolerance_mb`.
- "samples": everything measured repeatedly (timings and what is derived from them): a change beyond
  the check's `floor` AND a one-sided Mann-Whitney U test on the raw samples with p < alpha.
- "single": a figure with no samples: within the floor it is unchanged; beyond it nothing can be said
  with confidence (inconclusive).

Samples contract: `samples` are draws of the check's figure, pointing the same way as `value` (a constant
unit factor, e.g. seconds for a value in ms, does not matter). Exceptions: `kind == "time"` means the
samples are durations (lower is better whatever the value's direction, e.g. an RTF with its run times as
samples); `details["samples_direction"]` ("lower"/"higher") says it explicitly; a figure that is the
spread of its samples (`details["value_from_samples"] == CV_PERCENT`, RT-05: the CV of RT-02's run times)
is tested on each sample's distance from their median, relative to it (`spread_draws`): the run times
themselves say how fast, not how steady (a 10 % slower engine with the same spread read RT-05 "regressed"
at p 2e-5 when its run times were tested).
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from auralis_perf.measure.rounds import CV_PERCENT

EXACT_KINDS = frozenset({"count", "exact"})
INSTRUCTION_KINDS = frozenset({"instructions"})
#: Smallest relative change of an instruction count that is a change (repeat counts agree within 0.01 %).
INSTRUCTIONS_FLOOR = 0.01
MEMORY_KINDS = frozenset({"rss", "uss", "peak_rss", "traced", "swap", "memory"})
#: Units whose figures are counts of events, compared exactly.
COUNT_UNITS = frozenset({"statements", "queries", "hits", "misses", "stale reads", "wrong evictions", "full scans",
                         "leaked connections", "mismatches", "simd extensions", "count", "errors"})
#: Memory units and their size in MB (MiB); "MB/track" and the like take the leading unit.
_MEMORY_UNIT = re.compile(r"^\s*(bytes|byte|B|KB|KiB|kB|MB|MiB|GB|GiB)\b")
_MB_PER = {"bytes": 1 / 2**20, "byte": 1 / 2**20, "B": 1 / 2**20, "KB": 1 / 1024, "KiB": 1 / 1024, "kB": 1 / 1024,
           "MB": 1.0, "MiB": 1.0, "GB": 1024.0, "GiB": 1024.0}
#: Units of durations (normalised across machines by multiplying with the machines' speed ratio).
TIME_UNITS = frozenset({"s", "ms", "us", "µs", "ns", "seconds", "s/call", "ms/call"})
#: Units and kinds of rates (work per time; normalised by dividing).
RATE_UNITS = frozenset({"msamples/s", "samples/s", "jobs/s", "ops/s", "tracks/s", "queries/s", "mb/s", "gb/s"})
RATE_KINDS = frozenset({"rtf", "rate", "throughput"})


def memory_unit_to_mb(unit: str | None) -> float | None:
    """How many MB one unit of a memory figure is (KB/track -> 1/1024), or None when it is not memory."""
    match = _MEMORY_UNIT.match(unit or "")
    return _MB_PER[match.group(1)] if match else None


def rule_for(record: dict[str, Any]) -> str:
    """"exact", "instructions", "memory", "samples" or "single" for a record (see the module's docstring)."""
    kind = (record.get("kind") or "").lower()
    unit = (record.get("unit") or "").strip()
    if kind in INSTRUCTION_KINDS:
        return "instructions"
    if kind in EXACT_KINDS or unit.lower() in COUNT_UNITS:
        return "exact"
    if memory_unit_to_mb(unit) is not None or (kind in MEMORY_KINDS and not unit):
        return "memory"  # a memory kind in another unit (peak as a multiple of the input) is not in MB
    if record.get("samples"):
        return "samples"
    return "single"


def samples_direction(record: dict[str, Any], value_direction: str) -> str:
    """Which way is better for the raw samples: "lower" or "higher" (see the samples contract)."""
    explicit = (record.get("details") or {}).get("samples_direction")
    if explicit in ("lower", "higher"):
        return explicit
    if (record.get("kind") or "").lower() == "time":
        return "lower"
    return value_direction


def value_scaling(record: dict[str, Any], value_direction: str) -> int:
    """How a check's value follows machine speed: +1 grows with durations, -1 shrinks with them, 0 neither.

    Durations (a time unit) scale with the machine; rates (`kind` rtf/rate/throughput or a unit per second)
    scale inversely. Anything else is left alone, including figures computed from timings in another unit
    (a coefficient of variation in %, a speedup): whether they follow machine speed cannot be told.
    """
    kind = (record.get("kind") or "").lower()
    unit = (record.get("unit") or "").strip().lower()
    if kind in RATE_KINDS or unit in RATE_UNITS:
        return -1
    if unit in TIME_UNITS and kind in ("", "time"):
        return 1
    return 0


def samples_scaling(record: dict[str, Any], value_direction: str) -> int:
    """As `value_scaling`, for the raw samples: durations when `kind == "time"` and the value is scaled."""
    scaling = value_scaling(record, value_direction)
    if scaling and (record.get("kind") or "").lower() == "time":
        return 1
    return scaling


def is_spread_figure(record: dict[str, Any]) -> bool:
    """True for a figure computed as the spread (coefficient of variation) of its own samples."""
    return (record.get("details") or {}).get("value_from_samples") == CV_PERCENT


def spread_draws(samples: np.ndarray) -> np.ndarray:
    """Each sample's distance from the samples' median in % of it: lower is steadier (a rank test on these
    compares spreads, as the Brown-Forsythe test does with its distances from the median)."""
    if samples.size == 0:
        return samples
    median = float(np.median(samples))
    return np.abs(samples / median - 1.0) * 100.0 if median else np.full(samples.shape, np.inf)
