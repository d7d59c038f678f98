"""Proof that an optimized path is what the engine's own pipeline runs.

`KernelPair.evidence()` returns what the engine can show: call counters, compiled-signature lists, or
None. Beside it, the Numba dispatchers reachable from the pair's fast callable are looked at directly.
`pipeline_evidence` reads both before and after one run of the engine's own pipeline (a `master` call,
plus a spectrum analysis when the engine has one) and decides, for every pair:

- "not called": the fast function measured by the pair was never compiled in this process although the
  pipeline ran (so the pipeline runs some other function), or the pair's counters did not grow: a speedup
  measured on it is a speedup of a function the pipeline never calls (a violation);
- "in use": a counter of the fast path grew during the run, and its compiled code (if any) exists;
- "compiled only": compiled signatures exist, but nothing shows the call inside the pipeline;
- "unknown": the engine gives no evidence and the fast path is not compiled code we can see.

This must run before anything else in the process calls the pairs' fast paths (the suite does it first),
otherwise the compiled signatures could come from the measurement itself.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from auralis_perf.engines import Capability
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.simd import numba_dispatchers
from auralis_perf.suites.common.workload import music

_MEMO = "memopt_use"


def _numeric_leaves(data: Any, prefix: str = "") -> dict[str, float]:
    leaves: dict[str, float] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            leaves.update(_numeric_leaves(value, f"{prefix}{key}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        leaves[prefix.rstrip(".")] = float(data)
    return leaves


def _signature_lists(data: Any, prefix: str = "") -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if "signature" in str(key).lower() and isinstance(value, (list, tuple)):
                found[path] = list(value)
            else:
                found.update(_signature_lists(value, path + "."))
    return found


def judge_use(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
              compiled: Mapping[str, list[str]]) -> dict[str, Any]:
    """The verdict for one pair from its evidence around a pipeline run and its dispatchers' signatures.

    `compiled` maps each Numba function behind the fast callable to its compiled signatures after the run.
    """
    old, new = _numeric_leaves(before or {}), _numeric_leaves(after or {})
    grown = {k: new[k] - old.get(k, 0.0) for k in new if new[k] > old.get(k, 0.0)}
    # a counter of the plain path growing shows the pipeline ran the plain path, never the fast one
    fast_grown = {k: v for k, v in grown.items() if "plain" not in k.lower()}
    reported = _signature_lists(after or {})
    never_compiled = sorted(name for name, signatures in compiled.items() if not signatures)
    engine_numba = (after or {}).get("numba_available", True)
    if compiled and len(never_compiled) == len(compiled):
        status = "not called"
        proof = (f"the pipeline ran, yet the measured fast function(s) {', '.join(never_compiled)} have no "
                 "compiled signature in this process: the pipeline runs some other code"
                 + (f" (counters that grew: {', '.join(grown)})" if grown else ""))
    elif reported and engine_numba and not any(reported.values()):
        status = "not called"
        proof = "the pipeline ran, yet the engine reports no compiled signature for this kernel"
    elif fast_grown:
        status = "in use"
        proof = "counters grew during one pipeline run: " + ", ".join(f"{k} +{v:g}" for k, v in grown.items())
        if compiled:
            proof += "; compiled: " + ", ".join(f"{n} ({len(s)} signature(s))" for n, s in compiled.items())
    elif new:
        status = "not called"
        proof = "the pipeline ran without increasing any of the fast path's counters (" + ", ".join(new) + ")"
        if grown:
            proof += "; only the plain path's grew: " + ", ".join(f"{k} +{v:g}" for k, v in grown.items())
    elif compiled or any(reported.values()):
        status = "compiled only"
        proof = "compiled code exists, but no counter shows it running inside the pipeline"
    else:
        status = "unknown"
        proof = "the engine gives no evidence for this kernel, and its fast path is no compiled code we can see"
    return {"status": status, "proof": proof, "counters_grown": grown, "compiled_after_pipeline": dict(compiled),
            "evidence": after}


def _pipeline(ctx: SuiteContext) -> Callable[[], None]:
    audio, sr = music(ctx, 1.0, seed=31)

    def run() -> None:
        ctx.engine.master(audio, sr)
        if ctx.engine.has(Capability.ANALYSIS):
            ctx.engine.analyze(audio, sr, "spectrum")

    return run


def pipeline_evidence(ctx: SuiteContext) -> dict[str, dict[str, Any]]:
    """Verdicts for every kernel pair of the engine around one pipeline run (once per run, memoized)."""
    if _MEMO in ctx.shared:
        return ctx.shared[_MEMO]
    pairs = ctx.engine.kernels()
    run = _pipeline(ctx)
    before = {name: pair.evidence() for name, pair in pairs.items()}
    run()
    verdicts = {}
    for name, pair in pairs.items():
        compiled = {d.py_func.__qualname__: [str(s) for s in d.signatures] for d in numba_dispatchers(pair.fast)}
        verdicts[name] = judge_use(before[name], pair.evidence(), compiled)
    ctx.shared[_MEMO] = verdicts
    return verdicts


def use_violations(kernel: str, use: dict[str, Any]) -> list[str]:
    """A measured speedup of a path the pipeline never calls is reported as such."""
    if use["status"] == "not called":
        return [f"the fast {kernel} path is measured, but the engine's pipeline never calls it: {use['proof']}"]
    return []


__all__ = ["judge_use", "pipeline_evidence", "use_violations"]
