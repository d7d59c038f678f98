"""The database's query mix (DB-01..05), measured once per library size and reused (DB-11..13).

    timings = query_mix_timings(ctx, built)     # {query name: Timing}, cached per library in ctx.shared
    ratios = of_bound(ctx, timings)             # each query's median against its check's bound

Every query goes to the uncached repository (`lib.repo`): these are database times. Arguments follow the
skewed access model (popular artists' tracks, popular words), cycling through a prepared list so that
repeated samples do not just re-read one row. DB-05's page from the middle is a keyset page when the
library has keyset paging (feature `keyset`), else the OFFSET page (`judged_query` says which).
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from auralis_perf.engines.protocols.library import LibraryFeature
from auralis_perf.measure.timing import Timing, calibrate_loops
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.library_workload.workload import PAGE, BuiltLibrary

#: query name -> the check whose bound it is judged against (DB-11/12 use the same bounds)
QUERY_CHECK = {"get_by_id": "DB-01", "get_by_path": "DB-01", "artist_page": "DB-02", "aggregations": "DB-03",
               "search": "DB-04", "keyset_middle": "DB-05"}
#: Lookups an index serves: their time should barely grow with the library (DB-13's slope).
INDEXED = ("get_by_id", "get_by_path", "artist_page", "keyset_middle")
_TIMINGS = "library.query_mix"


def _cycle(values: Sequence[Any], fn: Callable[[Any], Any]) -> Callable[[], Any]:
    source = itertools.cycle(values)
    return lambda: fn(next(source))


def query_mix(built: BuiltLibrary, seed: int = 11) -> dict[str, Callable[[], Any]]:
    """The DB-01..05 calls on `built`'s repository, arguments drawn from its access model."""
    repo, model = built.lib.repo, built.model
    rng = np.random.default_rng(seed)
    ids = [model.track_id(rng) for _ in range(200)]
    paths = [model.path_of(repo, i) for i in ids[:100]]
    artists = [model.artist(rng).id for _ in range(50)]
    words = [model.word(rng) for _ in range(50)]
    middle = max(0, built.n_tracks // 2)
    mix: dict[str, Callable[[], Any]] = {
        "get_by_id": _cycle(ids, repo.get_track),
        "get_by_path": _cycle(paths, repo.get_track_by_path),
        "artist_page": _cycle(artists, lambda a: repo.list_tracks(artist_id=a, sort="title", limit=PAGE)),
        "aggregations": lambda: (repo.count_by_genre(), repo.count_by_year()),
        "search": _cycle(words, lambda w: repo.search(w, limit=PAGE)),
        "offset_middle": lambda: repo.list_tracks(sort="title", limit=PAGE, offset=middle),
    }
    if LibraryFeature.KEYSET in built.model.features:
        cursor = repo.cursor_at(middle, sort="title")
        mix["keyset_middle"] = lambda: repo.list_tracks(sort="title", limit=PAGE, after=cursor)
    return mix


def judged_query(name: str, timings: dict[str, Timing]) -> str:
    """The query measured for `name`: keyset_middle falls back on offset_middle without keyset paging."""
    if name == "keyset_middle" and name not in timings:
        return "offset_middle"
    return name


def indexed_queries(timings: dict[str, Timing]) -> tuple[str, ...]:
    """The INDEXED queries this library was measured on (keyset_middle needs keyset paging)."""
    return tuple(q for q in INDEXED if q in timings)


def mix_timings(ctx: SuiteContext, builts: Sequence[BuiltLibrary]) -> dict[int, dict[str, Timing]]:
    """Timings of every query of the mix on each library, {tracks: {query: Timing}}.

    The libraries are measured in alternation, one sample of every query of every library per round, so
    that a burst of load on this shared machine hits every size alike and does not bend the slopes.
    Measured once per run and set of libraries.
    """
    cache: dict[tuple, dict[int, dict[str, Timing]]] = ctx.shared.setdefault(_TIMINGS, {})
    key = tuple((str(b.path), b.n_tracks) for b in builts)
    if key not in cache:
        repeat = ctx.sizes({"smoke": 5, "standard": 7, "full": 9})
        calls = {(b.n_tracks, name): fn for b in builts for name, fn in query_mix(b).items()}
        loops = {}
        for slot, fn in calls.items():
            fn()  # warm-up: statement compilation, pages in SQLite's cache
            loops[slot] = calibrate_loops(fn)
        samples: dict[tuple[int, str], list[float]] = {slot: [] for slot in calls}
        for round_ in range(repeat):
            order = list(calls) if round_ % 2 == 0 else list(reversed(calls))
            for slot in order:
                fn, n = calls[slot], loops[slot]
                started = time.perf_counter_ns()
                for _ in range(n):
                    fn()
                samples[slot].append((time.perf_counter_ns() - started) * 1e-9 / n)
        cache[key] = {b.n_tracks: {name: Timing(samples[(n, name)], loops=loops[(n, name)], warmup=1)
                                   for n, name in calls if n == b.n_tracks} for b in builts}
    return cache[key]


def query_mix_timings(ctx: SuiteContext, built: BuiltLibrary) -> dict[str, Timing]:
    """Timings of every query of the mix on one library (DB-01..05)."""
    return mix_timings(ctx, [built])[built.n_tracks]


def bound_ms(ctx: SuiteContext, check_id: str) -> float:
    """The limit of a check's first defined tier (ms)."""
    spec = ctx.catalog[check_id]
    tier = spec.gating_tier
    if tier is None:
        raise ValueError(f"{check_id} has no tier bound in {ctx.catalog.path}; DB-11/12 need one")
    return spec.tiers[tier].limit


def of_bound(ctx: SuiteContext, timings: dict[str, Timing]) -> dict[str, dict[str, Any]]:
    """Per judged query: median ms, its bound, their ratio and the per-sample ratios."""
    rows = {}
    for name, check_id in QUERY_CHECK.items():
        measured = judged_query(name, timings)
        timing = timings[measured]
        limit = bound_ms(ctx, check_id)
        rows[name] = {"check": check_id, "measured": measured, "median_ms": timing.median * 1e3, "bound_ms": limit,
                      "of_bound": timing.median * 1e3 / limit,
                      "samples_of_bound": [s * 1e3 / limit for s in timing.samples]}
    return rows


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x): 0 is flat, 1 linear growth."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"a slope needs two or more points, got {len(xs)} x and {len(ys)} y")
    if min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("log-log slope needs positive values")
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    if np.ptp(lx) == 0:
        raise ValueError("log-log slope needs at least two different x values")
    return float(np.polyfit(lx, ly, 1)[0])


def per_round_slopes(xs: Sequence[float], sample_lists: Sequence[Sequence[float]]) -> list[float]:
    """One slope per round: the i-th sample at every x (samples measured at each x in the same order)."""
    rounds = min(len(s) for s in sample_lists)
    return [loglog_slope(xs, [s[i] for s in sample_lists]) for i in range(rounds)]


def median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else math.nan


__all__ = ["INDEXED", "QUERY_CHECK", "bound_ms", "indexed_queries", "judged_query", "loglog_slope", "median",
           "mix_timings", "of_bound", "per_round_slopes", "query_mix", "query_mix_timings"]
