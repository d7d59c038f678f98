"""What the explain step may spend, and in which order it spends it.

A run where many checks fail (Auralis 087974e2 at smoke: some thirty timing and memory checks in fifteen
groups) would re-run most of its workload under profilers, for an hour. `--explain-budget SECONDS` bounds
the step's wall time per engine (all passes together), and the order puts the most important failures
first: a critical tier missed, then a regression, then any other tier missed, then the rest (`--explain
all`); within each, the cheapest profile first (the measured run's own scenario seconds), so one slow
group does not crowd out several quick ones. A check the budget leaves out gets an explanation that says
so ("not profiled: ..."), shown under it like any other missing profile: never dropped silently.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auralis_perf.catalog import Catalog

#: The default budget: a reference run's failing checks take under a minute or two to profile (41 s at
#: standard on a quiet machine, 135 s at smoke under load); 15 minutes leaves those untouched and bounds
#: a run on an engine where most checks fail.
DEFAULT_BUDGET_S = 900.0

#: Priority classes, most important first.
CRITICAL, REGRESSED, MISSED, OTHER = range(4)
PRIORITY_NAMES = {CRITICAL: "critical tier missed", REGRESSED: "regressed", MISSED: "a tier missed",
                  OTHER: "asked for (--explain all)"}


def limit(budget_s: float | None) -> float | None:
    """The budget in seconds, or None for no limit (None, 0 or a negative number)."""
    return budget_s if budget_s is not None and budget_s > 0 else None


def priority(record: Mapping[str, Any], regressed: Iterable[str] = ()) -> int:
    """CRITICAL, REGRESSED, MISSED or OTHER for one check record."""
    tiers = record.get("tiers") or {}
    failed = record.get("status") == "fail"
    if failed and tiers.get("critical") is False:
        return CRITICAL
    if record.get("id") in set(regressed):
        return REGRESSED
    return MISSED if failed else OTHER


def estimated_seconds(record: Mapping[str, Any]) -> float:
    """What the measured run spent on the check's own scenario (0 when a group measured it in a shared pass)."""
    try:
        return max(0.0, float((record.get("details") or {}).get("scenario_seconds") or 0.0))
    except (TypeError, ValueError):
        return 0.0


def order_checks(records: Iterable[Mapping[str, Any]], chosen: Mapping[str, str], catalog: Catalog,
                 regressed: Iterable[str] = ()) -> dict[str, str]:
    """`chosen` ({check id: kind}) reordered so that the profiles (one per group and kind, which the child
    runs in the order their first check appears) come most important first, then cheapest first."""
    regressed = set(regressed)
    by_id = {r["id"]: r for r in records if r.get("id") in chosen}
    units: dict[tuple[str, str], list[str]] = {}
    for check_id, kind in chosen.items():
        spec = catalog.checks.get(check_id)
        units.setdefault((spec.group if spec else check_id, kind), []).append(check_id)

    def rank(ids: list[str]) -> tuple[int, float]:
        members = [by_id.get(i, {"id": i}) for i in ids]
        return (min(priority(r, regressed) for r in members), sum(estimated_seconds(r) for r in members))

    ordered = sorted(units.values(), key=rank)  # stable: catalogue order breaks ties
    return {check_id: chosen[check_id] for ids in ordered for check_id in ids}


def not_profiled(budget_s: float, why: str = "spent on more important failures first") -> str:
    """The reason a check the budget left out gets under it."""
    return f"not profiled: the explain budget ({budget_s:g} s, --explain-budget) was {why}"


__all__ = ["CRITICAL", "DEFAULT_BUDGET_S", "MISSED", "OTHER", "PRIORITY_NAMES", "REGRESSED", "estimated_seconds",
           "limit", "not_profiled", "order_checks", "priority"]
