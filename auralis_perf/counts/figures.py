"""Which instruction figures an engine gets, counting them, and their result records.

A figure's record sits in the category of the check whose call it counts (master() beside RT-01..04, a
kernel pair beside its optimization check, a library query beside its DB check, ...), with `kind`
"instructions", unit "instructions", lower is better, and the IDs of the timed checks that measure the
same call in `details["related"]` (the report shows the count in their rows). The regression step
compares it by the `instructions` rule (see `regress.rules`). Without Valgrind every figure is `skip` with
the reason; so are the library figures of an engine without a library.

A figure that does not repeat (`not_gated` says why) gets kind UNGATED_KIND: the regression step then judges
it like any single figure (never `regressed`), and its record says why.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auralis_perf.catalog import TIERS
from auralis_perf.counts.workloads import CACHED_READS, LIBRARY_QUERIES, LIBRARY_TRACKS, cached_read
from auralis_perf.engines.base import Engine, NotSupported
from auralis_perf.measure.instructions import InstructionCountError, Workload, count_instructions, valgrind_missing
from auralis_perf.regress.rules import INSTRUCTIONS_FLOOR
from auralis_perf.results import CheckResult
from auralis_perf.suites.common.engine_spec import engine_child_env, engine_spec

KIND = "instructions"
#: The kind of a figure left out of the gate (see `Figure.not_gated`): not judged by the instruction rule.
UNGATED_KIND = "instructions_ungated"
UNIT = "instructions"
_WORKLOADS = "auralis_perf.counts.workloads"
#: Short names of the kernel pairs the checks look for (record IDs must fit the history's 16 characters),
#: and the check that times each pair.
_KERNEL_CODES = {"envelope": "env", "eq": "eq", "spectrum_batched": "specb", "spectrum_parallel": "specp",
                 "chain": "chain"}
_KERNEL_CHECKS = {"envelope": ("OPT-01", "RT-16"), "eq": ("OPT-06", "RT-17"), "spectrum_batched": ("OPT-07",),
                  "spectrum_parallel": ("OPT-11", "RT-18"), "chain": ("RT-19",)}
#: Kernel pairs whose fast side spreads its work over threads: gated only when the engine keeps its worker
#: threads between calls (the pair's info["kept_workers"]), see NOT_REPEATABLE_PARALLEL.
_THREADED_FAST_SIDES = frozenset({"spectrum_parallel"})
NOT_REPEATABLE_PARALLEL = ("not gated: the engine does not say it keeps the fast side's worker threads between "
                           "calls (kernel pair info 'kept_workers'); with a new thread pool per call, whether its "
                           "first worker is already idle when the second part is submitted (one thread or two) "
                           "depends on the scheduler: the reference engine's counts differed by up to 6.8 % across "
                           "three runs that way, and by 0.19 % across four once its pool was kept and started whole")
#: Calls of a threaded fast side per stretch: its threads' hand-offs of the GIL follow the clock (CPython's 5 ms
#: switch interval). The reference engine's kept pool: three one-call counts 0.15 % apart, four runs of ten-call
#: counts 0.19 % apart (three with a busy loop on each core), inside the gate's 1 %.
THREADED_REPS = 10
LIBRARY_TRACKS_TEXT = f"library of {LIBRARY_TRACKS:,} generated tracks"
#: Calls of a few million instructions or less are counted this many times per stretch, after as many warm-up
#: calls: with one call, run-to-run differences of a few tenths of a million (the second and later reads
#: of a query still settling) were over 1 % of them (INS-DB-GET +1.3 %, INS-DB-WRITE -6.4 %).
SHORT_CALL_REPS = 10
#: Library figures: ID, what is counted, the checks that time the same kind of query.
_LIBRARY_FIGURES = {"get": ("INS-DB-GET", "a track by id", ("DB-01",)),
                    "search": ("INS-DB-SEARCH", "a text search (50 results)", ("DB-04",)),
                    "page": ("INS-DB-PAGE", "a page by title from the middle (keyset if offered, else OFFSET)",
                             ("DB-05",)),
                    "filter": ("INS-DB-FILTER", "an artist's page (filter and join)", ("DB-02",)),
                    "aggregate": ("INS-DB-AGG", "tracks per genre and per year", ("DB-03",)),
                    "write": ("INS-DB-WRITE", "one committed write (a play of a track)", ())}


#: The regression step's floor for figures whose count moves with the counting process's memory layout when
#: unrelated code changes (see LAYOUT_SENSITIVE): counts of CPython-heavy calls (a library query through an
#: ORM, the pure-Python kernels) go through CPython's method cache, which is indexed by object addresses.
#: Measured between two commits that differ by 3 lines of engines/support/batch.py, which no library call
#: runs (b8376d8 and ddf7600): INS-DB-FILTER +2.5 %, INS-K-env-P 0.8 %, INS-DB-PAGE and -GET 0.4 %,
#: INS-K-chain-P 0.4 %, INS-DB-WRITE 0.2 %; and the heavier-master engine (other imports) against
#: ddf7600: INS-DB-GET +1.3 %, -PAGE -1.2 %, -FILTER -1.7 %. On unchanged code each repeats to the
#: instruction. 3 % stays above every shift measured; the compiled paths and master() keep the 1 % floor.
LAYOUT_FLOOR = 0.03
LAYOUT_SENSITIVE_NOTE = ("its count moves with the counting process's memory layout when unrelated code changes "
                         "(CPython's method cache; up to 2.5 % measured), so it is compared with a "
                         f"{LAYOUT_FLOOR * 100:.0f} % floor; on unchanged code it repeats to the instruction")


def layout_sensitive(figure_id: str) -> bool:
    """Whether the figure's count depends on the memory layout (library calls, pure-Python kernel sides)."""
    return figure_id.startswith(("INS-DB-", "INS-QCACHE-")) or figure_id in ("INS-K-env-P", "INS-K-chain-P")


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    category: str
    #: the timed checks that measure the same call (the report shows the count in their rows)
    related: tuple[str, ...]
    workload: Workload
    #: why the figure is counted and recorded but left out of the instruction gate, None when it is gated
    not_gated: str | None = None
    #: why the figure cannot be counted for this engine (a `skip`), None when it can
    skip: str | None = None


