"""The fast/plain pairs the optimisation checks compare (`ReferenceEngine.kernels()`).

Each pair's `evidence()` shows that the fast form is what `master` really runs: the number of calls of
each stage implementation made by the engine's own chain (`chain.KERNEL_CALLS`) and the signatures
Numba has compiled for the kernel.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from auralis_perf.engines.base import KernelPair
from auralis_perf.engines.reference import kernels as k
from auralis_perf.engines.reference.analysis import (
    SPECTRUM_CALLS,
    spectrum_batched,
    spectrum_frame_by_frame,
    spectrum_parallel,
)
from auralis_perf.engines.reference.chain import KERNEL_CALLS, kernel_set, slow_kernels
from auralis_perf.engines.reference.filters import design_eq, pad_sections
from auralis_perf.engines.reference.jit import NUMBA_AVAILABLE, signatures
from auralis_perf.engines.support.batch import ThreadPools
from auralis_perf.engines.support.presets import PRESETS


def _evidence(stage: str, dispatcher: Any) -> Mapping[str, Any]:
    return {
        "numba_available": NUMBA_AVAILABLE,
        "compiled_signatures": signatures(dispatcher),
        "master_calls_compiled": KERNEL_CALLS[f"{stage}/compiled"],
        "master_calls_plain": KERNEL_CALLS[f"{stage}/plain"],
        "slow_kernel_switch": sorted(f"{name}:{factor}" for name, factor in slow_kernels().items()),
    }


def _detector(audio: np.ndarray) -> np.ndarray:
    """The compressor's input: per-frame stereo peak of the given audio, float64."""
    return np.abs(audio).max(axis=1)


def _envelope_pair() -> KernelPair:
    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float, float]:
        comp = PRESETS["default"].compressor
        attack = float(np.exp(-1.0 / (comp.attack_ms * 1e-3 * sample_rate)))
        release = float(np.exp(-1.0 / (comp.release_ms * 1e-3 * sample_rate)))
        return _detector(audio), attack, release

    # Each side writes into an output buffer of its own, kept between calls as the chain keeps its
    # buffers: a fresh 3.5 MB array per call costs page faults (~2.7 ns a sample here, as long as the
    # compiled loop itself), which would be timed as if it were the follower.
    outputs: dict[str, np.ndarray] = {}

    def run(side: str, kernel: Any, data: tuple[np.ndarray, float, float], repeats: int = 1) -> np.ndarray:
        level, attack, release = data
        out = outputs.get(side)
        if out is None or out.shape != level.shape:
            out = outputs[side] = np.empty_like(level)
        for _ in range(repeats):
            kernel(level, out, attack, release, np.zeros(1))
        return out

    fast_kernel = k.FAST_ENVELOPE or k.envelope_follower
    return KernelPair(
        name="envelope",
        description="attack/release envelope follower: Numba-compiled vs the same source interpreted",
        fast=lambda data: run("fast", fast_kernel, data, slow_kernels().get("envelope", 1)),
        plain=lambda data: run("plain", k.envelope_follower, data),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: _evidence("envelope", k.FAST_ENVELOPE),
        info={"compiled": k.FAST_ENVELOPE is not None, "plain": "pure-Python loop"},
    )


