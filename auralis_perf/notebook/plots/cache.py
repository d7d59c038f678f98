"""Plots of the cache notebook (CACHE-01..CACHE-20), drawn from the records' values, samples and details.

Each function takes the notebook's `NotebookRun` and returns the matplotlib Figure; a check that was
skipped or failed to run is named on its panel with the reason, and a plot never raises.
"""
from __future__ import annotations

import html
from typing import Any

from auralis_perf.notebook.helper import NotebookRun
from auralis_perf.notebook.plots.common import bound_line, never_raises, note_missing, record, usable
from auralis_perf.report.formatting import STATUS_COLOURS

BLUE, GREY, ORANGE = "#0969da", "#6e7781", "#bc4c00"


def _correctness(run: NotebookRun, ax: Any, ids: list[str], labels: dict[str, str]) -> None:
    """Per check: how many answers were compared (bar, log) and how many were wrong (label)."""
    shown = []
    for cid in ids:
        r = record(run, cid)
        if usable(r) and r.details.get("checked"):
            shown.append((cid, r))
    for y, (cid, r) in enumerate(shown):
        ax.barh(y, r.details["checked"], color=BLUE, alpha=0.35)
        ax.annotate(f"{int(r.value)} wrong of {r.details['checked']}", (r.details["checked"], y),
                    textcoords="offset points", xytext=(4, -3), fontsize=7, color=STATUS_COLOURS[r.status],
                    fontweight="bold")
    ax.set_yticks(range(len(shown)), [f"{cid}\n{labels.get(cid, '')}" for cid, _ in shown], fontsize=7)
    ax.set_xscale("log")
    if shown:
        ax.set_xlim(right=max(r.details["checked"] for _, r in shown) * 20)
    ax.set_xlabel("answers compared with the truth (log)")
    note_missing(ax, [(cid, record(run, cid)) for cid in ids])


def _bars(run: NotebookRun, ax: Any, ids: list[str], labels: dict[str, str], fmt: str = "{:.0f}") -> None:
    """Each check's value as a bar coloured by status, its samples as points, its tier lines."""
    labelled: set[str] = set()
    for i, cid in enumerate(ids):
        r = record(run, cid)
        if usable(r):
            ax.bar(i, r.value, color=STATUS_COLOURS[r.status], alpha=0.7, width=0.6)
            ax.plot([i] * len(r.samples), r.samples, ".", color="black", alpha=0.5, ms=3)
            ax.annotate(fmt.format(r.value), (i, r.value), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=7)
        bound_line(run, ax, cid, (i - 0.4, i + 0.4), labelled=labelled)
    ax.set_xticks(range(len(ids)), [f"{cid}\n{labels.get(cid, '')}" for cid in ids], fontsize=7)
    if labelled:
        ax.legend(fontsize=7)
    note_missing(ax, [(cid, record(run, cid)) for cid in ids])


