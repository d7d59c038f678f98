"""A group measured in rounds (`--against`): each round's records kept, then merged into one record per check.

The pipeline's lockstep runner (run/lockstep.py) has each kernel run a timing group round by round,
alternating with the other kernel, through `NotebookRun.group_round`; the notebook's own cell then gets
the merged records. A merged record keeps every round's figures in `details["rounds"]` (the value, the
median wall seconds and, where measured, the median CPU seconds of the round's timed calls): those are
what the paired verdict (regress/paired.py) compares round by round with the other side's.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from auralis_perf.catalog import Catalog
from auralis_perf.measure.rounds import CV_PERCENT
from auralis_perf.measure.stats import describe
from auralis_perf.results import CheckResult, evaluate


def round_figures(record: CheckResult) -> dict[str, Any]:
    """What one round says of a check: its value, median wall seconds and median CPU seconds (or None) of
    its timed calls, and whether the value is the median of its samples (a duration or rate of those calls)."""
    summary = record.summary or {}
    return {"value": record.value, "wall": summary.get("median"), "cpu": summary.get("cpu_median"),
            "value_is_sample_median": _is_median_of_samples(record)}


def _is_median_of_samples(record: CheckResult) -> bool:
    return (record.value is not None and bool(record.samples)
            and math.isclose(record.value, statistics.median(record.samples), rel_tol=1e-9, abs_tol=1e-15))


def merge_rounds(rounds: Sequence[Sequence[CheckResult]], catalog: Catalog) -> list[CheckResult]:
    """One record per check from each round's records (same checks in every round, in the first's order).

    A check that errored or was skipped in any round keeps that round's record (its reason is the
    answer). Otherwise the value is recomputed from all rounds' samples where the record says how
    (`CV_PERCENT`) or where each round's value was the median of its samples (RTFs, times), else it is
    the median of the rounds' values; tiers are judged on it.
    """
    if not rounds:
        raise ValueError("merge_rounds needs at least one round")
    merged = []
    for first in rounds[0]:
        per_round = [next((r for r in records if r.id == first.id), None) for records in rounds]
        bad = next((r for r in per_round if r is None or r.status in ("error", "skip")), "ok")
        if bad != "ok":
            merged.append(bad if bad is not None else first)
            continue
        kept: list[CheckResult] = [r for r in per_round if r is not None]
        last = kept[-1]
        samples = [s for r in kept for s in r.samples]
        values = [r.value for r in kept if r.value is not None]
        if last.details.get("value_from_samples") == CV_PERCENT and len(samples) >= 2:
            value: float | None = 100.0 * describe(samples).cv
        elif all(_is_median_of_samples(r) for r in kept):
            value = statistics.median(samples)
        else:
            value = statistics.median(values) if values else None
        details: dict[str, Any] = dict(last.details)
        details["rounds"] = [round_figures(r) for r in kept]
        violations = list(dict.fromkeys(v for r in kept for v in r.violations))
        record = evaluate(catalog[first.id], value, samples=samples, violations=violations, kind=last.kind,
                          summary=dict(last.summary), details=details, unit=last.unit)
        record.engine = last.engine
        merged.append(record)
    return merged


__all__ = ["merge_rounds", "round_figures"]
