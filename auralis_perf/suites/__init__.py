"""The catalogue's scenarios, one module per category, one function per group of five checks.

A group function takes a `SuiteContext` and returns the `CheckResult`s of its checks. Notebooks call
groups through `run_group`, and so does the pytest plugin (`tests/performance`): one implementation, two
front ends. `run_group` turns a missing capability into `skip` records and an exception into `error`
records, so one broken scenario never hides the other groups.

Each category's `groups` module (named in `auralis_perf.categories`) registers its groups with
`@group("Group name", category=..., ids=[...])`.
"""
from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.categories import NAMES
from auralis_perf.categories import category as category_of
from auralis_perf.engines import Engine, NotSupported
from auralis_perf.results import CheckResult, errored, skipped

PROFILES = ("smoke", "standard", "full")
#: `AURALIS_PERF_SUITES="realtime=my_pkg.my_suite,..."` makes a category use another suite module (tests use
#: it to run the pipeline on tiny fake suites; it is also a way to try a new suite without editing ours).
SUITES_ENV = "AURALIS_PERF_SUITES"

# category -> module registering its groups instead of the registry's (`override_suite_module`).
_OVERRIDES: dict[str, str] = {}


def suite_module(category: str) -> str:
    """The module that registers `category`'s groups: an override, else the category registry's."""
    return _OVERRIDES.get(category) or category_of(category).suite_module


def override_suite_module(category: str, module: str) -> None:
    """Make `category` use the groups that `module` registers (use inside `isolated_registry` in tests)."""
    category_of(category)  # ValueError for an unknown category
    _OVERRIDES[category] = module


def apply_suite_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Point categories at other suite modules as `AURALIS_PERF_SUITES` says; returns the overrides."""
    raw = (os.environ if environ is None else environ).get(SUITES_ENV, "")
    overrides = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        category, sep, module = item.partition("=")
        if not sep or category.strip() not in NAMES or not module.strip():
            raise ValueError(f"{SUITES_ENV}: expected CATEGORY=module.path with CATEGORY one of "
                             f"{', '.join(NAMES)}, got {item!r}")
        overrides[category.strip()] = module.strip()
    for category, module in overrides.items():
        override_suite_module(category, module)
    return overrides


GroupFunction = Callable[["SuiteContext"], list[CheckResult]]


@dataclass(frozen=True)
class Group:
    category: str
    name: str
    ids: tuple[str, ...]
    function: GroupFunction


_GROUPS: dict[str, list[Group]] = {}


def group(name: str, *, category: str, ids: list[str]) -> Callable[[GroupFunction], GroupFunction]:
    """Register a group function for `category`, answering the check `ids`."""
    def register(function: GroupFunction) -> GroupFunction:
        groups = _GROUPS.setdefault(category, [])
        groups[:] = [g for g in groups if g.name != name]  # re-import in a notebook replaces, not duplicates
        groups.append(Group(category, name, tuple(ids), function))
        return function
    return register


def groups(category: str) -> list[Group]:
    """The groups of a category, in catalogue order."""
    importlib.import_module(suite_module(category))  # ValueError for an unknown category
    return list(_GROUPS.get(category, []))


def group_of(check_id: str) -> Group:
    """The group that answers `check_id` (a single-check run measures its whole group)."""
    category = load_catalog()[check_id].category
    for g in groups(category):
        if check_id in g.ids:
            return g
    raise KeyError(f"no group answers {check_id}")


@contextmanager
def isolated_registry() -> Iterator[None]:
    """Groups registered and suite modules overridden inside the block are forgotten at its end (tests
    that register fake suites use this, so the real registry is what the next test sees)."""
    saved_groups = {category: list(gs) for category, gs in _GROUPS.items()}
    saved_overrides = dict(_OVERRIDES)
    try:
        yield
    finally:
        _GROUPS.clear()
        _GROUPS.update(saved_groups)
        _OVERRIDES.clear()
        _OVERRIDES.update(saved_overrides)


def forget_groups(category: str) -> None:
    """Drop the groups registered for `category`; the next `groups(category)` registers its module's anew
    only if that module is imported for the first time (use inside `isolated_registry`)."""
    _GROUPS.pop(category, None)


@dataclass
class SuiteContext:
    """What a scenario needs: the engine under test, the profile, a scratch folder, the user's audio."""

    engine: Engine
    profile: str = "standard"
    workdir: Path = field(default_factory=lambda: Path("reports/scratch"))
    audio_files: list[Path] = field(default_factory=list)
    catalog: Catalog = field(default_factory=load_catalog)
    #: Called with each record as it is produced (progress bars, live tables).
    on_record: Callable[[CheckResult], None] | None = None
    #: Scratch shared between groups of one run (e.g. a built library reused by several groups).
    shared: dict[str, Any] = field(default_factory=dict)
    #: How the engine was named when it was built (a registered name or package.module:Factory), so that a
    #: fresh process builds the same one (suites/common/engine_spec); None when a caller built it itself.
    engine_spec: str | None = None
    #: The checks a run asks for, or None for all: `run_checks` runs only these checks' functions (the
    #: explain step re-runs just the failing checks' own workload, not their whole group).
    only: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}")
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.audio_files = [Path(p) for p in self.audio_files]

    def asked(self, check_id: str) -> bool:
        """Whether this run asks for `check_id` (a group skips work that only checks not asked for need)."""
        return self.only is None or check_id in self.only

    def sizes(self, table: dict[str, Any]) -> Any:
        """Pick this profile's entry from a {"smoke": ..., "standard": ..., "full": ...} table."""
        return table[self.profile]


def run_group(ctx: SuiteContext, g: Group) -> list[CheckResult]:
    """Run one group; never raises for a scenario's failure."""
    try:
        records = g.function(ctx)
    except NotSupported as exc:
        records = [skipped(ctx.catalog[i], str(exc)) for i in g.ids]
    except Exception as exc:  # one broken scenario must not hide the others
        tb = traceback.format_exc(limit=6)
        records = [errored(ctx.catalog[i], f"{type(exc).__name__}: {exc}") for i in g.ids]
        for r in records:
            r.details["traceback"] = tb
    answered = {r.id for r in records}
    for missing in (i for i in g.ids if i not in answered):
        records.append(errored(ctx.catalog[missing], f"group {g.name!r} returned no record for {missing}"))
    for r in records:
        r.engine = ctx.engine.name
        if ctx.on_record:
            ctx.on_record(r)
    return records


def run_category(ctx: SuiteContext, category: str) -> list[CheckResult]:
    return [r for g in groups(category) for r in run_group(ctx, g)]
