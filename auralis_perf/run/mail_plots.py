"""The mail's few plots, as small PNGs (mail clients show `cid:` images, not the report's `data:` ones).

- headroom: the checks closest to (or past) their gating bound, as value over bound by the check's
  direction (1 = on the bound, below 1 = missed), critical checks marked;
- changes: the compared checks that moved most against the baseline (worse to the right, in red);
- status: pass/fail/skip/error per category.
Each is drawn with matplotlib's Agg canvas (no pyplot state) at a low dpi, so three stay well under 100 KB.
"""
from __future__ import annotations

import io
from typing import Any

from auralis_perf.report.formatting import STATUS_COLOURS
from auralis_perf.run.digest import EngineDigest

DPI = 72
#: Rows in the headroom and changes plots.
MAX_BARS = 12


def _figure(height_rows: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 0.9 + 0.24 * max(height_rows, 3)), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def headroom(digest: EngineDigest, record: dict[str, Any]) -> float | None:
    """Value over its gating bound, oriented so that above 1 holds and below 1 misses; None if not defined."""
    spec = digest.catalog.checks.get(record.get("id"))
    value = record.get("value")
    tier = spec.gating_tier if spec else None
    bound = spec.tiers.get(tier) if tier else None
    if bound is None or bound.op == "==" or not isinstance(value, (int, float)) or value <= 0 or bound.limit <= 0:
        return None
    return value / bound.limit if bound.op in (">", ">=") else bound.limit / value


def headroom_png(digest: EngineDigest) -> bytes | None:
    rows = [(r["id"], headroom(digest, r), digest.catalog[r["id"]].tiers.get("critical") is not None)
            for r in digest.summary.checks if r.get("id") in digest.catalog.checks]
    rows = sorted([r for r in rows if r[1] is not None], key=lambda r: r[1])[:MAX_BARS]
    if not rows:
        return None
    figure = _figure(len(rows))
    axes = figure.add_subplot()
    labels = [f"{i}{' (critical)' if critical else ''}" for i, _, critical in rows][::-1]
    values = [h for _, h, _ in rows][::-1]
    colours = [STATUS_COLOURS["fail"] if h < 1 else "#4a6fa5" for h in values]
    axes.barh(labels, values, color=colours)
    axes.axvline(1.0, color="#333333", linewidth=1)
    axes.set_xscale("log")
    axes.set_title("Closest to their bound (value / bound; left of the line = missed)", fontsize=9)
    axes.tick_params(labelsize=7)
    return _png(figure)


def changes_png(digest: EngineDigest) -> bytes | None:
    moves = digest.biggest_moves(MAX_BARS)
    if not moves:
        return None
    figure = _figure(len(moves))
    axes = figure.add_subplot()
    labels = [f"{c['id']} ({c.get('verdict')})" for c in moves][::-1]
    worse = [(digest.worse_factor(c) - 1) * 100 for c in moves][::-1]
    axes.barh(labels, worse, color=[STATUS_COLOURS["fail"] if w > 0 else STATUS_COLOURS["pass"] for w in worse])
    axes.axvline(0, color="#333333", linewidth=1)
    axes.set_title("Largest moves against the baseline (% worse; right = worse)", fontsize=9)
    axes.tick_params(labelsize=7)
    return _png(figure)


def status_png(digest: EngineDigest) -> bytes | None:
    categories = digest.category_counts()
    if not categories:
        return None
    figure = _figure(len(categories))
    axes = figure.add_subplot()
    labels = [title for title, _ in categories][::-1]
    left = [0] * len(labels)
    for status in ("pass", "fail", "skip", "error"):
        counts = [c[status] for _, c in categories][::-1]
        axes.barh(labels, counts, left=left, color=STATUS_COLOURS[status], label=status)
        left = [a + b for a, b in zip(left, counts)]
    axes.legend(fontsize=7, ncol=4, loc="lower right", frameon=False)
    axes.set_title("Checks by status", fontsize=9)
    axes.tick_params(labelsize=7)
    axes.set_xlim(0, max(left) * 1.05 if max(left) else 1)
    return _png(figure)


def key_plots(digest: EngineDigest) -> list[tuple[str, str, bytes]]:
    """(name, caption, png) of the plots that have something to show, at most three."""
    plots = [("changes", "Largest moves against the baseline", changes_png(digest)),
             ("headroom", "Checks closest to their bound", headroom_png(digest)),
             ("status", "Checks by status and category", status_png(digest))]
    return [(name, caption, png) for name, caption, png in plots if png is not None]
