"""Helpers every category's plots share: a plot that never raises, record lookup, notes for checks with
nothing to draw, and tier bound lines."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from auralis_perf.catalog import TIERS
from auralis_perf.notebook.helper import TIER_COLOURS, NotebookRun
from auralis_perf.report.formatting import STATUS_COLOURS
from auralis_perf.results import CheckResult


def never_raises(draw: Callable[[NotebookRun], Any]) -> Callable[[NotebookRun], Any]:
    """A plot that cannot be drawn says why on its figure: the notebook (and the report) goes on."""
    @functools.wraps(draw)
    def safe(run: NotebookRun) -> Any:
        from auralis_perf.notebook.helper import pyplot

        before = set(pyplot().get_fignums())
        try:
            return draw(run)
        except Exception as exc:  # noqa: BLE001 - a broken plot must not fail the category's notebook
            for number in set(pyplot().get_fignums()) - before:  # the half-drawn figure, not earlier ones
                pyplot().close(number)
            fig, ax = run.figure()
            ax.axis("off")
            ax.text(0.02, 0.5, f"{draw.__name__} could not draw: {type(exc).__name__}: {exc}"[:300],
                    transform=ax.transAxes, fontsize=8, color=STATUS_COLOURS["error"], wrap=True)
            return fig
    return safe


def record(run: NotebookRun, check_id: str) -> CheckResult | None:
    return run.records.get(check_id)


def usable(r: CheckResult | None) -> bool:
    return r is not None and r.value is not None and r.status in ("pass", "fail")


def note_missing(ax: Any, records: Sequence[tuple[str, CheckResult | None]]) -> None:
    """Write on the panel which checks have nothing to draw, and why."""
    lines = [f"{cid}: {r.status if r else 'not run'}" + (f" ({r.reason[:70]})" if r and r.reason else "")
             for cid, r in records if not usable(r)]
    if lines:
        ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", ha="left", fontsize=7,
                color=STATUS_COLOURS["error"], wrap=True,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


def bound_line(run: NotebookRun, ax: Any, check_id: str, x: tuple[float, float], *, scale: float = 1.0,
                labelled: set[str] | None = None) -> None:
    """The check's tier bounds as short horizontal lines across `x` (times `scale`)."""
    for tier in TIERS:
        bound = run.catalog[check_id].tiers.get(tier)
        if bound is None:
            continue
        first = labelled is not None and tier not in labelled
        if labelled is not None:
            labelled.add(tier)
        ax.hlines(bound.limit * scale, x[0], x[1], color=TIER_COLOURS[tier], linestyle="--", linewidth=1.2,
                  label=f"{tier} {bound.op} {bound.limit * scale:g}" if first else None)
