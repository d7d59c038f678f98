"""The engine's fast/plain kernel pairs, compared once per run and shared by the checks that read them.

Several checks look at the same pair (OPT-02 and OPT-09 both need the envelope's speedup); measuring it
once keeps the run short and makes the checks agree with each other.
"""
from __future__ import annotations

from typing import Any

from auralis_perf.engines import Capability, KernelPair, NotSupported
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.compare import PathComparison, compare_kernel_pair
from auralis_perf.suites.common.evidence import pipeline_evidence

SAMPLE_RATE = 44100


def kernel_pair(ctx: SuiteContext, name: str) -> KernelPair:
    """The engine's kernel pair `name`; NotSupported (a `skip`) naming the pairs it has and, when the engine
    says (`Engine.absent`), why this one is missing."""
    ctx.engine.require(Capability.KERNELS)
    pairs = ctx.engine.kernels()
    if name not in pairs:
        raise NotSupported.because(f"engine {ctx.engine.name!r} offers no {name!r} kernel pair "
                                   f"(it has: {', '.join(sorted(pairs)) or 'none'})", ctx.engine.absent.get(name))
    return pairs[name]


def compared(ctx: SuiteContext, name: str, n_frames: int, rounds: int) -> PathComparison:
    """A kernel pair compared side by side at one size, measured once per run and shared by the checks."""
    memo: dict[tuple[str, int], PathComparison] = ctx.shared.setdefault("memopt_pairs", {})
    if (name, n_frames) not in memo:
        prepare(ctx)  # the evidence of use must be read before the measurement calls the fast path
        memo[(name, n_frames)] = compare_kernel_pair(kernel_pair(ctx, name), n_frames, SAMPLE_RATE,
                                                     rounds=rounds)
    return memo[(name, n_frames)]


def prepare(ctx: SuiteContext) -> None:
    """Read every pair's evidence of use around one pipeline run, before any check calls a fast path."""
    if ctx.engine.has(Capability.KERNELS):
        try:
            pipeline_evidence(ctx)
        except Exception:  # noqa: BLE001 - each check asks again and reports the error as its own
            pass


def kernel_use(ctx: SuiteContext, name: str) -> dict[str, Any]:
    """Whether the engine's pipeline runs the kernel's fast path (see `_evidence`), read once per run."""
    kernel_pair(ctx, name)  # NotSupported when the engine has no such pair
    return pipeline_evidence(ctx)[name]