def figures_for(engine: Engine) -> list[Figure]:
    """The figures `engine`'s capabilities allow, in report order."""
    spec = engine_spec(engine)
    # RT-01..04 time master() with the default preset (on longer clips)
    out = [Figure(f"INS-M-{preset[:10]}", f"Instructions of master() on a 0.5 s clip, preset {preset}", "realtime",
                  ("RT-01", "RT-02", "RT-03", "RT-04") if preset == "default" else (),
                  Workload(f"master/{preset}", f"{_WORKLOADS}:master_call", (spec, preset)))
           for preset in engine.presets]
    out.append(Figure("INS-CHUNK", "Instructions of one streamed chunk (4096 frames)", "realtime", ("RT-07",),
                      Workload("stream/chunk", f"{_WORKLOADS}:stream_chunk_call", (spec,))))
    if engine.has("kernels"):
        try:
            pairs = dict(engine.kernels())
        except NotSupported:
            pairs = {}
        for name, pair in pairs.items():
            code = _KERNEL_CODES.get(name, name[:7])
            threaded = name in _THREADED_FAST_SIDES
            kept = threaded and bool(pair.info.get("kept_workers"))
            for side in ("fast", "plain"):
                out.append(Figure(f"INS-K-{code}-{side[0].upper()}",
                                  f"Instructions of kernel pair {name}, {side} side, on a 0.5 s clip", "optimization",
                                  _KERNEL_CHECKS.get(name, ()),
                                  Workload(f"kernel/{name}/{side}", f"{_WORKLOADS}:kernel_call", (spec, name, side),
                                           **_repetitions(name, side)),
                                  not_gated=NOT_REPEATABLE_PARALLEL if (side == "fast" and threaded and not kept)
                                  else None))
    if engine.has("analysis"):
        out.append(Figure("INS-SPECTRUM", "Instructions of the spectrum analysis of a 0.5 s clip", "optimization",
                          ("OPT-16",),
                          Workload("analysis/spectrum", f"{_WORKLOADS}:analysis_call", (spec, "spectrum"))))
    if engine.has("audio_cache"):
        out.append(Figure("INS-CACHE-HIT", "Instructions of an audio-cache hit (spectrum of a 0.5 s file)", "cache",
                          ("CACHE-12",),
                          Workload("cache/hit", f"{_WORKLOADS}:audio_cache_hit_call", (spec, "spectrum"),
                                   reps=SHORT_CALL_REPS, warmup=SHORT_CALL_REPS)))
    out.extend(library_figures(engine))
    return out


def _repetitions(kernel: str, side: str) -> dict[str, int]:
    """Calls per stretch of a kernel side that takes well under a million instructions (the compiled
    envelope) or hands its work to threads; one for the rest."""
    if (kernel, side) == ("envelope", "fast"):
        return {"reps": SHORT_CALL_REPS, "warmup": SHORT_CALL_REPS}
    if side == "fast" and kernel in _THREADED_FAST_SIDES:
        return {"reps": THREADED_REPS, "warmup": 3}
    return {}


