"""Plots and tables of the optimization notebook (OPT-01..OPT-20), drawn from the records' details.

Plot functions take the notebook's `NotebookRun` and return a matplotlib Figure (a plot never raises);
table functions return a pandas DataFrame for the notebook to display (an empty one with a note when the
check has nothing to show).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from auralis_perf.notebook.helper import NotebookRun
from auralis_perf.notebook.plots.common import bound_line, never_raises, note_missing, record, usable
from auralis_perf.report.formatting import STATUS_COLOURS

BLUE, GREY, ORANGE = "#0969da", "#6e7781", "#bc4c00"


def _two_lines(name: str) -> str:
    """A long snake_case name broken at the underscore nearest its middle, for a tick label."""
    cuts = [i for i, ch in enumerate(name) if ch == "_" and 0 < i < len(name) - 1]
    if len(name) <= 14 or not cuts:
        return name
    cut = min(cuts, key=lambda i: abs(i - len(name) / 2))
    return name[:cut + 1] + "\n" + name[cut + 1:]


def _annotate(ax: Any, x: float, y: float, text: str) -> None:
    ax.annotate(text, (x, y), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)


@never_raises
def plot_numba(run: NotebookRun):
    """OPT-02 speedup per input size with the target; OPT-04 compile time cold/cached; OPT-05 without Numba."""
    fig, (ax02, ax_side) = run.figure(ncols=2)
    r02, r03 = record(run, "OPT-02"), record(run, "OPT-03")
    if usable(r02):
        rows = r02.details["by_size"]
        x = [r["n_frames"] for r in rows]
        ax02.plot(x, [r["speedup"] for r in rows], "-o", color=STATUS_COLOURS[r02.status],
                  label="compiled / pure Python")
        for r in rows:
            ax02.plot([r["n_frames"]] * len(r["fast_samples"]),
                      [p / f for f, p in zip(r["fast_samples"], r["plain_samples"])], ".", color=GREY, ms=3)
            _annotate(ax02, r["n_frames"], r["speedup"], f"{r['speedup']:.0f}x\nΔ {r['max_abs_diff']:.0e}")
        run.tier_lines(ax02, "OPT-02")
        ax02.set_xscale("log")
        ax02.set_yscale("log")
        ax02.set_xlabel("input length (samples)")
        ax02.legend(fontsize=7, loc="lower right")
        ax02.set_title(f"Envelope follower: {r02.details['in_use']} in the pipeline (OPT-01..03)", fontsize=8)
    else:
        ax02.set_title("Envelope follower speedup (OPT-02)")
    ax02.set_ylabel("speedup (x, log)")
    note_missing(ax02, [("OPT-02", r02), ("OPT-03", r03)])

    r04, r05 = record(run, "OPT-04"), record(run, "OPT-05")
    bars = []
    if usable(r04):
        d = r04.details
        bars += [("compile,\nempty cache", d["cold_compile_s"], BLUE),
                 ("compile,\nwarm cache", d["cached_compile_s"], GREY),
                 ("first-call\noverhead, cold", d["cold_first_call_overhead_s"], BLUE),
                 ("first-call\noverhead, cached", d["cached_first_call_overhead_s"], GREY)]
    if r05 is not None and r05.details.get("completed"):
        d = r05.details
        bars += [("master with\nNumba", float(np.median(d["seconds_with_numba"])), BLUE),
                 ("master without\nNumba (OPT-05)", float(np.median(d["seconds_without_numba"])), ORANGE)]
    for i, (label, value, colour) in enumerate(bars):
        ax_side.bar(i, value, color=colour, alpha=0.8, width=0.6)
        _annotate(ax_side, i, max(value, 1e-4), f"{value:.3g} s")  # 0 (nothing compiled) still labelled
    ax_side.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=6)
    ax_side.set_yscale("log")
    ax_side.set_ylabel("seconds (log)")
    title = "Compile time in fresh processes (OPT-04)"
    if r05 is not None and r05.details.get("completed"):
        title += f"; no Numba: {r05.details['slower_x']:.0f}x slower, Δ {r05.value:.1e}"
    ax_side.set_title(title, fontsize=8)
    note_missing(ax_side, [("OPT-04", r04), ("OPT-05", r05)])
    return fig


@never_raises
def plot_vectorization(run: NotebookRun):
    """OPT-09 speedup of every kernel (with OPT-06/07 among them) and its output difference; OPT-08 SIMD."""
    fig, (ax09, ax08) = run.figure(ncols=2)
    r09 = record(run, "OPT-09")
    if usable(r09):
        table = r09.details["table"]
        for i, row in enumerate(table):
            colour = STATUS_COLOURS["fail"] if not row["within_tolerance"] or row["in_use"] == "not called" else BLUE
            ax09.bar(i, row["speedup"], color=colour, alpha=0.8, width=0.6)
            rounds = [p / f for f, p in zip(row["fast_samples"], row["plain_samples"])]
            ax09.plot([i] * len(rounds), rounds, ".", color="black", alpha=0.5, ms=3)
            _annotate(ax09, i, row["speedup"], f"{row['speedup']:.1f}x\nΔ {row['max_abs_diff']:.0e}\n{row['in_use']}")
        bound_line(run, ax09, "OPT-09", (-0.5, len(table) - 0.5), labelled=set())
        ax09.set_xticks(range(len(table)), [row["kernel"] for row in table], fontsize=7)
        ax09.set_yscale("log")
        ax09.legend(fontsize=7)
    ax09.set_ylabel("plain time / fast time (x, log)")
    ax09.set_title("Vectorized/compiled against loop, per kernel (OPT-06, 07, 09, 10)", fontsize=8)
    note_missing(ax09, [("OPT-09", r09)])

    r08 = record(run, "OPT-08")
    if usable(r08):
        by_function: dict[str, dict[str, Any]] = {}
        for r in r08.details["compiled_kernels"]:  # one bar per function: the most packed of its signatures
            best = by_function.setdefault(r["function"], r)
            if r["packed"] > best["packed"]:
                by_function[r["function"]] = r
        rows = list(by_function.values())
        if r08.details.get("control_kernel"):
            rows.append(r08.details["control_kernel"])
        labels = [_two_lines(r["function"].split(":")[0]) for r in rows]
        xs = np.arange(len(rows))
        ax08.bar(xs - 0.2, [r["packed"] for r in rows], width=0.4, color=BLUE, label="packed (vector) FP instructions")
        ax08.bar(xs + 0.2, [r["scalar"] for r in rows], width=0.4, color=GREY, label="scalar FP instructions")
        ax08.set_xticks(xs, labels, fontsize=6)
        ax08.legend(fontsize=7)
        ax08.set_title(f"Packed code in {r08.details['kernels_with_packed_code']} of the engine's compiled kernels "
                       "(OPT-08)", fontsize=8)
    else:
        ax08.set_title("SIMD (OPT-08)")
    ax08.set_ylabel("instructions in the kernel's machine code")
    note_missing(ax08, [("OPT-08", r08)])
    return fig


@never_raises
def plot_parallel(run: NotebookRun):
    """OPT-11 CPU use per core; OPT-12/14 efficiency against target; OPT-13 pool start-up and per-task cost."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax11, ax_eff), (ax13, ax15) = axes
    r11 = record(run, "OPT-11")
    if usable(r11):
        d = r11.details
        cores = d["per_core_percent"]
        ax11.bar(range(len(cores)), cores, color=GREY, alpha=0.6, label="core use, whole machine")
        ax11.axhline(r11.value, color=STATUS_COLOURS[r11.status],
                     label=f"this process: {r11.value:.0f} % of {d['cores']} cores ({d['threads_used']} threads busy)")
        if d.get("others_percent", 0) >= 25:
            ax11.axhline(d["others_percent"], color=GREY, linestyle=":",
                         label=f"other programs: ~{d['others_percent']:.0f} % (cores not free)")
        bound_line(run, ax11, "OPT-11", (-0.5, len(cores) - 0.5), labelled=set())
        ax11.set_xticks(range(len(cores)), [f"core {i}" for i in range(len(cores))])
        ax11.set_ylim(0, 105)
        ax11.legend(fontsize=6)
    ax11.set_ylabel("%")
    ax11.set_title("Parallel analysis: CPU per core (OPT-11)", fontsize=8)
    note_missing(ax11, [("OPT-11", r11)])

    items = []
    r12, r14 = record(run, "OPT-12"), record(run, "OPT-14")
    if usable(r12):
        items.append((f"thread pool\n{r12.details['threads']} threads", r12.value, r12))
    if usable(r14):
        for executor, fig_ in r14.details["by_executor"].items():
            items.append((f"batch: {executor}\n{r14.details['workers']} workers", fig_["median_efficiency"], r14))
    for i, (label, value, r) in enumerate(items):
        ax_eff.bar(i, value, color=STATUS_COLOURS[r.status], alpha=0.75, width=0.6)
        _annotate(ax_eff, i, value, f"{value:.2f}")
    if items:
        bound_line(run, ax_eff, "OPT-12", (-0.5, len(items) - 0.5), labelled=set())
        ax_eff.axhline(1.0, color=GREY, linestyle=":", linewidth=0.8)
        ax_eff.legend(fontsize=7)
    ax_eff.set_xticks(range(len(items)), [i[0] for i in items], fontsize=7)
    ax_eff.set_ylabel("speedup / workers that can run at once")
    ax_eff.set_title("Parallel efficiency (OPT-12, OPT-14)", fontsize=8)
    note_missing(ax_eff, [("OPT-12", r12), ("OPT-14", r14)])

    r13 = record(run, "OPT-13")
    if usable(r13):
        d = r13.details
        labels = ["first batch", "per task (warm)"]
        xs = np.arange(len(labels))
        for offset, executor, colour in ((-0.2, "process", ORANGE), (0.2, "thread", BLUE)):
            ax13.bar(xs + offset, [max(d["first_batch_ms"][executor], 1e-3), max(d["per_task_ms"][executor], 1e-3)],
                     width=0.4, color=colour, label=f"process_batch, {executor}")
        ax13.set_xticks(xs, labels)
        ax13.set_yscale("log")
        ax13.legend(fontsize=7)
    ax13.set_ylabel("ms (log)")
    ax13.set_title(f"The engine's pool, {r13.details['tasks']} trivial items (OPT-13)" if usable(r13)
                   else "Pool overhead (OPT-13)", fontsize=8)
    note_missing(ax13, [("OPT-13", r13)])

    r15 = record(run, "OPT-15")
    if r15 is not None and r15.details.get("scenarios"):
        scenarios = r15.details["scenarios"]
        ax15.barh(range(len(scenarios)), [s["outputs"] for s in scenarios], color=BLUE, alpha=0.5, label="compared")
        ax15.barh(range(len(scenarios)), [s["mismatches"] for s in scenarios], color=STATUS_COLOURS["fail"],
                  label="mismatches")
        ax15.set_yticks(range(len(scenarios)), [s.get("name", s["scenario"][:24]) for s in scenarios], fontsize=7)
        for i, s in enumerate(scenarios):
            ax15.annotate(f"{s['mismatches']} of {s['outputs']}", (s["outputs"], i), textcoords="offset points",
                          xytext=(3, 0), va="center", fontsize=7)
        ax15.set_xscale("log")
        ax15.legend(fontsize=7)
    ax15.set_xlabel("outputs / reads")
    ax15.set_title("Thread safety (OPT-15)" + (f": {int(r15.value)} mismatches" if usable(r15) else ""), fontsize=8)
    note_missing(ax15, [("OPT-15", r15)])
    return fig


