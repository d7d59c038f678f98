"""The history + regression step of a run, as the pipeline calls it.

    add_history_arguments(parser)                       # --history-url --no-history --baseline ...
    options = HistoryOptions.from_args(args)
    preflight(options, machine, engine, profile)        # before measuring: bad usage fails fast (exit 3)
    outcome = run_regression_step(results, options)     # after results.json is written
    outcome.section_html()                              # "Changes since baseline", top of the report
    outcome.exit_code                                   # 4 when a critical check regressed, else 0

Order inside the step: resolve the baseline (never the run itself), compare, append the run in one
transaction, save it as a named baseline if asked, draw the trend plots (which include this run).
A store that fails AFTER the run does not lose the run's report: the problem is shown in the section.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.history import BaselineError, HistoryError, HistoryStore, display_url, resolve_baseline, run_key
from auralis_perf.regress.noise import CheckHistory
from auralis_perf.regress.options import HistoryOptions, add_history_arguments
from auralis_perf.regress.section import changes_section_html
from auralis_perf.regress.trends import TrendPlot, key_metric_ids, trend_plots
from auralis_perf.regress.verdicts import Comparison, compare
from auralis_perf.results import write_json_atomic
from auralis_perf.run.exit_codes import ExitCode


@dataclass
class RegressionOutcome:
    comparison: Comparison | None = None
    message: str = ""
    run_id: int | None = None
    history_url: str | None = None
    plots: list[TrendPlot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    baseline_results: dict[str, Any] | None = None   # the document compared with (its profiles feed diffs)

    @property
    def exit_code(self) -> ExitCode:
        """4 when a critical check regressed, else 0 (the pipeline's own codes take precedence)."""
        return ExitCode.REGRESSED if self.comparison and self.comparison.critical_regressions else ExitCode.OK

    def section_html(self, engine: str | None = None) -> str:
        return changes_section_html(self.comparison, self.plots, message=self.message, problems=self.problems,
                                    engine=engine)

    def summary_line(self) -> str:
        if self.comparison is None:
            return self.message or "no comparison"
        return self.comparison.summary_line()

    def to_dict(self) -> dict[str, Any]:
        return {"history_url": self.history_url, "run_id": self.run_id, "message": self.message,
                "problems": list(self.problems), "exit_code": self.exit_code,
                "comparison": self.comparison.to_dict() if self.comparison else None,
                "trends": [{"check_id": p.check_id, "points": p.points,
                            "steps": [{"index": s.index, "before": s.before, "after": s.after} for s in p.steps]}
                           for p in self.plots]}

    def write(self, path: str | Path) -> Path:
        """Save the outcome (verdicts, steps) as JSON next to results.json, atomically."""
        return write_json_atomic(path, self.to_dict())


def preflight(options: HistoryOptions, machine: dict[str, Any] | str, engine: str, profile: str) -> None:
    """Check the options before anything is measured; raises HistoryError/BaselineError (exit code 3)."""
    problems = options.usage_problems()
    if problems:
        raise HistoryError("; ".join(problems))
    probe = {"run": {"machine": machine, "engine": engine, "profile": profile}}
    if not options.use_history:
        if options.baseline:
            resolve_baseline(options.baseline, probe, None, cross_machine=options.cross_machine)
        return
    with HistoryStore(options.url()) as store:  # opens, creates or refuses (newer schema) the store now
        resolve_baseline(options.baseline, probe, store, cross_machine=options.cross_machine)


def run_regression_step(results: dict[str, Any], options: HistoryOptions, *, catalog: Catalog | None = None,
                        out_dir: str | Path | None = None) -> RegressionOutcome:
    """Compare, store, mark and plot one finished run; never raises for store trouble (see `problems`).

    A refused or missing baseline (BaselineError) is bad usage and is raised; run `preflight` first to
    catch it before measuring.
    """
    catalog = catalog or load_catalog()
    outcome = RegressionOutcome()
    if options.usage_problems():
        raise HistoryError("; ".join(options.usage_problems()))
    if not options.use_history:
        if options.baseline:
            choice = resolve_baseline(options.baseline, results, None, cross_machine=options.cross_machine)
            outcome.comparison = compare(results, choice.results, catalog, baseline_label=choice.label)
            outcome.baseline_results = choice.results
        else:
            outcome.message = "History switched off (--no-history): nothing compared, nothing stored."
        return _saved(outcome, out_dir)
    outcome.history_url = options.url()
    try:
        store = HistoryStore(outcome.history_url)
    except HistoryError as exc:
        outcome.problems.append(str(exc))
        outcome.message = "The history store could not be opened: this run was neither compared nor stored."
        return _saved(outcome, out_dir)
    with store:
        choice = resolve_baseline(options.baseline, results, store, cross_machine=options.cross_machine)
        if choice.found:
            history = _check_histories(store, results)  # this machine's own run-to-run noise, whatever the baseline
            outcome.comparison = compare(results, choice.results, catalog, baseline_label=choice.label,
                                         history=history)
            outcome.baseline_results = choice.results
        else:
            outcome.message = f"Nothing to compare with: {choice.label}. This run is now the first of its history."
        try:
            outcome.run_id = store.append(results)
            if options.save_baseline:
                store.save_baseline(options.save_baseline, outcome.run_id)
            changed = [v.id for v in outcome.comparison.ordered() if v.verdict in ("regressed", "improved")] \
                if outcome.comparison else []
            outcome.plots = trend_plots(store, results, catalog, key_metric_ids(catalog, changed))
        except HistoryError as exc:
            outcome.problems.append(str(exc))
    return _saved(outcome, out_dir)


def _check_histories(store: HistoryStore, results: dict[str, Any], *, limit: int = 30) -> dict[str, CheckHistory]:
    """Each measured check's earlier values on this machine/engine/profile (the run is not stored yet)."""
    machine, engine, profile = run_key(results)
    return {record["id"]: CheckHistory.from_values(
                [p["value"] for p in store.series(record["id"], machine, engine, profile, limit=limit)])
            for record in results["checks"] if record.get("value") is not None}


def _saved(outcome: RegressionOutcome, out_dir: str | Path | None) -> RegressionOutcome:
    if out_dir is not None:
        outcome.write(Path(out_dir) / "comparison.json")
    return outcome




def make_baseline_hook(options: HistoryOptions, engines: Sequence[str], profile: str, *,
                       machine: dict[str, Any] | None = None, stream: TextIO | None = None):
    """Check the history options now (raises HistoryError/BaselineError: exit code 3) and return the
    pipeline's baseline hook: (config, engine_runs) -> (changes, critical_regressed, section_html)."""
    if machine is None:
        from auralis_perf.measure.machine import describe_machine

        machine = describe_machine()
    for engine in engines:
        preflight(options, machine, engine, profile)

    def hook(config: Any, engine_runs: Sequence[Any]) -> tuple[list[dict[str, Any]] | None, bool, str]:
        catalog = load_catalog(getattr(config, "thresholds", None))
        multi = len(engine_runs) > 1
        changes: list[dict[str, Any]] | None = None
        critical, sections = False, []
        for engine_run in engine_runs:
            outcome = run_regression_step(engine_run.results, options, catalog=catalog, out_dir=engine_run.base)
            engine_run.baseline_results = outcome.baseline_results
            if outcome.run_id is not None and outcome.history_url:
                engine_run.stored_as = (outcome.history_url, outcome.run_id)
            if outcome.comparison is not None:
                changes = (changes or []) + [d | {"engine": engine_run.engine} for d in outcome.comparison.to_dicts()]
            critical = critical or outcome.exit_code == ExitCode.REGRESSED
            sections.append(outcome.section_html(engine=engine_run.engine if multi else None))
            stored = f"stored as #{outcome.run_id} in {display_url(outcome.history_url)}" if outcome.run_id else "not stored"
            print(f"history ({engine_run.engine}): {outcome.summary_line().rstrip('.')}; {stored}"
                  + "".join(f"; problem: {p}" for p in outcome.problems), file=stream or sys.stdout)
        html = "\n".join(sections)
        return changes, critical, (f"<div id=\"changes\">{html}</div>" if multi else html)

    return hook


def baseline_hook_for(config: Any):
    """The hook for a parsed RunConfig (its `history` options, defaults when None); raises HistoryError."""
    options = getattr(config, "history", None) or HistoryOptions(reports_dir=Path(config.out).parent)
    return make_baseline_hook(options, config.engines, config.profile)


__all__ = ["BaselineError", "HistoryOptions", "RegressionOutcome",
           "add_history_arguments", "baseline_hook_for", "make_baseline_hook", "preflight",
           "run_regression_step"]
