"""Trend plots: one key metric over the stored history, with its detected steps marked.

A plot shows each run's value (oldest left), the fitted levels between steps, and each step labelled with
its relative size, so that a slow drift is visible even when no single comparison crossed the floor.
Plots are PNG bytes (Agg backend, no pyplot state), ready to inline in the HTML report as base64.
"""
from __future__ import annotations

import base64
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auralis_perf.catalog import Catalog
from auralis_perf.regress.stepdetect import Step, detect_steps

#: Most trend plots in one report (each is ~20-40 KB of PNG).
MAX_PLOTS = 12


@dataclass
class TrendPlot:
    check_id: str
    title: str
    unit: str
    png: bytes
    steps: list[Step] = field(default_factory=list)
    points: int = 0

    def base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    def data_uri(self) -> str:
        return "data:image/png;base64," + self.base64()

    def steps_text(self) -> str:
        """e.g. "step +12 % at run 17; step -6 % at run 25" (1-based positions in the plotted series)."""
        return "; ".join(f"step {s.relative:+.0%} at run {s.index + 1}" for s in self.steps) or "no step"


def _points(series: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in series if p.get("value") is not None]


def trend_png(series: Sequence[dict[str, Any]], *, title: str, unit: str = "", direction: str = "lower",
              steps: Sequence[Step] | None = None, dpi: int = 80) -> bytes:
    """A PNG of `series` (points with `value`, oldest first, as `HistoryStore.series` returns them)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    points = _points(series)
    values = [float(p["value"]) for p in points]
    if steps is None:
        steps = detect_steps(values) if len(values) >= 2 else []
    figure = Figure(figsize=(6.4, 2.4), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = list(range(1, len(values) + 1))
    axes.plot(x, values, marker="o", markersize=3, linewidth=0.8, color="#4a6fa5", label="value per run")
    if values:
        axes.plot(x[-1:], values[-1:], marker="o", markersize=6, color="#1b3a6b", linestyle="none", label="this run")
    bounds = [0, *[s.index for s in steps], len(values)]
    for k in range(len(bounds) - 1):
        start, end = bounds[k], bounds[k + 1]
        if end > start:
            level = statistics.median(values[start:end])
            axes.hlines(level, start + 0.5, end + 0.5, colors="#999999", linewidth=1.5,
                        label="level" if k == 0 else None)
    for step in steps:
        worse = (step.after > step.before) == (direction == "lower")
        color = "#c0392b" if worse else "#27ae60"
        axes.axvline(step.index + 0.5, color=color, linestyle="--", linewidth=1)
        axes.annotate(f"{step.relative:+.0%}", (step.index + 0.5, step.after), textcoords="offset points",
                      xytext=(3, 4), color=color, fontsize=8)
    better = "lower" if direction == "lower" else "higher"
    axes.set_title(f"{title} ({better} is better)", fontsize=9)
    axes.set_xlabel("run (oldest first)", fontsize=8)
    axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(labelsize=7)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    if values:
        axes.legend(fontsize=7, loc="best", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def key_metric_ids(catalog: Catalog, changed: Sequence[str] = (), *, max_plots: int = MAX_PLOTS) -> list[str]:
    """The metrics worth a trend plot: checks with a critical tier, then `changed` ones, at most max_plots."""
    chosen = [c for c, spec in catalog.checks.items() if spec.tiers.get("critical") is not None]
    chosen += [c for c in changed if c not in chosen]
    return chosen[:max_plots]


def trend_plots(store: Any, results: dict[str, Any], catalog: Catalog, check_ids: Sequence[str], *,
                limit: int = 200) -> list[TrendPlot]:
    """Trend plots of `check_ids` over the history of this run's machine/engine/profile (2+ values each)."""
    from auralis_perf.history.store import run_key

    machine, engine, profile = run_key(results)
    plots = []
    for check_id in check_ids:
        series = _points(store.series(check_id, machine, engine, profile, limit=limit))
        if len(series) < 2:
            continue
        spec = catalog.checks.get(check_id)
        title = f"{check_id} {spec.title if spec else ''}".strip()
        unit = series[-1].get("unit") or (spec.unit if spec else "")
        direction = spec.direction if spec else "lower"
        steps = detect_steps([p["value"] for p in series])
        png = trend_png(series, title=title, unit=unit, direction=direction, steps=steps)
        plots.append(TrendPlot(check_id, title, unit, png, steps, len(series)))
    return plots
