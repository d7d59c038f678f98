"""Plots of the real-time notebook (RT-01..RT-20), drawn from the records' values, samples and details.

Each function takes the notebook's `NotebookRun` (for its records, figure style and tier lines) and
returns the matplotlib Figure. A check that was skipped or failed to run is named on its panel with the
reason instead of being drawn, so a plot cell never raises because a scenario did.
"""
from __future__ import annotations

from auralis_perf.catalog import TIERS
from auralis_perf.notebook.helper import TIER_COLOURS, NotebookRun
from auralis_perf.notebook.plots.common import bound_line, never_raises, note_missing, record, usable
from auralis_perf.report.formatting import STATUS_COLOURS
from auralis_perf.results import CheckResult


@never_raises
def plot_rtf(run: NotebookRun):
    """RT-01..03: real-time factor per audio duration (every run as a point, the median joined)."""
    fig, ax = run.figure()
    ids = ("RT-01", "RT-02", "RT-03")
    recs = [(cid, record(run, cid)) for cid in ids]
    points = [(r.details.get("audio_seconds"), r) for _, r in recs if usable(r)]
    if points:
        xs = [x for x, _ in points]
        for x, r in points:
            ax.plot([x] * len(r.samples), r.samples, "o", color=STATUS_COLOURS[r.status], alpha=0.4, ms=4)
        ax.plot(xs, [r.value for _, r in points], "-s", color="#0969da", label="median RTF")
        for x, r in points:
            ax.annotate(f"{r.id}\n{r.value:.0f}x", (x, r.value), textcoords="offset points", xytext=(6, 4),
                        fontsize=7)
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{x:g} s" for x in xs])
    run.tier_lines(ax, "RT-01")
    ax.set_xlabel("audio length (log scale)")
    ax.set_ylabel("real-time factor (x)")
    ax.set_ylim(bottom=0)
    ax.set_title("Real-time factor per duration (RT-01..RT-03)")
    ax.legend(fontsize=7, loc="lower right")
    note_missing(ax, recs)
    return fig


@never_raises
def plot_chunk_times(run: NotebookRun):
    """RT-07: distribution of per-chunk processing times against the chunk's deadline."""
    fig, ax = run.figure()
    r = record(run, "RT-07")
    if usable(r):
        d = r.details
        deadline = d["deadline_ms"]
        chunk_ms = d.get("chunk_ms") or [p * deadline / 100.0 for p in r.samples]
        upper = max(max(chunk_ms), deadline) * 1.05
        ax.hist(chunk_ms, bins=60, range=(0, upper), color="#0969da", alpha=0.75)
        ax.axvline(deadline, color=TIER_COLOURS["critical"], linewidth=1.5,
                   label=f"deadline: chunk duration {deadline:.1f} ms")
        ax.axvline(deadline * 0.5, color=TIER_COLOURS["target"], linestyle="--", label="target: p99 < 50 %")
        ax.axvline(d["p99_ms"], color="black", linestyle=":", label=f"p99 {d['p99_ms']:.2f} ms ({r.value:.1f} %)")
        ax.axvline(d["median_ms"], color="#6e7781", linestyle=":", label=f"median {d['median_ms']:.2f} ms")
        ax.set_yscale("log")
        ax.set_title(f"Chunk processing time, {d['chunks']} chunks of {d['chunk_size']} frames (RT-07); "
                     f"max {d['max_ms']:.2f} ms, {d['missed_deadlines']} missed")
        ax.legend(fontsize=7)
    else:
        ax.set_title("Chunk processing time (RT-07)")
    ax.set_xlabel("time to produce one chunk (ms)")
    ax.set_ylabel("chunks (log)")
    note_missing(ax, [("RT-07", r)])
    return fig


