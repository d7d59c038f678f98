"""Plots of the memory notebook (MEM-01..MEM-20), drawn from the records' values, samples and details.

Each function takes the notebook's `NotebookRun` and returns the matplotlib Figure; a check that was
skipped or failed to run is named on its panel with the reason, and a plot never raises.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from auralis_perf.notebook.helper import TIER_COLOURS, NotebookRun
from auralis_perf.notebook.plots.common import bound_line, never_raises, note_missing, record, usable
from auralis_perf.report.formatting import STATUS_COLOURS

BLUE, GREY, ORANGE = "#0969da", "#6e7781", "#bc4c00"


def _series(ax: Any, series: dict[str, list[float]] | None, **style: Any) -> None:
    if series and series.get("t_s"):
        ax.plot(series["t_s"], series["mb"], **style)


@never_raises
def plot_baseline(run: NotebookRun):
    """MEM-01..05: the footprints as bars; RSS over the N-track session with the retained line and slope."""
    fig, (ax_bars, ax_run) = run.figure(ncols=2)
    ids = ("MEM-01", "MEM-02", "MEM-04", "MEM-05")
    names = {"MEM-01": "idle engine\n(own RSS)", "MEM-02": "one track\n(peak above)", "MEM-04": "N tracks\n(peak above)",
             "MEM-05": "left after\n(RSS)"}
    recs = [(cid, record(run, cid)) for cid in ids]
    labelled: set[str] = set()
    for i, (cid, r) in enumerate(recs):
        if usable(r):
            ax_bars.bar(i, r.value, color=STATUS_COLOURS[r.status], alpha=0.75, width=0.6)
            ax_bars.annotate(f"{r.value:.1f} MB", (i, r.value), textcoords="offset points", xytext=(0, 3),
                             ha="center", fontsize=7)
        bound_line(run, ax_bars, cid, (i - 0.4, i + 0.4), labelled=labelled)
    r01 = record(run, "MEM-01")
    if usable(r01) and "total_rss_mb" in r01.details:  # the whole process, its libraries included
        ax_bars.bar(0, r01.details["total_rss_mb"], color="white", edgecolor=BLUE, hatch="//", width=0.6,
                    label="whole idle process (RSS)", zorder=0)
    ax_bars.set_xticks(range(len(ids)), [f"{cid}\n{names[cid]}" for cid in ids], fontsize=7)
    ax_bars.set_yscale("symlog", linthresh=10)
    ax_bars.set_ylabel("MB")
    ax_bars.set_title("Memory baseline (MEM-01, 02, 04, 05)")
    ax_bars.legend(fontsize=7)
    note_missing(ax_bars, recs)

    r03, r04 = record(run, "MEM-03"), record(run, "MEM-04")
    if usable(r04):
        _series(ax_run, r04.details.get("series"), color=BLUE, linewidth=0.8, label="RSS (sampled)")
        before = r04.details["before_mb"]
        ax_run.axhline(before, color=GREY, linestyle=":", label=f"before: {before:.0f} MB")
        ax_run.axhline(r04.details["peak_mb"], color=STATUS_COLOURS[r04.status], linestyle="--",
                       label=f"peak: +{r04.value:.1f} MB (target < +200)")
        ax_run.set_xlabel("seconds into the session (tracks back to back)")
        ax_run.set_ylabel("RSS (MB)")
    if usable(r03):
        fit = r03.details["fit"]
        ax_run.set_title(f"{r03.details['tracks'][-1]} tracks in one session (MEM-03/04): "
                         f"{fit['slope'] * 1024:.0f} KB/track retained "
                         f"[{fit['ci_low'] * 1024:.0f}, {fit['ci_high'] * 1024:.0f}]", fontsize=8)
    ax_run.legend(fontsize=7)
    note_missing(ax_run, [("MEM-03", r03), ("MEM-04", r04)])
    return fig


@never_raises
def plot_leaks(run: NotebookRun):
    """MEM-06 slope over cycles, MEM-07 RSS during the batch, MEM-09 caches against bound, MEM-10 allocations."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax06, ax07), (ax09, ax10) = axes

    r06 = record(run, "MEM-06")
    if usable(r06):
        d = r06.details
        every = d["every_cycle_mb"]
        ax06.plot(range(1, len(every) + 1), every, color=GREY, linewidth=0.6, alpha=0.7, label="RSS after each cycle")
        ax06.plot(d["checkpoints"]["cycle"], d["checkpoints"]["mb"], "o", color=BLUE, ms=4,
                  label="after garbage collection")
        fit = d["fit_per_cycle_mb"]
        x = np.array([0, d["cycles"]])
        ax06.plot(x, fit["intercept"] + fit["slope"] * x, color=STATUS_COLOURS[r06.status],
                  label=f"fit: {r06.value:.2f} MB/1000 [{d['ci_per_1000_mb'][0]:.2f}, {d['ci_per_1000_mb'][1]:.2f}]")
        ax06.set_xlabel("cycle")
        ax06.legend(fontsize=7)
    ax06.set_ylabel("RSS (MB)")
    ax06.set_title("Repeated cycles (MEM-06)")
    note_missing(ax06, [("MEM-06", r06)])

    r07 = record(run, "MEM-07")
    if usable(r07):
        _series(ax07, r07.details.get("series"), color=BLUE, linewidth=0.8)
        ax07.set_xlabel("seconds (batches back to back)")
        ax07.set_title(f"RSS during {r07.details['batch_repeats']} batches of {r07.details['batch_items']} tracks "
                       f"(MEM-07): {r07.value:+.1f} MB left", fontsize=8)
    else:
        ax07.set_title("RSS during the batch (MEM-07)")
    ax07.set_ylabel("RSS (MB)")
    note_missing(ax07, [("MEM-07", r07)])

    r09 = record(run, "MEM-09")
    if usable(r09):
        caches = [c for c in r09.details["caches"] if c.get("of_bound") is not None]  # measured ones
        ax09.barh(range(len(caches)), [c["of_bound"] for c in caches],
                  color=[STATUS_COLOURS["fail"] if c["of_bound"] > 1 else BLUE for c in caches], alpha=0.75)
        ax09.axvline(1.0, color=TIER_COLOURS["target"], linestyle="--", label="bound")
        ax09.set_yticks(range(len(caches)), [c["cache"] for c in caches], fontsize=7)
        ax09.set_xlabel("size / configured bound (entries or bytes, the larger)")
        ax09.legend(fontsize=7)
    ax09.set_title("Caches, audio cache and buffer pool filled past their bounds (MEM-09)", fontsize=8)
    note_missing(ax09, [("MEM-09", r09)])

    r10 = record(run, "MEM-10")
    if usable(r10):
        ax10.plot(range(1, len(r10.samples) + 1), r10.samples, ".", color=BLUE, ms=3, label="high-water per chunk")
        retained = r10.details.get("retained_bytes_per_chunk") or []
        ax10.plot(range(1, len(retained) + 1), retained, ".", color=ORANGE, ms=3, label="retained per chunk")
        bound_line(run, ax10, "MEM-10", (1, max(2, len(r10.samples))), labelled=set())
        ax10.set_yscale("symlog", linthresh=100)
        ax10.set_xlabel("chunk after warm-up")
        ax10.legend(fontsize=7)
    ax10.set_ylabel("traced bytes")
    ax10.set_title("Allocations per streamed chunk (MEM-10)")
    note_missing(ax10, [("MEM-10", r10)])
    return fig


