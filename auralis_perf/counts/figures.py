"""Which instruction figures an engine gets, counting them, and their result records.

A figure's record sits in the category of the check whose call it counts (master() beside RT-01, a kernel
pair beside the optimization checks, ...), with `kind` "instructions", unit "instructions", lower is better,
and the related check's ID in `details["related"]`. The regression step compares it by the `instructions`
rule (see `regress.rules`). Without Valgrind every figure is `skip` with the reason.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from auralis_perf.catalog import TIERS
from auralis_perf.engines.base import Engine, NotSupported
from auralis_perf.measure.instructions import InstructionCountError, Workload, count_instructions, valgrind_missing
from auralis_perf.results import CheckResult
from auralis_perf.suites.common.engine_spec import engine_child_env, engine_spec

KIND = "instructions"
UNIT = "instructions"
_WORKLOADS = "auralis_perf.counts.workloads"
#: Short names of the kernel pairs the checks look for (record IDs must fit the history's 16 characters).
_KERNEL_CODES = {"envelope": "env", "eq": "eq", "spectrum_batched": "specb", "spectrum_parallel": "specp",
                 "chain": "chain"}


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    category: str
    related: str
    workload: Workload


def figures_for(engine: Engine) -> list[Figure]:
    """The figures `engine`'s capabilities allow, in report order."""
    spec = engine_spec(engine)
    out = [Figure(f"INS-M-{preset[:10]}", f"Instructions of master() on a 0.5 s clip, preset {preset}", "realtime",
                  "RT-01", Workload(f"master/{preset}", f"{_WORKLOADS}:master_call", (spec, preset)))
           for preset in engine.presets]
    out.append(Figure("INS-CHUNK", "Instructions of one streamed chunk (4096 frames)", "realtime", "RT-07",
                      Workload("stream/chunk", f"{_WORKLOADS}:stream_chunk_call", (spec,))))
    if engine.has("kernels"):
        try:
            names = list(engine.kernels())
        except NotSupported:
            names = []
        for name in names:
            code = _KERNEL_CODES.get(name, name[:7])
            for side in ("fast", "plain"):
                out.append(Figure(f"INS-K-{code}-{side[0].upper()}",
                                  f"Instructions of kernel pair {name}, {side} side, on a 0.5 s clip", "optimization",
                                  "OPT-01", Workload(f"kernel/{name}/{side}", f"{_WORKLOADS}:kernel_call",
                                                     (spec, name, side))))
    if engine.has("analysis"):
        out.append(Figure("INS-SPECTRUM", "Instructions of the spectrum analysis of a 0.5 s clip", "optimization",
                          "OPT-05", Workload("analysis/spectrum", f"{_WORKLOADS}:analysis_call", (spec, "spectrum"))))
    if engine.has("audio_cache"):
        out.append(Figure("INS-CACHE-HIT", "Instructions of an audio-cache hit (spectrum of a 0.5 s file)", "cache",
                          "CACHE-11", Workload("cache/hit", f"{_WORKLOADS}:audio_cache_hit_call", (spec, "spectrum"))))
    return out


def _record(figure: Figure, status: str, value: float | None, reason: str | None,
            details: dict | None = None) -> CheckResult:
    return CheckResult(id=figure.id, category=figure.category, title=figure.title, status=status, value=value,
                       unit=UNIT, samples=[], criterion="deterministic figure: compared with a 1 % floor, no tiers",
                       tiers={t: None for t in TIERS}, reason=reason, direction="lower", kind=KIND,
                       details={"related": figure.related, "workload": figure.workload.name, **(details or {})})


def instruction_records(engine: Engine, figures: Sequence[Figure] | None = None) -> list[CheckResult]:
    """Count every figure of `engine` in one Valgrind process; `skip` records when Valgrind is missing,
    `error` records (with the child's failure) when counting failed."""
    figures = list(figures if figures is not None else figures_for(engine))
    missing = valgrind_missing()
    if missing:
        return [_record(f, "skip", None, missing) for f in figures]
    started = time.perf_counter()
    try:
        counts = count_instructions([f.workload for f in figures], env=engine_child_env(engine))
    except InstructionCountError as error:
        return [_record(f, "error", None, f"instruction count failed: {error}"[:2000]) for f in figures]
    cost = time.perf_counter() - started
    return [_record(f, "pass", round(c.per_call), None,
                    {"stretch_n": c.stretch_n, "stretch_2n": c.stretch_2n, "reps": c.reps,
                     "linearity": round(c.linearity, 6), "counted_with": "valgrind callgrind",
                     "batch_cost_s": round(cost, 1)})
            for f, c in zip(figures, counts)]
