"""The run: execute each category notebook with papermill, merge their results, write the report, mail it.

    python -m auralis_perf --profile smoke --categories realtime        (or run_report.py, or make report)

All notebooks run in this one process through papermill's Python API, each in a fresh kernel on this
interpreter (see `kernel.py`). A cell that raises (a broken plot, say) does not stop its notebook: the
remaining cells still run, so later groups are still measured, and the notebook is marked failed with
the first error. A notebook that times out or whose kernel dies keeps its executed copy and its section in
the report, marked failed; the checks it never reported become `error` records; the other notebooks
still run.

Folder of a run (one engine):             With several engines (--engine a,b):
    results.json   report.html                report.html   runs.json (engine -> results file)
    notebooks/NN_<category>.ipynb             <engine>/results.json
    parts/<category>.json  (side files)       <engine>/notebooks/ ...  <engine>/parts/ ...  <engine>/logs/ ...
    logs/<category>.log    (kernel output)
    work/   scratch, removed at the end unless --keep-work

Exit codes: 0 every critical threshold held; 1 a critical threshold was missed; 2 a notebook failed or
timed out, or a check could not be measured (status `error`); 3 bad usage or configuration. A baseline
comparison (see `critical_regressed` in `decide_exit_code`) adds 4: a critical check regressed.
Precedence when several apply: 3, 2, 1, 4.
"""
from __future__ import annotations

import math
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.measure.capacity import free_cores
from auralis_perf.measure.control import NOTEBOOK_CONTROL_BUDGET_S, measure_control
from auralis_perf.measure.machine import describe_machine, package_versions
from auralis_perf.results import (
    errored,
    read_results,
    run_id,
    run_metadata,
    validate_results,
    write_json_atomic,
    write_results,
)
from auralis_perf.run import kernel_env
from auralis_perf.run.cli import RunConfig, UsageError, notebook_path, parse_config, path_safe
from auralis_perf.run.exit_codes import ExitCode
from auralis_perf.run.sidefile import read_side_file

KERNEL_START_TIMEOUT = 120
REPORT_SIZE_LIMIT_MB = 3.0

#: Called after the results are written and before the report: (config, engine runs) -> (baseline verdicts
#: {id, title, verdict, before, after, ratio, p_value, unit} or None, whether a critical check regressed,
#: the "Changes since baseline" section as HTML). The history/regression step plugs in here
#: (regress.pipeline_step.make_baseline_hook); without it there is no such section.
BaselineHook = Callable[[RunConfig, list["EngineRun"]], "tuple[list[dict[str, Any]] | None, bool, str | None]"]


@dataclass
class NotebookOutcome:
    engine: str
    category: str
    notebook: Path            # the executed copy
    side_file: Path
    log: Path
    status: str = "ok"        # ok | failed | timeout
    error: str | None = None
    duration_s: float = 0.0
    kernel_executable: str | None = None
    engine_info: dict[str, Any] | None = None   # the engine's describe() in that notebook's kernel

    def to_dict(self, base: Path) -> dict[str, Any]:
        return {"category": self.category, "status": self.status, "error": self.error,
                "duration_s": round(self.duration_s, 3), "notebook": _relative(self.notebook, base),
                "side_file": _relative(self.side_file, base), "log": _relative(self.log, base),
                "kernel_executable": self.kernel_executable, "engine_info": self.engine_info}


@dataclass
class EngineRun:
    engine: str
    base: Path                # folder of this engine's results.json and notebooks
    results_path: Path
    results: dict[str, Any]
    outcomes: list[NotebookOutcome] = field(default_factory=list)
    #: The baseline's results document once the baseline hook compared this run (for profile diffs).
    baseline_results: dict[str, Any] | None = None
    #: (history URL, run id) once the baseline hook stored this run: profiles made later are kept there too.
    stored_as: tuple[str, int] | None = None


@dataclass
class RunOutcome:
    config: RunConfig
    engine_runs: list[EngineRun]
    report_path: Path | None
    exit_code: int
    report_error: str | None = None
    mail_error: str | None = None
    changes: list[dict[str, Any]] | None = None   # the baseline verdicts (None: nothing compared)


