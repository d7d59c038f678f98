"""The drift guard of `--against`: an unpaired timing is not judged when the machine was saturated.

Only the groups of measure/rounds.ROUND_GROUPS run in alternating rounds; every other timing group runs
once per side, one side's turn after the other's, and is compared on its samples (Mann-Whitney U). On a
loaded machine the load during the candidate's turn is not the load during the baseline's: an A/A run at
load 9 on 2 cores read RT-14 `regressed` (-12 %, p = 0.004) on identical engines. Such a change cannot be
told from load drift, so when the free cores read around the category's notebook (measure/capacity.py, the
readings the load guard uses) fell below load_guard.SATURATED_SHARE of the cores, an unpaired timing's
`regressed`/`improved` becomes `inconclusive`, saying why. On a machine with its cores free the verdict
stands (a real slowdown of a group run once per side is still caught there).

A "timing" here is a figure of the `samples` rule that the clock makes: a duration, a rate, a real-time
factor, or a ratio of timings (`kind` time/rtf/rate/throughput/ratio, or a time or rate unit). Memory,
counts, instruction counts and numeric differences do not drift with load and keep their verdicts.
Checks that use several cores are left to load_guard.guard_parallel, which already holds them back.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auralis_perf.catalog import CheckSpec
from auralis_perf.regress.load_guard import saturation, uses_cores
from auralis_perf.regress.rules import RATE_KINDS, RATE_UNITS, TIME_UNITS, rule_for

if TYPE_CHECKING:
    from auralis_perf.regress.verdicts import Verdict

#: Kinds of figures the clock makes (besides RATE_KINDS): durations and ratios of durations.
CLOCK_KINDS = RATE_KINDS | frozenset({"time", "ratio"})


def is_clock_timing(record: dict[str, Any]) -> bool:
    """Whether a record's figure is a timing judged on its samples (see the module's docstring)."""
    if rule_for(record) != "samples":
        return False
    kind = (record.get("kind") or "").lower()
    unit = (record.get("unit") or "").strip().lower()
    return kind in CLOCK_KINDS or unit in TIME_UNITS or unit in RATE_UNITS


def guard_unpaired_timing(verdict: "Verdict", record: dict[str, Any], spec: CheckSpec | None,
                          *documents: dict[str, Any]) -> "Verdict":
    """`verdict` (an unpaired, same-session comparison of `record`) made `inconclusive` when it is a change
    of a clock timing and any of `documents` (the two sides' results) found the machine saturated around
    the record's category notebook; an `unchanged` verdict keeps its verdict and gets the reason noted."""
    if uses_cores(spec) or not is_clock_timing(record):
        return verdict
    category = record.get("category", "")
    readings = [r for d in documents for r in ((d.get("run") or {}).get("free_cores_by_category") or {})
                .get(category, [])]
    busy = saturation(readings)
    if not busy:
        return verdict
    why = (f"{busy}; this group ran once per side, so load drifting between the two turns cannot be told "
           f"from a change of the code")
    if verdict.verdict in ("regressed", "improved"):
        verdict.verdict, verdict.note = "inconclusive", f"{verdict.note}; but {why}"
    elif verdict.verdict == "unchanged":
        verdict.note = f"{verdict.note}; note: {why}"
    return verdict


__all__ = ["CLOCK_KINDS", "guard_unpaired_timing", "is_clock_timing"]
