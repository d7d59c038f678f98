"""Doubles that break the fast/plain kernel pairs: a fast path that changes the output, a fast path that
master() never runs, an EQ realisation slower than an equally accurate one the engine also has, a
compiled kernel that every process compiles again."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from auralis_perf.engines import KernelPair
from broken_engines.base import DelegatingEngine

#: What the broken fast paths add to their output: far beyond every tolerance (1e-9 .. 1e-4).
OFFSET = 1e-3


def _shifted(fast: Callable[[Any], Any]) -> Callable[[Any], np.ndarray]:
    return lambda data: np.asarray(fast(data)) + OFFSET


class ChangedFastPaths(DelegatingEngine):
    """The compiled code computes something else than its plain fallback: every fast kernel path, and
    master() when it runs compiled (optimisations on and Numba importable), return output moved by 1e-3.
    Without Numba the engine falls back to the plain paths, so its output differs from the compiled one."""

    def __init__(self) -> None:
        super().__init__()
        try:
            import numba  # noqa: F401
            self.compiled = True
        except ImportError:
            self.compiled = False

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        out = super().master(audio, sample_rate, preset, optimized=optimized)
        return out + np.asarray(OFFSET, dtype=out.dtype) if optimized and self.compiled else out

    def kernels(self) -> Mapping[str, KernelPair]:
        return {name: dataclasses.replace(pair, fast=_shifted(pair.fast))
                for name, pair in super().kernels().items()}


class NeverUsedFastPaths(DelegatingEngine):
    """master() always runs the plain paths; the kernel pairs (and their evidence, the reference's own call
    counters) are unchanged, so the fast paths are measured but never used."""

    def master(self, audio: np.ndarray, sample_rate: int, preset: str = "default", *,
               optimized: bool = True) -> np.ndarray:
        return super().master(audio, sample_rate, preset, optimized=False)


class SlowChosenFilter(DelegatingEngine):
    """The EQ the engine uses is a compiled cascade that waits 20 ms per call; the same cascade without
    the wait is among its realisations."""

    def kernels(self) -> Mapping[str, KernelPair]:
        pairs = dict(super().kernels())
        eq = pairs["eq"]

        def chosen(data: Any) -> Any:
            time.sleep(0.02)
            return eq.fast(data)

        pairs["eq"] = dataclasses.replace(eq, fast=chosen, info={
            "realisations": {"engine's choice": chosen, "cascade without the wait": eq.fast},
            "chosen": "engine's choice"})
        return pairs


class ScalarOnlyKernels(DelegatingEngine):
    """The engine's only compiled kernel is its envelope follower, a recursive loop that no compiler can
    vectorize along time: none of its compiled code holds a packed SIMD instruction."""

    def kernels(self) -> Mapping[str, KernelPair]:
        return {"envelope": super().kernels()["envelope"]}


class UncachedJit(DelegatingEngine):
    """The envelope follower is compiled without Numba's on-disk cache, eagerly for every combination of
    float width and array layout of its input and output (16 signatures), at its first call in each
    process: every start compiles it again, for a second or more against the 0.1 s a start may spend.
    Its output is the reference's."""

    #: OPT-04 runs its fresh processes only for this double (the can-fail runs skip them otherwise)
    suite_sizes = {"auralis_perf.suites.optimization.jit": {"compile_runs": 1}}

    def __init__(self) -> None:
        super().__init__()
        self.compiled: dict[str, Any] = {}  # once per process (engine), as a module-level kernel would be

    def envelope(self) -> Any:
        if "envelope" not in self.compiled:  # no cache=True: nothing of this is kept on disk
            import numba
            from numba import types

            from auralis_perf.engines.reference.kernels import envelope_follower

            arrays = [types.Array(width, 1, layout) for width in (types.float32, types.float64) for layout in "CA"]
            signatures = [types.void(level, out, types.float64, types.float64, types.float64[::1])
                          for level in arrays for out in arrays]
            self.compiled["envelope"] = numba.njit(signatures, nogil=True)(envelope_follower)
        return self.compiled["envelope"]

    def kernels(self) -> Mapping[str, KernelPair]:
        pairs = dict(super().kernels())

        def fast(data: Any) -> np.ndarray:
            level, attack, release = data
            out = np.empty_like(level)
            self.envelope()(level, out, attack, release, np.zeros(1))
            return out

        pairs["envelope"] = dataclasses.replace(pairs["envelope"], fast=fast)
        return pairs