def library_figures(engine: Engine) -> list[Figure]:
    """A library query of each kind the database checks time, and a query-cache hit; `skip` figures (with
    the reason) when the engine has no library or the library no query cache."""
    spec = engine_spec(engine)
    # the library is generated once, before the workloads are forked; each counts on its own copy of it
    shared = {"reps": SHORT_CALL_REPS, "warmup": SHORT_CALL_REPS, "prepare": f"{_WORKLOADS}:prepare_library",
              "prepare_args": (spec,)}
    out = [Figure(fid, f"Instructions of a library query: {what} ({LIBRARY_TRACKS_TEXT})", "database", related,
                  Workload(f"library/{query}", f"{_WORKLOADS}:library_call", (spec, query), **shared))
           for query in LIBRARY_QUERIES for fid, what, related in [_LIBRARY_FIGURES[query]]]
    hit = Figure("INS-QCACHE-HIT", f"Instructions of a query-cache hit ({LIBRARY_TRACKS_TEXT})", "cache",
                 ("CACHE-02",), Workload("library/cache-hit", f"{_WORKLOADS}:query_cache_hit_call", (spec, ""),
                                         **shared))
    if not engine.has("library"):
        reason = f"engine {engine.name!r} has no library (capability 'library'), so no library figure"
        return [replace(f, skip=reason) for f in (*out, hit)]
    try:
        read = _served_read(engine)
    except (NotSupported, OSError) as error:
        return [*out, replace(hit, skip=f"the library's caches could not be asked which read they serve: {error}")]
    if read is None:
        return [*out, replace(hit, skip="no cache of the library serves any of "
                                        f"{', '.join(CACHED_READS)} (MusicLibrary.caches.cache_for)")]
    hit = replace(hit, title=f"{hit.title[:-1]}, {read})", workload=replace(hit.workload, args=(spec, read)))
    return [*out, hit]


def _served_read(engine: Engine) -> str | None:
    """Which read the query-cache hit counts: asked of an empty library opened for the purpose."""
    with tempfile.TemporaryDirectory(prefix="auralis-perf-counts-") as folder:
        lib = engine.open_library(Path(folder, "library.db"))
        try:
            return cached_read(lib)
        finally:
            lib.close()


def _record(figure: Figure, status: str, value: float | None, reason: str | None,
            details: dict | None = None) -> CheckResult:
    gated = figure.not_gated is None
    floor = LAYOUT_FLOOR if layout_sensitive(figure.id) else INSTRUCTIONS_FLOOR
    criterion = (f"deterministic figure: compared with a {floor * 100:.0f} % floor, no tiers" if gated
                 else "instruction count shown for information, not gated (it does not repeat)")
    if not gated:
        extra = {"not_gated": figure.not_gated}
    elif floor != INSTRUCTIONS_FLOOR:
        extra = {"instruction_floor": floor, "floor_note": LAYOUT_SENSITIVE_NOTE}
    else:
        extra = {}
    return CheckResult(id=figure.id, category=figure.category, title=figure.title, status=status, value=value,
                       unit=UNIT, samples=[], criterion=criterion, tiers={t: None for t in TIERS}, reason=reason,
                       direction="lower", kind=KIND if gated else UNGATED_KIND,
                       details={"related": list(figure.related), "workload": figure.workload.name, **extra,
                                **(details or {})})


def instruction_records(engine: Engine, figures: Sequence[Figure] | None = None) -> list[CheckResult]:
    """Count every figure of `engine` (each in a forked process of its own, see `measure.instructions`; its
    details keep the seconds that process spent setting up, warming up and counting); `skip` records when
    Valgrind is missing, `error` records (with the child's failure) when counting failed."""
    figures = list(figures if figures is not None else figures_for(engine))
    missing = valgrind_missing()
    if missing:
        return [_record(f, "skip", None, missing) for f in figures]
    counted = [f for f in figures if f.skip is None]
    records = {f.id: _record(f, "skip", None, f.skip) for f in figures if f.skip is not None}
    started = time.perf_counter()
    try:
        counts = count_instructions([f.workload for f in counted], env=engine_child_env(engine)) if counted else []
    except InstructionCountError as error:
        counts = []
        records.update((f.id, _record(f, "error", None, f"instruction count failed: {error}"[:2000])) for f in counted)
    cost = time.perf_counter() - started
    records.update((f.id, _record(f, "pass", round(c.per_call), None,
                                  {"stretch_n": c.stretch_n, "stretch_2n": c.stretch_2n, "reps": c.reps,
                                   "linearity": round(c.linearity, 6), "counted_with": "valgrind callgrind",
                                   "batch_cost_s": round(cost, 1), **c.extra}))
                   for f, c in zip(counted, counts))
    return [records[f.id] for f in figures]
