"""The catalogue as pytest tests: options, the session's group runner, verdicts and `results.json`.

Loaded with `-p auralis_perf.pytest_plugin` (pyproject's addopts does it, so the options exist in every
run). `tests/performance/test_catalogue.py` parametrizes one test per catalogue ID with
`catalogue_params()`; its fixtures (tests/performance/conftest.py) ask the session's `GroupRunner` for the
check's record, which runs the check's group once per session through the same suites the notebooks call.

    pytest -m "performance and realtime" --perf-profile smoke --perf-results reports/pytest/results.json

Outcomes follow the report's tier semantics (`judge`):
- a record `skip` skips the test with its reason; `error` errors it (raised in a fixture, so pytest
  reports ERROR, not FAILED);
- a violation (e.g. a fast path that changed the audio) always fails;
- a missed tier fails only when it is gating: `--perf-tier critical` (default) gates critical misses only,
  `target` also target misses, `stretch` every tier. A record whose status is `fail` because of a
  non-gating tier passes, and says so (user property `perf_note`, captured output, terminal summary).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auralis_perf.catalog import TIERS, Catalog, ThresholdsError, load_catalog
from auralis_perf.explain.select import DEFAULT_EXPLAIN, EXPLAIN_CHOICES
from auralis_perf.report.formatting import format_value
from auralis_perf.run.against_spec import DEFAULT_ROUND_PROCESS, ROUND_PROCESSES
from auralis_perf.suites import PROFILES, apply_suite_overrides

DEFAULT_PROFILE = "smoke"

#: Groups that, at the `full` profile, process one of the catalogue's large sizes (600 s of audio, 100 tracks,
#: 1000 cycles, a 1 GB file, 100k tracks) and so run for minutes; they were also the costliest groups of
#: their categories at `standard` here. Their checks carry the `benchmark` marker. The marker goes on every
#: check of such a group because a test runs its whole group: deselecting some of a group saves nothing.
#: `-m "performance and not benchmark"` runs the rest (latency, caches, queries, indexes, optimizations).
BENCHMARK_GROUPS: dict[tuple[str, str], str] = {
    ("realtime", "Real-time factor"): "masters 600 s of audio (RT-03)",
    ("realtime", "Throughput"): "a batch of 100 tracks and a long continuous run (RT-12, RT-14, RT-15)",
    ("realtime", "Optimization effectiveness"): "spectrum of 600 s (RT-18), every fallback on 30 s (RT-19)",
    ("memory", "Baseline"): "100 tracks of 4 minutes in one session (MEM-02..MEM-04)",
    ("memory", "Leaks"): "1000 processing cycles (MEM-06)",
    ("memory", "Peak"): "streams a 1 GB WAV (MEM-13) and analyses 600 s (MEM-14)",
    ("memory", "Efficiency"): "600 s read lazily and eagerly (MEM-19), 1000 allocate/free cycles (MEM-20)",
    ("database", "Large dataset"): "libraries of 10k, 50k and 100k tracks (DB-11..DB-15)",
    ("database", "Optimization"): "bulk import of 100k tracks, repeated (DB-19)",
}

_SESSION_KEY = pytest.StashKey["PerfSession"]()


# -- collection ---------------------------------------------------------------------------------------
def catalogue_params(catalog: Catalog | None = None) -> list[Any]:
    """One `pytest.param` per catalogue ID, named by the ID, with its markers."""
    catalog = catalog or load_catalog()
    params = []
    for check_id in catalog.ids():
        spec = catalog[check_id]
        marks = [pytest.mark.performance, getattr(pytest.mark, spec.category)]
        if (spec.category, spec.group) in BENCHMARK_GROUPS:
            marks.append(pytest.mark.benchmark)
        params.append(pytest.param(check_id, id=check_id, marks=marks))
    return params


# -- verdicts -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Judgement:
    passed: bool
    message: str
    notes: list[str] = field(default_factory=list)


class CheckError(Exception):
    """A check whose record is `error`: it could not be measured (the reason says why)."""


def gating_tiers(tier: str) -> tuple[str, ...]:
    """The tiers whose miss fails a test at `--perf-tier tier`."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
    return TIERS[: TIERS.index(tier) + 1]


def _bound(record: Any, tier: str, catalog: Catalog | None) -> str:
    spec = catalog.checks.get(record.id) if catalog is not None else None
    bound = spec.tiers.get(tier) if spec is not None else None
    return f" {bound}" if bound is not None else ""


