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

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import Catalog, load_catalog
from ..history import (BaselineError, HistoryError, HistoryStore, resolve_baseline, resolve_history_url)
from ..history.baseline import looks_like_path
from ..results import write_json_atomic
from .section import changes_section_html
from .trends import TrendPlot, key_metric_ids, trend_plots
from .verdicts import Comparison, compare

#: Exit code when a check with a critical tier regressed (after the pipeline's 0-3).
EXIT_CRITICAL_REGRESSION = 4


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """The history and baseline options of run_report.py."""
    group = parser.add_argument_group("history and baselines")
    group.add_argument("--history-url", metavar="URL",
                       help="SQLAlchemy URL of the results store (default: $AURALIS_PERF_HISTORY_URL, else "
                            "reports/history.sqlite); e.g. postgresql://user@host/db to share one with a team")
    group.add_argument("--no-history", action="store_true", help="neither store this run nor compare it")
    group.add_argument("--baseline", metavar="NAME|latest|PATH",
                       help="compare with a saved baseline, the latest run (default) of this machine, engine and "
                            "profile, or a results.json file")
    group.add_argument("--save-baseline", metavar="NAME", help="mark this run as baseline NAME")
    group.add_argument("--cross-machine", action="store_true",
                       help="allow a baseline from another machine; times are then normalised by the control "
                            "workload and the comparison is marked normalised")


@dataclass
class HistoryOptions:
    history_url: str | None = None
    use_history: bool = True
    baseline: str | None = None
    save_baseline: str | None = None
    cross_machine: bool = False
    reports_dir: str | Path = "reports"

    @classmethod
    def from_args(cls, args: argparse.Namespace, reports_dir: str | Path = "reports") -> "HistoryOptions":
        return cls(history_url=getattr(args, "history_url", None), use_history=not getattr(args, "no_history", False),
                   baseline=getattr(args, "baseline", None), save_baseline=getattr(args, "save_baseline", None),
                   cross_machine=bool(getattr(args, "cross_machine", False)), reports_dir=reports_dir)

    def url(self) -> str:
        return resolve_history_url(self.history_url, reports_dir=self.reports_dir)

    def usage_problems(self) -> list[str]:
        problems = []
        if not self.use_history and self.save_baseline:
            problems.append("--save-baseline needs the history store; drop --no-history")
        if not self.use_history and self.baseline and not looks_like_path(self.baseline):
            problems.append(f"--baseline {self.baseline} needs the history store; drop --no-history or give a "
                            "results.json path")
        return problems


@dataclass
class RegressionOutcome:
    comparison: Comparison | None = None
    message: str = ""
    run_id: int | None = None
    history_url: str | None = None
    plots: list[TrendPlot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """4 when a critical check regressed, else 0 (the pipeline's own codes take precedence)."""
        return EXIT_CRITICAL_REGRESSION if self.comparison and self.comparison.critical_regressions else 0

    def section_html(self) -> str:
        return changes_section_html(self.comparison, self.plots, message=self.message, problems=self.problems)

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
            outcome.comparison = compare(results, choice.results, catalog, baseline_label=choice.label)
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


def _saved(outcome: RegressionOutcome, out_dir: str | Path | None) -> RegressionOutcome:
    if out_dir is not None:
        outcome.write(Path(out_dir) / "comparison.json")
    return outcome


__all__ = ["EXIT_CRITICAL_REGRESSION", "BaselineError", "HistoryOptions", "RegressionOutcome",
           "add_history_arguments", "preflight", "run_regression_step"]
