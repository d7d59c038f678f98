"""Auralis's own fast/plain pairs, called through its public classes and functions.

- `envelope`: `VectorizedEnvelopeFollower.process_buffer` (Numba) vs `.process_buffer_vectorized`, which
  despite its name is a Python loop;
- `eq`: `VectorizedEQProcessor().apply_eq_gains_vectorized` vs `filters.apply_eq_gains` (same
  signature; both EQ one FFT frame per call, so the signal is fed as consecutive `fft_size`-frame chunks);
- `spectrum_parallel`: `ParallelSpectrumAnalyzer.analyze_file` vs `SpectrumAnalyzer.analyze_file`
  (the averaged band spectrum they return, on mono input, which both analyse the same way).

Evidence of use comes from tracing one `master()` call (`sys.setprofile`, no Auralis internals): which
of these functions Auralis's own mastering pipeline calls, and how often.
"""
from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.api import AuralisAPI
from auralis_perf.engines.base import KernelPair

#: The envelope follower's time constants (the reference's default compressor, for comparability).
ATTACK_MS, RELEASE_MS = 20.0, 150.0
EQ_FFT_SIZE = 4096
#: Seconds of audio mastered in the traced call that gives the evidence.
TRACE_SECONDS = 1.0


def trace_signal(seconds: float, sample_rate: int) -> np.ndarray:
    """What the traced call masters: a fixed stereo chord with a beat and a little noise, float32.

    Only which functions `master()` enters matters here, not the figures, so the adapter makes its own
    input instead of depending on the harness's signal generator (engines never import the harness).
    """
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    chord = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((110.0, 220.0, 277.2, 329.6, 440.0)))
    beat = 0.6 + 0.4 * (np.sin(2 * np.pi * 2.0 * t) > 0)
    noise = np.random.default_rng(0).standard_normal((t.size, 2)) * 0.02
    audio = 0.25 * (chord * beat)[:, np.newaxis] + noise
    return audio.astype(np.float32)


def _code(function: Any) -> Any:
    return getattr(function, "__code__", None)


def traced_calls(run: Callable[[], Any], functions: Mapping[str, Any]) -> dict[str, int]:
    """How many times each of `functions` (name -> function) was entered while `run()` ran, in any thread."""
    codes = {_code(f): name for name, f in functions.items() if _code(f) is not None}
    counts: Counter[str] = Counter({name: 0 for name in functions})

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            name = codes.get(frame.f_code)
            if name is not None:
                counts[name] += 1

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)  # type: ignore[arg-type]
    return dict(counts)


class MasterTrace:
    """One traced `master()` call, made when evidence is first asked for and kept for the engine's life.

    An ordinary `master` call goes first, so compilation happens outside the trace and a cold first call
    is timed as such; the traced call (`traced_master`, slowed by the profiler) is kept out of the timings.
    """

    def __init__(self, master: Callable[[np.ndarray, int], Any], traced_master: Callable[[np.ndarray, int], Any],
                 functions: Mapping[str, Any]) -> None:
        self._master = master
        self._traced_master = traced_master
        self._functions = dict(functions)
        self._counts: dict[str, int] | None = None
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        with self._lock:
            if self._counts is None:
                audio = trace_signal(TRACE_SECONDS, 44100)
                self._master(audio, 44100)
                self._counts = traced_calls(lambda: self._traced_master(audio, 44100), self._functions)
            return self._counts

    def evidence(self, fast: str, plain: str) -> dict[str, Any]:
        counts = self.counts()
        used = counts.get(fast, 0) > 0
        return {"used_by_master": used,
                "reason": f"one traced master() call on {TRACE_SECONDS:g} s of audio entered {fast} "
                          f"{counts.get(fast, 0)} time(s) and {plain} {counts.get(plain, 0)} time(s)",
                "traced_calls": {name: str(n) for name, n in counts.items()}}


def _envelope_pair(api: AuralisAPI, trace: MasterTrace) -> KernelPair:
    (follower,) = api.get("envelope")

    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
        return np.abs(audio).max(axis=1), sample_rate

    return KernelPair(
        name="envelope",
        description="Auralis envelope follower: process_buffer (Numba) vs process_buffer_vectorized (a Python loop)",
        fast=lambda data: follower(data[1], ATTACK_MS, RELEASE_MS).process_buffer(data[0]),
        plain=lambda data: follower(data[1], ATTACK_MS, RELEASE_MS).process_buffer_vectorized(data[0]),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: trace.evidence("envelope.process_buffer_numba", "envelope.process_buffer_vectorized"),
        info={"attack_ms": ATTACK_MS, "release_ms": RELEASE_MS, "plain": "Python loop"},
    )


