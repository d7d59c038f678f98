"""The explain step's budget and order (explain/budget.py) and its narrowed re-runs (SuiteContext.only), on
small doubles: critical misses first and cheap profiles before slow ones; a profile the budget leaves out
says so under its check; a group re-runs only the checks asked for, or all of it when one needs another."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from auralis_perf import suites
from auralis_perf.catalog import load_catalog
from auralis_perf.explain import budget, child, step
from auralis_perf.report.explain import explain_line, explanation_html
from auralis_perf.results import CheckResult
from auralis_perf.results import evaluate as judge
from auralis_perf.run.cli import UsageError, parse_config
from auralis_perf.suites.common.checks import NOT_ASKED, run_checks

CATALOG = load_catalog()


def failing(check_id: str, value: float, seconds: float = 0.0) -> dict:
    record = judge(CATALOG[check_id], value).to_dict()
    record["details"]["scenario_seconds"] = seconds
    assert record["status"] == "fail", record
    return record


@pytest.fixture
def ctx(tmp_path: Path) -> suites.SuiteContext:
    return suites.SuiteContext(engine=SimpleNamespace(name="double"), profile="smoke", workdir=tmp_path / "w",
                               catalog=CATALOG)


def test_critical_misses_come_first_then_regressions_then_the_cheapest_profiles():
    records = [failing("RT-02", 1.0, 60.0), failing("RT-16", 0.5, 50.0), failing("MEM-11", 99.0, 2.0),
               failing("RT-01", 1.0, 100.0), judge(CATALOG["OPT-09"], 99.0).to_dict()]
    assert budget.priority(records[3]) == budget.CRITICAL and budget.priority(records[2]) == budget.MISSED
    assert budget.priority(records[4], regressed=["OPT-09"]) == budget.REGRESSED
    chosen = {"RT-02": "time", "RT-16": "time", "MEM-11": "memory", "RT-01": "time", "OPT-09": "time"}
    order = budget.order_checks(records, chosen, CATALOG, regressed=["OPT-09"])
    # RT-01 and RT-02 share a group: one profile, critical (RT-01); then the regression; then cheapest first
    assert list(order) == ["RT-02", "RT-01", "OPT-09", "MEM-11", "RT-16"]
    assert order == chosen  # same kinds, only reordered
    assert budget.limit(0) is None and budget.limit(None) is None and budget.limit(5.0) == 5.0


def test_a_group_runs_only_the_checks_asked_for(ctx):
    ran = []

    def check(check_id: str):
        def measure(c: suites.SuiteContext) -> CheckResult:
            ran.append(check_id)
            return judge(CATALOG[check_id], 1.0)
        return measure

    ctx.only = frozenset({"MEM-02"})
    records = run_checks(ctx, [("MEM-01", check("MEM-01")), ("MEM-02", check("MEM-02"))])
    assert ran == ["MEM-02"] and ctx.asked("MEM-02") and not ctx.asked("MEM-01")
    assert records[0].status == "skip" and records[0].reason == NOT_ASKED and records[1].id == "MEM-02"
    ctx.only = None
    run_checks(ctx, [("MEM-01", check("MEM-01"))])
    assert ran == ["MEM-02", "MEM-01"]


def rtf_group(ran: list[str]) -> suites.Group:
    """RT-01 alone; RT-04 needs RT-01 measured in the same run (like the real lowest-of-three)."""
    def workload(c: suites.SuiteContext) -> list[CheckResult]:
        measured = {}

        def rt01(c: suites.SuiteContext) -> CheckResult:
            ran.append("RT-01")
            measured["RT-01"] = sum(range(400_000))  # some ms: the sampler sees it
            return judge(CATALOG["RT-01"], 1.0)

        def rt04(c: suites.SuiteContext) -> CheckResult:
            ran.append("RT-04")
            if not measured:
                raise RuntimeError("RT-01 was not measured")
            return judge(CATALOG["RT-04"], 1.0)

        return run_checks(c, [("RT-01", rt01), ("RT-04", rt04)])
    return suites.Group("realtime", "Real-time factor", ("RT-01", "RT-04"), workload)


def test_a_profile_runs_the_asked_checks_alone_or_the_whole_group_when_they_need_it(ctx, tmp_path):
    ran: list[str] = []
    alone = child.profile_group(ctx, rtf_group(ran), "time", tmp_path / "p", stem="RT-01", ids=["RT-01"])
    assert ran == ["RT-01", "RT-01"] and alone["workload"] == ["RT-01"] and not alone["whole_group"]
    ran.clear()
    needs = child.profile_group(ctx, rtf_group(ran), "time", tmp_path / "p", stem="RT-04", ids=["RT-04"])
    assert needs["whole_group"] and needs["workload"] == ["RT-01", "RT-04"]
    assert ran == ["RT-04", "RT-01", "RT-04", "RT-01", "RT-04"]  # alone (errs), then the group twice
    assert ctx.only is None  # restored
    html = explanation_html(alone | {"kind": "time", "group": "Real-time factor", "shared_by": ["RT-01"]})
    assert "only RT-01 ran" in html


def test_a_group_that_keeps_its_figures_for_the_run_is_profiled_without_the_warm_ups_state(ctx, tmp_path, monkeypatch):
    from auralis_perf.explain.timing import FunctionTime, TimeProfile

    ran: list[str] = []
    ctx.shared["library"] = "built before the explain step"

    def measured_once(c: suites.SuiteContext) -> list[CheckResult]:
        if "DB-02 figures" not in c.shared:  # measured once per run, like query_mix_timings
            ran.append("work")
            c.shared["DB-02 figures"] = 1.0
        return [judge(CATALOG["DB-02"], 1.0)]

    def fake_profile_call(call, html):  # a profile sees functions only when the call did work
        before = len(ran)
        result = call()
        seen = [FunctionTime("query", "engine", 1, own_s=1.0, total_s=1.0)] if len(ran) > before else []
        return result, TimeProfile(duration_s=1.0, functions=seen)

    monkeypatch.setattr(child, "profile_call", fake_profile_call)
    answer = child.profile_group(ctx, suites.Group("database", "Query time", ("DB-02",), measured_once), "time",
                                 tmp_path, stem="DB-02", ids=["DB-02"])
    assert ran == ["work", "work"] and answer["note"] == child.MEMOISED_NOTE
    assert answer["top_own"][0]["function"] == "query" and ctx.shared["library"] == "built before the explain step"
    assert "ctx.shared" in explanation_html(answer | {"kind": "time", "group": "Query time", "shared_by": ["DB-02"]})


def test_the_budget_leaves_profiles_out_and_says_so(ctx, tmp_path, monkeypatch):
    made, marks = [], []

    def fake_profile(c, g, kind, out, *, stem, ids=None):
        made.append(stem)
        return {"top_own": [], "cost_s": 0.0}

    monkeypatch.setattr(child, "profile_group", fake_profile)
    groups = {"RT-01": suites.Group("realtime", "Real-time factor", ("RT-01",), lambda c: []),
              "MEM-11": suites.Group("memory", "Peak", ("MEM-11",), lambda c: [])}
    session = SimpleNamespace(context=ctx, group_answering=groups.__getitem__)
    answers = child.explain_checks(session, {"RT-01": "time", "MEM-11": "memory"}, tmp_path, budget_s=100.0,
                                   estimates={"RT-01": 500.0, "MEM-11": 1.0}, on_answer=marks.append)
    assert made == ["MEM-11"] and "problem" not in answers["MEM-11"]
    assert answers["RT-01"]["problem"].startswith("not profiled: the explain budget (100 s")
    assert "took 500 s" in answers["RT-01"]["problem"]
    assert marks[1]["MEM-11"]["problem"].startswith("not profiled")  # while it ran, a stop would say so
    spent = child.explain_checks(session, {"RT-01": "time"}, tmp_path, budget_s=0.0)
    assert spent["RT-01"]["problem"] == budget.not_profiled(0.0) and made == ["MEM-11"]


def test_profiles_follow_the_order_of_their_first_check_by_group_and_kind(ctx, tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(child, "profile_group", lambda c, g, kind, out, *, stem, ids=None: made.append((stem, ids)) or {})
    query = suites.Group("cache", "Query cache", ("CACHE-02", "CACHE-04"), lambda c: [])
    peak = suites.Group("memory", "Peak", ("MEM-11",), lambda c: [])
    session = SimpleNamespace(context=ctx, group_answering=lambda i: peak if i == "MEM-11" else query)
    child.explain_checks(session, {"CACHE-04": "memory", "MEM-11": "memory", "CACHE-02": "time"}, tmp_path)
    assert made == [("CACHE-04", ["CACHE-04"]), ("MEM-11", ["MEM-11"]), ("CACHE-02", ["CACHE-02"])]


def test_a_spent_budget_starts_no_process_and_lists_what_it_left_out(tmp_path, monkeypatch):
    def no_child(*args, **kwargs):
        raise AssertionError("a profiling process was started with the budget spent")

    monkeypatch.setattr(step, "run_child", no_child)
    results = {"run": {"id": "r1", "explain": {"mode": "failing", "passes": [], "cost_s": 950.0}},
               "checks": [failing("RT-01", 1.0)]}
    info = step.explain_results(results, base=tmp_path, mode="failing", engine="reference", profile="smoke",
                                work=tmp_path / "work", timeout=10, budget_s=900.0)
    assert results["checks"][0]["details"]["explanation"]["problem"].startswith("not profiled")
    assert info["passes"][-1]["not_profiled"] == ["RT-01"] and info["passes"][-1]["checks"] == []
    assert "1 not profiled, explain budget 900 s spent (RT-01)" in explain_line(results["run"])
    assert "0 check(s) profiled" in explain_line(results["run"])


SLEEPING_SUITE = '''
import time
from auralis_perf.catalog import load_catalog
from auralis_perf.results import evaluate as judge
from auralis_perf.suites import group


@group("Real-time factor", category="realtime", ids=["RT-02"])
def rtf(ctx):
    time.sleep(120)
    return [judge(load_catalog()["RT-02"], 0.5)]
'''


def test_a_child_still_profiling_at_the_budget_is_stopped_and_its_checks_say_so(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "sleeping_suite.py").write_text(textwrap.dedent(SLEEPING_SUITE))
    env = {"PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")]),
           "AURALIS_PERF_SUITES": "realtime=sleeping_suite"}
    results = {"run": {"id": "r1"}, "checks": [failing("RT-02", 0.5)]}
    info = step.explain_results(results, base=tmp_path / "run", mode="failing", engine="reference", profile="smoke",
                                work=tmp_path / "work", timeout=600, env=env, budget_s=4.0)
    assert results["checks"][0]["details"]["explanation"]["problem"].startswith("not profiled: the explain budget (4 s")
    assert info["passes"][0]["not_profiled"] == ["RT-02"]


def test_the_budget_option(tmp_path):
    assert parse_config(["--out", str(tmp_path)]).explain_budget == budget.DEFAULT_BUDGET_S
    assert parse_config(["--out", str(tmp_path), "--explain-budget", "0"]).explain_budget == 0
    with pytest.raises(UsageError, match="--explain-budget"):
        parse_config(["--out", str(tmp_path), "--explain-budget", "-5"])