# -- exit code ---------------------------------------------------------------------------------------
def decide_exit_code(engine_runs: Sequence[EngineRun], *, critical_regressed: bool = False) -> ExitCode:
    """2 if a notebook failed/timed out or a check errored, else 1 on a critical miss, else 4 on a
    critical regression against the baseline, else 0."""
    checks = [c for r in engine_runs for c in r.results["checks"]]
    if any(o.status != "ok" for r in engine_runs for o in r.outcomes) or any(c["status"] == "error" for c in checks):
        return ExitCode.NOTEBOOK_FAILED
    if any((c.get("tiers") or {}).get("critical") is False for c in checks):
        return ExitCode.CRITICAL_MISS
    if critical_regressed:
        return ExitCode.REGRESSED
    return ExitCode.OK


# -- one notebook ------------------------------------------------------------------------------------
def execute_notebook(source: Path, outcome: NotebookOutcome, parameters: dict[str, Any], *, timeout: float,
                     cwd: Path, env: dict[str, str]) -> NotebookOutcome:
    """Run one notebook; never raises for the notebook's own failure (KeyboardInterrupt still stops)."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from auralis_perf.run.kernel import KERNEL_NAME, kernel_manager_for

    deadline = time.monotonic() + timeout

    def remaining(_cell: Any) -> int:
        # nbclient's timeout is per cell; the budget is per notebook, so each cell gets what is left.
        # At least 1 s: nbclient reads 0 as "no timeout at all".
        return max(1, math.ceil(deadline - time.monotonic()))

    outcome.notebook.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            str(source), str(outcome.notebook), parameters=parameters, kernel_name=KERNEL_NAME,
            progress_bar=False, log_output=False, request_save_on_cell_execute=True,
            start_timeout=KERNEL_START_TIMEOUT, cwd=str(cwd), allow_errors=True,
            kernel_manager_class=kernel_manager_for(env, outcome.log), timeout_func=remaining)
    except PapermillExecutionError as exc:
        outcome.status = "failed"
        outcome.error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    except CellTimeoutError as exc:
        outcome.status = "timeout"
        outcome.error = f"the notebook exceeded its budget of {timeout:g} s ({_first_line(exc)})"
        _mark_timed_out(outcome.notebook, outcome.error)
    except DeadKernelError as exc:
        outcome.status = "failed"
        outcome.error = f"the kernel died (out of memory or a crash in native code?): {_first_line(exc)}"
    except Exception as exc:  # kernel that cannot start, unreadable notebook: still one notebook's failure
        outcome.status = "failed"
        outcome.error = f"{type(exc).__name__}: {_first_line(exc)}"
    outcome.duration_s = time.monotonic() - started
    return outcome


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _mark_timed_out(path: Path, message: str) -> None:
    """papermill does not mark a timeout in the executed notebook: put a visible note at its top."""
    import nbformat

    if not path.is_file():
        return
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**This notebook timed out.** {message}"))
    nbformat.write(nb, str(path))


# -- merging -----------------------------------------------------------------------------------------
def merge_category(catalog: Catalog, outcome: NotebookOutcome) -> list[dict[str, Any]]:
    """The category's records in catalogue order; checks the notebook never reported become `error`."""
    try:
        side = read_side_file(outcome.side_file)
    except ValueError as exc:
        side, side_problem = None, str(exc)
    else:
        side_problem = None
    reported = {c.get("id"): c for c in (side or {}).get("checks", []) if isinstance(c, dict)}
    if side is not None:
        outcome.kernel_executable = (side.get("kernel") or {}).get("executable")
        outcome.engine_info = side.get("engine_info") if isinstance(side.get("engine_info"), dict) else None
    if outcome.status == "ok":
        missing_reason = side_problem or "the notebook finished without reporting this check"
    else:
        verb = "timed out" if outcome.status == "timeout" else "failed"
        missing_reason = f"notebook {verb} before this check: {outcome.error}"
    merged = []
    for check_id in catalog.ids(outcome.category):
        record = reported.get(check_id)
        problem = _bad_record(record) if record is not None else None
        if record is None or problem:
            reason = missing_reason if record is None else f"the notebook's record was malformed: {problem}"
            record = errored(catalog[check_id], reason).to_dict()
            record["engine"] = outcome.engine
        merged.append(record)
    return merged


