"""The history + regression step as the pipeline runs it: compare, store, mark, plot, exit code 4."""
from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from history_support import check, noisy, results, timing
from sqlalchemy import text

from auralis_perf.history import BaselineError, HistoryError, HistorySchemaError, HistoryStore
from auralis_perf.regress.options import HistoryOptions
from auralis_perf.regress.pipeline_step import make_baseline_hook, preflight, run_regression_step


def _run(uid: str, scale: float, day: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return results(uid, [timing("RT-06", noisy(rng, 10, scale=scale)),
                         timing("RT-08", noisy(rng, 10, scale=50.0)),
                         check("DB-16", 3, unit="statements", kind="count")],
                   started_at=f"2025-01-{day:02d}T00:00:00Z")


@pytest.fixture
def options(tmp_path: Path) -> HistoryOptions:
    return HistoryOptions(history_url=f"sqlite:///{tmp_path / 'history.sqlite'}")


def _history(options: HistoryOptions, runs: int = 4) -> None:
    """Steady earlier runs, so that the checks' run-to-run noise is known."""
    for day in range(1, runs + 1):
        run_regression_step(_run(f"early-{day}", 20.0 * (1 + 0.01 * (day % 2)), day, 100 + day), options)


def test_first_run_then_a_critical_regression(options: HistoryOptions, tmp_path: Path) -> None:
    first = run_regression_step(_run("r1", 20.0, 1, 1), options, out_dir=tmp_path)
    assert first.comparison is None and "first of its history" in first.message and first.exit_code == 0
    assert first.run_id == 1 and json.loads((tmp_path / "comparison.json").read_text())["run_id"] == 1
    young = run_regression_step(_run("r2", 30.0, 2, 2), options)
    assert young.comparison.counts()["regressed"] == 0, "a young history cannot tell a regression from load"
    assert "fewer than 4 earlier runs" in {v.id: v for v in young.comparison.verdicts}["RT-06"].note
    _history(options)
    second = run_regression_step(_run("r3", 20.3, 9, 3), options)
    assert second.comparison.counts()["regressed"] == 0 and second.exit_code == 0
    slowed = run_regression_step(_run("r4", 30.0, 10, 4), options, out_dir=tmp_path)
    by_id = {v.id: v for v in slowed.comparison.verdicts}
    assert by_id["RT-06"].verdict == "regressed" and by_id["RT-08"].verdict == "unchanged"
    assert slowed.exit_code == 4
    assert [p.check_id for p in slowed.plots] == ["RT-06"], "critical checks with 2+ runs get a trend plot"
    html = slowed.section_html()
    assert "Changes since baseline" in html and "data:image/png;base64," in html and "exit code 4" in html
    saved = json.loads((tmp_path / "comparison.json").read_text())
    assert saved["exit_code"] == 4 and saved["comparison"]["verdicts"][0]["id"] == "RT-06"


def test_named_baselines_and_no_history(options: HistoryOptions, tmp_path: Path) -> None:
    _history(options)
    marked = HistoryOptions(history_url=options.history_url, save_baseline="release")
    run_regression_step(_run("r1", 20.0, 11, 1), marked)
    run_regression_step(_run("r2", 30.0, 12, 2), options)
    against_release = HistoryOptions(history_url=options.history_url, baseline="release")
    outcome = run_regression_step(_run("r3", 30.0, 13, 3), against_release)
    assert "baseline 'release'" in outcome.comparison.baseline_label
    assert {v.id: v.verdict for v in outcome.comparison.verdicts}["RT-06"] == "regressed"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_run("file", 20.0, 1, 1)))
    offline = run_regression_step(_run("r4", 20.0, 4, 4), HistoryOptions(use_history=False, baseline=str(path)))
    assert offline.comparison is not None and offline.run_id is None
    off = run_regression_step(_run("r5", 20.0, 5, 5), HistoryOptions(use_history=False))
    assert off.comparison is None and "switched off" in off.message
    assert HistoryOptions(use_history=False, save_baseline="x").usage_problems()


def test_preflight_fails_fast_on_bad_usage(options: HistoryOptions) -> None:
    run_regression_step(_run("r1", 20.0, 1, 1), options)
    preflight(options, {"fingerprint": "m-test"}, "reference", "smoke")
    with pytest.raises(BaselineError, match="no baseline named 'nope'"):
        preflight(HistoryOptions(history_url=options.history_url, baseline="nope"), "m-test", "reference", "smoke")
    with HistoryStore(options.history_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 99"))
    with pytest.raises(HistorySchemaError, match="99"):
        preflight(options, "m-test", "reference", "smoke")


def test_a_store_failing_after_the_run_does_not_lose_the_report() -> None:
    broken = HistoryOptions(history_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    outcome = run_regression_step(_run("r1", 20.0, 1, 1), broken)
    assert outcome.comparison is None and outcome.problems and "History problem" in outcome.section_html()
    with pytest.raises(HistoryError):
        run_regression_step(_run("r1", 20.0, 1, 1), HistoryOptions(use_history=False, save_baseline="x"))


def test_hook_for_the_pipeline_and_the_rendered_report(options: HistoryOptions, tmp_path: Path) -> None:
    from auralis_perf.report.check import external_references
    from auralis_perf.report.render import render_report

    _history(options)
    stream = io.StringIO()
    hook = make_baseline_hook(options, ["reference"], "smoke", machine={"fingerprint": "m-test"}, stream=stream)
    config = SimpleNamespace(thresholds=None)
    for uid, scale, day in (("r1", 20.0, 11), ("r2", 30.0, 12)):
        engine_run = SimpleNamespace(engine="reference", results=_run(uid, scale, day, day), base=tmp_path)
        changes, critical, html = hook(config, [engine_run])
    assert critical and changes[0]["id"] == "RT-06" and changes[0]["verdict"] == "regressed"
    assert "1 regressed" in stream.getvalue() and "stored as #6" in stream.getvalue()
    page = render_report([(engine_run.results, tmp_path)], changes_html=html)
    assert page.index('id="summary"') < page.index('id="changes"') < page.index('id="checks"')
    assert page.count('id="changes"') == 1 and 'href="#changes"' in page
    assert external_references(page) == []
