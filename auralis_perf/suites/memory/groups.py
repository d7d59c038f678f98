"""Memory category (MEM-01..MEM-20): four groups of five checks, on any engine through its protocol.

Every figure says its kind in `CheckResult.kind`: "rss" (resident now), "uss" (unique to the process),
"peak_rss" (high-water mark over a call), "traced" (Python allocations, tracemalloc), "swap", or "ratio"
for proportions. The scenarios live in one module per group: baseline, leaks, peak, efficiency.
"""
from __future__ import annotations

from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import frozen_heap, run_checks
from auralis_perf.suites.memory import baseline as memory_baseline
from auralis_perf.suites.memory import efficiency as memory_efficiency
from auralis_perf.suites.memory import leaks as memory_leaks
from auralis_perf.suites.memory import peak as memory_peak

CATEGORY = "memory"


@group("Baseline", category=CATEGORY, ids=["MEM-01", "MEM-02", "MEM-03", "MEM-04", "MEM-05"])
def baseline(ctx: SuiteContext) -> list[CheckResult]:
    memory_peak.note_swap_start(ctx)  # MEM-15 looks at swap over the whole category
    with frozen_heap():
        return memory_baseline.measure(ctx)


@group("Leaks", category=CATEGORY, ids=["MEM-06", "MEM-07", "MEM-08", "MEM-09", "MEM-10"])
def leaks(ctx: SuiteContext) -> list[CheckResult]:
    memory_peak.note_swap_start(ctx)
    with frozen_heap():
        return run_checks(ctx, memory_leaks.CHECKS)


@group("Peak", category=CATEGORY, ids=["MEM-11", "MEM-12", "MEM-13", "MEM-14", "MEM-15"])
def peak(ctx: SuiteContext) -> list[CheckResult]:
    memory_peak.note_swap_start(ctx)
    with frozen_heap():
        return memory_peak.measure(ctx)


@group("Efficiency", category=CATEGORY, ids=["MEM-16", "MEM-17", "MEM-18", "MEM-19", "MEM-20"])
def efficiency(ctx: SuiteContext) -> list[CheckResult]:
    memory_peak.note_swap_start(ctx)
    with frozen_heap():
        return run_checks(ctx, memory_efficiency.CHECKS)
