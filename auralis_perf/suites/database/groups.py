"""Database category (DB-01..DB-20): query times, index use, large libraries, query optimisation.

Everything runs on the engine's library (`ctx.engine.open_library`) through its repository, built with the
engine's generator at the profile's size (smoke 2k, standard 10k, full 100k tracks; DB-11..13 at 10k, 50k
and 100k from standard up). Times are of the uncached repository (`lib.repo`), warm, medians of repeated
samples. Query plans come from the library's `EXPLAIN QUERY PLAN` helpers; "without the index" runs the
same call on a connection where that index is dropped inside a transaction that is rolled back.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from auralis_perf.engines import Capability
from auralis_perf.measure.timing import measure_time
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext, group
from auralis_perf.suites.common.checks import record, require, run_checks
from auralis_perf.suites.common.compare import compare_paths
from auralis_perf.suites.library_workload.queries import (
    INDEXED,
    loglog_slope,
    mix_timings,
    of_bound,
    per_round_slopes,
    query_mix_timings,
)
from auralis_perf.suites.library_workload.workload import (
    PAGE,
    BuiltLibrary,
    cached_against_uncached,
    equality_violations,
    library_details,
    main_size,
    open_library,
    remove_library_files,
    scaling_sizes,
    shared_library,
)

CATEGORY = "database"

SIZES = {
    "smoke": {"depths": (0.0, 0.1, 0.5, 0.99), "listing": 500, "load_rounds": 3, "bulk_rows": 1000,
              "row_rows": 100, "import_rounds": 3, "pool_rounds": 2, "pool_reads": 30},
    "standard": {"depths": (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99), "listing": 500,
                 "load_rounds": 5, "bulk_rows": 10_000, "row_rows": 400, "import_rounds": 3, "pool_rounds": 3,
                 "pool_reads": 120},
    "full": {"depths": (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99), "listing": 500,
             "load_rounds": 7, "bulk_rows": 100_000, "row_rows": 2000, "import_rounds": 5, "pool_rounds": 5,
             "pool_reads": 400},
}


def _library(ctx: SuiteContext, n_tracks: int | None = None) -> BuiltLibrary:
    require(ctx, Capability.LIBRARY)
    return shared_library(ctx, n_tracks or main_size(ctx))


def _plan_rows(plans: list[Any]) -> list[dict[str, Any]]:
    """Query plans as table rows for the notebook (SQL shortened, plan text in full)."""
    return [{"sql": " ".join(p.sql.split())[:300], "plan": p.text, "indexes": sorted(set(p.indexes)),
             "full_scans": p.full_scans, "temp_btree": p.temp_btree} for p in plans]


# ----------------------------------------------------------------------------------------- query time

def _query_record(ctx: SuiteContext, check_id: str, names: tuple[str, ...], extra: tuple[str, ...] = ()) -> CheckResult:
    """The slowest of `names` (median ms) judged by the check; every query's figures in the details."""
    built = _library(ctx)
    timings = query_mix_timings(ctx, built)
    slowest = max(names, key=lambda n: timings[n].median)
    return record(ctx, check_id, timings[slowest].median * 1e3, samples=[s * 1e3 for s in timings[slowest].samples],
                  kind="time", summary=timings[slowest].summary(), details={
                      **library_details(ctx, built), "slowest": slowest,
                      "queries": {n: {"median_ms": timings[n].median * 1e3, "iqr_ms": timings[n].iqr * 1e3,
                                      "samples_ms": [s * 1e3 for s in timings[n].samples],
                                      "loops": timings[n].loops, "stable": timings[n].stable}
                                  for n in (*names, *extra)}})


def db01_simple(ctx: SuiteContext) -> CheckResult:
    return _query_record(ctx, "DB-01", ("get_by_id", "get_by_path"))


def db02_join(ctx: SuiteContext) -> CheckResult:
    return _query_record(ctx, "DB-02", ("artist_page",))


def db03_aggregation(ctx: SuiteContext) -> CheckResult:
    return _query_record(ctx, "DB-03", ("aggregations",))


def db04_search(ctx: SuiteContext) -> CheckResult:
    return _query_record(ctx, "DB-04", ("search",))


def db05_pagination(ctx: SuiteContext) -> CheckResult:
    return _query_record(ctx, "DB-05", ("keyset_middle",), extra=("offset_middle",))


