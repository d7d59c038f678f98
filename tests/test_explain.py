"""The explain step on small doubles: a failing check's profile names the slowed function, the profile diff
puts the slowed function first, a failing profiler leaves the verdict untouched, and the report shows it."""
from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from auralis_perf import suites
from auralis_perf.catalog import load_catalog
from auralis_perf.explain import child, step
from auralis_perf.explain.diff import profile_diff
from auralis_perf.explain.memory import POLL_S, profile_memory
from auralis_perf.explain.select import profile_kind, wanted
from auralis_perf.report.explain import explanation_html
from auralis_perf.results import CheckResult
from auralis_perf.results import evaluate as judge

CATALOG = load_catalog()


def follower(n: int) -> float:
    """A stand-in for an envelope follower: pure Python, so the sampler sees it by name."""
    level = 0.0
    for i in range(n):
        level = 0.999 * level + (i % 7) * 0.001
    return level


def equaliser(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += (i % 5) * 0.5
    return total


def group_of(follower_n: int, equaliser_n: int = 60_000) -> suites.Group:
    def workload(ctx: suites.SuiteContext) -> list[CheckResult]:
        follower(follower_n)
        equaliser(equaliser_n)
        return [judge(CATALOG["RT-02"], 1.0)]
    return suites.Group("realtime", "Real-time factor", ("RT-02",), workload)


@pytest.fixture
def ctx(tmp_path: Path) -> suites.SuiteContext:
    return suites.SuiteContext(engine=SimpleNamespace(name="double"), profile="smoke", workdir=tmp_path / "w",
                               catalog=CATALOG)


def test_a_failing_checks_profile_names_the_slowed_function(ctx, tmp_path):
    answer = child.profile_group(ctx, group_of(400_000), "time", tmp_path / "profiles", stem="RT-02")
    assert answer["top_own"][0]["function"] == "follower"
    assert answer["top_own"][0]["module"] == __name__ and answer["top_own"][0]["own_share"] > 0.5
    assert (tmp_path / "profiles" / "RT-02.html").stat().st_size > 1000  # the full call tree, a side file
    assert answer["profiler"].startswith("pyinstrument") and answer["cost_s"] > 0
    # the harness between the profiler and the workload (run_group, the lambda) is not listed
    assert all(not r["module"].startswith(("auralis_perf.suites", "auralis_perf.explain")) for r in answer["top_total"])
    assert [r["function"] for r in answer["top_total"]][:1] in (["follower"], ["workload"])  # the workload's own
    html = explanation_html(answer | {"kind": "time", "group": "Real-time factor", "shared_by": ["RT-02"],
                                      "html": "profiles/RT-02.html"})
    assert "follower" in html and "href='profiles/RT-02.html'" in html
    other = explanation_html({"kind": "time", "group": "Real-time factor", "shared_by": ["RT-01", "RT-02"]},
                             check_id="RT-02", anchor_prefix="check-e-")
    assert "href='#check-e-RT-01'" in other and "<table" not in other  # shown once per group, linked


def test_the_diff_puts_the_slowed_function_first(ctx, tmp_path):
    before = child.profile_group(ctx, group_of(60_000), "time", tmp_path, stem="before")
    after = child.profile_group(ctx, group_of(400_000), "time", tmp_path, stem="after")
    diff = profile_diff(before, after)
    assert diff and diff[0]["function"] == "follower" and diff[0]["growth"] > 0.1
    assert all(d["function"] != "equaliser" for d in diff)  # its share shrank


def test_memory_profile_names_the_site_holding_memory_at_the_peak(tmp_path):
    def hold() -> int:
        kept = [bytearray(4 * 2**20) for _ in range(5)]
        # tracemalloc's call sites come from snapshots polled every POLL_S: hold the peak for many polls
        time.sleep(20 * POLL_S)
        return len(kept)

    _, profile = profile_memory(hold, tmp_path, "MEM-X", use_memray=False)
    # other threads of the test process (earlier tests' pools) may also hold memory at that moment, so the
    # site is looked for among the top ones rather than required to be first
    sites = profile.summary()["top_sites"]
    ours = [s for s in sites if s["file"] == __file__]
    assert ours and ours[0]["mb"] >= 15 and "tracemalloc" in profile.profiler, sites


def burst() -> int:
    data = bytearray(40 * 2**20)  # alive for this one call only: far shorter than a poll interval
    return len(data)


def test_tracemalloc_sees_a_peak_shorter_than_its_poll_interval(tmp_path):
    def spike() -> int:
        small = [bytearray(1000) for _ in range(2000)]  # 2 MB held throughout
        return burst() + len(small)

    _, profile = profile_memory(spike, tmp_path, "MEM-Z", use_memray=False)
    summary = profile.summary()
    assert profile.peak_bytes >= 40 * 2**20, summary
    top = summary["top_sites"][0]
    # the burst's own line holds the 40 MB at the peak, and the kept sites add up to the peak
    assert top["file"] == __file__ and top["line"] == burst.__code__.co_firstlineno + 1 and top["mb"] >= 40, summary
    assert "of a peak of" in summary["note"] and sum(s["mb"] for s in summary["top_sites"]) >= 40


def test_a_failing_profiler_leaves_the_verdict_untouched(ctx, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("sampler crashed")

    monkeypatch.setattr(child, "profile_call", broken)
    session = SimpleNamespace(context=ctx, group_answering=lambda check_id: group_of(1000))
    answers = child.explain_checks(session, {"RT-02": "time"}, tmp_path)
    assert "sampler crashed" in answers["RT-02"]["problem"]
    assert "verdict above is unaffected" in explanation_html(answers["RT-02"])


# Synthetic suites for the explain child: a pure-Python loop with a name a profile can point at.
FOLLOWER_SUITE_HEAD = '''
from auralis_perf.catalog import load_catalog
from auralis_perf.results import evaluate as judge
from auralis_perf.suites import group


def envelope_follower(n):
    level = 0.0
    for i in range(n):
        level = 0.999 * level + (i % 7) * 0.001
    return level
'''

SLOW_SUITE = FOLLOWER_SUITE_HEAD + '''

@group("Real-time factor", category="realtime", ids=["RT-02"])
def rtf(ctx):
    envelope_follower(300_000)
    return [judge(load_catalog()["RT-02"], 0.5)]
'''


def results_doc(status_value: float) -> dict:
    record = judge(CATALOG["RT-02"], status_value).to_dict()
    return {"run": {"id": "r1"}, "checks": [record, judge(CATALOG["RT-05"], 1.0).to_dict()]}


def test_the_step_profiles_failing_checks_in_a_child_and_never_changes_a_figure(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "slow_suite.py").write_text(textwrap.dedent(SLOW_SUITE))
    env = {"PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")]),
           "AURALIS_PERF_SUITES": "realtime=slow_suite"}
    results = results_doc(0.5)
    before = json.loads(json.dumps(results["checks"]))
    assert before[0]["status"] == "fail" and wanted(before[0], "failing") and not wanted(before[1], "failing")
    info = step.explain_results(results, base=tmp_path / "run", mode="failing", engine="reference", profile="smoke",
                                work=tmp_path / "work", timeout=120, env=env)
    explanation = results["checks"][0]["details"]["explanation"]
    assert explanation.get("problem") is None, explanation
    assert explanation["top_own"][0]["function"] == "envelope_follower"
    assert (tmp_path / "run" / explanation["html"]).is_file()
    assert info["passes"][0]["checks"] == ["RT-02"] and info["cost_s"] > 0
    for old, new in zip(before, results["checks"]):  # figures and verdicts as measured
        assert {k: v for k, v in new.items() if k != "details"} == {k: v for k, v in old.items() if k != "details"}
    assert "explanation" not in results["checks"][1]["details"]


