"""Two time profiles of one check's workload (baseline, now) -> the functions whose share of the time grew.

Shares, not seconds: the two runs may differ in length and machine load, while a function that takes a
larger part of the same workload is what a regression looks like from inside. Own time ranks first: a
slowed leaf (a kernel) grows in its own time, while every caller above it grows only in total time.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOP_N = 6
#: A change below half a percentage point of the time is sampling noise at these run lengths.
MIN_GROWTH = 0.005


def profile_diff(before: Mapping[str, Any], after: Mapping[str, Any], n: int = TOP_N) -> list[dict[str, Any]]:
    """Functions whose own share grew most from `before` to `after` (the `summary()` dicts of two time
    profiles), largest growth first; a function absent from one side counts as 0 there."""
    old, new = before.get("functions") or {}, after.get("functions") or {}
    rows = []
    for key in set(old) | set(new):
        a, b = old.get(key) or {}, new.get(key) or {}
        grown = (b.get("own_share") or 0.0) - (a.get("own_share") or 0.0)
        if grown < MIN_GROWTH:
            continue
        info = b or a
        rows.append({"function": info.get("function"), "module": info.get("module"),
                     "own_share_before": a.get("own_share", 0.0), "own_share_after": b.get("own_share", 0.0),
                     "total_share_before": a.get("total_share", 0.0), "total_share_after": b.get("total_share", 0.0),
                     "growth": round(grown, 4), **({"dispatcher": info["dispatcher"]} if info.get("dispatcher") else {})})
    return sorted(rows, key=lambda r: r["growth"], reverse=True)[:n]