@group("Query time", category=CATEGORY, ids=["DB-01", "DB-02", "DB-03", "DB-04", "DB-05"])
def query_time(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("DB-01", db01_simple), ("DB-02", db02_join), ("DB-03", db03_aggregation),
                            ("DB-04", db04_search), ("DB-05", db05_pagination)])


# ------------------------------------------------------------------------------------------------ index

def find_index(lib: Any, columns: tuple[str, ...]) -> str | None:
    """The library's index whose leading columns are `columns` (the shortest such index)."""
    matches = [(len(cols), name) for name, cols in lib.indexes().items()
               if tuple(cols[:len(columns)]) == columns and not name.startswith("sqlite_autoindex")]
    return min(matches)[1] if matches else None


def index_cases(built: BuiltLibrary) -> dict[str, list[tuple[str, tuple[str, ...], Callable[[Any], Any]]]]:
    """Per check: (what, leading index columns, call on a repository) of the queries it judges."""
    model = built.model
    low, high = model.added_range
    year = model.years[len(model.years) // 2] if model.years else 2000
    genre = model.genres[0] if model.genres else "Rock"
    prefix = model.prefixes[0] if model.prefixes else "a"
    return {
        "DB-06": [(f"title prefix {prefix!r}", ("title",), lambda r: r.find_by_title(prefix, limit=PAGE))],
        "DB-07": [("a week of added tracks", ("added_at",),
                   lambda r: r.list_tracks(sort="added", limit=PAGE, added_from=low + (high - low) * 0.5,
                                           added_to=low + (high - low) * 0.5 + 7 * 86400.0)),
                  (f"years {year}-{year + 1}", ("year",),
                   lambda r: r.list_tracks(sort="added", limit=PAGE, year_from=year, year_to=year + 1))],
        "DB-08": [("favourites, newest first", ("favorite",),
                   lambda r: r.list_tracks(favorite=True, sort="added", descending=True, limit=PAGE))],
        "DB-09": [(f"{genre} of {year}-{year + 5}", ("genre", "year"),
                   lambda r: r.list_tracks(genre=genre, year_from=year, year_to=year + 5, sort="title",
                                           limit=PAGE))],
    }


def indexes_on(lib: Any, columns: tuple[str, ...]) -> list[str]:
    """Every droppable index that holds one of `columns` (what SQLite could fall back on)."""
    return sorted(name for name, cols in lib.indexes().items()
                  if set(cols) & set(columns) and not name.startswith("sqlite_autoindex"))


def _with_and_without(lib: Any, call: Callable[[Any], Any], dropped: list[str]) -> tuple[Any, list[Any]]:
    """The call with every index against the call with `dropped` dropped, both on a connection of their
    own (no pool checkout on one side only), interleaved, results compared; and the plan without."""
    with lib.without_index() as indexed, lib.without_index(*dropped) as bare:
        plans = bare.plans(lambda: call(bare))
        return compare_paths(lambda: call(indexed), lambda: call(bare), rounds=5, tolerance=0.0), plans


def index_case(lib: Any, what: str, columns: tuple[str, ...], call: Callable[[Any], Any]) -> dict[str, Any]:
    """Plan and time of one query with its index; the same on a connection where that index is dropped
    (SQLite may fall back on another index: its plan says which), and where every index holding the
    column is dropped."""
    index = find_index(lib, columns)
    if index is None:
        return {"query": what, "columns": list(columns), "index": None, "index_used": False}
    plans = lib.plans(lambda: call(lib.repo))
    comparison, plans_without = _with_and_without(lib, call, [index])
    row = {"query": what, "columns": list(columns), "index": index,
           "index_used": any(p.uses_index(index) for p in plans),
           "with_ms": comparison.fast.median * 1e3, "without_ms": comparison.plain.median * 1e3,
           "speedup": comparison.speedup, "with_samples_ms": [s * 1e3 for s in comparison.fast.samples],
           "without_samples_ms": [s * 1e3 for s in comparison.plain.samples],
           "same_result": comparison.within_tolerance, "plan": _plan_rows(plans),
           "plan_without": _plan_rows(plans_without)}
    every = indexes_on(lib, columns)
    if every != [index]:
        bare, plans_bare = _with_and_without(lib, call, every)
        row.update({"dropped_all": every, "without_any_ms": bare.plain.median * 1e3,
                    "speedup_over_no_index": bare.speedup, "plan_without_any": _plan_rows(plans_bare),
                    "same_result": row["same_result"] and bare.within_tolerance})
    return row


def index_check(ctx: SuiteContext, check_id: str) -> CheckResult:
    built = _library(ctx)
    rows = [index_case(built.lib, *case) for case in index_cases(built)[check_id]]
    violations = [f"{r['query']}: no index on {', '.join(r['columns'])}" if r["index"] is None
                  else f"{r['query']}: the plan does not use {r['index']}" for r in rows if not r["index_used"]]
    violations += [f"{r['query']}: results differ with and without the index" for r in rows
                   if r.get("same_result") is False]
    timed = [r for r in rows if "with_ms" in r]
    slowest = max(timed, key=lambda r: r["with_ms"]) if timed else None
    return record(ctx, check_id, slowest["with_ms"] if slowest else None,
                  samples=slowest["with_samples_ms"] if slowest else [], kind="time", violations=violations,
                  details={**library_details(ctx, built), "cases": rows})


_HELPER_SQL = "database.helper_statements"


def db10_plans(ctx: SuiteContext) -> CheckResult:
    """EXPLAIN every statement the repository issued so far in this run, and every read query of the
    repository run once: full scans of tracks. Statements the library's explain helper issues for its own
    setup are listed apart (they are not queries of the repository)."""
    built = _library(ctx)
    lib = built.lib
    helper_sql: set[str] = ctx.shared.setdefault(_HELPER_SQL, set())
    issued = [p for p in lib.explain_issued() if p.sql not in helper_sql]
    rows = []
    for name, plans in lib.explain_repository().items():
        rows += [{"query": name, **row} for row in _plan_rows(plans)]
    repository_sql = {" ".join(p.sql.split())[:300] for p in issued} | {r["sql"] for r in rows}
    for plan in lib.explain_issued():  # what explain_repository issued besides the repository's queries
        if " ".join(plan.sql.split())[:300] not in repository_sql:
            helper_sql.add(plan.sql)
    seen = {r["sql"] for r in rows}
    for row in _plan_rows(issued):
        if row["sql"] not in seen:
            seen.add(row["sql"])
            rows.append({"query": "issued", **row})
    scans = [r for r in rows if "tracks" in r["full_scans"]]
    return record(ctx, "DB-10", float(len(scans)), samples=[float("tracks" in r["full_scans"]) for r in rows],
                  kind="count", details={**library_details(ctx, built), "statements": len(rows),
                                         "full_scans_of_tracks": [r["query"] + ": " + r["sql"] for r in scans],
                                         "other_full_scans": sorted({t for r in rows for t in r["full_scans"]}
                                                                   - {"tracks"}),
                                         "helper_statements_left_out": len(helper_sql),
                                         "plans": rows})


@group("Index", category=CATEGORY, ids=["DB-06", "DB-07", "DB-08", "DB-09", "DB-10"])
def index(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [*((i, lambda c, i=i: index_check(c, i)) for i in ("DB-06", "DB-07", "DB-08", "DB-09")),
                            ("DB-10", db10_plans)])


# ---------------------------------------------------------------------------------------- large dataset

def _scaled_note(ctx: SuiteContext) -> dict[str, str]:
    sizes = scaling_sizes(ctx)
    if sizes == (10_000, 50_000, 100_000):
        return {}
    return {"scaled": f"10k/50k/100k tracks -> {sizes[0]}/{sizes[1]}/{sizes[2]} ({ctx.profile} profile)"}


def scaling_timings(ctx: SuiteContext) -> dict[int, dict[str, Any]]:
    """The DB-01..05 mix on the three libraries of DB-11..13, measured in alternation."""
    return mix_timings(ctx, [_library(ctx, n) for n in scaling_sizes(ctx)])


def _size_record(ctx: SuiteContext, check_id: str, n_tracks: int) -> CheckResult:
    """DB-11/12: the DB-01..05 mix on a library of `n_tracks`; value = the worst median / its bound."""
    built = _library(ctx, n_tracks)
    rows = of_bound(ctx, scaling_timings(ctx)[n_tracks])
    worst = max(rows, key=lambda n: rows[n]["of_bound"])
    return record(ctx, check_id, rows[worst]["of_bound"], samples=rows[worst]["samples_of_bound"], kind="ratio",
                  details={**library_details(ctx, built, scaled=False), **_scaled_note(ctx), "worst": worst,
                           "queries": {n: {k: v for k, v in r.items() if k != "samples_of_bound"}
                                       for n, r in rows.items()}})


def db11_small(ctx: SuiteContext) -> CheckResult:
    return _size_record(ctx, "DB-11", scaling_sizes(ctx)[0])


def db12_medium(ctx: SuiteContext) -> CheckResult:
    return _size_record(ctx, "DB-12", scaling_sizes(ctx)[1])


def db13_growth(ctx: SuiteContext) -> CheckResult:
    """The mix at the largest size, and each query's log-log slope of time against library size (the
    sizes measured in alternation, so load on the machine does not bend the slope)."""
    sizes = scaling_sizes(ctx)
    timings = scaling_timings(ctx)
    largest = _library(ctx, sizes[-1])
    queries = list(timings[sizes[0]])
    slopes = {q: loglog_slope(sizes, [timings[n][q].median for n in sizes]) for q in queries}
    rounds = [max(per) for per in zip(*(per_round_slopes(sizes, [timings[n][q].samples for n in sizes])
                                       for q in INDEXED))]
    worst = max(INDEXED, key=lambda q: slopes[q])
    at_largest = of_bound(ctx, timings[sizes[-1]])
    return record(ctx, "DB-13", slopes[worst], samples=rounds, kind="ratio", details={
        **library_details(ctx, largest, scaled=False), **_scaled_note(ctx), "sizes": list(sizes),
        "indexed": list(INDEXED), "worst_indexed": worst, "slopes": slopes,
        "median_ms": {q: [timings[n][q].median * 1e3 for n in sizes] for q in queries},
        "of_bound_at_largest": {q: r["of_bound"] for q, r in at_largest.items()},
        "builds": {n: _library(ctx, n).build for n in sizes}})


def db14_pagination(ctx: SuiteContext) -> CheckResult:
    """Pages of 50 at growing depth in the largest library: OFFSET against keyset (cursor) pagination."""
    built = _library(ctx, scaling_sizes(ctx)[-1])
    repo, n = built.lib.repo, built.n_tracks
    positions = sorted({min(n - PAGE, int(f * n)) for f in ctx.sizes(SIZES)["depths"]})
    rows = []
    for position in positions:
        cursor = repo.cursor_at(position, sort="title") if position > 0 else None
        offset = measure_time(lambda p=position: repo.list_tracks(sort="title", limit=PAGE, offset=p),
                              warmup=1, repeat=5, min_time=0.0, max_time=1.0)
        keyset = measure_time(lambda c=cursor: repo.list_tracks(sort="title", limit=PAGE, after=c),
                              warmup=1, repeat=5, min_time=0.0, max_time=1.0)
        same = (repo.list_tracks(sort="title", limit=PAGE, offset=position).items
                == repo.list_tracks(sort="title", limit=PAGE, after=cursor).items)
        rows.append({"position": position, "offset_ms": offset.median * 1e3, "keyset_ms": keyset.median * 1e3,
                     "offset_samples_ms": [s * 1e3 for s in offset.samples],
                     "keyset_samples_ms": [s * 1e3 for s in keyset.samples], "same_page": same})
    deep = [r for r in rows if r["position"] > 0]
    xs = [r["position"] + PAGE for r in deep]
    keyset_slope = loglog_slope(xs, [r["keyset_ms"] for r in deep])
    offset_slope = loglog_slope(xs, [r["offset_ms"] for r in deep])
    rounds = per_round_slopes(xs, [r["keyset_samples_ms"] for r in deep])
    violations = [f"keyset and OFFSET pages differ at position {r['position']}" for r in rows if not r["same_page"]]
    deepest = rows[-1]
    deepest_cursor = repo.cursor_at(deepest["position"], sort="title")
    plans = {"offset": _plan_rows(built.lib.plans(lambda: repo.list_tracks(sort="title", limit=PAGE,
                                                                            offset=deepest["position"]))),
             "keyset": _plan_rows(built.lib.plans(lambda: repo.list_tracks(sort="title", limit=PAGE,
                                                                            after=deepest_cursor)))}
    return record(ctx, "DB-14", keyset_slope, samples=rounds, kind="ratio", violations=violations, details={
        **library_details(ctx, built, scaled=False), **_scaled_note(ctx), "depths": rows, "keyset_slope": keyset_slope,
        "offset_slope": offset_slope,
        "deepest_offset_over_keyset": deepest["offset_ms"] / deepest["keyset_ms"] if deepest["keyset_ms"] else None,
        "plans_at_deepest": plans})


def db15_sorting(ctx: SuiteContext) -> CheckResult:
    """Ordered listings by title and by artist in the largest library: first and middle page, plans."""
    built = _library(ctx, scaling_sizes(ctx)[-1])
    lib, repo = built.lib, built.lib.repo
    rows, violations = [], []
    for sort, columns in (("title", ("title",)), ("artist", ("artist_sort",))):
        middle = repo.cursor_at(built.n_tracks // 2, sort=sort)
        for page, after in (("first", None), ("middle", middle)):
            timing = measure_time(lambda s=sort, a=after: repo.list_tracks(sort=s, limit=PAGE, after=a),
                                  warmup=1, repeat=7, min_time=0.05, max_time=1.0)
            plans = lib.plans(lambda s=sort, a=after: repo.list_tracks(sort=s, limit=PAGE, after=a))
            index = find_index(lib, columns)
            main = plans[0] if plans else None
            used = bool(main and index and main.uses_index(index) and not main.temp_btree)
            if not used:
                violations.append(f"sort by {sort} ({page} page) is not served by an index"
                                  + (f" ({index})" if index else ""))
            rows.append({"sort": sort, "page": page, "median_ms": timing.median * 1e3,
                         "samples_ms": [s * 1e3 for s in timing.samples], "index": index, "index_used": used,
                         "plan": _plan_rows(plans)})
    title_index = find_index(lib, ("title",))
    without = None
    if title_index:
        def first_page(repo: Any) -> Any:
            return repo.list_tracks(sort="title", limit=PAGE)

        with lib.without_index() as indexed, lib.without_index(title_index) as bare:
            comparison = compare_paths(lambda: first_page(indexed), lambda: first_page(bare), rounds=5,
                                       tolerance=0.0)
            without = {"index_dropped": title_index, "median_ms": comparison.plain.median * 1e3,
                       "with_index_ms": comparison.fast.median * 1e3, "speedup": comparison.speedup,
                       "same_result": comparison.within_tolerance, "plan": _plan_rows(bare.plans(first_page, bare))}
    slowest = max(rows, key=lambda r: r["median_ms"])
    return record(ctx, "DB-15", slowest["median_ms"], samples=slowest["samples_ms"], kind="time",
                  violations=violations, details={**library_details(ctx, built, scaled=False), **_scaled_note(ctx),
                                                  "listings": rows, "first_title_page_without_index": without})


@group("Large dataset", category=CATEGORY, ids=["DB-11", "DB-12", "DB-13", "DB-14", "DB-15"])
def large_dataset(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("DB-11", db11_small), ("DB-12", db12_medium), ("DB-13", db13_growth),
                            ("DB-14", db14_pagination), ("DB-15", db15_sorting)])


# ----------------------------------------------------------------------------------------- optimization

LOADS = ("joined", "selectin", "lazy")
EAGER = "joined"  # the repository's default listing


def listing_loads(ctx: SuiteContext) -> dict[str, Any]:
    """Statements and time of a listing of 500 tracks with album and artist, per loading strategy."""
    cache = ctx.shared.setdefault("database.listing_loads", {})
    built = _library(ctx)
    if built.n_tracks in cache:
        return cache[built.n_tracks]
    lib, repo = built.lib, built.lib.repo
    size = ctx.sizes(SIZES)["listing"]
    offsets = [int(f * max(0, built.n_tracks - size)) for f in ctx.sizes({"smoke": (0.0, 0.5, 0.9),
                                                                         "standard": (0.0, 0.25, 0.5, 0.75, 0.9),
                                                                         "full": (0.0, 0.25, 0.5, 0.75, 0.9)})]
    counts: dict[str, list[int]] = {load: [] for load in LOADS}
    for offset in offsets:
        for load in LOADS:
            with lib.statements.count() as block:
                repo.list_tracks(sort="title", limit=size, offset=offset, load=load)
            counts[load].append(block.count)
    listing = {load: (lambda l=load: repo.list_tracks(sort="title", limit=size, load=l)) for load in LOADS}
    rounds = ctx.sizes(SIZES)["load_rounds"]
    comparison = compare_paths(listing[EAGER], listing["lazy"], rounds=rounds, tolerance=0.0)
    selectin = measure_time(listing["selectin"], warmup=1, repeat=rounds, min_time=0.0, max_time=1.0)
    cache[built.n_tracks] = result = {"built": built, "size": size, "offsets": offsets, "statements": counts,
                                      "eager_vs_lazy": comparison, "selectin": selectin}
    return result


def db16_statements(ctx: SuiteContext) -> CheckResult:
    loads = listing_loads(ctx)
    counts = loads["statements"]
    return record(ctx, "DB-16", float(max(counts[EAGER])), samples=[float(c) for c in counts[EAGER]], kind="count",
                  details={**library_details(ctx, loads["built"]), "tracks_listed": loads["size"],
                           "offsets": loads["offsets"], "eager_load": EAGER,
                           "statements": {load: c for load, c in counts.items()}})


def db17_eager(ctx: SuiteContext) -> CheckResult:
    loads = listing_loads(ctx)
    comparison, selectin = loads["eager_vs_lazy"], loads["selectin"]
    violations = [] if comparison.within_tolerance else ["eager and lazy listings return different tracks"]
    return record(ctx, "DB-17", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  violations=violations, details={
                      **library_details(ctx, loads["built"]), "tracks_listed": loads["size"],
                      "median_ms": {EAGER: comparison.fast.median * 1e3, "lazy": comparison.plain.median * 1e3,
                                    "selectin": selectin.median * 1e3},
                      "statements": {load: max(c) for load, c in loads["statements"].items()},
                      "eager_vs_lazy": comparison.row(),
                      "selectin_speedup": comparison.plain.median / selectin.median})


def db18_result_cache(ctx: SuiteContext) -> CheckResult:
    """The DB-01..05 calls through the repository's caches (warm) against the database, interleaved."""
    built = _library(ctx)
    rng = np.random.default_rng(18)
    model = built.model
    ops = [("get_track", {"track_id": model.track_id(rng)}) for _ in range(10)]
    ops += [("list_tracks", {"artist_id": model.artist(rng).id, "sort": "title", "limit": PAGE}) for _ in range(10)]
    ops += [("count_by_genre", {}), ("count_by_year", {})]
    ops += [("search", {"text": model.word(rng)}) for _ in range(10)]
    ops += [("list_tracks", {"sort": "title", "limit": PAGE, "offset": built.n_tracks // 2})]
    comparison, details = cached_against_uncached(built.lib, ops)
    return record(ctx, "DB-18", comparison.speedup, samples=comparison.speedups, kind="ratio",
                  violations=equality_violations(comparison), details={**library_details(ctx, built), **details,
                                                  "queries": sorted({op[0] for op in ops})})


def db19_bulk_import(ctx: SuiteContext) -> CheckResult:
    """Bulk (batched) import against row-by-row import (one transaction per row) into fresh libraries."""
    require(ctx, Capability.LIBRARY)
    size = ctx.sizes(SIZES)
    folder = ctx.workdir / "library" / "import"
    folder.mkdir(parents=True, exist_ok=True)
    rounds = []
    for i in range(size["import_rounds"]):
        bulk = _timed_import(ctx, folder / f"bulk-{i}.db", size["bulk_rows"], seed=100 + i, bulk=True)
        single = _timed_import(ctx, folder / f"rows-{i}.db", size["row_rows"], seed=200 + i, bulk=False)
        rounds.append({"bulk_rows_per_s": bulk, "row_rows_per_s": single, "speedup": bulk / single})
    speedups = [r["speedup"] for r in rounds]
    details: dict[str, Any] = {"rounds": rounds, "bulk_rows": size["bulk_rows"], "row_rows": size["row_rows"],
                               "bulk_rows_per_s": statistics.median(r["bulk_rows_per_s"] for r in rounds),
                               "row_rows_per_s": statistics.median(r["row_rows_per_s"] for r in rounds),
                               "row_by_row": "one INSERT and commit per track (ORM)"}
    builds = {key[1]: b.build for key, b in ctx.shared.get("library.built", {}).items() if key[0] == "read"}
    if builds:
        details["library_builds"] = builds  # the bulk imports that built this run's libraries
    return record(ctx, "DB-19", statistics.median(speedups), samples=speedups, kind="ratio", details=details)


def _timed_import(ctx: SuiteContext, path: Any, rows: int, *, seed: int, bulk: bool) -> float:
    """Rows per second of importing `rows` generated tracks into a new library at `path`."""
    remove_library_files(path)
    lib = open_library(ctx, path)
    try:
        items = lib.generate(rows, seed=seed)
        started = time.perf_counter()
        report = lib.import_tracks(items) if bulk else lib.import_tracks_row_by_row(items)
        elapsed = time.perf_counter() - started
        if report.tracks != rows:
            raise RuntimeError(f"{path}: imported {report.tracks} of {rows} tracks")
        return rows / elapsed
    finally:
        lib.close()
        remove_library_files(path)


def _reader(lib: Any, ops: list[Callable[[Any], Any]], barrier: threading.Barrier, latencies: list[float],
            errors: list[str]) -> None:
    try:
        barrier.wait()
        for op in ops:
            started = time.perf_counter()
            op(lib.repo)
            latencies.append(time.perf_counter() - started)
    except Exception as exc:  # reported in the record, never lost in a thread
        errors.append(f"{type(exc).__name__}: {exc}")


def db20_pool(ctx: SuiteContext) -> CheckResult:
    """More concurrent readers than the pool holds: checkouts, waits, overflow, connections left open."""
    built = _library(ctx)
    lib, model = built.lib, built.model
    size = ctx.sizes(SIZES)
    first = lib.pool.stats()
    bound = first["size"] + first["max_overflow"]
    threads_n = bound + 2
    rounds, leaked, latencies = [], [], []
    for r in range(size["pool_rounds"]):
        rng = np.random.default_rng(2000 + r)
        lib.pool.reset()
        barrier = threading.Barrier(threads_n)
        per_thread: list[list[float]] = [[] for _ in range(threads_n)]
        errors: list[str] = []
        workers = []
        for t in range(threads_n):
            ops = []
            for _ in range(size["pool_reads"]):
                choice = rng.random()
                if choice < 0.5:
                    tid = model.track_id(rng)
                    ops.append(lambda repo, tid=tid: repo.get_track(tid))
                elif choice < 0.8:
                    aid = model.artist(rng).id
                    ops.append(lambda repo, aid=aid: repo.list_tracks(artist_id=aid, sort="title", limit=PAGE))
                else:
                    word = model.word(rng)
                    ops.append(lambda repo, word=word: repo.search(word, limit=PAGE))
            workers.append(threading.Thread(target=_reader, args=(lib, ops, barrier, per_thread[t], errors),
                                            name=f"db20-reader-{t}"))
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - started
        stats = lib.pool.stats()
        leaked.append(float(stats["checked_out"]))
        latencies += [x for lat in per_thread for x in lat]
        rounds.append({**stats, "threads": threads_n, "reads": sum(len(l) for l in per_thread), "wall_s": wall,
                       "errors": errors[:5]})
    violations = []
    if any(r["peak_checked_out"] > bound for r in rounds):
        violations.append(f"more than size + max_overflow = {bound} connections were checked out at once")
    if any(r["errors"] for r in rounds):
        violations.append(f"readers failed: {rounds[-1]['errors'] or next(r['errors'] for r in rounds if r['errors'])}")
    if rounds[-1]["connections_open"] > bound:
        violations.append(f"{rounds[-1]['connections_open']} connections open after the readers finished")
    lat_ms = np.array(latencies) * 1e3 if latencies else np.array([0.0])
    return record(ctx, "DB-20", max(leaked), samples=leaked, kind="count", violations=violations, details={
        **library_details(ctx, built), "pool_size": first["size"], "max_overflow": first["max_overflow"],
        "threads": threads_n, "rounds": rounds,
        "read_ms": {"median": float(np.median(lat_ms)), "p95": float(np.percentile(lat_ms, 95)),
                    "max": float(lat_ms.max())},
        "read_ms_histogram": np.histogram(lat_ms, bins=20)[0].tolist(),
        "read_ms_edges": np.histogram(lat_ms, bins=20)[1].tolist()})


@group("Optimization", category=CATEGORY, ids=["DB-16", "DB-17", "DB-18", "DB-19", "DB-20"])
def optimization(ctx: SuiteContext) -> list[CheckResult]:
    return run_checks(ctx, [("DB-16", db16_statements), ("DB-17", db17_eager), ("DB-18", db18_result_cache),
                            ("DB-19", db19_bulk_import), ("DB-20", db20_pool)])


__all__ = ["find_index", "index_case", "index_cases", "listing_loads", "query_time", "index", "large_dataset",
           "optimization"]