def test_a_profiling_process_that_fails_says_so_and_keeps_the_verdict(tmp_path):
    results = results_doc(0.5)
    before = dict(results["checks"][0])
    step.explain_results(results, base=tmp_path, mode="failing", engine="no-such-engine", profile="smoke",
                         work=tmp_path / "work", timeout=120,
                         env={"AURALIS_PERF_SUITES": "realtime=module_that_does_not_exist"})
    record = results["checks"][0]
    assert record["details"]["explanation"]["problem"]
    assert (record["status"], record["value"], record["tiers"]) == (before["status"], before["value"], before["tiers"])


def test_selection():
    assert profile_kind({"unit": "x", "category": "realtime"}) == "time"
    assert profile_kind({"unit": "MB", "category": "memory"}) == "memory"
    assert profile_kind({"unit": "stale reads", "category": "cache"}) is None
    passing = {"id": "RT-02", "unit": "x", "status": "pass", "value": 9.0}
    assert not wanted(passing, "failing") and wanted(passing, "failing", regressed=["RT-02"])
    assert wanted(passing, "all") and not wanted(passing, "none")
    with pytest.raises(ValueError, match="--explain"):
        wanted(passing, "sometimes")


def test_diff_needs_a_baseline_profile():
    now = {"details": {"explanation": {"kind": "time", "functions": {}}}, "id": "RT-02"}
    assert step.add_diffs({"checks": [now]}, None) == 0
    assert step.add_diffs({"checks": [now]}, {"run": {"id": "b"}, "checks": [{"id": "RT-02", "details": {}}]}) == 0
    assert "kept no time profile" in now["details"]["explanation"]["diff_problem"]  # said, not silently missing
    assert "No profile diff: the baseline (b) kept no time profile" in explanation_html(
        now["details"]["explanation"] | {"group": "g", "shared_by": ["RT-02"]})
    assert sys.modules["auralis_perf.explain.step"] is step