@never_raises
def plot_latency(run: NotebookRun):
    """RT-06, RT-08, RT-09, RT-10: median latency bars, each run as a point, each check's bound."""
    fig, ax = run.figure()
    ids = ("RT-06", "RT-08", "RT-09", "RT-10")
    names = {"RT-06": "first chunk", "RT-08": "output latency (p95)", "RT-09": "preset switch",
             "RT-10": "playback start"}
    recs = [(cid, record(run, cid)) for cid in ids]
    labelled: set[str] = set()
    for i, (cid, r) in enumerate(recs):
        if usable(r):
            ax.bar(i, r.value, color=STATUS_COLOURS[r.status], alpha=0.7, width=0.6)
            ax.plot([i] * len(r.samples), r.samples, ".", color="black", alpha=0.5, ms=3)
            ax.annotate(f"{r.value:.1f} ms", (i, r.value), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=7)
        bound_line(run, ax, cid, (i - 0.4, i + 0.4), labelled=labelled)
    ax.set_xticks(range(len(ids)), [f"{cid}\n{names[cid]}" for cid in ids])
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylabel("ms (median; points are runs)")
    ax.set_title("Latency (RT-06, RT-08..RT-10)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside: bars and notes stay clear
    note_missing(ax, recs)
    return fig


@never_raises
def plot_throughput(run: NotebookRun):
    """RT-11..RT-15: concurrency per executor, batch and queue rates, sustained run, memory per track."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax11, ax14), (ax1213, ax15) = axes

    r11 = record(run, "RT-11")
    if usable(r11):
        d = r11.details
        modes = list(d["executors"])
        speedups = [d["executors"][m]["speedup"] for m in modes]
        ax11.bar(range(len(modes)), speedups, color="#0969da", alpha=0.75, width=0.5)
        ideal = d["ideal_speedup"]
        ax11.axhline(ideal, color="#6e7781", linestyle=":", label=f"ideal {ideal}x = min(5, cores)")
        ax11.axhline(0.7 * ideal, color=TIER_COLOURS["target"], linestyle="--", label=f"target {0.7 * ideal:.2g}x")
        ax11.set_xticks(range(len(modes)), [f"{m}\n{d['workers']} workers" for m in modes])
        ax11.legend(fontsize=7)
    ax11.set_ylabel("speedup over one-by-one")
    ax11.set_title("5 tracks at once (RT-11)")
    note_missing(ax11, [("RT-11", r11)])

    r14 = record(run, "RT-14")
    if usable(r14):
        tenths = r14.details["rtf_per_tenth"]
        ax14.plot(range(1, len(tenths) + 1), tenths, "-o", color="#0969da", ms=4)
        ax14.axhline(tenths[0] * 0.9, color=TIER_COLOURS["target"], linestyle="--", label="target: 0.9 x first tenth")
        ax14.set_ylim(bottom=0)
        ax14.legend(fontsize=7)
        ax14.set_title(f"Sustained run, {r14.details['wall_seconds']:.0f} s (RT-14): last/first {r14.value:.2f}")
    else:
        ax14.set_title("Sustained run (RT-14)")
    ax14.set_xlabel("tenth of the run")
    ax14.set_ylabel("real-time factor")
    note_missing(ax14, [("RT-14", r14)])

    recs = [("RT-12", record(run, "RT-12")), ("RT-13", record(run, "RT-13"))]
    labels = {"RT-12": "batch (audio s / wall s)", "RT-13": "job queue (audio s / wall s)"}
    for i, (cid, r) in enumerate(recs):
        if usable(r):
            ax1213.bar(i, r.value, color=STATUS_COLOURS[r.status], alpha=0.7, width=0.5)
            ax1213.plot([i] * len(r.samples), r.samples, ".", color="black", alpha=0.5)
            ax1213.annotate(f"{r.value:.0f}", (i, r.value), textcoords="offset points", xytext=(0, 3),
                            ha="center", fontsize=7)
    ax1213.axhline(20, color=TIER_COLOURS["target"], linestyle="--", label="target: 20x")
    ax1213.legend(fontsize=7)
    ax1213.set_xticks(range(2), [f"{cid}\n{labels[cid]}" for cid, _ in recs])
    ax1213.set_title("Throughput (RT-12, RT-13)")
    note_missing(ax1213, recs)

    r15 = record(run, "RT-15")
    if usable(r15):
        runs = range(1, len(r15.samples) + 1)
        ax15.bar(runs, r15.samples, color=STATUS_COLOURS[r15.status], alpha=0.7, width=0.5)
        for x, growth in zip(runs, r15.samples):
            ax15.annotate(f"{growth:.1f}", (x, growth), textcoords="offset points", xytext=(0, 3), ha="center",
                          fontsize=7)
        ax15.set_xticks(list(runs))
        bound_line(run, ax15, "RT-15", (0.5, len(r15.samples) + 0.5), labelled=set())
        ax15.legend(fontsize=7)
        ax15.set_xlabel(f"batch run ({r15.details['tracks']} tracks, {r15.details['tracks_in_flight']} at once; "
                        "fresh process)")
    ax15.set_ylabel("working memory per track in flight (MB)")
    ax15.set_title("Memory during a batch (RT-15)")
    note_missing(ax15, [("RT-15", r15)])
    return fig


def _target_speedup(run: NotebookRun, r: CheckResult) -> float | None:
    """The speedup a check asks for (RT-18's bound is an efficiency: times the workers used)."""
    spec = run.catalog[r.id]
    bound = next((spec.tiers[t] for t in TIERS if spec.tiers.get(t) is not None), None)
    if bound is None:
        return None
    if r.id == "RT-18":
        return bound.limit * float(r.details.get("workers") or 1)
    return bound.limit


@never_raises
def plot_speedups(run: NotebookRun):
    """RT-16..RT-19 each speedup beside its target (log scale); RT-20 the fallback's difference and speed."""
    fig, (ax, ax20) = run.figure(ncols=2)
    ids = ("RT-16", "RT-17", "RT-18", "RT-19")
    names = {"RT-16": "envelope\ncompiled", "RT-17": "EQ\nvectorized", "RT-18": "spectrum\nparallel",
             "RT-19": "whole chain"}
    recs = [(cid, record(run, cid)) for cid in ids]
    for i, (cid, r) in enumerate(recs):
        if not usable(r):
            continue
        speedup = r.details.get("speedup", r.value)
        target = _target_speedup(run, r)
        ax.bar(i - 0.2, speedup, width=0.4, color=STATUS_COLOURS[r.status], alpha=0.8,
               label="measured" if i == 0 else None)
        if target is not None:
            ax.bar(i + 0.2, target, width=0.4, color="white", edgecolor=TIER_COLOURS["target"], hatch="//",
                   label="target" if i == 0 else None)
        diff = r.details.get("max_abs_diff")
        ax.annotate(f"{speedup:.1f}x" + (f"\nΔ {diff:.0e}" if diff is not None else ""), (i - 0.2, speedup),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(range(len(ids)), [f"{cid}\n{names[cid]}" for cid in ids])
    ax.set_yscale("log")
    ax.axhline(1.0, color="#6e7781", linewidth=0.8)
    ax.set_ylabel("speedup over the plain path (x, log)")
    ax.set_title("Optimisations: speedup beside target (Δ = max abs diff)")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7)
    note_missing(ax, recs)

    r20 = record(run, "RT-20")
    if r20 is not None and r20.details.get("completed"):
        d = r20.details
        rtfs = [d["compiled_rtf"], d["fallback_rtf"]]
        ax20.bar([0, 1], rtfs, color=["#0969da", STATUS_COLOURS[r20.status]], alpha=0.8, width=0.5)
        for i, value in enumerate(rtfs):
            ax20.annotate(f"{value:.3g}x", (i, value), textcoords="offset points", xytext=(0, 3), ha="center",
                          fontsize=7)
        ax20.set_yscale("log")
        ax20.set_xticks([0, 1], ["compiled", "Numba blocked\n(fresh process)"])
        ax20.set_ylabel("real-time factor (x, log)")
        ax20.set_title(f"Without Numba (RT-20): max abs diff {d['max_abs_diff']:.1e} (≤ {d['tolerance']:g})")
    else:
        ax20.set_title("Without Numba (RT-20)")
    note_missing(ax20, [("RT-20", r20)])
    return fig


__all__ = ["plot_chunk_times", "plot_latency", "plot_rtf", "plot_speedups", "plot_throughput"]