@never_raises
def plot_algorithms(run: NotebookRun):
    """OPT-16 FFT time per length and library; OPT-17 filter realisations; OPT-18..20 speed bars."""
    fig, axes = run.figure(ncols=2, nrows=2)
    (ax16, ax17), (ax1819, ax20) = axes
    r16 = record(run, "OPT-16")
    if usable(r16):
        table = [r for r in r16.details["table"] if "ms_per_audio_s" in r]
        markers = {"power of two": "o", "fast length (2-3-5)": "s", "prime": "^"}
        for kind, marker in markers.items():
            rows = [r for r in table if r["kind"] == kind]
            ax16.plot([r["length"] for r in rows], [r["ms_per_audio_s"] for r in rows], marker, color=BLUE,
                      linestyle="none", label=kind)
        ax16.set_xscale("log")
        ax16.set_yscale("log")
        ax16.set_xlabel("FFT length")
        ax16.legend(fontsize=6)
    ax16.set_ylabel("ms per second of audio (log)")
    ax16.set_title("The engine's spectrum per FFT length (OPT-16)", fontsize=8)
    note_missing(ax16, [("OPT-16", r16)])

    r17 = record(run, "OPT-17")
    if usable(r17):
        table = r17.details["table"]
        names = list(table)
        colours = [STATUS_COLOURS[r17.status] if n == r17.details["chosen"] else
                   (GREY if n in r17.details["inaccurate"] else BLUE) for n in names]
        ax17.barh(range(len(names)), [table[n]["ms"] for n in names], color=colours, alpha=0.8)
        ax17.set_yticks(range(len(names)), [n + (" (chosen)" if n == r17.details["chosen"] else "") +
                                            (" (inaccurate)" if n in r17.details["inaccurate"] else "")
                                            for n in names], fontsize=6)
        ax17.set_xlabel("ms per call")
    ax17.set_title("EQ filter realisations (OPT-17)", fontsize=8)
    note_missing(ax17, [("OPT-17", r17)])

    r18, r19 = record(run, "OPT-18"), record(run, "OPT-19")
    bars = []
    if usable(r18):
        bars += [("resample\n44.1k→48k", r18.details["rtf_up"]), ("resample\n48k→44.1k", r18.details["rtf_down"])]
    for i, (label, value) in enumerate(bars):
        ax1819.bar(i, value, color=BLUE, alpha=0.8, width=0.6)
        _annotate(ax1819, i, value, f"{value:.0f}x")
    if usable(r19):
        table = r19.details["table"]
        offset = len(bars)
        for j, (name, row) in enumerate(table.items()):
            ax1819.bar(offset + j, row["msamples_s"], color=ORANGE, alpha=0.8, width=0.6)
        bars += [(name.replace(" -> ", "→\n"), 0.0) for name in table]
    ax1819.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=5)
    ax1819.set_yscale("log")
    ax1819.set_ylabel("RTF (blue) / Msamples per s (orange), log")
    snr = (f"; round trip: {r18.details['round_trip_snr_below_18k_db']:.0f} dB SNR below 18 kHz"
           if usable(r18) and "round_trip_snr_below_18k_db" in r18.details else "")
    ax1819.set_title("Resampling (OPT-18) and conversions (OPT-19)" + snr, fontsize=8)
    note_missing(ax1819, [("OPT-18", r18), ("OPT-19", r19)])

    r20 = record(run, "OPT-20")
    if usable(r20):
        table = r20.details["table"]
        codecs = list(table)
        xs = np.arange(len(codecs))
        ax20.bar(xs - 0.2, [table[c]["encode_rtf"] for c in codecs], width=0.4, color=ORANGE, label="encode")
        ax20.bar(xs + 0.2, [table[c]["decode_rtf"] for c in codecs], width=0.4, color=BLUE, label="decode")
        ax20.set_xticks(xs, [f"{c}\n{table[c]['bits_per_sample']:.1f} bit/sample" for c in codecs], fontsize=7)
        ax20.set_yscale("log")
        ax20.legend(fontsize=7)
    ax20.set_ylabel("real-time factor (log)")
    ax20.set_title("Codecs (OPT-20)", fontsize=8)
    note_missing(ax20, [("OPT-20", r20)])
    return fig


