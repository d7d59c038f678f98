"""What a run's short forms say (summary.md, the mail's body, JUnit): one digest per engine, computed once.

The report shows everything; the places where teams meet a run (a CI job page, a mailbox, a test report)
show only what needs attention: counts, critical misses, regressions and improvements against the
baseline, the checks that moved most, and the checks that failed or changed. This module picks those out
of a results document and the baseline verdicts, so that the Markdown and the HTML say the same things.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from auralis_perf.catalog import TIERS, Catalog, load_catalog
from auralis_perf.categories import CATEGORIES
from auralis_perf.report.formatting import format_value
from auralis_perf.report.model import EngineSummary, summarize

#: Verdicts that mean "this check changed" against the baseline.
CHANGED = ("regressed", "improved")


@dataclass(frozen=True)
class Row:
    """One check as the short forms list it (a failed, errored or changed check)."""

    id: str
    title: str
    category: str
    status: str
    value: str             # formatted, with its unit
    bound: str             # the tier bound it missed, e.g. "critical > 20", or ""
    verdict: str           # baseline verdict, or ""
    change: str            # e.g. "+26% worse", or ""
    reason: str            # why it failed / errored, or the verdict's note


@dataclass
class EngineDigest:
    summary: EngineSummary
    catalog: Catalog
    changes: list[dict[str, Any]] | None = None   # this engine's baseline verdicts (None: nothing compared)
    report_path: Path | None = None
    baseline_label: str = ""                       # what the run was compared with, e.g. "latest run #12"
    by_id: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {c["id"]: c for c in self.summary.checks}

    @property
    def engine(self) -> str:
        return self.summary.engine

    @property
    def profile(self) -> str:
        return self.summary.profile

    @property
    def machine_label(self) -> str:
        return machine_label(self.summary.run.get("machine") or {})

    def verdicts(self, verdict: str) -> list[dict[str, Any]]:
        return [c for c in self.changes or [] if c.get("verdict") == verdict]

    @property
    def regressions(self) -> list[dict[str, Any]]:
        """Regressed checks, critical ones first."""
        return sorted(self.verdicts("regressed"), key=lambda c: (not c.get("critical"), str(c.get("id"))))

    @property
    def improvements(self) -> list[dict[str, Any]]:
        return self.verdicts("improved")

    def direction(self, check_id: str) -> str:
        spec = self.catalog.checks.get(check_id)
        return spec.direction if spec else str(self.by_id.get(check_id, {}).get("direction") or "higher")

    def worse_factor(self, change: dict[str, Any]) -> float | None:
        """How many times worse the value got (>1 worse, <1 better), by the check's direction."""
        before, after = change.get("before"), change.get("after")
        if not _positive(before) or not _positive(after):
            return None
        return after / before if self.direction(str(change.get("id"))) == "lower" else before / after

    def change_text(self, change: dict[str, Any]) -> str:
        worse = self.worse_factor(change)
        if worse is None:
            return ""
        before, after = float(change["before"]), float(change["after"])
        word = "worse" if worse > 1 else "better" if worse < 1 else "same"
        return f"{(after - before) / before:+.0%} {word}"

    def biggest_moves(self, n: int = 5) -> list[dict[str, Any]]:
        """The compared checks that moved most against the baseline, worst first (whatever their verdict)."""
        moved = [c for c in self.changes or [] if self.worse_factor(c) not in (None, 1.0)]
        moved.sort(key=lambda c: -abs(math.log(self.worse_factor(c))))
        return sorted(moved[:n], key=lambda c: -self.worse_factor(c))

    def missed_bound(self, record: dict[str, Any]) -> str:
        """The first tier the record missed with its bound, e.g. "critical > 20"; "" when none was missed."""
        spec = self.catalog.checks.get(record.get("id"))
        for tier in TIERS:
            if (record.get("tiers") or {}).get(tier) is False:
                bound = spec.tiers.get(tier) if spec else None
                return f"{tier} {bound}" if bound is not None else tier
        return ""

    def attention_rows(self) -> list[Row]:
        """Checks that failed, errored, or changed against the baseline, in catalogue order."""
        changed = {str(c.get("id")): c for c in self.changes or [] if c.get("verdict") in CHANGED}
        rows = []
        for record in self.summary.checks:
            change = changed.get(record["id"])
            if record.get("status") not in ("fail", "error") and change is None:
                continue
            reason = record.get("reason") or ""
            if record.get("status") == "fail" and not reason:
                reason = "; ".join(record.get("violations") or []) or f"criterion: {record.get('criterion', '')}"
            if change is not None and change.get("note"):
                reason = f"{reason}; {change['note']}" if reason else str(change["note"])
            rows.append(Row(id=record["id"], title=str(record.get("title", "")), category=str(record.get("category", "")),
                            status=str(record.get("status")), value=value_text(record), bound=self.missed_bound(record),
                            verdict=str(change.get("verdict")) if change else "",
                            change=self.change_text(change) if change else "", reason=reason))
        return rows

    def explained(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, its explanation) of the checks that failed or regressed and were profiled (--explain)."""
        shown = {row.id for row in self.attention_rows() if row.status == "fail" or row.verdict == "regressed"}
        return [(r, r["details"]["explanation"]) for r in self.summary.checks
                if r["id"] in shown and (r.get("details") or {}).get("explanation")]

    def category_counts(self) -> list[tuple[str, dict[str, int]]]:
        """(category title, {status: count}) in catalogue order, for the categories this run measured."""
        out: dict[str, dict[str, int]] = {}
        for record in self.summary.checks:
            counts = out.setdefault(str(record.get("category")), {"pass": 0, "fail": 0, "skip": 0, "error": 0})
            counts[record.get("status")] = counts.get(record.get("status"), 0) + 1
        titles = {c.name: c.title for c in CATEGORIES}
        order = [c.name for c in CATEGORIES]
        ranked = sorted(out, key=lambda c: (order.index(c) if c in order else len(order), c))
        return [(titles.get(c, c), out[c]) for c in ranked]

    def headline(self) -> str:
        """One line: what needs attention first (regressions, critical misses, errors), else all is well."""
        parts = []
        if self.regressions:
            n = len(self.regressions)
            parts.append(f"{n} regression{'s' if n != 1 else ''} ("
                         + ", ".join(str(c["id"]) for c in self.regressions[:8]) + (", …" if n > 8 else "") + ")")
        if self.summary.critical_misses:
            n = len(self.summary.critical_misses)
            parts.append(f"{n} critical miss{'es' if n != 1 else ''} ("
                         + ", ".join(c["id"] for c in self.summary.critical_misses[:8]) + (", …" if n > 8 else "") + ")")
        if self.summary.errors:
            parts.append(f"{len(self.summary.errors)} not measured (error)")
        if self.summary.failed_notebooks:
            parts.append(f"{len(self.summary.failed_notebooks)} notebook(s) failed")
        return "; ".join(parts) if parts else self.summary.no_miss_sentence.rstrip(".")


def digests(results: Sequence[tuple[dict[str, Any], Path]], changes: list[dict[str, Any]] | None, *,
            report_path: Path | None = None, catalog: Catalog | None = None) -> list[EngineDigest]:
    """One digest per (results document, its folder); `changes` are the baseline verdicts of all engines."""
    catalog = catalog or load_catalog()
    out = []
    for doc, base in results:
        summary = summarize(doc, base)
        mine = None if changes is None else [c for c in changes if c.get("engine") in (None, summary.engine)]
        out.append(EngineDigest(summary, catalog, mine, report_path, baseline_label(Path(base))))
    return out


def baseline_label(run_dir: Path) -> str:
    """The baseline's label from the regression step's comparison.json in the run folder, or ""."""
    try:
        comparison = json.loads((run_dir / "comparison.json").read_text(encoding="utf-8")).get("comparison") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    return str(comparison.get("baseline_label") or comparison.get("baseline_id") or "")


def value_text(record: dict[str, Any]) -> str:
    value = record.get("value")
    if value is None:
        return "—"
    unit = record.get("unit") or ""
    return f"{format_value(value)} {unit}".strip()


def machine_label(machine: dict[str, Any]) -> str:
    """A machine in a few words: CPU model, logical cores, fingerprint's start."""
    cpu = machine.get("cpu") or {}
    model = str(cpu.get("model") or cpu.get("brand") or "unknown CPU").strip()
    cores = cpu.get("logical_cores")
    fingerprint = str(machine.get("fingerprint") or "")[:8]
    return model + (f", {cores} threads" if cores else "") + (f" [{fingerprint}]" if fingerprint else "")


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
