"""How values, tiers and statuses are written for people: shared by the notebook tables and the report."""
from __future__ import annotations

import math
from typing import Any

TIER_MARKS = {True: "✓", False: "✗", None: "–"}
STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#6e7781", "error": "#9a6700"}


def format_value(value: Any) -> str:
    """A number with four significant digits (whole numbers from 10,000 up), or an em dash when there is none."""
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "—"
        if 1e4 <= abs(value) < 1e15:
            return f"{value:.0f}"  # 24105, not 2.411e+04
        return f"{value:.4g}"
    return str(value)


def tier_mark(held: bool | None) -> str:
    return TIER_MARKS.get(held, "–")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"