def _bad_record(record: dict[str, Any]) -> str:
    problems = [p for p in validate_results({"run": {}, "checks": [record]}) if not p.startswith("run lacks")]
    return "; ".join(problems)


# -- the run -----------------------------------------------------------------------------------------
def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def run_engine(config: RunConfig, engine: str, base: Path, catalog: Catalog, progress, *,
               batch_id: str, machine: dict[str, Any], versions: dict[str, Any],
               control: dict[str, Any] | None = None) -> EngineRun:
    """Run every chosen category notebook on one engine and write its results.json."""
    started = _now()
    work = config.out / "work"
    env = kernel_env(work)
    outcomes = []
    checks: list[dict[str, Any]] = []
    control_by_category: dict[str, list[dict[str, Any] | None]] = {}
    free_cores_by_category: dict[str, list[dict[str, Any]]] = {}
    for category in config.categories:
        source = notebook_path(config.notebooks_dir, category)
        outcome = notebook_outcome(engine, category, base, source)
        scratch = work / path_safe(engine) / category
        parameters = notebook_parameters(config, engine, scratch, outcome)
        progress.start_notebook(engine, category, outcome.side_file, len(catalog.ids(category)))
        control_by_category[category] = [measure_control(config.profile, NOTEBOOK_CONTROL_BUDGET_S)]
        free_cores_by_category[category] = [free_cores()]  # the load guard of parallel checks (regress/load_guard)
        execute_notebook(source, outcome, parameters, timeout=config.timeout, cwd=scratch, env=env)
        free_cores_by_category[category].append(free_cores())
        control_by_category[category].append(measure_control(config.profile, NOTEBOOK_CONTROL_BUDGET_S))
        checks.extend(merge_category(catalog, outcome))
        progress.finish_notebook(outcome.status, outcome.duration_s, outcome.error)
        outcomes.append(outcome)
    if config.instructions:  # imported here: the engines are otherwise only built in the notebooks' kernels
        from auralis_perf.counts.figures import instruction_records
        from auralis_perf.suites.common.engine_spec import engine_from_spec

        checks.extend(r.to_dict() for r in instruction_records(engine_from_spec(engine)))
    return finish_engine_run(config, engine, base, outcomes, checks, started=started, batch_id=batch_id,
                             machine=machine, versions=versions, control=control,
                             control_by_category=control_by_category,
                             run_extra={"free_cores_by_category": free_cores_by_category})


def notebook_outcome(engine: str, category: str, base: Path, source: Path) -> NotebookOutcome:
    """Where one engine's notebook of `category` leaves its executed copy, side file and log (old side file
    removed: a rerun into the same folder must not read old records)."""
    outcome = NotebookOutcome(engine=engine, category=category, notebook=base / "notebooks" / source.name,
                              side_file=base / "parts" / f"{category}.json", log=base / "logs" / f"{category}.log")
    outcome.side_file.unlink(missing_ok=True)
    return outcome


def notebook_parameters(config: RunConfig, engine: str, scratch: Path, outcome: NotebookOutcome) -> dict[str, Any]:
    """The parameters cell of a category notebook."""
    return {"engine": engine, "profile": config.profile, "audio": [str(p) for p in config.audio],
            "workdir": str(scratch), "results_path": str(outcome.side_file),
            "thresholds": str(config.thresholds) if config.thresholds else None}


