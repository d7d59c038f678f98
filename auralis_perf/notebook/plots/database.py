"""Plots and query-plan tables of the database notebook (DB-01..DB-20), from the records' details.

Each plot function takes the notebook's `NotebookRun` and returns the matplotlib Figure (a plot never
raises; a check without a value is named on its panel). The `*_html` functions return HTML tables of
query plans (`EXPLAIN QUERY PLAN` text, the index used, time with and without it); `show_*` display them.
"""
from __future__ import annotations

import html
from typing import Any

import numpy as np

from auralis_perf.notebook.helper import TIER_COLOURS, NotebookRun
from auralis_perf.notebook.plots.common import bound_line, never_raises, note_missing, record, usable
from auralis_perf.report.formatting import STATUS_COLOURS

BLUE, GREY, ORANGE = "#0969da", "#6e7781", "#bc4c00"


def _plain_log(ax: Any) -> None:
    """Log axes labelled with plain numbers (1000, 0.5) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
QUERY_LABELS = {"get_by_id": "by id", "get_by_path": "by path", "artist_page": "artist page",
                "aggregations": "aggregations", "search": "text search", "keyset_middle": "keyset page",
                "offset_middle": "OFFSET page"}


@never_raises
def plot_query_times(run: NotebookRun):
    """DB-01..05: median time of each query (points: samples) with each check's bound."""
    fig, ax = run.figure()
    labelled: set[str] = set()
    x = 0
    ticks = []
    for cid in ("DB-01", "DB-02", "DB-03", "DB-04", "DB-05"):
        r = record(run, cid)
        if not usable(r):
            continue
        start = x
        for name, q in r.details["queries"].items():
            judged = not name.startswith("offset")
            ax.bar(x, q["median_ms"], color=STATUS_COLOURS[r.status] if judged else GREY, alpha=0.7, width=0.7)
            ax.plot([x] * len(q["samples_ms"]), q["samples_ms"], ".", color="black", alpha=0.4, ms=3)
            ax.annotate(f"{q['median_ms']:.2f}", (x, q["median_ms"]), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=6)
            ticks.append((x, f"{cid}\n{QUERY_LABELS.get(name, name)}"))
            x += 1
        bound_line(run, ax, cid, (start - 0.4, x - 0.6), labelled=labelled)
    if ticks:
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=6)
    ax.set_yscale("log")
    _plain_log(ax)
    ax.set_ylabel("ms (median, log; points are samples)")
    ax.set_title("Query times at the profile's library size (grey: OFFSET, shown for comparison)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    note_missing(ax, [(c, record(run, c)) for c in ("DB-01", "DB-02", "DB-03", "DB-04", "DB-05")])
    return fig


@never_raises
def plot_index_effect(run: NotebookRun):
    """DB-06..09: each query's time with its index and on a connection where the index is dropped."""
    fig, ax = run.figure()
    cases = []
    for cid in ("DB-06", "DB-07", "DB-08", "DB-09"):
        r = record(run, cid)
        for case in (r.details.get("cases", []) if r else []):
            if "with_ms" in case:
                cases.append((cid, case))
    width = 0.27
    labelled: set[str] = set()

    def bar(x: float, value: float, colour: str, label: str) -> None:
        ax.bar(x, value, width, color=colour, alpha=0.8, label=None if label in labelled else label)
        labelled.add(label)

    for i, (cid, case) in enumerate(cases):
        bar(i - width, case["with_ms"], BLUE if case["index_used"] else ORANGE, "with the index")
        bar(i, case["without_ms"], GREY, "that index dropped")
        top = max(case["with_ms"], case["without_ms"])
        if "without_any_ms" in case:
            bar(i + width, case["without_any_ms"], "#24292f", "every index on the column dropped")
            top = max(top, case["without_any_ms"])
        speedup = case.get("speedup_over_no_index", case["speedup"])
        ax.annotate(f"{speedup:.1f}x", (i, top), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(range(len(cases)), [f"{cid}\n{case['query']}"[:40] for cid, case in cases], fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("ms (median, log)")
    ax.set_title("Time with and without the index (label: speedup over no index on the column; "
                 "orange: plan did not use it)", fontsize=8)
    _plain_log(ax)
    if cases:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    note_missing(ax, [(c, record(run, c)) for c in ("DB-06", "DB-07", "DB-08", "DB-09")])
    return fig


def _plan_cell(plan_rows: list[dict[str, Any]]) -> str:
    return "<br>".join(f"<pre style='margin:0'>{html.escape(row['plan'])}</pre>" for row in plan_rows)


def index_plans_html(run: NotebookRun) -> str:
    """DB-06..09 (and DB-15): the query, the index, whether the plan uses it, both plans and times."""
    rows = []
    for cid in ("DB-06", "DB-07", "DB-08", "DB-09"):
        r = record(run, cid)
        for case in (r.details.get("cases", []) if r else []):
            rows.append([cid, case["query"], case.get("index") or "none", "yes" if case["index_used"] else "NO",
                         f"{case['with_ms']:.3f}" if "with_ms" in case else "", _plan_cell(case.get("plan", [])),
                         f"{case['without_ms']:.3f}" if "without_ms" in case else "",
                         _plan_cell(case.get("plan_without", [])),
                         f"{case['without_any_ms']:.3f}" if "without_any_ms" in case else "",
                         _plan_cell(case.get("plan_without_any", []))])
    r15 = record(run, "DB-15")
    for listing in (r15.details.get("listings", []) if r15 else []):
        rows.append(["DB-15", f"sort by {listing['sort']}, {listing['page']} page", listing.get("index") or "none",
                     "yes" if listing["index_used"] else "NO", f"{listing['median_ms']:.3f}",
                     _plan_cell(listing["plan"]), "", "", "", ""])
    if r15 is not None and r15.details.get("first_title_page_without_index"):
        without = r15.details["first_title_page_without_index"]
        rows.append(["DB-15", "sort by title, first page (own connections)", without["index_dropped"], "dropped",
                     f"{without.get('with_index_ms', float('nan')):.3f}", "", f"{without['median_ms']:.3f}",
                     _plan_cell(without["plan"]), "", ""])
    head = ["check", "query", "index", "used", "ms with", "plan with the index", "ms, index dropped",
            "plan without it", "ms, no index on the column", "plan without any"]
    return _table(head, rows, escape_columns={0, 1, 2, 3, 4, 6, 8})


def repository_plans_html(run: NotebookRun) -> str:
    """DB-10: every statement's plan; full scans of tracks first."""
    r = record(run, "DB-10")
    if r is None or "plans" not in r.details:
        return "<p>DB-10 has no plans to show.</p>"
    plans = sorted(r.details["plans"], key=lambda p: ("tracks" not in p["full_scans"], p["query"]))
    rows = [[p["query"], p["sql"], ", ".join(p["indexes"]) or "none", ", ".join(p["full_scans"]) or "",
             "yes" if p["temp_btree"] else "", _plan_cell([p])] for p in plans]
    return _table(["query", "SQL", "indexes", "full scans", "sorts", "plan"], rows, escape_columns={0, 1, 2, 3, 4})


def _table(head: list[str], rows: list[list[str]], *, escape_columns: set[int]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td style='text-align:left;vertical-align:top'>"
                         f"{html.escape(str(c)) if i in escape_columns else c}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows)
    header = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in head)
    return f"<table class='ap-plans'><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>"


def show_index_plans(run: NotebookRun) -> None:
    from IPython.display import HTML, display

    display(HTML(index_plans_html(run)))


def show_repository_plans(run: NotebookRun) -> None:
    from IPython.display import HTML, display

    display(HTML(repository_plans_html(run)))


@never_raises
def plot_scaling(run: NotebookRun):
    """DB-13: each query's median time against library size, log-log, with its fitted slope;
    DB-14: a page of 50 by depth, OFFSET against keyset."""
    fig, (ax_size, ax_depth) = run.figure(nrows=2, width=8.0)
    r13 = record(run, "DB-13")
    if usable(r13):
        d = r13.details
        sizes = d["sizes"]
        for name, medians in d["median_ms"].items():
            indexed = name in d["indexed"]
            ax_size.plot(sizes, medians, "-o" if indexed else "--.", ms=4, alpha=0.85,
                         label=f"{QUERY_LABELS.get(name, name)}: slope {d['slopes'][name]:.2f}")
        ax_size.set_xscale("log")
        ax_size.set_yscale("log")
        ax_size.set_xticks(sizes, [f"{s // 1000}k" if s >= 1000 else str(s) for s in sizes])
        _plain_log(ax_size)
        ax_size.set_xticks(sizes, [f"{s // 1000}k" if s >= 1000 else str(s) for s in sizes])
        ax_size.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax_size.set_title(f"Time against library size (DB-13: worst indexed slope {r13.value:.2f}, target < 0.3)",
                          fontsize=8)
    ax_size.set_xlabel("tracks (log)")
    ax_size.set_ylabel("ms (median, log)")
    note_missing(ax_size, [("DB-13", r13)])

    r14 = record(run, "DB-14")
    if usable(r14):
        rows = [row for row in r14.details["depths"] if row["position"] > 0]
        xs = [row["position"] for row in rows]
        ax_depth.plot(xs, [row["offset_ms"] for row in rows], "-o", color=GREY, ms=4,
                      label=f"OFFSET: slope {r14.details['offset_slope']:.2f}")
        ax_depth.plot(xs, [row["keyset_ms"] for row in rows], "-o", color=BLUE, ms=4,
                      label=f"keyset: slope {r14.value:.2f}")
        ax_depth.set_xscale("log")
        ax_depth.set_yscale("log")
        _plain_log(ax_depth)
        ax_depth.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax_depth.set_title(f"Page of 50 by depth, {r14.details['library_tracks']} tracks (DB-14)", fontsize=8)
    ax_depth.set_xlabel("rows skipped (log)")
    ax_depth.set_ylabel("ms (median, log)")
    note_missing(ax_depth, [("DB-14", r14)])
    return fig


@never_raises
def plot_sizes(run: NotebookRun):
    """DB-11, DB-12 and the largest size: every query's median as a share of its bound."""
    fig, ax = run.figure()
    series = []
    for cid in ("DB-11", "DB-12"):
        r = record(run, cid)
        if usable(r):
            series.append((f"{cid}: {r.details['library_tracks']} tracks",
                           {q: v["of_bound"] for q, v in r.details["queries"].items()}))
    r13 = record(run, "DB-13")
    if usable(r13):
        series.append((f"DB-13: {r13.details['sizes'][-1]} tracks", r13.details["of_bound_at_largest"]))
    if series:
        queries = list(series[0][1])
        width = 0.8 / len(series)
        for j, (label, values) in enumerate(series):
            ax.bar(np.arange(len(queries)) + j * width, [values.get(q, 0.0) for q in queries], width, alpha=0.8,
                   label=label)
        ax.set_xticks(np.arange(len(queries)) + 0.4 - width / 2, [QUERY_LABELS.get(q, q) for q in queries],
                      fontsize=7)
        ax.axhline(1.0, color=TIER_COLOURS["target"], linestyle="--", label="bound")
        ax.legend(fontsize=7)
    ax.set_ylabel("median / bound")
    ax.set_title("The DB-01..05 mix at each library size, as a share of each query's bound", fontsize=8)
    note_missing(ax, [(c, record(run, c)) for c in ("DB-11", "DB-12", "DB-13")])
    return fig


@never_raises
def plot_optimization(run: NotebookRun):
    """DB-16/17 statements and time per loading strategy, DB-19 import rates, DB-20 read latencies."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax_statements, ax_load), (ax_import, ax_pool) = axes

    r16, r17 = record(run, "DB-16"), record(run, "DB-17")
    if usable(r16):
        counts = {load: max(c) for load, c in r16.details["statements"].items()}
        loads = list(counts)
        ax_statements.bar(range(len(loads)), [counts[l] for l in loads],
                          color=[BLUE if counts[l] <= 3 else ORANGE for l in loads], alpha=0.8)
        for i, l in enumerate(loads):
            ax_statements.annotate(str(counts[l]), (i, counts[l]), textcoords="offset points", xytext=(0, 3),
                                   ha="center", fontsize=7)
        ax_statements.set_xticks(range(len(loads)), loads)
        ax_statements.set_yscale("log")
        ax_statements.axhline(3, color=TIER_COLOURS["target"], linestyle="--", label="target ≤ 3")
        ax_statements.legend(fontsize=7)
        ax_statements.set_title(f"Statements to list {r16.details['tracks_listed']} tracks (DB-16)", fontsize=8)
    ax_statements.set_ylabel("SQL statements (log)")
    note_missing(ax_statements, [("DB-16", r16)])

    if usable(r17):
        medians = r17.details["median_ms"]
        loads = list(medians)
        ax_load.bar(range(len(loads)), [medians[l] for l in loads], color=[BLUE, GREY, GREY][:len(loads)], alpha=0.8)
        for i, l in enumerate(loads):
            ax_load.annotate(f"{medians[l]:.1f} ms", (i, medians[l]), textcoords="offset points", xytext=(0, 3),
                             ha="center", fontsize=7)
        ax_load.set_xticks(range(len(loads)), loads)
        ax_load.set_title(f"Time of that listing: {r17.value:.1f}x selectin loading's (DB-17)", fontsize=8)
    ax_load.set_ylabel("ms (median)")
    note_missing(ax_load, [("DB-17", r17)])

    r19 = record(run, "DB-19")
    if usable(r19):
        d = r19.details
        rates = [d["bulk_rows_per_s"], d["row_rows_per_s"]]
        ax_import.bar([0, 1], rates, color=[BLUE, GREY], alpha=0.8)
        for i, v in enumerate(rates):
            ax_import.annotate(f"{v:,.0f}/s", (i, v), textcoords="offset points", xytext=(0, 3), ha="center",
                               fontsize=7)
        ax_import.set_yscale("log")
        ax_import.set_xticks([0, 1], [f"bulk ({d['bulk_rows']} rows)", f"row by row ({d['row_rows']} rows)"])
        ax_import.set_title(f"Import rate: bulk {r19.value:.0f}x row-by-row (DB-19)", fontsize=8)
    ax_import.set_ylabel("tracks per second (log)")
    note_missing(ax_import, [("DB-19", r19)])

    r20 = record(run, "DB-20")
    if usable(r20):
        d = r20.details
        edges, counts = d["read_ms_edges"], d["read_ms_histogram"]
        ax_pool.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=BLUE, alpha=0.75)
        last = d["rounds"][-1]
        waits = f"{last['waits']} waits, " if "waits" in last else ""  # pool-event figures have no wait count
        ax_pool.set_title(f"{d['threads']} readers, pool {d['pool_size']}+{d['max_overflow']}: "
                          f"{waits}p95 read {d['read_ms']['p95']:.1f} ms, peak {last['peak_checked_out']} out, "
                          f"{int(r20.value)} leaked (DB-20)", fontsize=8)
    ax_pool.set_xlabel("read latency (ms)")
    ax_pool.set_ylabel("reads")
    note_missing(ax_pool, [("DB-20", r20)])
    return fig


def pool_table_html(run: NotebookRun) -> str:
    """DB-20: the pool's figures per round."""
    r = record(run, "DB-20")
    if r is None or "rounds" not in r.details:
        return "<p>DB-20 has no pool figures.</p>"
    keys = ["threads", "reads", "checkouts", "checkins", "peak_checked_out", "checked_out", "connections_opened",
            "connections_open", "wall_s"]
    rows = [[f"{row.get(k):.4g}" if isinstance(row.get(k), float) else str(row.get(k)) for k in keys]
            for row in r.details["rounds"]]
    return _table(keys, rows, escape_columns=set(range(len(keys))))


def show_pool_table(run: NotebookRun) -> None:
    from IPython.display import HTML, display

    display(HTML(pool_table_html(run)))


__all__ = ["index_plans_html", "plot_index_effect", "plot_optimization", "plot_query_times", "plot_scaling",
           "plot_sizes", "pool_table_html", "repository_plans_html", "show_index_plans", "show_pool_table",
           "show_repository_plans"]
