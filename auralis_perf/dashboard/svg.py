"""One chart of the dashboard as inline SVG: a check's values over time, one line per machine.

Drawn as plain SVG text (no plotting library, no script), so that a page with a thousand runs stays a few
MB and opens anywhere. Each point is a link (to the run's report, or to its record on the page); detected
steps (regress/stepdetect.py) are dashed vertical lines labelled with their size, red when worse by the
check's direction; tier bounds are horizontal lines labelled with their tier; a failed point is hollow
(class "f"). Coordinates are whole pixels, colours sit on one group per machine: with 100,000 points
every byte of a point's markup is 100 KB of page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Callable, Sequence

from auralis_perf.catalog import TIERS, CheckSpec
from auralis_perf.dashboard.data import Point
from auralis_perf.regress.stepdetect import detect_steps

WIDTH, HEIGHT = 560, 170
LEFT, RIGHT, TOP, BOTTOM = 58, 40, 12, 20
#: Fewest points of one machine's series before steps are looked for (stepdetect needs 3 on each side).
MIN_POINTS_FOR_STEPS = 6
#: A tier bound is drawn when it lies within this factor of the plotted values (else it is only named).
TIER_REACH = 5.0
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
TIER_COLOURS = {"critical": "#c0392b", "target": "#b9770e", "stretch": "#1e8449"}
WORSE, BETTER = "#c0392b", "#1e8449"


@dataclass(frozen=True)
class Line:
    machine: str
    colour: str
    points: Sequence[Point]


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step) + 1)]


def _label(value: float) -> str:
    return f"{value:.4g}"


def chart(lines: Sequence[Line], spec: CheckSpec | None, *, times: dict[int, float], unit: str,
          href: Callable[[int], str], chart_id: str) -> str:
    """The SVG of one panel. `times` maps run ids to epoch seconds; `href(run_id)` gives a point's link."""
    values = [p.value for line in lines for p in line.points]
    lo, hi = min(values), max(values)
    notes = []
    bounds = []
    for tier in TIERS:
        bound = spec.tiers.get(tier) if spec else None
        if bound is None:
            continue
        near = (lo / TIER_REACH <= bound.limit <= hi * TIER_REACH) if lo > 0 else True
        if near:
            bounds.append((tier, bound))
            lo, hi = min(lo, bound.limit), max(hi, bound.limit)
        else:
            notes.append(f"{tier} {bound} (off the chart, {'above' if bound.limit > hi else 'below'})")
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    ts = [times[p.run_id] for line in lines for p in line.points]
    t0, t1 = min(ts), max(ts)
    span = (t1 - t0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> int:
        return round(LEFT + (t - t0) / span * plot_w) if t1 > t0 else LEFT + plot_w // 2

    def y(v: float) -> int:
        return round(TOP + (hi - v) / (hi - lo) * plot_h)

    out = [f'<svg id="{escape(chart_id)}" class="chart" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img">',
           f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d0d7de"/>']
    for tick in _ticks(lo, hi):
        out.append(f'<text x="{LEFT - 4}" y="{y(tick) + 3}" text-anchor="end" class="t">{_label(tick)}</text>'
                   f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick)}" y2="{y(tick)}" stroke="#eee"/>')
    out.append(f'<text x="4" y="{TOP + 8}" class="t">{escape(unit)}</text>')
    for label, t in ((_date(t0), t0), (_date(t1), t1)):
        anchor = "start" if t == t0 else "end"
        out.append(f'<text x="{x(t)}" y="{HEIGHT - 5}" text-anchor="{anchor}" class="t">{label}</text>')
    for tier, bound in bounds:
        colour = TIER_COLOURS[tier]
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(bound.limit)}" y2="{y(bound.limit)}" '
                   f'stroke="{colour}" stroke-dasharray="5 3"/><text x="{LEFT + plot_w + 2}" y="{y(bound.limit) + 3}" '
                   f'class="t" fill="{colour}">{tier[:4]}</text>')
    direction = spec.direction if spec else "lower"
    for line in lines:
        coords = [(x(times[p.run_id]), y(p.value)) for p in line.points]
        out.append(f'<polyline fill="none" stroke="{line.colour}" stroke-width="1.2" points="'
                   + " ".join(f"{a},{b}" for a, b in coords) + '"/>')
        if len(line.points) >= MIN_POINTS_FOR_STEPS:
            for step in detect_steps([p.value for p in line.points]):
                sx = coords[step.index][0]
                worse = (step.after > step.before) == (direction == "lower")
                colour = WORSE if worse else BETTER
                out.append(f'<line class="step" x1="{sx}" x2="{sx}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{colour}" '
                           f'stroke-dasharray="3 2"/><text x="{sx + 2}" y="{TOP + 9}" class="t" '
                           f'fill="{colour}">{step.relative:+.0%}</text>')
        # One group per machine carries the colour: a thousand points must not repeat it (page size).
        out.append(f'<g fill="{line.colour}" stroke="{line.colour}">')
        for p, (a, b) in zip(line.points, coords):
            failed = ' class="f"' if p.status == "fail" else ""
            out.append(f'<a href="{escape(href(p.run_id))}"><circle cx="{a}" cy="{b}" r="2.5"{failed}/></a>')
        out.append("</g>")
    out.append("</svg>")
    if notes:
        out.append(f'<div class="note">{escape("; ".join(notes))}</div>')
    return "".join(out)


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")
