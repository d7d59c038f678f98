"""The control workload: how fast the machine was, to normalise across machines and to spot a busy one.

Every run measures the same fixed kernels (`auralis_perf.measure.control`): once at the start
(`run["control"]`) and, in pipeline runs, before and after each category's notebook
(`run["control_by_category"][category] = [before, after]`). A control's "time" is the geometric mean of
its CPU kernel's and its memory-copy kernel's median seconds.

- Across machines, the speed ratio (current / baseline, > 1: this machine is slower) scales baseline
  durations up and baseline rates down: what the baseline would have measured here.
- On one machine, the same ratio around a category's notebook says whether the machine was busier then
  than at the baseline: a slowdown that the machine's state can explain is not blamed on the code.
"""
from __future__ import annotations

import math
from typing import Any

KERNELS = ("cpu", "memory")


class NormalisationError(ValueError):
    """The two runs' control workloads cannot be compared (missing, other version, unusable figures)."""


def control_time(control: dict[str, Any]) -> float:
    """Geometric mean of the kernels' median seconds; NormalisationError when a figure is unusable."""
    logs = []
    for kernel in KERNELS:
        median = (control.get(kernel) or {}).get("median_s")
        if not (isinstance(median, (int, float)) and math.isfinite(median) and median > 0):
            raise NormalisationError(f"control kernel {kernel!r} lacks a positive median_s (got {median!r})")
        logs.append(math.log(median))
    return math.exp(sum(logs) / len(logs))


def _control(results: dict[str, Any], which: str) -> dict[str, Any]:
    control = (results.get("run") or {}).get("control")
    if not isinstance(control, dict):
        raise NormalisationError(f"the {which} run ({(results.get('run') or {}).get('id')}) has no control workload "
                                 "(run.control)")
    return control


def _check_versions(now: dict[str, Any], then: dict[str, Any]) -> None:
    if now.get("version") != then.get("version"):
        raise NormalisationError(f"control workload versions differ (current {now.get('version')}, baseline "
                                 f"{then.get('version')}): their times do not measure the same work")


def speed_ratio(current: dict[str, Any], baseline: dict[str, Any]) -> float:
    """current control time / baseline control time, from the runs' start-of-run controls."""
    now, then = _control(current, "current"), _control(baseline, "baseline")
    _check_versions(now, then)
    return control_time(now) / control_time(then)


def _category_times(results: dict[str, Any], category: str) -> tuple[list[float], Any] | None:
    """(control times measured around the category's notebook, control version), or None when not measured."""
    controls = ((results.get("run") or {}).get("control_by_category") or {}).get(category) or []
    usable = []
    for control in controls:
        if isinstance(control, dict):
            try:
                usable.append((control_time(control), control.get("version")))
            except NormalisationError:
                continue
    if not usable or len({version for _, version in usable}) != 1:
        return None
    return [t for t, _ in usable], usable[0][1]


def category_state_bounds(current: dict[str, Any], baseline: dict[str, Any],
                          category: str) -> tuple[float, float] | None:
    """How much slower the machine may have been around this category's notebook now than at the
    baseline, as (lowest, highest) ratio of control times: fastest-now / slowest-then and slowest-now /
    fastest-then. None when either run lacks those controls or their versions differ."""
    now, then = _category_times(current, category), _category_times(baseline, category)
    if now is None or then is None or now[1] != then[1]:
        return None
    return min(now[0]) / max(then[0]), max(now[0]) / min(then[0])
