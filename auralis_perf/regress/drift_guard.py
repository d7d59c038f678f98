"""The drift guard of `--against`: an unpaired timing is not judged when the machine was saturated.

Only the groups of measure/rounds.ROUND_GROUPS run in alternating rounds; every other timing group runs
once per side, one side's turn after the other's, and is compared on its samples (Mann-Whitney U). On a
loaded machine the load during the candidate's turn is not the load during the baseline's: an A/A run at
load 9 on 2 cores read RT-14 `regressed` (-12 %, p = 0.004) on identical engines. Such a change cannot be
told from load drift, so when the free cores read around the category's notebook (measure/capacity.py, the
readings the load guard uses) fell below load_guard.SATURATED_SHARE of the cores, an unpaired timing's
`regressed`/`improved` becomes `inconclusive`, saying why. On a machine with its cores free the verdict
stands (a real slowdown of a group run once per side is still caught there).

On any load, an unpaired timing's change must also exceed UNPAIRED_TIMING_FLOOR (30 %): one process per
side, and two processes of the same code differ by more than their own samples show (see the constant).

A "timing" here is a figure of the `samples` rule that the clock makes: a duration, a rate, a real-time
factor, or a ratio of timings (`kind` time/rtf/rate/throughput/ratio, or a time or rate unit). Memory,
counts, instruction counts and numeric differences do not drift with load and keep their verdicts.
Checks that use several cores are left to load_guard.guard_parallel, which already holds them back on a
busy machine; on any load their unpaired change must exceed UNPAIRED_PARALLEL_FLOOR (50 %).

Where both sides recorded the figure by process CPU time as well (`details["cpu_samples"]`: the check's
samples computed from CPU seconds instead of wall seconds, pointing the same way as its value; RT-14's
stream records them), the unpaired comparison judges those instead (`cpu_verdict`): a neighbour taking
the core during one side's turn does not inflate them, so the verdict needs no guard; the wall-clock
verdict is quoted in the note. This is the issue's rule "CPU time for computation" for groups that run
once per side.
"""
from __future__ import annotations

import statistics
from typing import Any

from auralis_perf.catalog import CheckSpec
from auralis_perf.regress.load_guard import load_readings, saturation, uses_cores
from auralis_perf.regress.rules import RATE_KINDS, RATE_UNITS, TIME_UNITS, rule_for
from auralis_perf.regress.verdicts import Verdict, judge_samples

#: Kinds of figures the clock makes (besides RATE_KINDS): durations and ratios of durations.
CLOCK_KINDS = RATE_KINDS | frozenset({"time", "ratio"})

#: The smallest change of a timing compared unpaired (one process per side) that `--against` calls a
#: change. Two processes of the same code differ by more than their own samples' spread suggests: a quiet
#: whole-catalogue A/A run here (standard, 02:13) read RT-10 +25 % (p 0.007), CACHE-14 -11 % (p 0.004),
#: OPT-16 -11 %, DB-18 -11 %, each significant by Mann-Whitney on its own samples. One session has no
#: measure of that between-process spread (the history mode learns it from earlier runs), so a smaller
#: unpaired change stays `inconclusive`; the paired checks (RT-01..05, fresh processes per round) are not
#: affected.
UNPAIRED_TIMING_FLOOR = 0.30
#: The same for a check that spreads its work over the cores (a parallel speedup or efficiency): it also
#: depends on every core being as fast as the others at that moment, and on this shared host one virtual
#: CPU was at times 35-50 % slower than the other for seconds (measure/turns.py). A quiet
#: whole-catalogue A/A run (2026-12-05, 09:56) read RT-18 +32 % (0.63 -> 0.83, p 0.004) on identical engines.
UNPAIRED_PARALLEL_FLOOR = 0.50


def is_clock_timing(record: dict[str, Any]) -> bool:
    """Whether a record's figure is a timing judged on its samples (see the module's docstring)."""
    if rule_for(record) != "samples":
        return False
    kind = (record.get("kind") or "").lower()
    unit = (record.get("unit") or "").strip().lower()
    return kind in CLOCK_KINDS or unit in TIME_UNITS or unit in RATE_UNITS


