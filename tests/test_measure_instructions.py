"""Instruction counts under Valgrind: repeatable, sensitive to 2 % more work, judged by their own rule."""
from __future__ import annotations

from pathlib import Path

import pytest
from history_support import check, results

from auralis_perf.counts import figures
from auralis_perf.engines import get_engine
from auralis_perf.measure.instructions import Workload, count_instructions, valgrind_missing
from auralis_perf.regress import compare, rule_for

TESTS = str(Path(__file__).resolve().parent)
needs_valgrind = pytest.mark.skipif(valgrind_missing() is not None, reason=str(valgrind_missing()))


def _instructions(check_id: str, value: float) -> dict:
    return check(check_id, value, unit="instructions", kind="instructions")


def _verdict(before: float, after: float) -> str:
    comparison = compare(results("after", [_instructions("INS-X", after)]),
                         results("before", [_instructions("INS-X", before)]), history={})
    return comparison.verdicts[0].verdict


def test_instruction_rule_has_a_one_percent_floor() -> None:
    assert rule_for(_instructions("INS-X", 1.0)) == "instructions"
    assert _verdict(1_000_000, 1_005_000) == "unchanged"
    assert _verdict(1_000_000, 1_020_000) == "regressed"
    assert _verdict(1_000_000, 980_000) == "improved"


def test_without_valgrind_every_figure_is_skipped_with_the_reason(monkeypatch) -> None:
    monkeypatch.setattr(figures, "valgrind_missing", lambda: "Valgrind is not installed")
    records = figures.instruction_records(get_engine("reference"))
    assert records and all(r.status == "skip" and r.reason == "Valgrind is not installed" for r in records)
    assert {"INS-M-default", "INS-CHUNK", "INS-K-env-F", "INS-K-env-P"} <= {r.id for r in records}
    assert all(len(r.id) <= 16 for r in records)  # the history store's check_id column


def test_bad_reps_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="reps"):
        count_instructions([Workload("w", "instruction_workloads:summing", (10,), reps=0)])


@needs_valgrind
def test_counts_repeat_and_two_percent_more_work_is_regressed() -> None:
    workloads = [Workload("base", "instruction_workloads:summing", (5000,)),
                 Workload("more", "instruction_workloads:summing", (5100,))]  # 2 % more real work
    env = {"PYTHONPATH": TESTS}
    first = count_instructions(workloads, env=env, fill_cache=False)
    second = count_instructions(workloads, env=env, fill_cache=False)
    base, again, more = first[0].per_call, second[0].per_call, first[1].per_call
    assert base > 0 and abs(again / base - 1) < 0.005, (base, again)
    assert more / base > 1.01, (base, more)
    assert _verdict(base, again) == "unchanged"
    assert _verdict(base, more) == "regressed"


def test_deterministic_run_has_only_instruction_figures(tmp_path, monkeypatch) -> None:
    """`--deterministic` runs no notebook; without Valgrind its figures are skipped, and the file is valid."""
    from auralis_perf.results import read_results
    from auralis_perf.run import pipeline
    from auralis_perf.run.cli import COUNTS_PROFILE, parse_config

    config = parse_config(["--deterministic", "--no-history", "--no-progress", "--out", str(tmp_path / "run")])
    assert config.categories == () and config.profile == COUNTS_PROFILE and config.instructions
    monkeypatch.setattr(figures, "valgrind_missing", lambda: "Valgrind is not installed")
    outcome = pipeline.run(config)
    doc = read_results(outcome.engine_runs[0].results_path)
    assert doc["run"]["profile"] == COUNTS_PROFILE and doc["checks"]
    assert all(c["kind"] == "instructions" and c["status"] == "skip" for c in doc["checks"])
