"""The load guard: a parallel check is not judged on a machine whose cores were taken by others.

A check "uses several cores" when its criterion or what it measures is stated in cores (RT-11, RT-18,
OPT-11, OPT-14: "speedup >= 0.7 x cores"), or it spreads work over every core (RT-12, OPT-12). Around each category's notebook the run records the free cores (measure/capacity.py);
when the fewer of the two readings is below SATURATED_SHARE of the cores, such a check's change is
`inconclusive`, never `regressed`: lost capacity, not code, would explain it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auralis_perf.catalog import CheckSpec

if TYPE_CHECKING:
    from auralis_perf.regress.verdicts import Verdict

#: Free cores below this share of the machine's cores: saturated for a parallel check.
SATURATED_SHARE = 0.75


#: Checks whose figure is work spread over every core though their criterion does not say "cores": RT-12
#: (a batch on every core), OPT-12 (speedup per thread of a pool).
SPREAD_OVER_CORES = frozenset({"RT-12", "OPT-12"})


def uses_cores(spec: CheckSpec | None) -> bool:
    """Whether the check's figure depends on how many cores it gets: its criterion or what it measures
    speaks of cores, or it is one of SPREAD_OVER_CORES."""
    if spec is None:
        return False
    text = f"{spec.criterion or ''} {spec.measures or ''}".lower()
    return spec.id in SPREAD_OVER_CORES or "cores" in text or "every core" in text


def saturation(readings: list[dict[str, Any] | None], needing: str = "a parallel check needs") -> str | None:
    """Why the machine was too busy for a parallel check (free_cores readings around its notebook), or None;
    `needing` names who needs the free cores in the reason."""
    known = [r for r in readings if r and r.get("free_cores") is not None and r.get("cores")]
    if not known:
        return None
    worst = min(known, key=lambda r: r["free_cores"] / r["cores"])
    if worst["free_cores"] < SATURATED_SHARE * worst["cores"]:
        where = f"around its group '{worst['group']}'" if worst.get("group") else "around this notebook"
        return (f"the machine was saturated: {worst['free_cores']:.2f} of its {worst['cores']} cores were free "
                f"{where} ({needing} {SATURATED_SHARE:.0%} of them)")
    return None


def load_readings(documents: tuple[dict[str, Any], ...], category: str, group: str | None) -> list[dict[str, Any]]:
    """The free-core readings of `documents` around the category's notebook: those read before and after
    it, and those around `group`'s cell (--against reads one pair around each group, tagged "group")."""
    return [r for d in documents for r in ((d.get("run") or {}).get("free_cores_by_category") or {})
            .get(category, []) if r and r.get("group") in (None, group)]


def guard_parallel(verdict: "Verdict", spec: CheckSpec | None, category: str,
                   *documents: dict[str, Any]) -> "Verdict":
    """`verdict` made `inconclusive` when it is a change of a parallel check and any of the runs compared
    (results documents) found the machine saturated around the category's notebook; the reason is noted."""
    if not uses_cores(spec):
        return verdict
    busy = saturation(load_readings(documents, category, spec.group if spec else None))
    if busy and verdict.verdict in ("regressed", "improved"):
        verdict.verdict, verdict.note = "inconclusive", f"{verdict.note}; but {busy}"
    elif busy:
        verdict.note = f"{verdict.note}; {busy}"
    return verdict


__all__ = ["SATURATED_SHARE", "SPREAD_OVER_CORES", "guard_parallel", "load_readings", "saturation", "uses_cores"]
