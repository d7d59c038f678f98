"""The history and baseline options of run_report.py, light to import (no SciPy): parsed before a run.

    --history-url URL   --no-history   --baseline NAME|latest|PATH   --save-baseline NAME   --cross-machine
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from auralis_perf.history.baseline import looks_like_path
from auralis_perf.history.urls import resolve_history_url


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """The history and baseline options of run_report.py."""
    group = parser.add_argument_group("history and baselines")
    group.add_argument("--history-url", metavar="URL",
                       help="SQLAlchemy URL of the results store (default: $AURALIS_PERF_HISTORY_URL, else "
                            "history.sqlite in the folder that holds the run folder: reports/history.sqlite); "
                            "e.g. postgresql://user@host/db to share one store with a team")
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
