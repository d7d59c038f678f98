"""Verdicts against a baseline (improved / regressed / unchanged / inconclusive), trend plots, report section.

Exports load lazily, so that `auralis_perf.regress.options` (parsed with the command line) does not pull SciPy.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Comparison": "verdicts", "MAX_SPREAD": "verdicts", "MIN_SAMPLES": "verdicts", "VERDICTS": "verdicts",
    "Verdict": "verdicts", "compare": "verdicts", "judge_samples": "verdicts",
    "NormalisationError": "normalise", "speed_ratio": "normalise", "rule_for": "rules",
    "CheckHistory": "noise", "run_to_run_threshold": "noise",
    "HistoryOptions": "options", "add_history_arguments": "options",
    "RegressionOutcome": "pipeline_step", "make_baseline_hook": "pipeline_step", "run_regression_step": "pipeline_step",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
