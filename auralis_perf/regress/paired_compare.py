"""`--against`: the verdicts of a candidate run against the baseline run measured beside it in one session.

A check measured in rounds on both sides (its record's `details["rounds"]`, see notebook/rounds.py) gets a
paired verdict (regress/paired.py) on one figure per round:

- "cpu": the process's CPU seconds of the round's timed calls, for computation (real-time factors and
  plain durations of `measure_time`): a neighbour on the other cores does not inflate it;
- "value": the check's own per-round value otherwise (latency, deadlines and parallel speedups are about
  the clock, so wall time is what counts).

Every other check is compared as a history baseline would be (`verdicts.compare`, without history: memory
tolerance, exact counts, Mann-Whitney on the samples of the two sides, measured minutes apart in the same
session). Either way a check that uses several cores is `inconclusive` when the machine was saturated
around its notebook (regress/load_guard.py); so is an unpaired timing's change, which load drifting between
the two sides' turns would explain as well (regress/drift_guard.py), unless both sides recorded it by
CPU time too (RT-14), which is then judged.
"""
from __future__ import annotations

import math
from typing import Any

from auralis_perf.catalog import Catalog, CheckSpec
from auralis_perf.regress.drift_guard import cpu_verdict, guard_unpaired_timing
from auralis_perf.regress.load_guard import guard_parallel
from auralis_perf.regress.paired import judge_paired
from auralis_perf.regress.verdicts import Comparison, Verdict, compare

RATE_KINDS = frozenset({"rtf", "rate", "throughput"})


def _rounds(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's paired rounds (notebook/rounds.round_figures), or [] when it has none. Several checks
    keep a "rounds" detail of their own scenario (MEM-08's open/close rounds, CACHE-04's fills, ...): those
    are no paired rounds, and such a check is compared unpaired."""
    rounds = (record.get("details") or {}).get("rounds")
    if not isinstance(rounds, list) or not rounds:
        return []
    if not all(isinstance(r, dict) and "value_is_sample_median" in r for r in rounds):
        return []
    return rounds


def _basis(record: dict[str, Any], a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    """"cpu" where the value is a computation's speed and both sides measured CPU time, else "value"."""
    kind = (record.get("kind") or "").lower()
    computed = kind in RATE_KINDS or (kind == "time" and all(r.get("value_is_sample_median") for r in a))
    has_cpu = all(r.get("cpu") for r in a + b)
    return "cpu" if computed and has_cpu else "value"


def _paired_verdict(record: dict[str, Any], base_rec: dict[str, Any], spec: CheckSpec, alpha: float,
                    critical: bool, floor: float) -> Verdict:
    a, b = _rounds(record), _rounds(base_rec)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    basis = _basis(record, a, b)
    if basis == "cpu":
        cand, base, lower_better = [r["cpu"] for r in a], [r["cpu"] for r in b], True
        what = "CPU seconds per call"
    else:
        cand = [r["value"] if r.get("value") is not None else math.nan for r in a]
        base = [r["value"] if r.get("value") is not None else math.nan for r in b]
        lower_better, what = spec.direction == "lower", "value per round"
    result = judge_paired(cand, base, lower_is_better=lower_better, floor=floor, alpha=alpha)
    return Verdict(record["id"], record.get("title") or spec.title, record.get("unit") or spec.unit, result.verdict,
                   base_rec.get("value"), record.get("value"), result.ratio, result.p_value, f"paired ({basis})",
                   f"{what}: {result.note}", critical, False, rounds=result.rounds, ci=result.ci)


def compare_paired(candidate: dict[str, Any], baseline: dict[str, Any], catalog: Catalog, *,
                   label: str = "", floor: float | None = None) -> Comparison:
    """Every check of `candidate` judged against `baseline` (see the module's docstring); `floor`, when
    given, replaces each check's own paired floor in the paired verdicts (`--against-floor`)."""
    unpaired = {v.id: v for v in compare(candidate, baseline, catalog, normalise=False).verdicts}
    base_by_id = {c["id"]: c for c in baseline.get("checks", [])}
    verdicts, not_compared = [], []
    for record in candidate.get("checks", []):
        check_id, base_rec = record["id"], base_by_id.get(record["id"])
        spec = catalog.checks.get(check_id)
        if base_rec is None or spec is None:
            not_compared.append(check_id)
            continue
        critical = spec.tiers.get("critical") is not None
        paired = None
        if _rounds(record) and _rounds(base_rec) and record.get("status") in ("pass", "fail") \
                and base_rec.get("status") in ("pass", "fail"):
            paired = _paired_verdict(record, base_rec, spec, catalog.alpha, critical,
                                     spec.paired_floor if floor is None else floor)
        if paired is not None and (paired.rounds or check_id not in unpaired):
            verdicts.append(guard_parallel(paired, spec, record.get("category", ""), candidate))
        # no rounds, or none with a figure to pair (RT-05: a CV of all runs); compare() applied the load guard
        elif check_id in unpaired:
            verdict = unpaired[check_id]
            verdict.rule = f"{verdict.rule} (unpaired, same session)"
            by_cpu = cpu_verdict(record, base_rec, spec, verdict, alpha=catalog.alpha)
            verdicts.append(by_cpu or guard_unpaired_timing(verdict, record, spec, candidate, baseline))
        else:
            not_compared.append(check_id)
    note = ("paired: candidate and baseline ran in lockstep kernels of one session; timing groups in alternating "
            "rounds (A B B A ...)")
    return Comparison(verdicts, False, label or str(baseline["run"].get("id")), label, None, not_compared,
                      note, mode="paired")


__all__ = ["compare_paired"]
