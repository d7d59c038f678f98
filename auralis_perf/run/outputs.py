"""The run's files for teams, written after the report: summary.md (always), --summary-to, --junit.

A problem writing one of them (a full disk, a folder removed meanwhile) is reported on stderr and does
not change the run's exit code: the results and the report are already on disk.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from auralis_perf.run.digest import digests
from auralis_perf.run.junit import write_junit
from auralis_perf.run.summary import append_summary, summary_markdown, write_summary

SUMMARY_NAME = "summary.md"


def write_team_files(outcome: Any) -> list[Path]:
    """Write summary.md into the run folder, append it to --summary-to, write --junit; returns the paths."""
    config = outcome.config
    engine_runs = outcome.engine_runs
    written: list[Path] = []
    try:
        found = digests([(r.results, r.base) for r in engine_runs], getattr(outcome, "changes", None),
                        report_path=outcome.report_path)
        text = summary_markdown(found, report_path=outcome.report_path)
        written.append(write_summary(config.out / SUMMARY_NAME, text))
        if getattr(config, "summary_to", None):
            append_summary(config.summary_to, text)
            written.append(config.summary_to)
        if getattr(config, "junit", None):
            written.append(write_junit(config.junit, found))
    except OSError as exc:
        print(f"warning: could not write the run's summary or JUnit file: {exc}", file=sys.stderr)
    return written