def test_a_failing_explain_step_keeps_results_and_verdicts(tmp_path, monkeypatch):
    from auralis_perf.explain import step as explain_step
    from auralis_perf.run import pipeline

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(explain_step, "explain_results", broken)
    results = results_doc(0.5)
    path = tmp_path / "results.json"
    run = pipeline.EngineRun(engine="reference", base=tmp_path, results_path=path, results=results)
    config = SimpleNamespace(explain="failing", explain_budget=0, profile="smoke", audio=(), thresholds=None, timeout=10,
                             out=tmp_path, keep_work=False)
    pipeline.explain_runs(config, [run])
    written = json.loads(path.read_text())
    assert "disk full" in written["run"]["explain"]["problem"]
    assert written["checks"][0]["status"] == "fail" and written["checks"][0]["value"] == 0.5
    assert pipeline.decide_exit_code([run]) == pipeline.decide_exit_code(
        [pipeline.EngineRun(engine="reference", base=tmp_path, results_path=path, results=results_doc(0.5))])


def test_memray_when_installed_names_the_caller_of_a_numpy_allocation_and_draws_a_flame_graph(tmp_path):
    pytest.importorskip("memray")  # an optional profiler: tracemalloc stands in where it is missing
    import numpy as np

    def hold() -> float:
        kept = [np.ones(2**20) for _ in range(4)]  # 32 MB alive at the peak, allocated inside NumPy
        return float(sum(a[0] for a in kept))

    _, profile = profile_memory(hold, tmp_path, "MEM-Y", use_memray=True)
    top = profile.summary()["top_sites"][0]
    assert profile.profiler.startswith("memray") and top["mb"] >= 30
    assert f"{__file__}:" in top["caller"]  # the NumPy frame's caller, in this file
    assert profile.flamegraph is not None and profile.flamegraph.is_file()


def test_after_the_baseline_the_regressed_checks_are_profiled_and_diffed(tmp_path, monkeypatch):
    from auralis_perf.explain import step as explain_step
    from auralis_perf.run import pipeline

    asked = {}

    def fake_explain(results, **kwargs):  # stands in for the child: records what it was asked
        asked.update(kwargs)
        for record in results["checks"]:
            if record["id"] in kwargs["regressed"]:
                record["details"]["explanation"] = {"kind": "time", "functions": {
                    "k:follower": {"function": "follower", "module": "k", "own_share": 0.4}}}
        return {}

    monkeypatch.setattr(explain_step, "explain_results", fake_explain)
    results = results_doc(50.0)  # RT-02 passes its tiers ...
    baseline = results_doc(60.0)
    baseline["checks"][0]["details"]["explanation"] = {"kind": "time", "functions": {
        "k:follower": {"function": "follower", "module": "k", "own_share": 0.1}}}
    run = pipeline.EngineRun(engine="reference", base=tmp_path, results_path=tmp_path / "results.json",
                             results=results, baseline_results=baseline)
    config = SimpleNamespace(explain="failing", explain_budget=0, profile="smoke", audio=(), thresholds=None, timeout=10,
                             out=tmp_path, keep_work=False)
    changes = [{"id": "RT-02", "verdict": "regressed", "engine": "reference"},
               {"id": "RT-05", "verdict": "regressed", "engine": "other-engine"}]
    pipeline.explain_runs(config, [run], changes=changes)  # ... but regressed against the baseline
    assert asked["regressed"] == ["RT-02"]
    diff = json.loads((tmp_path / "results.json").read_text())["checks"][0]["details"]["explanation"]["diff"]
    assert diff[0]["function"] == "follower" and diff[0]["growth"] == pytest.approx(0.3)