@never_raises
def plot_peak(run: NotebookRun):
    """MEM-13 RSS over the large-file stream at two sizes; MEM-11/12/14 peaks; MEM-15 swap."""
    fig, (ax13, ax_bars) = run.figure(ncols=2)
    r13 = record(run, "MEM-13")
    if r13 is not None and r13.details.get("runs"):
        for i, stream in enumerate(r13.details["runs"]):
            _series(ax13, stream["series"], color=(GREY, BLUE)[i % 2], linewidth=0.9,
                    label=f"{stream['file_mb']:.0f} MB file: peak {stream['peak_mb']:.0f} MB "
                          f"(+{stream['delta_mb']:.0f})")
        bound_line(run, ax13, "MEM-13", (0, max(s["wall_s"] for s in r13.details["runs"])), labelled=set())
        ax13.set_xlabel("seconds streaming")
        ax13.legend(fontsize=7)
    ax13.set_ylabel("RSS (MB)")
    ax13.set_title("Large WAV streamed from disk (MEM-13)" + (f": {r13.details['scaled']}" if r13 and
                                                                 r13.details.get("scaled") else ""), fontsize=8)
    note_missing(ax13, [("MEM-13", r13)])

    items = []
    r11, r12, r14, r15 = (record(run, c) for c in ("MEM-11", "MEM-12", "MEM-14", "MEM-15"))
    if usable(r11):
        items.append((f"MEM-11\n{r11.details['input_seconds']:g} s in memory",
                      float(np.median(r11.details["peak_delta_mb"])), r11,
                      f"{r11.value:.1f}x input"))
    if usable(r12):
        worst = r12.details.get("by_executor", {}).get(r12.details.get("largest"), {})
        added = worst.get("added_mb", r12.value)
        items.append(("MEM-12\n5 tracks, all\nprocesses", added, r12, f"+{added:.0f} MB\n{r12.value:.1f} MB/track"))
    if usable(r14):
        for kind, k in r14.details["by_kind"].items():
            items.append((f"MEM-14\n{kind}", k["delta_mb"], r14,
                          f"+{k['delta_mb']:.0f} MB\n{k.get('x_input', 0.0):.1f}x input"))
    if usable(r15):
        items.append(("MEM-15\nswap", r15.value, r15, f"{r15.value:.1f} MB"))
    for i, (label, value, r, text) in enumerate(items):
        ax_bars.bar(i, value, color=STATUS_COLOURS[r.status], alpha=0.75, width=0.6)
        ax_bars.annotate(text, (i, value), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax_bars.set_xticks(range(len(items)), [i[0] for i in items], fontsize=7)
    ax_bars.set_ylabel("MB (peak above the RSS before; MEM-12: all processes)")
    ax_bars.set_title("Peaks (MEM-11, 12, 14) and swap (MEM-15)")
    note_missing(ax_bars, [("MEM-11", r11), ("MEM-12", r12), ("MEM-14", r14), ("MEM-15", r15)])
    return fig


@never_raises
def plot_efficiency(run: NotebookRun):
    """MEM-17 hit rate against cache size; MEM-18 pool reuse; MEM-19 eager/lazy; MEM-16 and MEM-20 figures."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax17, ax18), (ax19, ax20) = axes

    r17 = record(run, "MEM-17")
    if usable(r17):
        curve = r17.details["curve"]
        x = [p["capacity"] for p in curve]
        ax17.plot(x, [p["hit_rate"] for p in curve], "-o", color=BLUE, ms=4, label="library track cache")
        ax17.plot(x, [p["ideal_lru_hit_rate"] for p in curve], ":", color=GREY, label="ideal LRU, same requests")
        for p in curve:
            ax17.annotate(f"{p['bytes'] / 1024:.0f} KB", (p["capacity"], p["hit_rate"]), textcoords="offset points",
                          xytext=(3, -9), fontsize=6, color=GREY)
        ax17.set_xscale("log")
        ax17.set_xlabel(f"cache size (entries; library of {r17.details['library_tracks']} tracks)")
        ax17.set_ylim(0, 100)
        ax17.legend(fontsize=7, loc="lower right")
    ax17.set_ylabel("hit rate (%)")
    ax17.set_title("Hit rate against cache size, Zipf-like requests (MEM-17)", fontsize=8)
    note_missing(ax17, [("MEM-17", r17)])

    r18 = record(run, "MEM-18")
    if usable(r18):
        rows = r18.details["by_chunk_size"]
        xs = np.arange(len(rows))
        ax18.bar(xs - 0.2, [r["steady_reuse_percent"] for r in rows], width=0.4, color=BLUE, alpha=0.8,
                 label="after warm-up")
        ax18.bar(xs + 0.2, [r["whole_stream_reuse_percent"] for r in rows], width=0.4, color=GREY, alpha=0.6,
                 label="whole stream")
        bound_line(run, ax18, "MEM-18", (-0.5, len(rows) - 0.5), labelled=set())
        ax18.set_xticks(xs, [f"{r['chunk_size']} frames" for r in rows])
        ax18.set_ylim(0, 105)
        ax18.legend(fontsize=7, loc="lower right")
    ax18.set_ylabel("buffer reuse (%)")
    ax18.set_title("Buffer pool (MEM-18)")
    note_missing(ax18, [("MEM-18", r18)])

    r19 = record(run, "MEM-19")
    if usable(r19):
        names = list(r19.details["audio"])
        values = [r19.details["audio"][n]["peak_delta_mb"] for n in names]
        ax19.barh(range(len(names)), values, color=[ORANGE, BLUE][: len(names)], alpha=0.75)
        ax19.set_yticks(range(len(names)), [n.split(":")[0] for n in names])
        ax19.set_xlabel("peak RSS added (MB)")
        ax19.set_title(f"Eager / lazy = {r19.value:.2f} on a {r19.details['file_seconds']:g} s file (MEM-19)",
                       fontsize=8)
    else:
        ax19.set_title("Lazy loading (MEM-19)")
    note_missing(ax19, [("MEM-19", r19)])

    r20, r16 = record(run, "MEM-20"), record(run, "MEM-16")
    bars = []
    if usable(r20):
        d = r20.details
        bars += [("RSS growth", d["rss_growth_mb"], GREY), ("live Python\nallocations", d["traced_growth_mb"], BLUE),
                 ("unexplained\n(MEM-20)", r20.value, STATUS_COLOURS[r20.status]),
                 ("after\nmalloc_trim", d["rss_growth_after_malloc_trim_mb"], GREY)]
    for i, (label, value, colour) in enumerate(bars):
        ax20.bar(i, value, color=colour, alpha=0.75, width=0.6)
        ax20.annotate(f"{value:.1f}", (i, value), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    if bars:
        bound_line(run, ax20, "MEM-20", (1.6, 2.4), labelled=set())
        ax20.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    title = "Fragmentation (MEM-20)"
    if usable(r16):
        title += (f"; library: {r16.value:.1f} KB/track objects, "
                  f"{r16.details['db_bytes_per_track']:.0f} B/track db (MEM-16)")
    ax20.set_title(title, fontsize=8)
    ax20.set_ylabel("MB")
    note_missing(ax20, [("MEM-20", r20), ("MEM-16", r16)])
    return fig


__all__ = ["plot_baseline", "plot_efficiency", "plot_leaks", "plot_peak"]