def guard_unpaired_timing(verdict: Verdict, record: dict[str, Any], spec: CheckSpec | None,
                          *documents: dict[str, Any]) -> Verdict:
    """`verdict` (an unpaired, same-session comparison of `record`) made `inconclusive` when it is a change
    of a clock timing and any of `documents` (the two sides' results) found the machine saturated around
    the record's category notebook; an `unchanged` verdict keeps its verdict and gets the reason noted."""
    if uses_cores(spec):
        _hold_back_process_offsets(verdict, UNPAIRED_PARALLEL_FLOOR, "a figure that needs every core")
        return verdict
    if not is_clock_timing(record):
        return verdict
    readings = load_readings(documents, record.get("category", ""), spec.group if spec else None)
    busy = saturation(readings, needing="an unpaired timing needs")
    if not busy:
        _hold_back_process_offsets(verdict)
        return verdict
    why = (f"{busy}; this group ran once per side, so load drifting between the two turns cannot be told "
           f"from a change of the code")
    if verdict.verdict in ("regressed", "improved"):
        verdict.verdict, verdict.note = "inconclusive", f"{verdict.note}; but {why}"
    elif verdict.verdict == "unchanged":
        verdict.note = f"{verdict.note}; note: {why}"
    return verdict


def cpu_samples(record: dict[str, Any]) -> list[float] | None:
    """The record's samples by CPU time (`details["cpu_samples"]`), or None when it has none usable."""
    values = (record.get("details") or {}).get("cpu_samples")
    if not isinstance(values, list) or not values or not all(isinstance(v, (int, float)) for v in values):
        return None
    return [float(v) for v in values]


def _hold_back_process_offsets(verdict: Verdict, floor: float = UNPAIRED_TIMING_FLOOR,
                               what: str = "") -> None:
    """A `regressed`/`improved` unpaired timing within `floor` becomes `inconclusive`."""
    if verdict.verdict not in ("regressed", "improved") or not verdict.before or not verdict.after \
            or verdict.before <= 0 or verdict.after <= 0:
        return
    factor = max(verdict.after / verdict.before, verdict.before / verdict.after)
    if factor < 1 + floor:
        verdict.verdict = "inconclusive"
        verdict.note = (f"{verdict.note}; but compared unpaired (one process per side), and two processes of the "
                        f"same code differ by up to {floor:.0%} here{f' for {what}' if what else ''}: too small "
                        "to tell")


def cpu_verdict(record: dict[str, Any], base_rec: dict[str, Any], spec: CheckSpec, wall: Verdict, *,
                alpha: float) -> Verdict | None:
    """The unpaired verdict of `record` against `base_rec` on their CPU-time samples (the timing rule:
    the check's floor and a one-sided Mann-Whitney U), or None unless both sides have them. `wall` is the
    verdict on the wall-clock samples, quoted in the note. Checks that use several cores are about the
    clock (a parallel speedup), and a verdict without both values (a unit changed, a value missing) stands."""
    after, before = cpu_samples(record), cpu_samples(base_rec)
    if after is None or before is None or uses_cores(spec) or not is_clock_timing(record) \
            or wall.before is None or wall.after is None or record.get("unit") != base_rec.get("unit"):
        return None
    verdict, p, note = judge_samples(before, after, direction=spec.direction, floor=spec.floor, alpha=alpha)
    b, a = statistics.median(before), statistics.median(after)
    ratio = a / b if b > 0 else None
    return Verdict(wall.id, wall.title, wall.unit, verdict, wall.before, wall.after, ratio, p,
                   "samples by CPU time (unpaired, same session)",
                   f"by CPU time: {note} (by wall time: {wall.verdict}, {wall.note})", wall.critical, False)


__all__ = ["CLOCK_KINDS", "UNPAIRED_PARALLEL_FLOOR", "UNPAIRED_TIMING_FLOOR", "cpu_samples", "cpu_verdict", "guard_unpaired_timing", "is_clock_timing"]
