"""What both front ends (notebooks, pytest) run checks through: one engine, profile, scratch and catalogue.

`SuiteSession` builds the `SuiteContext` on first use (building an engine can take a while) and remembers
an engine that cannot be built; it finds a category's registered group by name or by a check it answers,
runs it, keeps every record, and turns "no suite, no engine, no such group" into `error` records whose
reason says what is missing, so one broken suite or engine never stops the others. `NotebookRun`
(notebook/helper.py) and `GroupRunner` (pytest_plugin/group_runner.py) are thin front ends over it.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auralis_perf import engines, suites
from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.engines import DEFAULT_ENGINE, get_engine
from auralis_perf.results import CheckResult, errored


class SuiteUnavailable(Exception):
    """Why a group cannot run at all (no suite, no engine); becomes the reason of its checks' error records."""


def registered_groups(category: str) -> list[suites.Group]:
    """The groups the category's suite module registers; SuiteUnavailable if it cannot be imported."""
    module = suites.suite_module(category)
    try:
        return suites.groups(category)
    except ImportError as exc:
        raise SuiteUnavailable(f"the {category} suite ({module}) is not available: {exc}") from exc
    except Exception as exc:  # a suite that fails at import must not stop the other categories
        raise SuiteUnavailable(f"the {category} suite ({module}) failed to import: "
                               f"{type(exc).__name__}: {exc}") from exc


def open_suite_context(engine_name: str, *, profile: str, workdir: Path, audio_files: Sequence[Path],
                       catalog: Catalog) -> suites.SuiteContext:
    """A suite context on a freshly built engine; SuiteUnavailable naming the engine if it cannot be built."""
    try:
        engine = get_engine(engine_name)
    except Exception as exc:  # EngineError, or an adapter's import failing in any way
        raise SuiteUnavailable(f"engine {engine_name!r} is unavailable: {type(exc).__name__}: {exc}") from exc
    return suites.SuiteContext(engine=engine, profile=profile, workdir=workdir, audio_files=list(audio_files),
                               catalog=catalog, engine_spec=engine_name)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SuiteSession:
    """One engine, one profile, one scratch folder and one catalogue; the records of every group run."""

    def __init__(self, engine_name: str = DEFAULT_ENGINE, *, profile: str = "smoke",
                 workdir: str | Path = Path("reports/scratch"), audio_files: Sequence[str | Path] = (),
                 catalog: Catalog | None = None) -> None:
        if profile not in suites.PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(suites.PROFILES)}")
        engines.register_engine_path(engine_name)  # "package.module:Factory" names an adapter of your own
        self.engine_name = engine_name
        self.profile = profile
        self.workdir = Path(workdir)
        self.audio_files = [Path(p) for p in audio_files]
        self.catalog = catalog or load_catalog()
        self.started = utc_now()
        self.records: dict[str, CheckResult] = {}
        self._context: suites.SuiteContext | None = None
        self._engine_problem: str | None = None

    # -- the context ---------------------------------------------------------------------------------
    @property
    def context(self) -> suites.SuiteContext:
        """The suite context, built on first use; an engine that cannot be built is remembered."""
        if self._context is None:
            if self._engine_problem is not None:
                raise SuiteUnavailable(self._engine_problem)
            try:
                self._context = open_suite_context(self.engine_name, profile=self.profile, workdir=self.workdir,
                                                   audio_files=self.audio_files, catalog=self.catalog)
            except SuiteUnavailable as exc:
                self._engine_problem = str(exc)
                raise
        return self._context

    @property
    def engine(self) -> Any:
        """The engine if it was built already, else None (describing a run must not build one)."""
        return self._context.engine if self._context is not None else None

    def engine_description(self) -> dict[str, Any] | None:
        """The engine's own description (version, cold-start figures, ...), JSON-safe; None if not built."""
        if self._context is None:
            return None
        try:
            info = self._context.engine.describe()
        except Exception as exc:  # a description must never cost a results file
            info = {"name": getattr(self._context.engine, "name", self.engine_name),
                    "describe_error": f"{type(exc).__name__}: {exc}"}
        return json.loads(json.dumps(info, default=str))

    # -- groups --------------------------------------------------------------------------------------
    def catalogue_group_ids(self, category: str, name: str) -> list[str]:
        """The IDs the catalogue puts in a category's group `name` (empty if it has no such group)."""
        return [i for i in self.catalog.ids(category) if self.catalog[i].group == name]

    def group_named(self, category: str, name: str) -> suites.Group:
        """The registered group called `name`; SuiteUnavailable naming the groups there are otherwise."""
        registered = registered_groups(category)
        for g in registered:
            if g.name == name:
                return g
        raise SuiteUnavailable(f"the {category} suite ({suites.suite_module(category)}) registers no group "
                               f"{name!r}; it has: {', '.join(g.name for g in registered) or 'none'}")

    def group_answering(self, check_id: str) -> suites.Group:
        """The registered group that answers `check_id`; SuiteUnavailable naming what there is otherwise."""
        category = self.catalog[check_id].category
        registered = registered_groups(category)
        for g in registered:
            if check_id in g.ids:
                return g
        raise SuiteUnavailable(f"the {category} suite ({suites.suite_module(category)}) registers no group "
                               f"answering {check_id}; it has: "
                               + (", ".join(f"{g.name} ({', '.join(g.ids)})" for g in registered) or "none"))

    def error_record(self, check_id: str, reason: str) -> CheckResult:
        """An `error` record of `check_id` with `reason`, attributed to this session's engine."""
        record = errored(self.catalog[check_id], reason)
        record.engine = self.engine_name
        return record

    def run(self, find: Callable[[], suites.Group], ids: Sequence[str]) -> tuple[suites.Group | None, list[CheckResult], str | None]:
        """Run the group `find()` returns (a `group_named`/`group_answering` call) and keep its records.

        Returns (the group or None, its records, the problem or None). When the group cannot run at all,
        each of `ids` gets an error record with the problem; nothing here raises for a scenario's trouble.
        """
        try:
            g = find()  # before the engine: no suite, no need to build one
            records = suites.run_group(self.context, g)
        except SuiteUnavailable as exc:
            records = [self.error_record(i, str(exc)) for i in ids]
            for r in records:
                self.records[r.id] = r
            return None, records, str(exc)
        for r in records:
            self.records[r.id] = r
        return g, records, None

    def ordered_records(self, category: str | None = None) -> list[CheckResult]:
        """The records kept so far (of `category`, or all), in catalogue order."""
        return [self.records[i] for i in self.catalog.ids(category) if i in self.records]
