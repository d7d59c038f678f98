"""RT-16..RT-20: each optimisation against its plain form, side by side, output difference beside the
speedup, proof that `master()` runs the fast path, and the chain in a fresh process without Numba."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from auralis_perf.engines import Capability
from auralis_perf.measure import SubprocessFailed, run_isolated
from auralis_perf.results import CheckResult
from auralis_perf.signals import kernel_input
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import audio as suite_audio
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import compare_paths, max_abs_diff
from auralis_perf.suites.common.cpu import CpuMonitor, free_cores
from auralis_perf.suites.common.engine_spec import child_env, child_spec, engine_from_spec
from auralis_perf.suites.common.kernels import kernel_pair
from auralis_perf.suites.realtime.common import (
    FALLBACK_TOLERANCE,
    cores,
    size,
)


def _evidence_around_master(ctx: SuiteContext, pair: Any) -> dict[str, Any]:
    """The pair's evidence before and after one `master()` call: proof that master uses the fast path."""
    audio, sr = suite_audio.test_audio(ctx, 1.0)
    before = pair.evidence()
    ctx.engine.master(audio, sr)
    after = pair.evidence()
    return {"before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None}


def judge_evidence(name: str, before: Mapping[str, Any] | None,
                   after: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """(verdict in words, violations) from a pair's evidence taken before and after one `master()` call.

    An engine shows which path served `master()` with call counters (`master_calls_compiled`,
    `master_calls_plain`: the compiled one must have grown) or says so with `used_by_master: False`.
    Evidence of None means the engine cannot tell, which is not a violation.
    """
    if not after:
        return "the engine gives no evidence for this pair", []
    if after.get("used_by_master") is False:
        reason = after.get("reason") or ""
        return "not used", [f"the {name} fast path is not what master() uses{': ' + str(reason) if reason else ''}"]
    grown = {}
    for key in ("master_calls_compiled", "master_calls_plain"):
        now, then = after.get(key), (before or {}).get(key, 0)
        if isinstance(now, (int, float)) and isinstance(then, (int, float)):
            grown[key] = now - then
    if len(grown) < 2:
        return "the evidence has no call counters; see the raw evidence", []
    counts = f"compiled calls +{grown['master_calls_compiled']:g}, plain calls +{grown['master_calls_plain']:g}"
    if grown["master_calls_compiled"] <= 0 and grown["master_calls_plain"] > 0:
        return f"not used ({counts})", [f"master() ran the plain {name} path, not the fast one ({counts})"]
    if grown["master_calls_compiled"] > 0:
        return f"in use: one master() call made {counts}", []
    return f"no call seen during one master() call ({counts})", []


def _plain_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able part of a pair's info (engines may put callables there)."""
    simple = (str, int, float, bool, type(None))
    return {k: v for k, v in info.items()
            if isinstance(v, simple) or (isinstance(v, (list, tuple)) and all(isinstance(x, simple) for x in v))}


def _pair_record(ctx: SuiteContext, check_id: str, name: str, seconds_key: str, *,
                 value_of: Callable[[Any, Any], float] | None = None,
                 extra: Callable[[Any, Any, Any], dict[str, Any]] | None = None) -> CheckResult:
    """A kernel pair timed side by side, its output difference and evidence in the record."""
    pair = kernel_pair(ctx, name)
    sr = suite_audio.DEFAULT_SAMPLE_RATE
    n_frames = int(size(ctx, seconds_key) * sr)
    evidence = _evidence_around_master(ctx, pair)
    data = kernel_input(pair, n_frames, sr)  # once: making music-like input is slow
    comparison = compare_paths(lambda: pair.fast(data), lambda: pair.plain(data), rounds=size(ctx, "pair_rounds"),
                               tolerance=pair.tolerance)
    violations = [] if comparison.within_tolerance else [
        f"the fast {name} path changed the output by {comparison.max_abs_diff:.3g} "
        f"(tolerance {comparison.tolerance:g})"]
    evidence["verdict"], used_violations = judge_evidence(name, evidence["before"], evidence["after"])
    violations += used_violations
    value = value_of(pair, comparison) if value_of else comparison.speedup
    details = {**comparison.row(), "input_seconds": n_frames / sr, "description": pair.description,
               "info": _plain_info(pair.info), "evidence": evidence, "speedup_samples": comparison.speedups,
               **(extra(pair, comparison, data) if extra else {})}
    samples = comparison.speedups
    if value_of is not None:
        scale = value / comparison.speedup if comparison.speedup else 1.0
        samples = [s * scale for s in comparison.speedups]
    return record(ctx, check_id, value, samples=samples, kind="ratio", summary=comparison.fast.summary(),
                  violations=violations, details=details)


def check_envelope(ctx: SuiteContext) -> CheckResult:
    return _pair_record(ctx, "RT-16", "envelope", "envelope_seconds")


def check_eq(ctx: SuiteContext) -> CheckResult:
    return _pair_record(ctx, "RT-17", "eq", "eq_seconds")


def check_spectrum_parallel(ctx: SuiteContext) -> CheckResult:
    def workers_of(pair: Any) -> int:
        return int(pair.info.get("workers") or 1)

    def efficiency(pair: Any, comparison: Any) -> float:
        return comparison.speedup / workers_of(pair)

    def cpu_use(pair: Any, comparison: Any, data: Any) -> dict[str, Any]:
        with CpuMonitor() as parallel:  # one more parallel call, watched: threads and CPU per core
            pair.fast(data)
        workers = workers_of(pair)
        used = parallel.result
        machine = free_cores()
        return {"cores": cores(), "physical_cores": psutil.cpu_count(logical=False), "workers": workers,
                "cores_free": machine["free_cores"], "cores_free_measured": machine,
                "speedup": comparison.speedup, "cpu_parallel": used.to_dict() if used else None,
                "cpu_per_worker_percent": 100.0 * used.cores_busy / workers if used else None,
                "value_is": "speedup / workers used"}

    return _pair_record(ctx, "RT-18", "spectrum_parallel", "spectrum_seconds", value_of=efficiency,
                        extra=cpu_use)


#: RT-19: the shortest timed sample of either path, in seconds.
CHAIN_SAMPLE_S = 0.2


def check_chain(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.FALLBACKS)
    seconds = size(ctx, "chain_seconds")
    audio32, sr = suite_audio.test_audio(ctx, seconds)
    audio = audio32.astype(np.float64)  # the engines' equality contract is stated in float64
    tolerance = 1e-9
    if ctx.engine.has(Capability.KERNELS) and "chain" in ctx.engine.kernels():
        tolerance = ctx.engine.kernels()["chain"].tolerance
    engine = ctx.engine
    # each optimized sample runs the chain for about CHAIN_SAMPLE_S (several calls), as one fallback call
    # already does: a burst of load then hits both sides of a round alike (single optimized calls of 10-30 ms
    # read 36x to 92x in one loaded run here; batches of 0.2 s, 48x to 62x)
    comparison = compare_paths(lambda: engine.master(audio, sr), lambda: engine.master(audio, sr, optimized=False),
                               rounds=size(ctx, "pair_rounds"), tolerance=tolerance,
                               units=audio.shape[0] / sr, sample_target=CHAIN_SAMPLE_S)
    violations = [] if comparison.within_tolerance else [
        f"the optimized chain changed the output by {comparison.max_abs_diff:.3g} (tolerance {tolerance:g})"]
    return record(ctx, "RT-19", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  summary=comparison.fast.summary(), violations=violations,
                  details={**comparison.row(), "audio_seconds": audio.shape[0] / sr,
                           "bar": "20x: the engines with a switch that runs every fallback have interpreted-loop "
                                  "fallbacks; the seed's 2-3x is over vectorized NumPy fallbacks",
                           "rtf_optimized": comparison.throughput("fast")[0],
                           "rtf_fallbacks": comparison.throughput("plain")[0]})


#: Exceptions of a child process that mean its input was bad (an `error` of the check, not a `fail`).
INPUT_ERRORS = frozenset({"AudioFileError", "AudioInputError", "LibsndfileError", "SoundFileError"})


def fallback_child(engine_spec: str, seconds: float, seed: int, audio_files: list[str], workdir: str,
                   output_path: str) -> dict[str, Any]:
    """Runs in a fresh process with Numba blocked: master the test audio, save it, report the timings."""
    try:
        import numba  # noqa: F401
        numba_blocked = False
    except ImportError:
        numba_blocked = True
    engine = engine_from_spec(engine_spec)
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=Path(workdir), audio_files=list(audio_files))
    audio32, sr = suite_audio.test_audio(ctx, seconds, seed=seed)
    audio = audio32.astype(np.float64)
    times = []
    output = None
    for _ in range(2):  # the first call in a fresh process pays first-use costs; the second is warm
        start = time.perf_counter()
        output = engine.master(audio, sr)
        times.append(time.perf_counter() - start)
    np.save(output_path, np.asarray(output))
    engine.close()
    return {"numba_blocked": numba_blocked, "times": times, "audio_seconds": audio.shape[0] / sr,
            "engine": engine.describe()}


def check_without_numba(ctx: SuiteContext) -> CheckResult:
    seconds = size(ctx, "chain_seconds")
    seed = 0
    # decode the test audio here first: an unreadable input is this check's `error`, never a `fail` of the
    # fallback chain in the child
    audio32, sr = suite_audio.test_audio(ctx, seconds, seed=seed)
    output_path = ctx.workdir / f"rt20-fallback-{os.getpid()}.npy"
    try:
        child = run_isolated(fallback_child, args=(child_spec(ctx), seconds, seed,
                                                   [str(p) for p in ctx.audio_files], str(ctx.workdir),
                                                   str(output_path)),
                             block_numba=True, timeout=600.0, env=child_env(ctx))
    except SubprocessFailed as exc:
        if exc.error_type in INPUT_ERRORS:  # the input, not the fallback chain, is at fault
            raise RuntimeError(f"the fallback child could not read its input: {exc}") from exc
        return record(ctx, "RT-20", None, violations=[f"the chain did not complete without Numba: {exc}"],
                      details={"child_traceback": exc.child_traceback, "stderr": exc.stderr[-2000:]})
    try:
        fallback = np.load(output_path)
    finally:
        output_path.unlink(missing_ok=True)
    audio = audio32.astype(np.float64)
    ctx.engine.master(audio, sr)  # warm
    start = time.perf_counter()
    compiled = np.asarray(ctx.engine.master(audio, sr))
    compiled_s = time.perf_counter() - start
    diff = max_abs_diff(compiled, fallback)
    result = child.result
    audio_s = result["audio_seconds"]
    violations = []
    if not result["numba_blocked"]:
        violations.append("Numba could still be imported in the child process: the fallback was not exercised")
    if diff > FALLBACK_TOLERANCE:
        violations.append(f"the fallback output differs from the compiled path by {diff:.3g} "
                          f"(tolerance {FALLBACK_TOLERANCE:g})")
    return record(ctx, "RT-20", diff, samples=[diff], kind="diff", violations=violations,
                  details={"max_abs_diff": diff, "tolerance": FALLBACK_TOLERANCE, "completed": True,
                           "numba_blocked": result["numba_blocked"], "audio_seconds": audio_s,
                           "fallback_rtf_first_call": audio_s / result["times"][0],
                           "fallback_rtf": audio_s / result["times"][-1],
                           "compiled_rtf": audio_s / compiled_s, "child_wall_s": child.wall_s,
                           "child_process_s": child.process_s, "child_peak_rss_mb": child.peak_rss_mb,
                           "child_engine": result["engine"]})
