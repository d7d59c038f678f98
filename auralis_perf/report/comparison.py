"""The engines side by side: which engine did better on each shared check, a bar chart of real-time
factors, and what each engine said about itself (versions, cold start, what it does not offer).

The table's rows come from `model.comparison_rows` (every check two or more engines measured, with the
ratio to the first engine). This module adds, per row and engine, whether the value is better or worse
than the first engine's by the check's direction; the chart of every real-time factor (records of kind
`rtf`, i.e. RT-01..RT-04 and RT-12) as one inline PNG; and the engines' own descriptions as the
notebooks' kernels recorded them (`run.notebooks[].engine_info`).
"""
from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from auralis_perf.report.model import EngineSummary, comparison_rows

#: A ratio within this of 1 is "same" (shared machines are noisy; the table is a reading aid).
SAME_WITHIN = 0.05
#: A first engine's value this close to zero (an output difference, say) gives no ratio.
NEAR_ZERO = 1e-9
#: Engine description keys shown in the facts table, when an engine reports them.
FACT_KEYS = ("pedalboard", "pyloudnorm", "numba", "compiled_kernels", "auralis_version", "result_cache",
             "numba_cache_dir", "import_seconds", "warm_master_rtf_median", "chain", "processing_precision")


def judge(value: float | None, base: float | None, direction: str | None) -> str | None:
    """"better", "worse" or "same" of `value` against `base` for a check whose better `direction` is
    "higher" or "lower"; None when either is missing or the check has no direction."""
    if value is None or base is None or direction not in ("higher", "lower") or base == 0:
        return None
    ratio = value / base
    if not math.isfinite(ratio) or abs(ratio - 1.0) <= SAME_WITHIN:
        return "same"
    better = ratio > 1.0 if direction == "higher" else ratio < 1.0
    return "better" if better else "worse"


def judged_rows(summaries: Sequence[EngineSummary]) -> list[dict[str, Any]]:
    """`comparison_rows` plus `verdicts`: engine -> better/worse/same against the first engine."""
    rows = comparison_rows(list(summaries))
    if not rows:
        return rows
    first = summaries[0].engine
    for row in rows:
        base = row["values"].get(first)
        if base is not None and abs(base) < NEAR_ZERO:  # e.g. an output difference of 1e-13: no ratio means anything
            row["ratios"] = {e: None for e in row["ratios"]}
        row["verdicts"] = {e: judge(v, base, row.get("direction")) if row["ratios"].get(e) is not None else None
                           for e, v in row["values"].items() if e != first}
    return rows


def rtf_table(summaries: Sequence[EngineSummary]) -> list[dict[str, Any]]:
    """Every real-time-factor check any engine measured: {id, title, values: engine -> RTF or None}."""
    rows: dict[str, dict[str, Any]] = {}
    for s in summaries:
        for c in s.checks:
            if c.get("kind") == "rtf" and isinstance(c.get("value"), (int, float)):
                row = rows.setdefault(c["id"], {"id": c["id"], "title": c.get("title", ""), "values": {}})
                row["values"][s.engine] = float(c["value"])
    return [{**row, "values": {s.engine: row["values"].get(s.engine) for s in summaries}}
            for row in sorted(rows.values(), key=lambda r: r["id"])]


def rtf_chart(summaries: Sequence[EngineSummary], *, dpi: int = 90) -> str | None:
    """A grouped bar chart of the real-time factors as a data: URI (PNG), or None with nothing to draw."""
    rows = rtf_table(summaries)
    values = [v for r in rows for v in r["values"].values() if v is not None and v > 0]
    if not rows or not values:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    engines = [s.engine for s in summaries]
    width = 0.8 / len(engines)
    figure = Figure(figsize=(max(5.0, 1.3 * len(rows) + 2.0), 3.4), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for index, engine in enumerate(engines):
        xs = [i + (index - (len(engines) - 1) / 2) * width for i in range(len(rows))]
        heights = [r["values"][engine] or 0.0 for r in rows]
        bars = ax.bar(xs, heights, width, label=engine)
        for bar, row in zip(bars, rows):
            value = row["values"][engine]
            ax.annotate("n/a" if value is None else f"{value:.3g}x", (bar.get_x() + bar.get_width() / 2,
                        max(bar.get_height(), min(values))), ha="center", va="bottom", fontsize=7)
    if max(values) / min(values) > 20:  # engines an order of magnitude apart: keep the slow one visible
        ax.set_yscale("log")
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")  # real time
    ax.set_xticks(range(len(rows)), [f"{r['id']}\n{_short(r['title'])}" for r in rows], fontsize=7)
    ax.set_ylabel("real-time factor (x, higher is faster)")
    ax.set_title("Real-time factors by engine", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _short(title: str, limit: int = 28) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def engine_facts(summaries: Sequence[EngineSummary]) -> list[dict[str, Any]]:
    """Per engine: its description's key facts, what it does not offer, and the first master() call
    (compilation included) of each notebook's fresh kernel next to the warm calls, when it reports them."""
    facts = []
    for s in summaries:
        infos = [(nb.get("category", "?"), nb["engine_info"]) for nb in s.notebooks
                 if isinstance(nb.get("engine_info"), dict)]
        first = infos[0][1] if infos else {}
        cold = [{"category": category, "seconds": info["cold_master"].get("seconds"),
                 "audio_seconds": info["cold_master"].get("audio_seconds"),
                 "warm_rtf": info.get("warm_master_rtf_median")}
                for category, info in infos if isinstance(info.get("cold_master"), dict)]
        facts.append({
            "engine": s.engine, "described": bool(infos),
            "capabilities": first.get("capabilities") or [],
            "facts": [(k, _plain(first[k])) for k in FACT_KEYS if first.get(k) not in (None, "", [], {})],
            "not_offered": sorted((first.get("not_offered") or {}).items()),
            "missing_api": sorted((first.get("api_missing") or {}).items()),
            "cold_master": cold,
        })
    return facts


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def comparison_view(summaries: Sequence[EngineSummary]) -> dict[str, Any] | None:
    """What the report's comparison section shows; None with fewer than two engines."""
    if len(summaries) < 2:
        return None
    return {"rows": judged_rows(summaries), "rtf": rtf_table(summaries), "chart": rtf_chart(summaries),
            "facts": engine_facts(summaries)}


__all__ = ["comparison_view", "engine_facts", "judge", "judged_rows", "rtf_chart", "rtf_table"]
