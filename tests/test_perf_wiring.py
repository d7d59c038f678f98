"""The catalogue from pytest (tests/performance + auralis_perf.pytest_plugin): collection, verdicts, results.

Three layers: `judge` on records built by the real `evaluate`; the catalogue tests in a subprocess on a
fake suite and a test-double engine (every outcome: pass, critical miss, violation, skip, error, missing
group, missing suite module, non-gating miss); and one smoke-profile run of two real checks on the
reference engine, which proves the wiring end to end. No timing assertions: the smoke run checks that the
checks were measured and recorded, not whether they held their tiers on this machine.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auralis_perf.catalog import load_catalog
from auralis_perf.pytest_plugin import BENCHMARK_GROUPS, catalogue_params, gating_tiers, judge
from auralis_perf.results import evaluate, read_results, skipped

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()


# -- judge: the report's tier semantics --------------------------------------------------------------
def test_gating_tiers_grow_with_the_option() -> None:
    assert gating_tiers("critical") == ("critical",)
    assert gating_tiers("target") == ("critical", "target")
    assert gating_tiers("stretch") == ("critical", "target", "stretch")
    with pytest.raises(ValueError, match="unknown tier 'gold'"):
        gating_tiers("gold")


def test_a_critical_miss_fails_at_every_tier_and_names_value_unit_and_criterion() -> None:
    record = evaluate(CATALOG["RT-01"], 12.5, samples=[12.0, 12.5, 13.0])
    for tier in ("critical", "target", "stretch"):
        verdict = judge(record, tier, CATALOG)
        assert not verdict.passed
    message = judge(record, "critical", CATALOG).message
    assert "RT-01" in message and "12.5 x" in message and "critical > 20" in message
    assert CATALOG["RT-01"].criterion in message


def test_non_critical_misses_pass_by_default_but_say_so() -> None:
    record = evaluate(CATALOG["RT-01"], 25.0)  # critical > 20 held; target > 30 and stretch > 40 missed
    verdict = judge(record, "critical", CATALOG)
    assert verdict.passed
    assert verdict.notes == ["RT-01 passes at --perf-tier critical but misses its non-gating target > 30, "
                             "stretch > 40: 25 x"]
    assert not judge(record, "target", CATALOG).passed
    assert "target > 30" in judge(record, "target", CATALOG).message
    assert not judge(record, "stretch", CATALOG).passed


def test_a_fail_status_from_a_target_only_check_passes_by_default() -> None:
    record = evaluate(CATALOG["RT-05"], 17.0)  # only a target tier (CV < 10 %): the record's status is fail
    assert record.status == "fail"
    verdict = judge(record, "critical", CATALOG)
    assert verdict.passed and "misses its non-gating target < 10: 17 %" in verdict.notes[0]
    assert not judge(record, "target", CATALOG).passed


def test_a_violation_fails_however_good_the_value() -> None:
    record = evaluate(CATALOG["RT-16"], 500.0, violations=["fast path changed the output by 0.3"])
    verdict = judge(record, "critical", CATALOG)
    assert not verdict.passed and "violation: fast path changed the output by 0.3" in verdict.message


def test_only_measured_records_are_judged() -> None:
    with pytest.raises(ValueError, match="only measured records"):
        judge(skipped(CATALOG["RT-06"], "no playback"), "critical", CATALOG)


def test_benchmark_groups_are_catalogue_groups() -> None:
    groups = {(s.category, s.group) for s in CATALOG.checks.values()}
    assert set(BENCHMARK_GROUPS) <= groups


# -- the catalogue tests in a subprocess ----------------------------------------------------------------
def _pytest(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'basetemp'}",
               *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def _collected(output: str) -> list[str]:
    return re.findall(r"test_catalogue\.py::test_check\[([A-Z]+-\d\d)\]", output)


def test_collection_lists_every_catalogue_id(tmp_path: Path) -> None:
    everything = _pytest(["-m", "performance", "--co", "-q", "tests/performance"], tmp_path)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert _collected(everything.stdout) == CATALOG.ids()
    assert len(CATALOG.ids()) == 100
    default = _pytest(["--co", "-q", "tests/performance"], tmp_path)  # the project's test command skips them
    assert _collected(default.stdout) == []


def test_every_check_carries_performance_its_category_and_benchmark_by_group() -> None:
    params = catalogue_params()
    assert [p.id for p in params] == CATALOG.ids()
    for p in params:
        spec = CATALOG[p.values[0]]
        names = {m.name for m in p.marks}
        expected = {"performance", spec.category} | (
            {"benchmark"} if (spec.category, spec.group) in BENCHMARK_GROUPS else set())
        assert names == expected, p.id
    assert sum("benchmark" in {m.name for m in p.marks} for p in params) == 5 * len(BENCHMARK_GROUPS)


FAKE_ENGINE = '''
"""A test double registered as engine "wiring-double" when pytest loads this module with -p."""
from auralis_perf.engines import Engine, NotSupported, register


class DoubleEngine(Engine):
    name = "wiring-double"

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        raise NotSupported("the wiring double masters nothing")

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default"):
        raise NotSupported("the wiring double streams nothing")


register("wiring-double", "wiring_engine:DoubleEngine")
'''

FAKE_SUITE = '''
"""A realtime suite whose records cover every outcome the catalogue tests must map."""
from auralis_perf.results import check_record, skipped
from auralis_perf.suites import group


@group("Real-time factor", category="realtime", ids=["RT-01", "RT-02", "RT-03", "RT-04", "RT-05"])
def rtf(ctx):
    assert ctx.engine.name == "wiring-double" and ctx.profile == "smoke"
    return [check_record("RT-01", 100.0, samples=[99.0, 100.0, 101.0]),
            check_record("RT-02", 5.0, samples=[5.0] * 5),
            check_record("RT-03", 100.0, samples=[100.0] * 5, violations=["output differs by 0.5"]),
            skipped(ctx.catalog["RT-04"], "the double has no long audio"),
            check_record("RT-05", 17.0, samples=[17.0] * 5)]


@group("Latency", category="realtime", ids=["RT-06", "RT-07", "RT-08", "RT-09", "RT-10"])
def latency(ctx):
    raise RuntimeError("latency scenario exploded")


@group("Throughput", category="realtime", ids=["RT-11", "RT-12", "RT-13", "RT-14", "RT-15"])
def throughput(ctx):
    return [check_record(i, 1.0, samples=[1.0] * 5) for i in ("RT-11", "RT-12", "RT-13", "RT-14")]
'''


def _junit(path: Path) -> dict[str, dict]:
    """Outcome, message and properties of each catalogue test, by check ID."""
    cases = {}
    for case in ET.parse(path).iter("testcase"):
        match = re.search(r"\[([A-Z]+-\d\d)\]", case.get("name", ""))
        if not match:
            continue
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "") + (node.text or "")
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        cases[match.group(1)] = {"outcome": outcome, "message": message, "properties": props}
    return cases


@pytest.fixture
def fake_suite_env(tmp_path: Path) -> dict[str, str]:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "wiring_engine.py").write_text(textwrap.dedent(FAKE_ENGINE))
    (modules / "wiring_suite.py").write_text(textwrap.dedent(FAKE_SUITE))
    path = os.pathsep.join(filter(None, [str(modules), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path,
            "AURALIS_PERF_SUITES": "realtime=wiring_suite,memory=wiring_no_such_suite"}


def test_every_record_status_maps_to_its_pytest_outcome(tmp_path: Path, fake_suite_env: dict[str, str]) -> None:
    results = tmp_path / "out" / "results.json"
    junit = tmp_path / "junit.xml"
    report = tmp_path / "out" / "report.html"
    run = _pytest(["-p", "wiring_engine", "-m", "performance and (realtime or memory)", "-k", "RT- or MEM-01",
                   "--perf-engine", "wiring-double", "--perf-results", str(results), "--perf-report", str(report),
                   f"--junitxml={junit}", "tests/performance"], tmp_path, fake_suite_env)
    assert run.returncode == 1, run.stdout + run.stderr  # tests failed
    cases = _junit(junit)
    assert sorted(cases) == sorted(CATALOG.ids("realtime") + ["MEM-01"])

    assert cases["RT-01"]["outcome"] == "passed"
    assert cases["RT-02"]["outcome"] == "failed"
    assert "5 x" in cases["RT-02"]["message"] and "critical > 20" in cases["RT-02"]["message"]
    assert cases["RT-03"]["outcome"] == "failed" and "output differs by 0.5" in cases["RT-03"]["message"]
    assert cases["RT-04"]["outcome"] == "skipped" and "no long audio" in cases["RT-04"]["message"]
    assert cases["RT-05"]["outcome"] == "passed"  # its status is fail, but only its target tier was missed
    assert any(name == "perf_note" and "non-gating target" in value for name, value in cases["RT-05"]["properties"])
    for i in ("RT-06", "RT-07", "RT-08", "RT-09", "RT-10"):
        assert cases[i]["outcome"] == "error" and "latency scenario exploded" in cases[i]["message"]
    assert cases["RT-15"]["outcome"] == "error" and "returned no record for RT-15" in cases["RT-15"]["message"]
    for i in CATALOG.ids("realtime")[15:]:
        assert cases[i]["outcome"] == "error" and "registers no group answering" in cases[i]["message"]
    assert cases["MEM-01"]["outcome"] == "error"
    assert "memory suite (wiring_no_such_suite) is not available" in cases["MEM-01"]["message"]
    assert "note: RT-05 passes at --perf-tier critical" in run.stdout

    doc = read_results(results)  # raises on anything outside the contract
    assert [c["id"] for c in doc["checks"]] == CATALOG.ids("realtime") + CATALOG.ids("memory")[:5]
    assert {c["id"]: c["status"] for c in doc["checks"]}["RT-05"] == "fail"
    run_meta = doc["run"]
    assert (run_meta["engine"], run_meta["profile"], run_meta["front_end"]) == ("wiring-double", "smoke", "pytest")
    assert run_meta["machine"]["fingerprint"] and run_meta["versions"]["auralis-perf"]
    assert run_meta["control"]["cpu"]["median_s"] > 0  # history normalises across machines by it
    assert run_meta["pytest"]["outcomes"]["RT-04"] == "skipped"
    assert run_meta["pytest"]["outcomes"]["RT-06"] == "error"
    # --perf-explain failing (the default): the failing timing checks' group profiled once at the end, the
    # passing ones not; the profile changes no figure (RT-02 still 5 x, fail)
    by_id = {c["id"]: c for c in doc["checks"]}
    explained = by_id["RT-02"]["details"]["explanation"]
    assert explained["kind"] == "time" and explained["group"] == "Real-time factor", explained
    assert (by_id["RT-02"]["value"], by_id["RT-02"]["status"]) == (5.0, "fail")
    assert "explanation" not in by_id["RT-01"]["details"] and run_meta["explain"]["cost_s"] >= 0

    from auralis_perf.history import HistoryStore

    with HistoryStore(f"sqlite:///{tmp_path / 'history.sqlite'}") as store:  # history takes a pytest run
        stored = store.run(store.append(doc))
    assert stored["run"]["id"] == run_meta["id"] and len(stored["checks"]) == len(doc["checks"])

    page = report.read_text(encoding="utf-8")  # the report's own renderer, from the same document
    assert "RT-05" in page and "wiring-double" in page and "latency scenario exploded" in page


def test_perf_tier_target_fails_target_misses(tmp_path: Path, fake_suite_env: dict[str, str]) -> None:
    junit = tmp_path / "junit.xml"
    run = _pytest(["-p", "wiring_engine", "-m", "performance", "-k", "RT-01 or RT-05", "--perf-tier", "target",
                   "--perf-engine", "wiring-double", f"--junitxml={junit}", "tests/performance"],
                  tmp_path, fake_suite_env)
    cases = _junit(junit)
    assert cases["RT-01"]["outcome"] == "passed"
    assert cases["RT-05"]["outcome"] == "failed" and "target < 10" in cases["RT-05"]["message"], run.stdout


def test_an_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    run = _pytest(["-m", "performance", "--co", "--perf-engine", "no-such-engine", "tests/performance"], tmp_path)
    assert run.returncode == 4 and "unknown engine" in run.stderr


# -- one real smoke run ---------------------------------------------------------------------------------
def test_smoke_run_of_two_real_checks_writes_a_results_file(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = _pytest(["-m", "performance and realtime", "-k", "RT-06 or RT-07", "--perf-profile", "smoke",
                   "--perf-results", str(results), "tests/performance"], tmp_path)
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 1: a check missed a critical tier here
    assert "2 selected" in run.stdout, run.stdout
    doc = read_results(results)
    by_id = {c["id"]: c for c in doc["checks"]}
    assert set(by_id) == set(CATALOG.ids("realtime")[5:10])  # the Latency group ran once, whole
    for check_id in ("RT-06", "RT-07"):
        assert by_id[check_id]["status"] in ("pass", "fail"), by_id[check_id].get("reason")
        assert by_id[check_id]["value"] is not None and by_id[check_id]["samples"]
    assert doc["run"]["engine"] == "reference" and doc["run"]["profile"] == "smoke"
    assert set(doc["run"]["pytest"]["outcomes"]) == {"RT-06", "RT-07"}
    assert set(doc["run"]["pytest"]["outcomes"].values()) <= {"passed", "failed"}