def _frame(rows: list[dict[str, Any]], columns: list[str]):
    import pandas as pd

    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)


def kernel_table(run: NotebookRun):
    """OPT-09's table: every kernel's fast and plain time, speedup, output difference and evidence of use."""
    r = record(run, "OPT-09")
    rows = r.details.get("table", []) if r else []
    return _frame(rows, ["kernel", "n_frames", "fast_s", "plain_s", "speedup", "max_abs_diff", "tolerance",
                         "in_use", "proof"])


def algorithm_tables(run: NotebookRun) -> dict[str, Any]:
    """OPT-16..OPT-20 as tables (pandas DataFrames), by check ID."""
    import pandas as pd

    tables: dict[str, Any] = {}
    r16 = record(run, "OPT-16")
    tables["OPT-16"] = _frame(r16.details.get("table", []) if r16 else [],
                              ["length", "kind", "numpy_ms_per_Msample", "scipy_ms_per_Msample", "max_abs_diff"])
    for cid in ("OPT-17", "OPT-19", "OPT-20"):
        r = record(run, cid)
        table = r.details.get("table", {}) if r else {}
        tables[cid] = pd.DataFrame({name: {k: v for k, v in row.items() if not isinstance(v, list)}
                                    for name, row in table.items()}).T
    r18 = record(run, "OPT-18")
    tables["OPT-18"] = pd.DataFrame([{k: v for k, v in r18.details.items()
                                      if isinstance(v, (int, float)) and not isinstance(v, bool)}]
                                    if usable(r18) else [])
    return tables


__all__ = ["algorithm_tables", "kernel_table", "plot_algorithms", "plot_numba", "plot_parallel",
           "plot_vectorization"]