def _eq_pair(api: AuralisAPI, trace: MasterTrace) -> KernelPair:
    (processor_class,) = api.get("eq_fast")
    (apply_eq_gains,) = api.get("eq_plain")
    create_critical_bands, create_frequency_mapping = api.get("eq_bands")

    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(the signal, whole FFT frames of it; the gains in dB per band; the bin-to-band map)."""
        frames = max(1, len(audio) // EQ_FFT_SIZE) * EQ_FFT_SIZE
        # Whole FFT frames: cut to them, or (under one frame) repeat the input up to one.
        audio = np.ascontiguousarray(np.resize(audio, (frames, *audio.shape[1:])))
        bands = create_critical_bands()
        band_map = create_frequency_mapping(bands, sample_rate, EQ_FFT_SIZE)
        gains = 3.0 * np.sin(np.linspace(0.0, 3.0 * np.pi, len(bands)))  # a curve of cuts and boosts, dB
        return audio, gains, band_map

    processor = processor_class()

    def run(apply: Callable[..., np.ndarray], data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        audio, gains, band_map = data
        return np.concatenate([apply(audio[i:i + EQ_FFT_SIZE], gains, band_map, EQ_FFT_SIZE)
                               for i in range(0, audio.shape[0], EQ_FFT_SIZE)])

    return KernelPair(
        name="eq",
        description="Auralis critical-band EQ: VectorizedEQProcessor.apply_eq_gains_vectorized vs "
                    "filters.apply_eq_gains, one 4096-frame FFT frame per call",
        fast=lambda data: run(processor.apply_eq_gains_vectorized, data),
        plain=lambda data: run(apply_eq_gains, data),
        make_input=make_input,
        tolerance=1e-9,
        evidence=lambda: trace.evidence("eq.apply_eq_gains_vectorized", "eq.apply_eq_gains"),
        info={"fft_size": EQ_FFT_SIZE},
    )


def _spectrum_pair(api: AuralisAPI, trace: MasterTrace) -> KernelPair:
    parallel_class, parallel_settings = api.get("spectrum_parallel")
    plain_class, plain_settings = api.get("spectrum_plain")
    # Auralis's default is 8 workers; more threads than cores only measures contention.
    workers = max(1, min(8, os.cpu_count() or 1))

    def make_input(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
        return audio.mean(axis=1), sample_rate

    def spectrum(result: Mapping[str, Any]) -> np.ndarray:
        return np.asarray(result["spectrum"], dtype=np.float64)

    return KernelPair(
        name="spectrum_parallel",
        description=f"Auralis spectrum of a whole file: ParallelSpectrumAnalyzer ({workers} workers) vs "
                    "SpectrumAnalyzer (frame by frame)",
        fast=lambda data: spectrum(parallel_class(parallel_settings(max_workers=workers, sample_rate=data[1]))
                                   .analyze_file(data[0], data[1])),
        plain=lambda data: spectrum(plain_class(plain_settings(sample_rate=data[1])).analyze_file(data[0], data[1])),
        make_input=make_input,
        tolerance=1e-6,
        evidence=lambda: trace.evidence("spectrum.parallel_analyze_file", "spectrum.analyze_file"),
        info={"workers": workers, "auralis_default_workers": 8, "input": "mono (channel mean)"},
    )


def traced_functions(api: AuralisAPI) -> dict[str, Any]:
    """The functions whose calls inside master() are counted, by the names the evidence uses."""
    functions: dict[str, Any] = {}
    if api.has("envelope"):
        (follower,) = api.get("envelope")
        for method in ("process_buffer_numba", "process_buffer_vectorized"):
            if hasattr(follower, method):
                functions[f"envelope.{method}"] = getattr(follower, method)
    if api.has("eq_fast"):
        functions["eq.apply_eq_gains_vectorized"] = getattr(api.get("eq_fast")[0], "apply_eq_gains_vectorized", None)
    if api.has("eq_plain"):
        functions["eq.apply_eq_gains"] = api.get("eq_plain")[0]
    if api.has("spectrum_parallel"):
        functions["spectrum.parallel_analyze_file"] = getattr(api.get("spectrum_parallel")[0], "analyze_file", None)
    if api.has("spectrum_plain"):
        functions["spectrum.analyze_file"] = getattr(api.get("spectrum_plain")[0], "analyze_file", None)
    return {name: f for name, f in functions.items() if f is not None}


def kernel_pairs(api: AuralisAPI, trace: MasterTrace) -> dict[str, KernelPair]:
    """Every pair whose parts this Auralis has."""
    pairs: dict[str, KernelPair] = {}
    if api.has("envelope"):
        pairs["envelope"] = _envelope_pair(api, trace)
    if api.has("eq_fast", "eq_plain", "eq_bands"):
        pairs["eq"] = _eq_pair(api, trace)
    if api.has("spectrum_parallel", "spectrum_plain"):
        pairs["spectrum_parallel"] = _spectrum_pair(api, trace)
    return pairs


def missing_pairs(api: AuralisAPI) -> dict[str, str]:
    """Pairs this Auralis cannot offer, with the reason."""
    needs = {"envelope": ("envelope",), "eq": ("eq_fast", "eq_plain", "eq_bands"),
             "spectrum_parallel": ("spectrum_parallel", "spectrum_plain")}
    return {name: api.why_missing(*parts) for name, parts in needs.items() if not api.has(*parts)}
