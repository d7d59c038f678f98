"""Memory growth as a fitted slope with its confidence interval (the leak checks' one judge).

`measure.memory.leak_slope` fits the line; a perfectly flat series (every reading equal, which RSS in
whole pages often is) has no spread to estimate an error from, so its interval is the slope itself.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from auralis_perf.measure.memory import SlopeFit, is_leak, leak_slope


def growth_fit(x: Sequence[float], y: Sequence[float]) -> SlopeFit:
    """Least-squares slope of y (MB) against x (tracks, cycles) with a finite 95 % interval."""
    fit = leak_slope(x, y)
    if not math.isfinite(fit.stderr):
        flat = max(y) == min(y)
        if not flat:
            raise ValueError("the slope's standard error is undefined for this series")
        fit = replace(fit, stderr=0.0, ci_low=fit.slope, ci_high=fit.slope, r_squared=1.0)
    return fit


def judge_growth(x: Sequence[float], y: Sequence[float], *, per: float, tolerance: float) -> dict[str, Any]:
    """The growth per `per` units of x (e.g. per 1000 cycles), its interval, and whether it is a leak.

    A leak "beyond doubt" is one whose interval lies wholly above `tolerance` (MB per `per` units).
    """
    fit = growth_fit(x, y)
    return {"value": float(fit.slope * per), "ci": [float(fit.ci_low * per), float(fit.ci_high * per)],
            "fit": {k: float(v) for k, v in fit.to_dict().items()},
            "leak_beyond_doubt": bool(is_leak(fit, tolerance / per)), "points": len(x)}


__all__ = ["growth_fit", "judge_growth"]