def describe_record(record: Any) -> str:
    """`RT-05 consistency across multiple runs: 12.3 % (criterion: ...)`, for messages."""
    value = f"{format_value(record.value)} {record.unit}".strip()
    return f"{record.id} {record.title}: {value} (criterion: {record.criterion or 'none'})"


def judge(record: Any, tier: str = "critical", catalog: Catalog | None = None) -> Judgement:
    """Pass or fail a measured record (`pass` or `fail`) at a gating tier, as the report does."""
    if record.status not in ("pass", "fail"):
        raise ValueError(f"{record.id}: only measured records (pass/fail) are judged, not {record.status!r}")
    gating = gating_tiers(tier)
    missed = [t for t in TIERS if (record.tiers or {}).get(t) is False]
    what = describe_record(record)
    if record.violations:
        return Judgement(False, f"{what}: violation: {'; '.join(record.violations)}")
    failing = [t for t in missed if t in gating]
    if failing:
        tiers = ", ".join(f"{t}{_bound(record, t, catalog)}" for t in failing)
        reason = f"; reason: {record.reason}" if record.reason else ""
        return Judgement(False, f"{what}: misses {tiers} (gating at --perf-tier {tier}){reason}")
    if record.status == "fail" and not missed:  # a suite that failed a check without saying which tier
        return Judgement(False, f"{what}: the suite reported fail; reason: {record.reason or 'none given'}")
    notes = [f"{record.id} passes at --perf-tier {tier} but misses its non-gating "
             + ", ".join(f"{t}{_bound(record, t, catalog)}" for t in missed)
             + f": {format_value(record.value)} {record.unit}".rstrip()] if missed else []
    return Judgement(True, f"{what}: holds every gating tier ({', '.join(gating)})", notes)


# -- options and session ------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auralis-perf", "auralis-perf catalogue (tests/performance, run with -m performance)")
    group.addoption("--perf-profile", choices=PROFILES, default=DEFAULT_PROFILE,
                    help="size profile of the checks: smoke (seconds, default), standard (minutes), full (seed sizes)")
    group.addoption("--perf-engine", default=None, metavar="NAME",
                    help="engine to measure (default: reference), or package.module:Factory; one per pytest run")
    group.addoption("--perf-tier", choices=TIERS, default="critical",
                    help="lowest tier whose miss fails a test: critical (default, as the report's exit code), "
                         "target, or stretch (every tier)")
    group.addoption("--perf-results", default=None, metavar="PATH",
                    help="write a results.json (the pipeline's contract) with every record measured")
    group.addoption("--perf-report", default=None, metavar="PATH",
                    help="also write the report's self-contained HTML page for the records measured")
    group.addoption("--perf-thresholds", default=None, metavar="FILE",
                    help="thresholds TOML with every check (default: auralis_perf/catalog.toml)")
    group.addoption("--perf-audio", action="append", default=[], metavar="FILE_OR_DIR",
                    help="your own audio file or folder instead of generated music-like audio (repeatable)")
    group.addoption("--perf-explain", choices=EXPLAIN_CHOICES, default=DEFAULT_EXPLAIN,
                    help="with --perf-results/--perf-report: profile failing timing and memory checks (or all, or "
                         "none) in one extra, untimed run of their group at the end; profiles/ beside the results")
    group.addoption("--perf-against", default=None, metavar="ENGINE",
                    help="measure this baseline engine beside --perf-engine in the same session (the 'Real-time "
                         "factor' group in alternating rounds) and fail a check that regressed against it")
    group.addoption("--perf-against-round-process", choices=ROUND_PROCESSES, default=DEFAULT_ROUND_PROCESS,
                    help="with --perf-against: each round of a timing group in spawned processes of both sides at once "
                         "that take turns sample by sample on one CPU ('interleaved', the default, as with "
                         "run_report.py --against), in a newly spawned process per side ('fresh'), or in "
                         "pytest's own process ('kernel')")
    group.addoption("--perf-keep-work", action="store_true",
                    help="keep the scratch folder (generated audio, libraries) after the session")