def test_summary_and_mail_give_the_top_entries_of_failing_and_regressed_checks(tmp_path):
    from team_support import regression, run_document

    from auralis_perf.run.digest import digests
    from auralis_perf.run.mail_body import compose_body
    from auralis_perf.run.summary import summary_markdown

    doc = run_document("run-x", categories=("realtime", "memory"), values={"RT-01": 12.0, "MEM-11": 37.0})
    by_id = {c["id"]: c for c in doc["checks"]}
    by_id["RT-01"]["details"]["explanation"] = {  # a tier missed: its top functions by own time
        "kind": "time", "group": "Real-time factor", "shared_by": ["RT-01"], "profiler": "pyinstrument",
        "top_own": [{"function": f"fingerprint_step{i}", "module": "m", "own_share": 0.4 - i / 20} for i in range(5)]}
    by_id["RT-06"]["details"]["explanation"] = {  # regressed: the diff against the baseline's profile
        "kind": "time", "group": "Latency", "shared_by": ["RT-06"], "profiler": "pyinstrument",
        "top_own": [{"function": "sos_cascade", "module": "m", "own_share": 0.3}],
        "diff": [{"function": "envelope_follower", "module": "k", "own_share_before": 0.023, "own_share_after": 0.112,
                  "growth": 0.089, "dispatcher": "numba CPUDispatcher k.envelope_follower"}]}
    by_id["MEM-11"]["details"]["explanation"] = {
        "kind": "memory", "group": "Peak memory", "shared_by": ["MEM-11"], "profiler": "memray 1.20.0",
        "peak_mb": 512.0, "top_sites": [{"function": "analyse", "file": "/x/auralis/analysis/fingerprint.py", "line": 88,
                                         "mb": 300.0, "share": 0.6}]}
    by_id["RT-03"]["details"]["explanation"] = {  # --explain all on a passing check: not in the short forms
        "kind": "time", "group": "Real-time factor", "top_own": [{"function": "not_shown", "own_share": 0.9}]}
    [digest] = digests([(doc, tmp_path)], [regression("RT-06", 20.0, 31.0)])

    text = summary_markdown([digest])
    why = text[text.index("Why (profiles"):text.index("By category")]
    rows = {line.split("|")[1].strip(): line for line in why.splitlines() if line.startswith("| ") and "---" not in line}
    assert set(rows) - {"check"} == {"RT-01", "RT-06", "MEM-11"}
    assert "fingerprint_step0 40.0 % own; fingerprint_step1 35.0 % own; fingerprint_step2 30.0 % own" in rows["RT-01"]
    assert "fingerprint_step3" not in rows["RT-01"]  # three entries at most
    assert "grown since the baseline: envelope_follower +8.9 pt own (2.3 % → 11.2 %) [compiled]" in rows["RT-06"]
    assert "alive at the 512.0 MB peak (memray 1.20.0): 300.0 MB at analyse analysis/fingerprint.py:88" in rows["MEM-11"]
    assert "not_shown" not in text

    body = compose_body([digest]).html
    assert "envelope_follower +8.9 pt own" in body and "300.0 MB at analyse analysis/fingerprint.py:88" in body
    assert "fingerprint_step0 40.0 % own" in body and "not_shown" not in body


REGRESSION_SUITE = FOLLOWER_SUITE_HEAD + '''


def equaliser(n):
    total = 0.0
    for i in range(n):
        total += (i % 5) * 0.5
    return total


@group("Real-time factor", category="realtime", ids=["RT-02"])
def rtf(ctx):
    envelope_follower({follower})
    equaliser(150_000)
    return [judge(load_catalog()["RT-02"], 1.0)]  # thrown away: the explain step keeps no figure
'''