@never_raises
def plot_query_cache(run: NotebookRun):
    """CACHE-01 hit rate along the session, CACHE-02 speedup, CACHE-04 memory fill, CACHE-03/05 counts."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax_rate, ax_speed), (ax_mem, ax_correct) = axes

    r1 = record(run, "CACHE-01")
    if usable(r1):
        d = r1.details
        window, rates = d["window"], d["hit_rate_by_window"]
        xs = [(i + 1) * window for i in range(len(rates))]
        ax_rate.plot(xs, rates, "-o", color=BLUE, ms=3, label="the library's caches")
        ideal = d["ideal_lru"]["hit_rate_by_window"]
        ax_rate.plot([(i + 1) * window for i in range(len(ideal))], ideal, "--", color=GREY,
                     label="ideal LRU, same bound")
        ax_rate.axvspan(0, d["warmup_queries"], color=GREY, alpha=0.15, label="warm-up (not counted)")
        ax_rate.set_ylim(0, 100)
        ax_rate.legend(fontsize=7, loc="lower right")
        bound = ", ".join(f"{c} {d['capacity'][c]}" for c in d["caches"])
        ax_rate.set_title(f"Hit rate at a bound of {bound} entries, {d['queries']} queries, "
                          f"{d['distinct_queries']} distinct: {r1.value:.0f} % of ideal LRU (CACHE-01)", fontsize=8)
    ax_rate.set_xlabel("queries replayed")
    ax_rate.set_ylabel("hit rate (%)")
    note_missing(ax_rate, [("CACHE-01", r1)])

    r2 = record(run, "CACHE-02")
    if usable(r2):
        d = r2.details
        ax_speed.bar([0, 1], [d["uncached_us_per_call"], d["hit_us_per_call"]], color=[GREY, BLUE], alpha=0.75)
        ax_speed.set_yscale("log")
        ax_speed.set_xticks([0, 1], ["database (uncached)", "cache hit"])
        for x, v in enumerate([d["uncached_us_per_call"], d["hit_us_per_call"]]):
            ax_speed.annotate(f"{v:.1f} µs", (x, v), textcoords="offset points", xytext=(0, 3), ha="center",
                              fontsize=7)
        ax_speed.set_title(f"Per call, {d['calls']} distinct queries: {r2.value:.0f}x (CACHE-02, target > 50x)",
                           fontsize=8)
    ax_speed.set_ylabel("µs per call (log)")
    note_missing(ax_speed, [("CACHE-02", r2)])

    r4 = record(run, "CACHE-04")
    if usable(r4):
        d = r4.details
        curve = d["rounds"][0]["curve"]
        if curve:
            ax_mem.plot([c[0] for c in curve], [c[1] for c in curve], "-", color=GREY, label="cache's own count")
        for row in d["rounds"]:
            ax_mem.plot(row["entries"], row["traced_mb"], "o", color=BLUE, ms=4)
        last = d["rounds"][-1]
        label = "projected to its bound (cannot pass)" if d.get("projected") else "measured at capacity"
        ax_mem.plot(last["entries"], r4.value, "s", color=STATUS_COLOURS[r4.status],
                    label=f"{label}: {r4.value:.2f} MB")
        run.tier_lines(ax_mem, "CACHE-04")
        ax_mem.set_xscale("log")
        ax_mem.legend(fontsize=7, loc="upper left")
        ax_mem.set_title(f"Query cache memory (CACHE-04), bound {last['max_entries']} entries / "
                         f"{(last['max_bytes'] or 0) / 2**20:.0f} MB", fontsize=8)
    ax_mem.set_xlabel("entries (log)")
    ax_mem.set_ylabel("MB")
    note_missing(ax_mem, [("CACHE-04", r4)])

    _correctness(run, ax_correct, ["CACHE-03", "CACHE-05"],
                 {"CACHE-03": "reads after writes", "CACHE-05": "evictions"})
    ax_correct.set_title("Correctness: stale reads, evictions that were not the LRU (0 is the only pass)",
                         fontsize=8)
    return fig


@never_raises
def plot_library_cache(run: NotebookRun):
    """CACHE-06..10: each entity cache's hit rate at a bound (beside an ideal LRU's), and the speedup of
    the bounded replay over the database."""
    fig, (ax_rate, ax_speed) = run.figure(ncols=2)
    ids = ["CACHE-06", "CACHE-07", "CACHE-08", "CACHE-09", "CACHE-10"]
    labels = {"CACHE-06": "tracks", "CACHE-07": "albums", "CACHE-08": "artists", "CACHE-09": "playlists",
              "CACHE-10": "search"}
    for i, cid in enumerate(ids):
        r = record(run, cid)
        if usable(r) and r.details.get("hit_rate") is not None:
            rate = r.details["hit_rate"]
            ax_rate.bar(i, rate, color=BLUE, alpha=0.7, width=0.6)
            if r.details.get("ideal_lru_hit_rate") is not None:
                ax_rate.plot([i - 0.3, i + 0.3], [r.details["ideal_lru_hit_rate"]] * 2, "-", color="black",
                             label="ideal LRU" if i == 0 else None)
            ax_rate.annotate(f"{rate:.0f} %", (i, rate), textcoords="offset points", xytext=(0, 3), ha="center",
                             fontsize=7)
    ax_rate.set_xticks(range(len(ids)), [f"{c}\n{labels[c]}" for c in ids], fontsize=7)
    ax_rate.set_ylim(0, 105)
    ax_rate.set_ylabel("hit rate after the warm-up (%)")
    ax_rate.set_title("Hit rate of skewed lookups, cache bounded at half the distinct lookups", fontsize=8)
    note_missing(ax_rate, [(c, record(run, c)) for c in ids])
    _bars(run, ax_speed, ids, labels, fmt="{:.0f}x")
    ax_speed.set_yscale("log")
    ax_speed.set_ylabel("speedup over the database (log)")
    ax_speed.set_title("Speedup of the bounded replay, hits and misses (points: rounds)", fontsize=8)
    return fig


@never_raises
def plot_audio_cache(run: NotebookRun):
    """CACHE-11..14: computing against a hit per analysis kind; CACHE-15: the first request in a new process."""
    fig, (ax_time, ax_speed) = run.figure(ncols=2)
    ids = ["CACHE-11", "CACHE-12", "CACHE-13", "CACHE-14"]
    kinds = {"CACHE-11": "waveform", "CACHE-12": "spectrum", "CACHE-13": "fingerprint", "CACHE-14": "analysis"}
    width = 0.38
    for i, cid in enumerate(ids):
        r = record(run, cid)
        if usable(r):
            cold, hit = r.details["cold_ms"], r.details["hit_us"] / 1e3
            ax_time.bar(i - width / 2, cold, width, color=GREY, alpha=0.75, label="computed" if i == 0 else None)
            ax_time.bar(i + width / 2, hit, width, color=BLUE, alpha=0.75, label="cache hit" if i == 0 else None)
    ax_time.set_yscale("log")
    ax_time.set_xticks(range(len(ids)), [f"{c}\n{kinds[c]}" for c in ids], fontsize=7)
    ax_time.set_ylabel("ms per request (log)")
    ax_time.set_title("First request against the second", fontsize=8)
    ax_time.legend(fontsize=7)
    note_missing(ax_time, [(c, record(run, c)) for c in ids])
    _bars(run, ax_speed, ids + ["CACHE-15"], {**kinds, "CACHE-15": "new process"}, fmt="{:.0f}x")
    ax_speed.set_yscale("log")
    ax_speed.set_ylabel("speedup (log)")
    ax_speed.set_title("Hit speedup; CACHE-15 reads the entries of another process", fontsize=8)
    return fig


@never_raises
def plot_invalidation(run: NotebookRun):
    """CACHE-16..18, 20: stale reads (0 is the only pass); CACHE-19: unrelated entries kept, per read."""
    fig, (ax_stale, ax_kept) = run.figure(ncols=2)
    ids = ["CACHE-16", "CACHE-17", "CACHE-18", "CACHE-20"]
    labels = {"CACHE-16": "tag edits", "CACHE-17": "file change", "CACHE-18": "rescan", "CACHE-20": "artist cascade"}
    _correctness(run, ax_stale, ids, labels)
    ax_stale.set_title("Stale answers after writes (0 is the only pass)", fontsize=8)
    r19 = record(run, "CACHE-19")
    if usable(r19):
        by_method = r19.details["kept_by_method"]
        methods = sorted(by_method)
        kept = [by_method[m]["percent"] or 0.0 for m in methods]
        ax_kept.barh(range(len(methods)), kept, color=[BLUE if k >= 100 else ORANGE for k in kept], alpha=0.75)
        for y, (m, k) in enumerate(zip(methods, kept)):
            ax_kept.annotate(f"{k:.0f} % of {by_method[m]['cached']}", (k, y), textcoords="offset points",
                             xytext=(3, -3), fontsize=7)
        ax_kept.set_yticks(range(len(methods)), methods, fontsize=7)
        ax_kept.set_xlim(0, 130)
        ax_kept.axvline(100, color=GREY, linestyle=":")
        ax_kept.set_title(f"Unrelated entries kept after one edit: {r19.value:.1f} % (CACHE-19)", fontsize=8)
    ax_kept.set_xlabel("% still cached")
    note_missing(ax_kept, [("CACHE-19", r19)])
    return fig


def stale_examples_html(run: NotebookRun) -> str:
    """A table of the first stale reads each correctness check found (empty when none)."""
    rows = []
    for cid in ("CACHE-03", "CACHE-16", "CACHE-20"):
        r = record(run, cid)
        for example in (r.details.get("stale_examples", []) if r else []):
            rows.append((cid, example.get("after", ""), example.get("read", ""), example.get("difference", "")))
    r18 = record(run, "CACHE-18")
    if r18 is not None:
        for example in r18.details.get("library_stale_reads", {}).get("stale_examples", []):
            rows.append(("CACHE-18", example.get("after", ""), example.get("read", ""), example.get("difference", "")))
    if not rows:
        return "<p>No stale read was found.</p>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return ("<table><thead><tr><th>check</th><th>after</th><th>read</th><th>difference</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def show_stale_examples(run: NotebookRun) -> None:
    from IPython.display import HTML, display

    display(HTML(stale_examples_html(run)))


__all__ = ["plot_audio_cache", "plot_invalidation", "plot_library_cache", "plot_query_cache", "show_stale_examples",
           "stale_examples_html"]