def finish_engine_run(config: RunConfig, engine: str, base: Path, outcomes: list[NotebookOutcome],
                      checks: list[dict[str, Any]], *, started: datetime, batch_id: str, machine: dict[str, Any],
                      versions: dict[str, Any], control: dict[str, Any] | None,
                      control_by_category: dict[str, list[dict[str, Any] | None]],
                      run_extra: dict[str, Any] | None = None) -> EngineRun:
    """Write one engine's results.json (`run_extra`: more keys of its "run" object) and return its EngineRun."""
    finished = _now()
    run = run_metadata(
        run_id=run_id(started, engine, config.profile), started=started, finished=finished, engine=engine,
        profile=config.profile, machine=machine, versions=versions,
        parameters={"engines": list(config.engines), "categories": list(config.categories),
                    "audio": [str(p) for p in config.audio], "timeout_s": config.timeout,
                    "audio_skipped": [f"{p}: {problem}" for p, problem in config.audio_skipped],
                    "thresholds": str(config.thresholds) if config.thresholds else None},
        batch_id=batch_id, notebooks=[o.to_dict(base) for o in outcomes],
        control=control,  # the control workload, for cross-machine baseline comparisons
        # ... and before/after each notebook: was the machine busier while a category ran?
        control_by_category=control_by_category)
    run.update(run_extra or {})
    results_path = write_results(base / "results.json", run, checks)
    return EngineRun(engine=engine, base=base, results_path=results_path, results=read_results(results_path),
                     outcomes=outcomes)


def explain_runs(config: RunConfig, engine_runs: Sequence[EngineRun], *,
                 changes: list[dict[str, Any]] | None = None) -> None:
    """The explain step (auralis_perf.explain.step): profile what --explain asks for, in a child process
    after every figure is measured, and rewrite results.json with the explanations. With `changes` (the
    baseline verdicts) the regressed checks too, and each profile is diffed with the baseline's."""
    from auralis_perf.explain.step import add_diffs, explain_results, keep_in_history

    if config.explain == "none":
        return
    for r in engine_runs:
        regressed = [c["id"] for c in changes or [] if c.get("verdict") == "regressed" and c.get("engine") == r.engine]
        try:
            explain_results(r.results, base=r.base, mode=config.explain, engine=r.engine, profile=config.profile,
                            audio=config.audio, thresholds=config.thresholds, timeout=config.timeout,
                            work=config.out / "work" / "explain" / path_safe(r.engine),
                            env=kernel_env(config.out / "work"), regressed=regressed,
                            budget_s=config.explain_budget)
            add_diffs(r.results, r.baseline_results)
        except Exception as exc:  # an explanation must never cost the run, its figures or its verdicts
            r.results["run"].setdefault("explain", {"mode": config.explain, "passes": []})["problem"] = (
                f"the explain step failed: {type(exc).__name__}: {exc}")
        if r.stored_as is not None:  # the history stored the run before this pass: keep its profiles there too
            keep_in_history(r.results, *r.stored_as)
        write_json_atomic(r.results_path, r.results)
    if not config.keep_work:
        shutil.rmtree(config.out / "work", ignore_errors=True)


def run(config: RunConfig, *, baseline_hook: BaselineHook | None = None) -> RunOutcome:
    """Execute the whole run described by `config`; returns what happened, including the exit code."""
    from auralis_perf.run.progress import Progress

    catalog = load_catalog(config.thresholds)
    config.out.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    versions = package_versions(machine)
    control = measure_control(config.profile)  # normalises cross-machine comparisons
    batch_id = uuid.uuid4().hex[:12]
    total = len(config.engines) * sum(len(catalog.ids(c)) for c in config.categories)
    progress = Progress(total, enabled=config.progress)
    engine_runs = []
    try:
        if config.against is not None:  # candidate and baseline in lockstep kernels (run/against.py)
            from auralis_perf.run.against import run_against

            engine_runs = run_against(config, catalog, progress, batch_id=batch_id, machine=machine,
                                      versions=versions, control=control)
        for engine in config.engines if config.against is None else ():
            base = config.out / path_safe(engine) if config.multi_engine else config.out
            engine_runs.append(run_engine(config, engine, base, catalog, progress, batch_id=batch_id,
                                          machine=machine, versions=versions, control=control))
        judged = engine_runs[:1] if config.against is not None else engine_runs  # the baseline side is not judged
        explain_runs(config, judged)  # failing checks: profiled before the history keeps the run
    finally:
        progress.close()
        if not config.keep_work:
            shutil.rmtree(config.out / "work", ignore_errors=True)
    if config.multi_engine:
        write_json_atomic(config.out / "runs.json", {"batch_id": batch_id, "engines": list(config.engines),
                                                     "results": {r.engine: _relative(r.results_path, config.out)
                                                                 for r in engine_runs}})
    changes, critical_regressed, changes_html = baseline_hook(config, engine_runs) if baseline_hook else (None, False, None)
    explain_runs(config, judged, changes=changes)  # regressed checks, and diffs against the baseline
    if config.against is not None:
        from auralis_perf.run.against import exit_code_view

        judged = exit_code_view(engine_runs)
    outcome = RunOutcome(config=config, engine_runs=engine_runs, report_path=None,
                         exit_code=decide_exit_code(judged, critical_regressed=critical_regressed),
                         changes=changes)
    _write_report(outcome, changes_html)
    from auralis_perf.run.outputs import write_team_files  # summary.md, --summary-to, --junit

    write_team_files(outcome)
    if config.email_to and outcome.report_path is not None:
        mail_report(outcome)
    return outcome