def _eq_pair() -> KernelPair:
    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        sos = pad_sections(design_eq(PRESETS["default"].bands, sample_rate))
        return audio, sos

    def run(kernel: Any, data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        audio, sos = data
        out = np.empty(audio.shape)
        kernel(audio, out, sos, np.zeros((sos.shape[0], 2, audio.shape[1])), np.empty(audio.shape[0]))
        return out

    def realisations() -> dict[str, Any]:
        from scipy import signal

        def direct_form(data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            audio, sos = data
            b, a = signal.sos2tf(sos)
            return signal.lfilter(b, a, audio, axis=0)

        def fft_convolution(data: tuple[np.ndarray, np.ndarray], ir_seconds: float = 1.0) -> np.ndarray:
            audio, sos = data
            impulse = np.zeros(int(ir_seconds * 44100))
            impulse[0] = 1.0
            response = signal.sosfilt(sos, impulse)
            return signal.oaconvolve(audio, response[:, np.newaxis], axes=0)[:audio.shape[0]]

        return {
            "sos_compiled_stereo_in_threes": lambda data: run(k.FAST_SOS_CASCADE_STEREO or k.sos_cascade_stereo,
                                                              data),
            "sos_compiled_cascade": lambda data: run(k.FAST_SOS_CASCADE or k.sos_cascade, data),
            "sos_scipy_sosfilt": lambda data: signal.sosfilt(data[1], data[0], axis=0),
            "sos_band_by_band": lambda data: run(k.eq_band_by_band, data),
            "direct_form_lfilter": direct_form,
            "fft_convolution_truncated_ir": fft_convolution,
        }

    return KernelPair(
        name="eq",
        description="11-section EQ: every section in one compiled pass vs one sosfilt call per band",
        fast=lambda data: run(k.FAST_SOS_CASCADE_STEREO if data[0].shape[1] == 2 else k.FAST_SOS_CASCADE, data)
        if NUMBA_AVAILABLE else run(k.eq_band_by_band, data),
        plain=lambda data: run(k.eq_band_by_band, data),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: _evidence("eq", k.FAST_SOS_CASCADE_STEREO),
        info={"sections": len(PRESETS["default"].bands), "realisations": realisations()},
    )


def _spectrum_pairs(pools: ThreadPools) -> dict[str, KernelPair]:
    def make_input(audio: np.ndarray, sample_rate: int) -> np.ndarray:
        return audio

    workers = max(1, min(4, os.cpu_count() or 1))
    batched = KernelPair(
        name="spectrum_batched",
        description="STFT magnitude: frames windowed and transformed in batches (one FFT call per batch, "
                    "compiled window and magnitude passes) vs one FFT call per frame",
        fast=lambda audio: spectrum_batched(audio),
        plain=lambda audio: spectrum_frame_by_frame(audio),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: {"analyze_spectrum_calls": dict(SPECTRUM_CALLS), "analyze_default": "batched"},
        info={"n_fft": 2048, "hop": 512},
    )
    parallel = KernelPair(
        name="spectrum_parallel",
        description=f"STFT magnitude: chunks across {workers} threads vs one thread",
        fast=lambda audio: spectrum_parallel(audio, workers=workers, pools=pools),
        plain=lambda audio: spectrum_batched(audio),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: {"analyze_spectrum_calls": dict(SPECTRUM_CALLS),
                          "analyze_parallel_option": "analyze(audio, sr, 'spectrum', parallel=True, workers=n)"},
        # kept_workers: the threads are the engine's, started once (the instruction figures gate the fast side)
        info={"workers": workers, "kept_workers": True, "n_fft": 2048, "hop": 512},
    )
    return {"spectrum_batched": batched, "spectrum_parallel": parallel}


def _chain_pair(engine: Any) -> KernelPair:
    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
        return audio, sample_rate

    return KernelPair(
        name="chain",
        description="whole mastering chain: compiled kernels vs every plain fallback",
        fast=lambda data: engine.master(data[0], data[1], optimized=True),
        plain=lambda data: engine.master(data[0], data[1], optimized=False),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: {stage: _evidence(stage, None)["master_calls_compiled"]
                          for stage in ("eq", "envelope", "limiter")} | {"numba_available": NUMBA_AVAILABLE},
        info={"fast": kernel_set(True).name, "plain": kernel_set(False).name},
    )


def kernel_pairs(engine: Any) -> dict[str, KernelPair]:
    pairs = {"envelope": _envelope_pair(), "eq": _eq_pair()}
    pairs.update(_spectrum_pairs(engine.thread_pools))
    pairs["chain"] = _chain_pair(engine)
    return pairs

