"""Cross-machine comparisons: how much slower this machine is than the baseline's, from the control workload.

Every run measures the same fixed kernels (`auralis_perf.measure.control`, stored as `run["control"]`). The
speed ratio is the geometric mean of the CPU kernel's and the memory-copy kernel's time ratios (current /
baseline): > 1 means this machine is slower. A baseline duration times the ratio is what the baseline
would have measured here; a baseline rate is divided by it.
"""
from __future__ import annotations

import math
from typing import Any

KERNELS = ("cpu", "memory")


class NormalisationError(ValueError):
    """The two runs' control workloads cannot be compared (missing, other version, unusable figures)."""


def _control(results: dict[str, Any], which: str) -> dict[str, Any]:
    control = (results.get("run") or {}).get("control")
    if not isinstance(control, dict):
        raise NormalisationError(f"the {which} run ({(results.get('run') or {}).get('id')}) has no control workload "
                                 "(run.control)")
    return control


def speed_ratio(current: dict[str, Any], baseline: dict[str, Any]) -> float:
    """(current control time / baseline control time), geometric mean over the CPU and memory kernels."""
    now, then = _control(current, "current"), _control(baseline, "baseline")
    if now.get("version") != then.get("version"):
        raise NormalisationError(f"control workload versions differ (current {now.get('version')}, baseline "
                                 f"{then.get('version')}): their times do not measure the same work")
    logs = []
    for kernel in KERNELS:
        a, b = (now.get(kernel) or {}).get("median_s"), (then.get(kernel) or {}).get("median_s")
        if not all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in (a, b)):
            raise NormalisationError(f"control kernel {kernel!r} lacks a positive median_s (current {a!r}, "
                                     f"baseline {b!r})")
        logs.append(math.log(a / b))
    return math.exp(sum(logs) / len(logs))
