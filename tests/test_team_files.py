"""summary.md and the JUnit report: their content, checked with a Markdown renderer and a JUnit parser."""
from __future__ import annotations

from pathlib import Path

import mistune
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from team_support import CATALOG, regression, run_document

from auralis_perf.run.cli import UsageError, parse_config
from auralis_perf.run.digest import digests
from auralis_perf.run.junit import write_junit
from auralis_perf.run.summary import MAX_CHARS, append_summary, summary_markdown


def realtime_run(**kwargs):
    return run_document("run-1", categories=("realtime",), values={"RT-01": 12.0}, skip=("RT-13",),
                        error=("RT-14",), **kwargs)


def render(markdown: str) -> str:
    return mistune.create_markdown(plugins=["table", "strikethrough"])(markdown)


def test_summary_of_a_regressed_run_names_the_regression_first(tmp_path):
    doc = realtime_run()
    (tmp_path / "comparison.json").write_text('{"comparison": {"baseline_label": "latest run #7"}}')
    changes = [regression("RT-06", 20.0, 31.0), {**regression("RT-02", 50.0, 80.0, critical=True),
                                                  "verdict": "improved", "note": ""}]
    [digest] = digests([(doc, tmp_path)], changes, report_path=tmp_path / "report.html")
    text = summary_markdown([digest], report_path=tmp_path / "report.html")
    first = text.splitlines()[:3]
    assert "1 regression (RT-06)" in first[0]
    assert "RT-06" in first[2] and "20 → 31" in first[2] and "+55% worse" in first[2]
    assert "1 critical miss (RT-01)" in first[0]
    # RT-02 is a higher-is-better check: 50 -> 80 is better, whatever the sign of the difference
    assert "| RT-02 |" in text and "+60% better" in text
    html = render(text)
    assert html.count("<table>") >= 4  # critical misses, regressions, improvements, largest moves, ...
    assert "RT-14" in html and "RuntimeError: boom" in html   # the errored check and why
    assert "critical &gt; 20" in html                         # the bound RT-01 missed
    assert str(tmp_path / "report.html") in text
    assert "Against the baseline (latest run #7): 1 regressed, 1 improved, 0 inconclusive, 0 unchanged." in text


def test_summary_without_comparison_or_trouble(tmp_path):
    doc = run_document("run-2", categories=("memory", "cache"))
    text = summary_markdown(digests([(doc, tmp_path)], None))
    assert text.splitlines()[0].startswith("## ✅ auralis-perf: reference · smoke — Every critical threshold held")
    assert "No baseline comparison was made." in text
    assert "| Memory | " in text and "| Cache effectiveness | " in text
    assert "Checks that failed" not in text


def test_summary_stays_under_githubs_limit_and_cells_are_escaped(tmp_path):
    doc = run_document("run-3", error=tuple(CATALOG.ids()[:60]))
    for record in doc["checks"]:
        if record["status"] == "error":
            record["reason"] = "a | b <script>x</script>\n" + "long " * 400
    text = summary_markdown(digests([(doc, tmp_path)] * 5, None))
    assert len(text) <= MAX_CHARS
    assert "<script>" not in text and "a \\| b" in text
    assert "<script>" not in render(text)


def test_summary_to_appends(tmp_path):
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n")
    append_summary(target, "## ours")
    assert target.read_text() == "earlier step\n## ours\n"


def test_junit_one_testcase_per_check_with_failure_error_skip_and_properties(tmp_path):
    doc = realtime_run()
    path = write_junit(tmp_path / "sub" / "junit.xml", digests([(doc, tmp_path)], None))
    xml = JUnitXml.fromfile(str(path))
    [suite] = list(xml)
    cases = {case.name: case for case in suite}
    assert sorted(cases) == CATALOG.ids("realtime")
    assert {case.classname for case in suite} == {"realtime"}
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (20, 1, 1, 1)
    [failure] = cases["RT-01"].result
    assert isinstance(failure, Failure)
    assert "value: 12 x" in failure.text and "bound: critical > 20" in failure.text and "reason:" in failure.text
    assert "misses critical > 20" in failure.message
    assert isinstance(cases["RT-14"].result[0], Error) and "boom" in cases["RT-14"].result[0].message
    assert isinstance(cases["RT-13"].result[0], Skipped) and "playback" in cases["RT-13"].result[0].message
    assert cases["RT-02"].is_passed
    props = {p.name: p.value for p in suite.properties()}
    assert props["engine"] == "reference" and props["profile"] == "smoke" and "Synthetic CPU" in props["machine"]


def test_output_files_are_checked_before_the_run(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--junit .*file is a file, not a folder"):
        parse_config(["--junit", str(tmp_path / "file" / "junit.xml"), "--out", str(tmp_path / "o")])
    with pytest.raises(UsageError, match="--summary-to .*is a folder"):
        parse_config(["--summary-to", str(tmp_path), "--out", str(tmp_path / "o")])
    config = parse_config(["--junit", "j.xml", "--summary-to", str(tmp_path / "s.md"), "--out", str(tmp_path / "o")])
    assert config.junit == Path("j.xml").resolve() and config.summary_to == tmp_path / "s.md"
    # a folder that does not exist yet (e.g. inside the run's own --out) is made at the end
    config = parse_config(["--junit", str(tmp_path / "o" / "junit.xml"), "--out", str(tmp_path / "o")])
    assert config.junit == tmp_path / "o" / "junit.xml"


def test_junit_and_summary_of_two_engines(tmp_path):
    docs = [(run_document("run-a", engine=e, categories=("database",)), tmp_path / e) for e in ("reference", "pedalboard")]
    found = digests(docs, None)
    xml = JUnitXml.fromfile(str(write_junit(tmp_path / "junit.xml", found)))
    assert [s.name for s in xml] == ["auralis-perf reference smoke", "auralis-perf pedalboard smoke"]
    assert all(len(list(s)) == 20 and {c.classname for c in s} == {"database"} for s in xml)
    text = summary_markdown(found)
    assert text.count("### ✅ auralis-perf: ") == 2 and "pedalboard · smoke" in text
