"""Run catalogue checks one group at a time, each group once, and keep every record: the pytest front end.

The notebooks run a whole category; pytest asks for one check at a time, in any selection. A check is
answered by its group (five checks measured together), so `GroupRunner.record(check_id)` runs that
check's group the first time one of its checks is asked for and serves the other four from the cache.
The same suites (`auralis_perf.suites`) and thresholds file are used as in the notebooks, so verdicts
and records are the same; there is no second implementation of any check.

Nothing here raises for a scenario's trouble: a missing suite module, an engine that cannot be built or
a group that never answers a check all become `error` records whose reason says what is missing (the
`SuiteSession` of suites/access.py does that, for the notebooks too).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.engines import DEFAULT_ENGINE
from auralis_perf.measure.control import measure_control
from auralis_perf.measure.machine import describe_machine, package_versions
from auralis_perf.results import CheckResult, run_id, run_metadata, to_jsonable, write_results
from auralis_perf.suites.access import SuiteSession, utc_now

FRONT_END = "pytest"


@dataclass
class GroupRun:
    """What one group run took: shown in the terminal summary and kept in the run metadata."""

    category: str
    name: str
    ids: tuple[str, ...]
    duration_s: float
    problem: str | None = None  # why the group could not run at all (no suite, no engine)


@dataclass
class GroupRunner:
    """One engine, one profile, one scratch folder, one `SuiteSession` for a whole pytest session."""

    engine_name: str = DEFAULT_ENGINE
    profile: str = "smoke"
    workdir: Path = field(default_factory=lambda: Path("reports/scratch"))
    audio_files: Sequence[Path] = ()
    catalog: Catalog = field(default_factory=load_catalog)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Measure the control workload at the start (history needs it to compare across machines).
    with_control: bool = True
    #: --perf-against: the baseline's session beside this one (pytest_plugin/against.PairedGroups), or None.
    against: Any = None

    def __post_init__(self) -> None:
        self.session = SuiteSession(self.engine_name, profile=self.profile, workdir=self.workdir,
                                    audio_files=self.audio_files, catalog=self.catalog)
        self.workdir = self.session.workdir
        self.started = self.session.started
        self.run_id = run_id(self.started, self.engine_name, self.profile, FRONT_END)
        self.machine = describe_machine()  # at the start: its load average is the one the run began under
        self.control = measure_control(self.profile) if self.with_control else None
        self.records = self.session.records
        self.group_runs: list[GroupRun] = []

    def __repr__(self) -> str:  # pytest prints fixture values in tracebacks: keep it one short line
        return (f"GroupRunner(engine={self.engine_name!r}, profile={self.profile!r}, "
                f"{len(self.records)} records, {len(self.group_runs)} groups run)")

    # -- running -------------------------------------------------------------------------------------
    def record(self, check_id: str) -> CheckResult:
        """The record of `check_id`, running its group first if no record is there yet."""
        spec = self.catalog[check_id]  # KeyError for an ID the catalogue does not know
        if check_id not in self.records:
            self._run_group_of(check_id)
        if check_id not in self.records:  # a group that answered other IDs but not this one
            self.records[check_id] = self.session.error_record(
                check_id, f"no group of the {spec.category} suite answered {check_id}")
        return self.records[check_id]

    def _run_group_of(self, check_id: str) -> None:
        spec = self.catalog[check_id]
        started = time.perf_counter()
        ids = self.session.catalogue_group_ids(spec.category, spec.group)
        if self.against is not None:  # both engines, the round groups in alternating rounds
            g, problem = self.against.run_group(self.session, spec.category, spec.group, ids)
        else:
            g, _, problem = self.session.run(lambda: self.session.group_answering(check_id), ids)
        self.group_runs.append(GroupRun(spec.category, g.name if g else spec.group, g.ids if g else tuple(ids),
                                        time.perf_counter() - started, problem=problem))

    # -- results -------------------------------------------------------------------------------------
    def ordered_records(self) -> list[CheckResult]:
        """Every record produced so far, in catalogue order."""
        return self.session.ordered_records()

    def run_metadata(self, finished: datetime | None = None, **extra: Any) -> dict[str, Any]:
        """The `run` object of the results contract for this session."""
        # The same versions block and control workload as a notebook run, plus pytest's version.
        versions = {**package_versions(self.machine), "pytest": _version("pytest")}
        return run_metadata(
            run_id=self.run_id, started=self.started, finished=finished or utc_now(), engine=self.engine_name,
            profile=self.profile, machine=self.machine, versions=versions,
            parameters={"engine": self.engine_name, "profile": self.profile,
                        "audio": [str(p) for p in self.audio_files], "thresholds": str(self.catalog.path),
                        **self.parameters},
            front_end=FRONT_END, engine_description=self.session.engine_description(), control=self.control,
            groups=[{"category": g.category, "name": g.name, "ids": list(g.ids),
                     "duration_s": round(g.duration_s, 3), "problem": g.problem} for g in self.group_runs],
            **extra)

    def document(self, **extra: Any) -> dict[str, Any]:
        """The results document ({"run", "checks"}) of every record produced so far, as JSON types."""
        return json.loads(json.dumps(to_jsonable({"run": self.run_metadata(**extra),
                                                "checks": [r.to_dict() for r in self.ordered_records()]})))

    def write(self, path: str | Path, document: dict[str, Any] | None = None) -> Path:
        """Write results.json (atomically): `document`, or every record produced so far."""
        document = document or self.document()
        return write_results(path, document["run"], document["checks"])


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
