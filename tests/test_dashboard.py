"""The dashboard built from a store of 3 machines x 2 engines x 2 profiles (synthetic runs, real schema),
checked with an HTML parser: a chart per check and panel, no outside reference, every link resolves."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from team_support import CATALOG, fill_store

from auralis_perf.__main__ import main
from auralis_perf.history import HistoryStore
from auralis_perf.report.check import external_references
from auralis_perf.results import write_json_atomic


class Page(HTMLParser):
    """Ids, links, chart ids and step markers of the page, and which check heading each chart follows."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.charts: dict[str, list[str]] = {}
        self.steps: dict[str, int] = {}
        self.scripts = 0
        self.point_targets: list[str] = []   # the records that chart points link to
        self.data_reports: list[str] = []    # the reports the script sends a point's click to
        self._check: str | None = None
        self._chart: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "h3" and attrs.get("id", "").startswith("check-"):
            self._check = attrs["id"].removeprefix("check-")
            self.charts[self._check] = []
        if tag == "svg":
            self._chart = attrs.get("id")
            self.charts[self._check].append(self._chart)
        if tag == "line" and attrs.get("class") == "step":
            self.steps[self._chart] = self.steps.get(self._chart, 0) + 1
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
            if self._chart:
                self.point_targets.append(attrs["href"].removeprefix("#"))
        if attrs.get("data-report"):
            self.data_reports.append(attrs["data-report"])
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self._chart = None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash")
    url = f"sqlite:///{root / 'history.sqlite'}"
    with HistoryStore(url) as store:
        docs = fill_store(store, runs_per_key=12)
    # Two runs have their folder (results.json + report.html) under reports/: their points link there.
    for doc in docs[:2]:
        folder = root / "reports" / doc["run"]["id"]
        write_json_atomic(folder / "results.json", doc)
        (folder / "report.html").write_text("<html></html>")
    code = main(["dashboard", "--history-url", url, "--out", str(root / "site"), "--reports", str(root / "reports")])
    assert code == 0
    html = (root / "site" / "index.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    return root, html, page, docs


def test_every_check_has_a_chart_per_engine_and_profile(site):
    _, _, page, _ = site
    assert sorted(page.charts) == sorted(CATALOG.ids())
    for check_id, charts in page.charts.items():
        assert sorted(charts) == sorted(f"chart-{check_id}-{e}-{p}" for e in ("pedalboard", "reference")
                                        for p in ("smoke", "standard")), check_id


def test_self_contained_and_every_link_resolves(site):
    root, html, page, docs = site
    # The report's checker flags every script: here the only one is inline (no src) and fetches nothing.
    assert external_references(html) == ["<script>"] and page.scripts == 1
    script = html[html.index("<script>"):html.index("</script>")]
    assert len(script) < 400 and not any(w in script for w in ("http", "fetch", "XMLHttpRequest", "import", "src"))
    out = root / "site"
    local = [h for h in page.hrefs if not h.startswith("#")]
    assert all(h.removeprefix("#") in page.ids for h in page.hrefs if h.startswith("#"))
    assert local and all((out / h).resolve().is_file() for h in local)
    # every run has its record, every chart point goes to one; the two runs with a folder link to their report
    assert sum(i.startswith("run-") for i in page.ids) == len(docs)
    assert {Path(h).parent.name for h in local} == {d["run"]["id"] for d in docs[:2]}
    assert all(target in page.ids for target in page.point_targets) and len(page.point_targets) == len(docs) * 100
    assert {Path(r).parent.name for r in page.data_reports} == {d["run"]["id"] for d in docs[:2]}
    assert page.data_reports and all((out / r).resolve().is_file() for r in page.data_reports)


def test_steps_and_tiers_are_marked(site):
    _, html, page, _ = site
    # RT-06 became 40 % slower half-way on machine m1 (every engine and profile): a step in each of its charts
    for chart_id in page.charts["RT-06"]:
        assert page.steps.get(chart_id, 0) >= 1, chart_id
    assert "+40%" in html
    # RT-06 has a critical bound (< 100 ms) near its values: drawn and labelled
    rt06 = html[html.index('id="chart-RT-06-reference-smoke"'):]
    assert ">crit<" in rt06[:rt06.index("</svg>")]


def test_latest_value_matrix_and_machines(site):
    _, html, page, _ = site
    assert "latest" in page.ids and "machines" in page.ids
    section = html[html.index('id="latest"'):html.index('id="cat-realtime"')]
    assert section.count("<table>") == 4                       # one per engine x profile
    assert section.count("[fp-m1") == 4 and section.count("[fp-m3") == 4


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_a_real_browser_reads_every_chart_and_runs_the_script_without_error(site):
    root, _, page, _ = site
    result = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                             "--v=0", "--dump-dom", (root / "site" / "index.html").as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = Page()
    seen.feed(result.stdout)   # the document as the browser built it
    assert seen.charts == page.charts and len(seen.point_targets) == len(page.point_targets)
    assert "Uncaught" not in result.stderr


def test_bad_store_is_exit_code_3(tmp_path, capsys):
    assert main(["dashboard", "--history-url", f"sqlite:///{tmp_path / 'none.sqlite'}", "--out", str(tmp_path)]) == 3
    assert "no auralis-perf tables" in capsys.readouterr().err
    assert main(["dashboard"]) == 3
