"""What the report says, computed from `results.json` documents: counts, critical misses, comparisons.

Kept apart from the HTML so that the mail's text part and the command's closing lines say the same
things as the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from auralis_perf.categories import CATEGORIES
from auralis_perf.report.formatting import format_duration, format_value
from auralis_perf.results import STATUSES

#: Section title of each category, in report order (from the category registry).
CATEGORY_TITLES = {c.name: c.title for c in CATEGORIES}


@dataclass
class EngineSummary:
    """One engine's run as the report presents it."""

    engine: str
    profile: str
    run: dict[str, Any]
    checks: list[dict[str, Any]]
    base_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    critical_misses: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notebooks: list[dict[str, Any]] = field(default_factory=list)
    #: instruction figures by the timed check that measures the same call (shown in that check's row)
    instructions_beside: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def failed_notebooks(self) -> list[dict[str, Any]]:
        return [n for n in self.notebooks if n.get("status") != "ok"]

    @property
    def no_miss_sentence(self) -> str:
        """What to say when no critical threshold was missed, without hiding what was not measured."""
        if not self.errors:
            return "Every critical threshold held."
        n = len(self.errors)
        return (f"No measured check missed a critical threshold, but {n} check{'s' if n != 1 else ''} "
                "could not be measured (status error).")

    @property
    def duration_s(self) -> float | None:
        if isinstance(self.run.get("duration_s"), (int, float)):
            return float(self.run["duration_s"])
        try:
            start = datetime.fromisoformat(self.run["started_at"])
            end = datetime.fromisoformat(self.run["finished_at"])
        except (KeyError, TypeError, ValueError):
            return None
        return (end - start).total_seconds()

    @property
    def duration(self) -> str:
        return format_duration(self.duration_s)


def summarize(doc: dict[str, Any], base_dir: str | Path = ".") -> EngineSummary:
    """Summarise one results document; `base_dir` is where its notebook paths are relative to."""
    run = doc["run"]
    checks = doc["checks"]
    return EngineSummary(
        engine=str(run.get("engine", "?")), profile=str(run.get("profile", "?")), run=run, checks=checks,
        base_dir=Path(base_dir),
        counts={s: sum(c.get("status") == s for c in checks) for s in STATUSES},
        critical_misses=[c for c in checks if (c.get("tiers") or {}).get("critical") is False],
        errors=[c for c in checks if c.get("status") == "error"],
        notebooks=list(run.get("notebooks") or []), instructions_beside=instructions_beside(checks))


def instructions_beside(checks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The counted instruction figures (records with `details["related"]`, see `auralis_perf.counts`) by
    the ID of each timed check of this run that measures the same call: {"RT-01": [INS-M-default], ...}."""
    present = {c["id"] for c in checks}
    beside: dict[str, list[dict[str, Any]]] = {}
    for check in checks:
        related = (check.get("details") or {}).get("related")
        if not str(check.get("kind") or "").startswith("instructions") or check.get("value") is None:
            continue
        for check_id in [related] if isinstance(related, str) else related or []:
            if check_id in present:
                beside.setdefault(check_id, []).append(check)
    return beside


def comparison_rows(summaries: list[EngineSummary]) -> list[dict[str, Any]]:
    """Every check that two or more engines measured: value per engine and its ratio to the first engine's."""
    if len(summaries) < 2:
        return []
    first = summaries[0].engine
    by_engine = {s.engine: {c["id"]: c for c in s.checks} for s in summaries}
    ids = [c["id"] for c in summaries[0].checks] + [
        c["id"] for s in summaries[1:] for c in s.checks if c["id"] not in by_engine[first]]
    rows = []
    for check_id in dict.fromkeys(ids):
        measured = {e: checks[check_id] for e, checks in by_engine.items()
                    if check_id in checks and checks[check_id].get("value") is not None}
        if len(measured) < 2:
            continue
        any_check = next(iter(measured.values()))
        base = measured.get(first, {}).get("value")
        rows.append({
            "id": check_id, "title": any_check.get("title", ""), "unit": any_check.get("unit", ""),
            "direction": any_check.get("direction"),
            "values": {e: measured[e]["value"] if e in measured else None for e in by_engine},
            "statuses": {e: by_engine[e].get(check_id, {}).get("status") for e in by_engine},
            "ratios": {e: (measured[e]["value"] / base if e in measured and base not in (None, 0) else None)
                       for e in by_engine},
        })
    return rows


def subject_line(summaries: list[EngineSummary]) -> str:
    parts = []
    for s in summaries:
        counts = ", ".join(f"{n} {status}" for status, n in s.counts.items() if n)
        misses = len(s.critical_misses)
        parts.append(f"{s.engine} {s.profile}: {counts}" + (f", {misses} critical missed" if misses else ""))
    return "auralis-perf report — " + "; ".join(parts)


def text_summary(summaries: list[EngineSummary], report_path: str | Path | None = None) -> str:
    """The plain-text summary: counts, critical misses, failed notebooks (the mail's text part)."""
    lines = []
    for s in summaries:
        lines.append(f"Engine {s.engine}, profile {s.profile}, run {s.run.get('id', '?')}, "
                     f"duration {s.duration}")
        lines.append("  " + ", ".join(f"{status} {n}" for status, n in s.counts.items()))
        if s.critical_misses:
            lines.append("  Critical misses:")
            lines += [f"    {c['id']} {c.get('title', '')}: {format_value(c.get('value'))} {c.get('unit', '')}"
                      f" (criterion: {c.get('criterion', '')})" for c in s.critical_misses]
        else:
            lines.append(f"  {s.no_miss_sentence}")
        for n in s.failed_notebooks:
            lines.append(f"  Notebook {n.get('category')} {n.get('status')}: {n.get('error')}")
    if report_path is not None:
        lines.append(f"Report: {report_path}")
    return "\n".join(lines) + "\n"