def _write_report(outcome: RunOutcome, changes_html: str | None) -> None:
    from auralis_perf.report import write_report

    try:
        outcome.report_path = write_report(outcome.config.out / "report.html",
                                           [(r.results, r.base) for r in outcome.engine_runs], changes_html=changes_html)
    except Exception as exc:  # results.json is already on disk; say clearly what is missing
        outcome.report_error = f"{type(exc).__name__}: {exc}"
        if outcome.exit_code in (ExitCode.OK, ExitCode.CRITICAL_MISS, ExitCode.REGRESSED):
            outcome.exit_code = ExitCode.NOTEBOOK_FAILED


def mail_report(outcome: RunOutcome) -> None:
    """Send the written report to the run's --email-to; a failure is kept in `outcome.mail_error`."""
    from auralis_perf.run.mail import MailError
    from auralis_perf.run.mail_body import send_run_report  # compact body, cid: plots, report attached

    try:
        send_run_report(outcome)
    except MailError as exc:
        outcome.mail_error = str(exc)


def print_outcome(outcome: RunOutcome, stream=None) -> None:
    from auralis_perf.report import summarize, text_summary
    from auralis_perf.report.check import external_references

    stream = stream or sys.stdout
    summaries = [summarize(r.results, r.base) for r in outcome.engine_runs]
    print(text_summary(summaries), end="", file=stream)
    for r in outcome.engine_runs:
        print(f"results: {r.results_path}", file=stream)
    if outcome.report_path is not None:
        size_mb = outcome.report_path.stat().st_size / 2**20
        print(f"report:  {outcome.report_path} ({size_mb:.2f} MB)", file=stream)
        external = external_references(outcome.report_path.read_text(encoding="utf-8"))
        if external:  # e.g. a notebook's markdown linking to a web page: say so, the report is still usable
            print(f"warning: the report refers to outside resources: {'; '.join(external[:5])}", file=sys.stderr)
        if size_mb > REPORT_SIZE_LIMIT_MB:
            print(f"warning: the report is over {REPORT_SIZE_LIMIT_MB} MB; lower the plots' size or dpi",
                  file=sys.stderr)
    if outcome.report_error:
        print(f"the report could not be written: {outcome.report_error}", file=sys.stderr)
    if outcome.config.email_to:
        if outcome.mail_error:
            print(f"mail NOT sent: {outcome.mail_error} (the report on disk is kept)", file=sys.stderr)
        elif outcome.report_path is not None:
            print(f"mailed to {', '.join(outcome.config.email_to)}", file=stream)
    print(f"exit code {int(outcome.exit_code)}: {ExitCode(outcome.exit_code).meaning}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    from auralis_perf.history import HistoryError
    from auralis_perf.regress.pipeline_step import baseline_hook_for

    try:
        config = parse_config(argv)
        if config.against is not None:  # the baseline is measured beside the candidate: no history
            from auralis_perf.run.against import paired_hook

            baseline_hook = paired_hook(config.against, floor=config.against_floor)
        else:
            baseline_hook = baseline_hook_for(config)  # opens the history store, finds the baseline: fail fast
    except (UsageError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    for path, problem in config.audio_skipped:
        print(f"warning: --audio: left out {path}: {problem}", file=sys.stderr)
    outcome = run(config, baseline_hook=baseline_hook)
    print_outcome(outcome)
    return int(outcome.exit_code)
