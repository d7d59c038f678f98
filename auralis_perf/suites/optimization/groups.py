"""Optimization category (OPT-01..OPT-20): four groups of five checks, on any engine through its protocol.

Every speedup is measured side by side with its plain form (alternating rounds) and reported with the
largest difference of the two outputs; a fast path that changes the audio beyond tolerance fails however
fast it is, and one that the engine's own pipeline never calls is reported as such. Parallel figures are
judged against the cores present. The scenarios live in one module per group: jit, vectorization, parallel, algorithm.
"""
from __future__ import annotations

from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import run_checks
from auralis_perf.suites.common.kernels import prepare
from auralis_perf.suites.optimization import algorithm as opt_algorithm
from auralis_perf.suites.optimization import jit as opt_numba
from auralis_perf.suites.optimization import parallel as opt_parallel
from auralis_perf.suites.optimization import vectorization as opt_vectorization

CATEGORY = "optimization"


@group("Numba", category=CATEGORY, ids=["OPT-01", "OPT-02", "OPT-03", "OPT-04", "OPT-05"])
def numba_group(ctx: SuiteContext) -> list[CheckResult]:
    prepare(ctx)  # evidence of use first: nothing may call a fast path before it
    return opt_numba.measure(ctx)


@group("Vectorization", category=CATEGORY, ids=["OPT-06", "OPT-07", "OPT-08", "OPT-09", "OPT-10"])
def vectorization(ctx: SuiteContext) -> list[CheckResult]:
    prepare(ctx)  # evidence of use first: nothing may call a fast path before it
    return run_checks(ctx, opt_vectorization.CHECKS)


@group("Parallel", category=CATEGORY, ids=["OPT-11", "OPT-12", "OPT-13", "OPT-14", "OPT-15"])
def parallel(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, opt_parallel.CHECKS)


@group("Algorithm", category=CATEGORY, ids=["OPT-16", "OPT-17", "OPT-18", "OPT-19", "OPT-20"])
def algorithm(ctx: SuiteContext) -> list[CheckResult]:
    prepare(ctx)  # evidence of use first: nothing may call a fast path before it
    return run_checks(ctx, opt_algorithm.CHECKS)
