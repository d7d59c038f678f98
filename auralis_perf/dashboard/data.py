"""What the dashboard shows, read from the whole history store in two queries.

- every run's key (machine, engine, profile), time and machine description (`HistoryStore.run_rows`);
- every check row of every run (`HistoryStore.check_values`);
- where each run's report.html is, when it can be found: run folders under the `--reports` folders hold a
  results.json whose run.id is the stored run_uid, with report.html beside it (or one folder up, for a
  run of several engines).
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from auralis_perf.history import HistoryStore


@dataclass(frozen=True)
class Point:
    run_id: int
    value: float
    status: str


@dataclass
class RunRow:
    id: int
    run_uid: str
    started_at: str
    finished_at: str | None
    machine: str          # fingerprint
    engine: str
    profile: str
    counts: dict[str, int] = field(default_factory=dict)
    report: Path | None = None


@dataclass
class Dashboard:
    runs: dict[int, RunRow]
    machines: dict[str, dict[str, Any]]                    # fingerprint -> newest describe_machine() dict
    #: (check id, engine, profile) -> machine fingerprint -> points, oldest first
    series: dict[tuple[str, str, str], dict[str, list[Point]]]
    units: dict[str, str]
    statuses: dict[tuple[int, str], str]                   # (run id, check id) -> status
    _newest: dict[tuple[str, str, str], int] | None = field(default=None, repr=False)

    @property
    def engines(self) -> list[str]:
        return sorted({r.engine for r in self.runs.values()})

    @property
    def profiles(self) -> list[str]:
        order = {"smoke": 0, "standard": 1, "full": 2}
        return sorted({r.profile for r in self.runs.values()}, key=lambda p: (order.get(p, 9), p))

    def panels(self, check_id: str) -> list[tuple[str, str]]:
        """(engine, profile) pairs that stored a value of this check."""
        return [(e, p) for e in self.engines for p in self.profiles if self.series.get((check_id, e, p))]

    def latest(self, check_id: str, engine: str, profile: str, machine: str) -> tuple[Point | None, str | None]:
        """The newest stored value of a check on one machine, and that check's status in the newest run."""
        points = self.series.get((check_id, engine, profile), {}).get(machine) or []
        newest = self.newest_runs.get((machine, engine, profile))
        return (points[-1] if points else None), self.statuses.get((newest, check_id)) if newest else None

    @property
    def newest_runs(self) -> dict[tuple[str, str, str], int]:
        """(machine, engine, profile) -> id of its newest run."""
        if self._newest is None:
            self._newest = {}
            for run in sorted(self.runs.values(), key=lambda r: (r.started_at, r.id)):
                self._newest[(run.machine, run.engine, run.profile)] = run.id
        return self._newest


def load(store: HistoryStore, reports_dirs: Sequence[Path] = ()) -> Dashboard:
    """Read the whole store (and find reports under `reports_dirs`)."""
    runs: dict[int, RunRow] = {}
    machines: dict[str, dict[str, Any]] = {}
    for row in store.run_rows():
        runs[row["id"]] = RunRow(row["id"], row["run_uid"], row["started_at"], row["finished_at"],
                                 row["machine_fingerprint"], row["engine"], row["profile"])
        machines[row["machine_fingerprint"]] = row["machine"]  # oldest first: the newest description wins
    series: dict[tuple[str, str, str], dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    units: dict[str, str] = {}
    statuses: dict[tuple[int, str], str] = {}
    order = {run_id: (r.started_at, run_id) for run_id, r in runs.items()}
    for run_id, check_id, status, value, unit in sorted(store.check_values(), key=lambda row: order[row[0]]):
        run = runs[run_id]
        run.counts[status] = run.counts.get(status, 0) + 1
        statuses[(run_id, check_id)] = status
        if unit:
            units[check_id] = unit
        if value is not None:
            series[(check_id, run.engine, run.profile)][run.machine].append(Point(run_id, value, status))
    by_uid = {r.run_uid: r for r in runs.values()}
    for uid, report in find_reports(reports_dirs):
        if uid in by_uid:
            by_uid[uid].report = report
    return Dashboard(runs, machines, {k: dict(v) for k, v in series.items()}, units, statuses)


def find_reports(folders: Iterable[Path]) -> Iterable[tuple[str, Path]]:
    """(run id, report.html) of the run folders found under `folders` (two levels: run, run/engine)."""
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for results in [*folder.glob("*/results.json"), *folder.glob("*/*/results.json"), *folder.glob("results.json")]:
            report = next((p for p in (results.parent / "report.html", results.parent.parent / "report.html")
                           if p.is_file()), None)
            if report is None:
                continue
            uid = run_uid_of(results)
            if uid:
                yield uid, report.resolve()


def run_uid_of(results_path: Path) -> str | None:
    """run.id of a results.json, or None when it is not readable as one."""
    try:
        with open(results_path, encoding="utf-8") as stream:
            doc = json.load(stream)
    except (OSError, ValueError):
        return None
    run = doc.get("run") if isinstance(doc, dict) else None
    return str(run["id"]) if isinstance(run, dict) and run.get("id") else None


def relative_link(target: Path, page_dir: Path) -> str:
    """A link from a page in `page_dir` to `target`, relative so the site can move with its reports."""
    return Path(os.path.relpath(target, page_dir.resolve())).as_posix()