class PerfSession:
    """The session's settings, its runner once a catalogue test asks for one, and the outcomes seen.

    Registered as a plugin object by `pytest_configure`, so its hooks see the session's state."""

    def __init__(self, *, engine: str, profile: str, tier: str, results_path: Path | None, report_path: Path | None,
                 thresholds: Path | None, audio: tuple[Path, ...], keep_work: bool,
                 explain: str = DEFAULT_EXPLAIN, against: str | None = None,
                 against_round_process: str = DEFAULT_ROUND_PROCESS) -> None:
        self.engine = engine
        self.against = against
        self.against_round_process = against_round_process
        self.profile = profile
        self.tier = tier
        self.results_path = results_path
        self.report_path = report_path
        self.thresholds = thresholds
        self.audio = audio
        self.keep_work = keep_work
        self.explain = explain
        self.runner: Any = None  # GroupRunner, built lazily: plain `make test` never imports the suites
        self.outcomes: dict[str, str] = {}
        self.env_set: list[str] = []  # environment variables this session set (and removes at the end)

    def catalog(self) -> Catalog:
        return load_catalog(self.thresholds)

    def notes(self) -> list[str]:
        """Non-gating tier misses of the checks whose tests passed: what a green run still has to say."""
        records = self.runner.ordered_records() if self.runner is not None else []
        return [note for r in records if self.outcomes.get(r.id) == "passed" and r.status in ("pass", "fail")
                for note in judge(r, self.tier, self.runner.catalog).notes]

    # -- hooks ----------------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check_id = _check_id(report.nodeid) if "performance" in report.keywords else None
        if check_id is None:
            return
        if report.when == "call" or report.failed or report.skipped:
            self.outcomes[check_id] = "error" if report.failed and report.when != "call" else report.outcome

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.runner is None:
            return
        document = self.runner.document(pytest={"tier": self.tier, "outcomes": dict(self.outcomes)})
        written = self.results_path or self.report_path
        if written is not None and self.explain != "none":  # every figure is measured: profiles change none
            from auralis_perf.explain.step import explain_in_process

            explain_in_process(self.runner.session, document, base=written.parent, mode=self.explain)
        if self.results_path is not None:
            self.runner.write(self.results_path, document)
        if self.report_path is not None:
            from auralis_perf.report import write_report

            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            write_report(self.report_path, [(document, self.report_path.parent)])
        for name in self.env_set:
            os.environ.pop(name, None)
        if not self.keep_work:
            shutil.rmtree(self.runner.workdir, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        tr = terminalreporter
        if self.runner is None:
            for path in (self.results_path, self.report_path):
                if path is not None:
                    tr.write_line(f"auralis-perf: no catalogue check ran; {path} not written")
            return
        records = self.runner.ordered_records()
        counts = {s: sum(r.status == s for r in records) for s in ("pass", "fail", "skip", "error")}
        runs = self.runner.group_runs
        tr.section("auralis-perf catalogue")
        tr.write_line(f"engine {self.runner.engine_name}, profile {self.runner.profile}, gating tier {self.tier}: "
                      f"{len(records)} records from {len(runs)} groups in {sum(g.duration_s for g in runs):.1f} s: "
                      + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for g in runs:
            tr.write_line(f"  {g.category} / {g.name}: {g.duration_s:.1f} s" + (f" ({g.problem})" if g.problem else ""))
        for note in self.notes():
            tr.write_line(f"  note: {note}")
        for what, path in (("results", self.results_path), ("report", self.report_path)):
            if path is not None:
                tr.write_line(f"{what}: {path}")


def _check_id(nodeid: str) -> str | None:
    """`RT-01` from `tests/performance/test_catalogue.py::test_check[RT-01]`."""
    return nodeid.rsplit("[", 1)[1][:-1] if nodeid.endswith("]") and "[" in nodeid else None


def _session(config: pytest.Config) -> PerfSession:
    return config.stash[_SESSION_KEY]


def pytest_configure(config: pytest.Config) -> None:
    """Check the --perf-* options now (a typo is a usage error, not 100 errored tests)."""
    from auralis_perf.engines import DEFAULT_ENGINE
    from auralis_perf.run.cli import UsageError, resolve_audio, resolve_engines

    try:  # the report's own check: registered names, or package.module:Factory for an adapter of yours
        engines = resolve_engines(config.getoption("--perf-engine") or DEFAULT_ENGINE)
    except UsageError as exc:
        raise pytest.UsageError(f"--perf-engine: {exc}") from exc
    if len(engines) != 1:
        raise pytest.UsageError(f"--perf-engine {','.join(engines)}: one engine per pytest run; "
                                "run_report.py --engine a,b compares engines side by side")
    engine = engines[0]
    against = config.getoption("--perf-against")
    if against is not None:
        if "@" in against:
            raise pytest.UsageError(f"--perf-against {against}: pytest measures both engines in its own process; "
                                    "@python= and @path= are for run_report.py --against")
        try:
            against = resolve_engines(against)[0]
        except UsageError as exc:
            raise pytest.UsageError(f"--perf-against: {exc}") from exc
    thresholds = config.getoption("--perf-thresholds")
    if thresholds:
        try:
            load_catalog(thresholds, require_all=True)
        except ThresholdsError as exc:
            raise pytest.UsageError(f"--perf-thresholds: {exc}") from exc
    audio: tuple[Path, ...] = ()
    if config.getoption("--perf-audio"):
        try:
            audio = resolve_audio(config.getoption("--perf-audio"))
        except UsageError as exc:
            raise pytest.UsageError(str(exc).replace("--audio", "--perf-audio")) from exc
    try:
        apply_suite_overrides()  # AURALIS_PERF_SUITES, as in the notebooks
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc
    results = config.getoption("--perf-results")
    session = PerfSession(
        engine=engine, profile=config.getoption("--perf-profile"), tier=config.getoption("--perf-tier"),
        results_path=Path(results).resolve() if results else None,
        report_path=Path(config.getoption("--perf-report")).resolve() if config.getoption("--perf-report") else None,
        thresholds=Path(thresholds).resolve() if thresholds else None, audio=audio,
        keep_work=config.getoption("--perf-keep-work"), explain=config.getoption("--perf-explain"), against=against,
        against_round_process=config.getoption("--perf-against-round-process"))
    config.stash[_SESSION_KEY] = session
    config.pluginmanager.register(session, "auralis-perf-session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give catalogue tests the profile's time budget (unless --timeout was given on the command line):
    a test's setup runs its whole group, which at `full` takes far longer than a unit test may."""
    checks = [i for i in items if i.get_closest_marker("performance") and not i.get_closest_marker("timeout")]
    if not checks or config.getoption("timeout", None) is not None:
        return
    from auralis_perf.run.cli import DEFAULT_TIMEOUTS  # a notebook's (category's) budget: ample for one group

    budget = DEFAULT_TIMEOUTS[_session(config).profile]
    for item in checks:
        item.add_marker(pytest.mark.timeout(budget))


@pytest.fixture(scope="session")
def perf_runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The session's `GroupRunner`: one engine, profile and `SuiteContext` for every catalogue test."""
    from auralis_perf.pytest_plugin.group_runner import GroupRunner
    from auralis_perf.run import kernel_env

    session = _session(request.config)
    if session.runner is None:
        workdir = tmp_path_factory.mktemp("auralis-perf")
        # As in a notebook run: compiled kernels are cached in the run's scratch, not next to the sources,
        # and subprocesses the suites start (compile time, Numba unavailable) inherit that.
        for name, value in kernel_env(workdir).items():
            if name not in os.environ:
                os.environ[name] = value
                session.env_set.append(name)
        session.runner = GroupRunner(
            engine_name=session.engine, profile=session.profile, workdir=workdir,
            audio_files=session.audio, catalog=session.catalog(),
            parameters={"tier": session.tier, "pytest_args": list(request.config.invocation_params.args)},
            against=paired_groups(session.against, session.profile, workdir, session.audio, session.catalog(),
                                  round_process=session.against_round_process,
                                  thresholds=session.thresholds))
    return session.runner


def paired_groups(against: str | None, profile: str, workdir: Path, audio: tuple[Path, ...],
                  catalog: Catalog, *, round_process: str = DEFAULT_ROUND_PROCESS,
                  thresholds: Path | None = None) -> Any:
    """The baseline's side for --perf-against (pytest_plugin/against.py), or None. `round_process`: where
    each round of a round group is measured ("fresh", "kernel", "interleaved"); `thresholds`: the file both
    sides judge by."""
    if against is None:
        return None
    from auralis_perf.pytest_plugin.against import PairedGroups
    from auralis_perf.suites.access import SuiteSession

    return PairedGroups(SuiteSession(against, profile=profile, workdir=workdir / "baseline", audio_files=audio,
                                     catalog=catalog), round_process=round_process,
                        thresholds=str(thresholds) if thresholds else None)


@pytest.fixture
def perf_tier(request: pytest.FixtureRequest) -> str:
    """The lowest tier whose miss fails a test (`--perf-tier`)."""
    return _session(request.config).tier