def test_a_regressed_verdict_from_the_history_is_profiled_and_diffed_with_the_kept_baseline_profile(
        tmp_path, monkeypatch):
    """The real pipeline (run(), the history store, the baseline hook, the explain child) with the notebooks
    replaced by synthetic figures: 3 normal runs, a 4th saved as baseline 'normal' with --explain all (so it
    keeps its profile), then a run whose envelope follower does 20x the work and whose RT-02 figures are 40 %
    lower. Judged: the verdict is 'regressed', the diff's first entry is the envelope follower, no profiler
    ran for the runs where nothing failed, and summary.md names it. No speed is judged."""

    import numpy as np
    from team_support import machine, run_document

    from auralis_perf.history import HistoryError, HistoryStore
    from auralis_perf.regress.pipeline_step import make_baseline_hook
    from auralis_perf.run import pipeline
    from auralis_perf.run.cli import parse_config

    package = tmp_path / "pkg"
    package.mkdir()
    for name, follower in (("normal_suite", 20_000), ("slowed_suite", 400_000)):
        (package / f"{name}.py").write_text(REGRESSION_SUITE.replace("{follower}", str(follower)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")]))
    rng = np.random.default_rng(3)
    figures: dict[str, float] = {}

    def fake_engine_run(config, engine, base, catalog, progress, **kwargs):  # the notebooks' figures, made up
        n = len(list(tmp_path.glob("run-*")))
        doc = run_document(f"r{n}", categories=("realtime",), machine_name="m1", rng=rng, values=figures,
                           started_at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=n))
        doc["checks"] = [c for c in doc["checks"] if c["id"] == "RT-02"]
        path = pipeline.write_json_atomic(base / "results.json", doc)
        return pipeline.EngineRun(engine=engine, base=base, results_path=path, results=json.loads(path.read_text()))

    monkeypatch.setattr(pipeline, "run_engine", fake_engine_run)
    monkeypatch.setattr(pipeline, "measure_control", lambda profile: None)
    from auralis_perf.explain import step

    children = []
    real_run = step.run_child

    def watched(command, *args, **kwargs):  # counts the explain step's profiling processes
        if "auralis_perf.explain.child" in command:
            children.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(step, "run_child", watched)
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"

    def report_run(i: int, *args: str):
        config = parse_config(["--profile", "smoke", "--categories", "realtime", "--no-progress",
                               "--history-url", url, "--out", str(tmp_path / f"run-{i}"), *args])
        hook = make_baseline_hook(config.history, config.engines, config.profile, machine=machine("m1"))
        return pipeline.run(config, baseline_hook=hook)

    monkeypatch.setenv("AURALIS_PERF_SUITES", "realtime=normal_suite")
    figures["RT-02"] = 80.0
    for i in range(3):  # nothing fails, nothing regresses: --explain failing starts no profiler at all
        outcome = report_run(i)
        assert children == [] and outcome.engine_runs[0].results["run"]["explain"]["passes"] == []
    report_run(3, "--explain", "all", "--save-baseline", "normal")
    assert len(children) == 1
    with HistoryStore(url) as store:  # the history keeps the baseline's profile
        kept = store.baseline("normal", machine("m1"), "reference", "smoke")
        assert kept["checks"][0]["details"]["explanation"]["top_own"]

    monkeypatch.setenv("AURALIS_PERF_SUITES", "realtime=slowed_suite")
    figures["RT-02"] = 48.0
    outcome = report_run(4, "--baseline", "normal")
    [verdict] = [c for c in outcome.changes if c["id"] == "RT-02"]
    assert verdict["verdict"] == "regressed", verdict
    results = json.loads((tmp_path / "run-4" / "results.json").read_text())
    explanation = results["checks"][0]["details"]["explanation"]
    assert explanation.get("problem") is None, explanation
    assert explanation["diff"][0]["function"] == "envelope_follower", explanation["diff"]
    assert explanation["diff"][0]["own_share_after"] > explanation["diff"][0]["own_share_before"]
    assert explanation["diff_baseline"] == kept["run"]["id"]
    assert [p["checks"] for p in results["run"]["explain"]["passes"]] == [["RT-02"]]  # profiled once, after the verdict
    with HistoryStore(url) as store:  # the profile made after the history stored the run is kept there too
        stored = store.run(store.runs(limit=1)[0].id)
        assert stored["run"]["id"] == results["run"]["id"]
        assert stored["checks"][0]["details"]["explanation"]["diff"][0]["function"] == "envelope_follower"
        changed = json.loads(json.dumps(results))
        changed["checks"][0]["value"] = 1.0
        with pytest.raises(HistoryError, match="figures are never rewritten"):
            store.update_details(store.runs(limit=1)[0].id, changed)
    summary = (tmp_path / "run-4" / "summary.md").read_text()
    assert "| RT-02 | time · Real-time factor | own time grown since the baseline: envelope_follower +" in summary
    assert "Share of own time grown since baseline" in (tmp_path / "run-4" / "report.html").read_text()


def test_a_group_profiled_before_the_comparison_serves_its_regressed_checks_without_a_second_profile(
        tmp_path, monkeypatch):
    from auralis_perf.explain import step as explain_step

    def no_child(*args, **kwargs):
        raise AssertionError("a second profiling process was started for a group already profiled")

    monkeypatch.setattr(explain_step, "run_child", no_child)
    failing = judge(CATALOG["RT-01"], 5.0).to_dict()  # failed: profiled in the first pass
    failing["details"]["explanation"] = {"kind": "time", "group": "Real-time factor", "shared_by": ["RT-01"],
                                         "top_own": [{"function": "follower", "own_share": 0.5}]}
    results = {"run": {"id": "r1"}, "checks": [failing, judge(CATALOG["RT-02"], 50.0).to_dict(),
                                               judge(CATALOG["RT-06"], 10.0).to_dict()]}
    info = step.explain_results(results, base=tmp_path, mode="failing", engine="reference", profile="smoke",
                                work=tmp_path / "work", timeout=10, regressed=["RT-02"])
    first, regressed, other = (c["details"].get("explanation") for c in results["checks"])
    assert regressed["top_own"] == first["top_own"] and regressed["shared_by"] == first["shared_by"] == ["RT-01", "RT-02"]
    assert other is None and info["passes"] == []


def test_a_baseline_side_is_profiled_on_its_own_interpreter_and_a_missing_one_is_said(tmp_path):
    results = results_doc(50.0)
    info = step.profile_checks(results, {"RT-02": "time"}, base=tmp_path, engine="reference", profile="smoke",
                               work=tmp_path / "work", timeout=10, python=str(tmp_path / "no-such-python"))
    explanation = results["checks"][0]["details"]["explanation"]
    assert "could not start" in explanation["problem"] and "no-such-python" in explanation["problem"]
    assert info["passes"][0]["checks"] == ["RT-02"] and results["checks"][0]["value"] == 50.0


def test_the_brief_line_names_the_hot_path_beside_the_leaves_by_own_time():
    """Own time names leaves (a rank filter, an FFT); the brief line also names the deepest functions holding
    over half of the time, which say which part of the engine it goes to. Wrappers at ~100 % stay out when
    deeper ones qualify; a sibling under 50 % is not on the path; the harness's own frames never count."""
    from auralis_perf.report.explain import explanation_brief, hot_path

    def row(module, function, own, total):
        return {"function": function, "module": module, "line": 1, "own_share": own, "total_share": total}
    functions = {f"{m}:{f}": row(m, f, o, t) for m, f, o, t in [
        ("auralis_perf.suites.common.checks", "run_checks", 0.0, 1.0),
        ("adapter", "master", 0.0, 1.0), ("core.processor", "process", 0.01, 0.99),
        ("fingerprint.analyzer", "analyze", 0.0, 0.98), ("fingerprint.harmonic", "analyze", 0.02, 0.78),
        ("librosa.decompose", "hpss", 0.0, 0.557), ("scipy.ndimage", "rank_filter", 0.494, 0.494),
        ("dsp.eq", "apply", 0.02, 0.02)]}
    x = {"kind": "time", "top_own": [functions["scipy.ndimage:rank_filter"]], "functions": functions}
    assert hot_path(x) == ["analyzer.analyze 98.0 %", "harmonic.analyze 78.0 %", "decompose.hpss 55.7 %"]
    brief = explanation_brief(x)
    assert brief.startswith("own time: rank_filter 49.4 % own")
    assert brief.endswith("hot path (total time): analyzer.analyze 98.0 % → harmonic.analyze 78.0 % → "
                          "decompose.hpss 55.7 %")
    assert hot_path({"kind": "time", "functions": {"a:f": row("a", "f", 0.3, 0.3)}}) == []
    harness_only = {"s:r": row("auralis_perf.suites.common.checks", "run_checks", 0.0, 0.92)}
    assert hot_path({"kind": "time", "functions": harness_only}) == []
