"""Which checks a run explains, and which profiler explains each (time or memory)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

EXPLAIN_CHOICES = ("all", "failing", "none")
DEFAULT_EXPLAIN = "failing"

#: Units whose figure is a time or a rate of work: a sampling profile says where that time went.
TIME_UNITS = frozenset({"x", "ms", "s", "ms/s", "Msamples/s", "jobs/s", "efficiency", "% of chunk", "%"})
#: Units whose figure is memory held: the allocations alive at the peak say who holds it.
MEMORY_UNITS = frozenset({"MB", "KB/track", "MB/track", "bytes/chunk", "MB/1000 cycles", "x input"})


def profile_kind(record: Mapping[str, Any]) -> str | None:
    """"time", "memory" or None (a count of wrong answers, say: no profile explains it)."""
    unit = record.get("unit") or ""
    if unit in MEMORY_UNITS:
        return "memory"
    if unit in TIME_UNITS and record.get("category") != "memory":
        return "time"
    return None


def wanted(record: Mapping[str, Any], mode: str, regressed: Iterable[str] = ()) -> bool:
    """Whether `mode` asks for this check's explanation: `failing` = status fail (a tier missed) or
    regressed against the baseline; `all` = every measured timing or memory check."""
    if mode not in EXPLAIN_CHOICES:
        raise ValueError(f"--explain must be one of {', '.join(EXPLAIN_CHOICES)}, got {mode!r}")
    if mode == "none" or profile_kind(record) is None or record.get("value") is None:
        return False
    return mode == "all" or record.get("status") == "fail" or record.get("id") in set(regressed)
