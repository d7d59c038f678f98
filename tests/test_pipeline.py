"""The pipeline: command-line checks (exit 3), merging of notebook results, and end-to-end runs.

End-to-end runs use a fake suite written into a temporary folder and selected with AURALIS_PERF_SUITES,
so they test the pipeline (papermill, kernels, side files, report, exit codes) in seconds, whatever state
the real suites are in. The real real-time notebook on the smoke profile runs in tests/test_wheel.py
(from an installed wheel, one run for both checks).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from auralis_perf.catalog import load_catalog
from auralis_perf.notebook.template import write_generic_notebooks
from auralis_perf.report.check import external_references
from auralis_perf.results import read_results, validate_results
from auralis_perf.run import pipeline
from auralis_perf.run.cli import DEFAULT_NOTEBOOKS, UsageError, parse_config
from auralis_perf.run.sidefile import write_side_file

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()

# A suite for every category whose values pass every tier, with behaviour switched by FAKE_MODE:
#   clean  every check passes          miss   RT-01 misses its critical bound
#   messy  one group raises, one skips with markup in the reason
#   block  the second group of each category waits for FAKE_RELEASE_FILE (to be killed or timed out)
FAKE_SUITE = textwrap.dedent('''
    import os, time
    from pathlib import Path
    from auralis_perf import engines
    from auralis_perf.catalog import load_catalog
    from auralis_perf.results import check_record, skipped
    from auralis_perf.suites import group

    class FakeEngine:
        name = "fake"
        capabilities = frozenset()

    engines.register("fake", "fake_suites:FakeEngine")
    engines.register("fake2", "fake_suites:FakeEngine")
    MODE = os.environ.get("FAKE_MODE", "clean")

    def passing_value(spec):
        bounds = [b for b in spec.tiers.values() if b is not None]
        for b in bounds:
            if b.op == "==":
                return b.limit
        ups = [b.limit for b in bounds if b.op in (">", ">=")]
        downs = [b.limit for b in bounds if b.op in ("<", "<=")]
        if ups:
            return max(ups) * 2 + 1
        if downs:
            return min(downs) / 2 if min(downs) > 0 else min(downs) - 1
        return 1.0

    def make(name, ids, position):
        def run(ctx):
            if MODE == "messy" and position == 2:
                raise RuntimeError("<b>boom</b> & friends")
            if MODE == "messy" and position == 3:
                return [skipped(ctx.catalog[i], "<script>alert('x')</script> needs \\"a<b>.wav\\"") for i in ids]
            if MODE == "block" and position == 1:
                release = Path(os.environ["FAKE_RELEASE_FILE"])
                deadline = time.monotonic() + 60   # never outlive a test that forgot to release
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            records = []
            for i in ids:
                spec = ctx.catalog[i]
                value = passing_value(spec)
                if MODE == "miss" and i == "RT-01":
                    value = 1.0
                records.append(check_record(i, value, catalog=ctx.catalog, samples=[value, value, value]))
            return records
        return run

    catalog = load_catalog()
    for category in ("realtime", "memory", "cache", "database", "optimization"):
        names = []
        for i in catalog.ids(category):
            if catalog[i].group not in names:
                names.append(catalog[i].group)
        for position, name in enumerate(names):
            ids = [i for i in catalog.ids(category) if catalog[i].group == name]
            group(name, category=category, ids=ids)(make(name, ids, position))
''')
ALL_CATEGORIES = ("realtime", "memory", "cache", "database", "optimization")


@pytest.fixture
def generic_notebooks(tmp_path) -> Path:
    """The notebooks in their generic form (the real ones gain plot cells that need the real suites)."""
    write_generic_notebooks(tmp_path / "notebooks")
    return tmp_path / "notebooks"


@pytest.fixture
def fake_suites(tmp_path, monkeypatch):
    """Kernels started from this test use the fake suite for every category, and know engines fake, fake2."""
    pkg = tmp_path / "fake_pkg"
    pkg.mkdir()
    (pkg / "fake_suites.py").write_text(FAKE_SUITE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pkg), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("AURALIS_PERF_SUITES", ",".join(f"{c}=fake_suites" for c in ALL_CATEGORIES))
    monkeypatch.setenv("FAKE_RELEASE_FILE", str(tmp_path / "release"))
    monkeypatch.syspath_prepend(str(pkg))
    from auralis_perf import engines

    for name in ("fake", "fake2"):
        engines.register(name, "fake_suites:FakeEngine")
    yield pkg
    for name in ("fake", "fake2"):
        engines.unregister(name)


def run_cli(args: list[str], notebooks: Path) -> pipeline.RunOutcome:
    return pipeline.run(parse_config(args + ["--no-progress", "--notebooks", str(notebooks)]))


def assert_self_contained(html: str) -> None:
    assert external_references(html) == []


# -- command line: exit code 3 ------------------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["--engine", "no-such-engine"], "unknown engine"),
    (["--profile", "huge"], "invalid choice"),
    (["--categories", "realtime,sound"], "unknown category"),
    (["--audio", "/no/such/file.wav"], "no such file"),
    (["--timeout", "0"], "--timeout"),
    (["--email-to", "not-an-address"], "not an e-mail address"),
])
def test_bad_usage_exits_3(args, fragment, capsys, tmp_path):
    assert pipeline.main(args + ["--out", str(tmp_path / "out")]) == 3
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_thresholds_file_exits_3_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "thresholds.toml"
    text = (ROOT / "auralis_perf" / "catalog.toml").read_text().replace('critical = "> 20"', 'critical = "> twenty"', 1)
    bad.write_text(text)
    assert pipeline.main(["--thresholds", str(bad), "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "twenty" in l)
    assert f"{bad}:{line}" in err and "'critical'" in err


def test_mail_without_smtp_host_exits_3(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AURALIS_PERF_SMTP_HOST", raising=False)
    assert pipeline.main(["--email-to", "a@example.org", "--out", str(tmp_path / "o")]) == 3
    assert "AURALIS_PERF_SMTP_HOST" in capsys.readouterr().err


def test_audio_folder_without_audio_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(UsageError, match="holds no audio file"):
        parse_config(["--audio", str(tmp_path)])


def test_config_defaults_and_choices(tmp_path):
    import soundfile as sf

    (tmp_path / "sub").mkdir()
    for name in ("a.wav", "sub/b.FLAC"):  # real audio: every --audio file is decoded before the run
        sf.write(tmp_path / name, np.zeros((100, 2), dtype=np.float32), 44100, format=name.rsplit(".")[-1].upper())
    config = parse_config(["--categories", "db,RT", "--audio", str(tmp_path), "--engine", "reference"])
    assert config.profile == "standard"
    assert config.categories == ("realtime", "database")  # catalogue order, prefixes accepted
    assert [p.name for p in config.audio] == ["a.wav", "b.FLAC"]
    assert config.out.parent.name == "reports" and config.out.name.endswith("-reference-standard")
    assert config.timeout > 0 and config.notebooks_dir == DEFAULT_NOTEBOOKS


def test_default_folder_name_is_path_safe(fake_suites):
    config = parse_config(["--engine", "fake_suites:FakeEngine,fake", "--profile", "smoke"])
    assert config.out.name.endswith("-fake_suites_FakeEngine+fake-smoke")


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exc:
        parse_config(["--help"])
    assert exc.value.code == 0
    assert "--profile" in capsys.readouterr().out


# -- merging and exit codes ------------------------------------------------------------------------------
def _outcome(tmp_path, status="ok", error=None) -> pipeline.NotebookOutcome:
    return pipeline.NotebookOutcome(engine="e", category="realtime", notebook=tmp_path / "nb.ipynb",
                                    side_file=tmp_path / "side.json", log=tmp_path / "log", status=status,
                                    error=error)


def test_merge_turns_unreported_checks_into_errors_naming_the_failure(tmp_path):
    from auralis_perf.results import check_record

    records = [check_record(i, 100.0) for i in ("RT-01", "RT-02")]
    write_side_file(tmp_path / "side.json", category="realtime", engine="e", profile="smoke", started_at="t",
                    updated_at="t", records=records, groups_done=["x"], complete=False, kernel={"executable": "py"})
    merged = pipeline.merge_category(CATALOG, _outcome(tmp_path, "failed", "cell 4: ValueError: bad"))
    assert [c["id"] for c in merged] == CATALOG.ids("realtime")
    assert merged[0]["status"] == "pass" and merged[0]["value"] == 100.0
    assert merged[2:] and all(c["status"] == "error" for c in merged[2:])
    assert merged[5]["reason"] == "notebook failed before this check: cell 4: ValueError: bad"
    assert validate_results({"run": {k: 1 for k in ("id", "started_at", "finished_at", "engine", "profile",
                                                    "machine", "versions", "parameters")}, "checks": merged}) == []


def test_merge_without_side_file_and_with_malformed_record(tmp_path):
    merged = pipeline.merge_category(CATALOG, _outcome(tmp_path, "timeout", "budget 5 s"))
    assert {c["reason"] for c in merged} == {"notebook timed out before this check: budget 5 s"}
    (tmp_path / "side.json").write_text(json.dumps({"schema": 1, "checks": [{"id": "RT-01", "status": "maybe"}]}))
    merged = pipeline.merge_category(CATALOG, _outcome(tmp_path))
    assert merged[0]["status"] == "error" and "malformed" in merged[0]["reason"]
    assert merged[1]["reason"] == "the notebook finished without reporting this check"


def _engine_run(checks, statuses=("ok",)) -> pipeline.EngineRun:
    outcomes = [pipeline.NotebookOutcome("e", "realtime", Path("n"), Path("s"), Path("l"), status=s) for s in statuses]
    return pipeline.EngineRun("e", Path("."), Path("r"), {"run": {}, "checks": checks}, outcomes)


def test_exit_code_precedence():
    ok = {"status": "pass", "tiers": {"critical": True}}
    miss = {"status": "fail", "tiers": {"critical": False}}
    err = {"status": "error", "tiers": {"critical": None}}
    assert pipeline.decide_exit_code([_engine_run([ok])]) == 0
    assert pipeline.decide_exit_code([_engine_run([ok, miss])]) == 1
    assert pipeline.decide_exit_code([_engine_run([ok, miss], ("ok", "failed"))]) == 2
    assert pipeline.decide_exit_code([_engine_run([ok, err])]) == 2
    assert pipeline.decide_exit_code([_engine_run([ok])], critical_regressed=True) == 4
    assert pipeline.decide_exit_code([_engine_run([miss])], critical_regressed=True) == 1


# -- end to end -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_clean_run_writes_results_report_and_exits_0(fake_suites, generic_notebooks, tmp_path, monkeypatch):
    # A user's own kernelspec named python3 that points nowhere must not matter: the run uses this Python.
    bogus = tmp_path / "jupyter" / "kernels" / "python3"
    bogus.mkdir(parents=True)
    (bogus / "kernel.json").write_text(json.dumps({"argv": ["/nonexistent/python", "-f", "{connection_file}"],
                                                   "display_name": "broken", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("FAKE_MODE", "clean")
    out = tmp_path / "run"
    # The engine named by its adapter path, as a user's own engine would be: no registry entry needed.
    outcome = run_cli(["--engine", "fake_suites:FakeEngine", "--profile", "smoke", "--categories", "realtime",
                       "--out", str(out), "--junit", str(tmp_path / "junit.xml"),
                       "--summary-to", str(tmp_path / "step_summary.md")], generic_notebooks)
    assert outcome.exit_code == 0, outcome
    # The files for CI: a JUnit parser reads one passing testcase per check; the summary is appended.
    from junitparser import JUnitXml

    [suite] = list(JUnitXml.fromfile(str(tmp_path / "junit.xml")))
    assert sorted(c.name for c in suite) == [f"RT-{i:02d}" for i in range(1, 21)] and all(c.is_passed for c in suite)
    summary = (out / "summary.md").read_text()
    assert summary.startswith("## ✅ auralis-perf: fake_suites:FakeEngine · smoke")
    assert (tmp_path / "step_summary.md").read_text() == summary
    import mistune

    assert mistune.create_markdown(plugins=["table"])(summary).count("<table>") == 1  # the per-category table
    data = read_results(out / "results.json")
    assert [c["id"] for c in data["checks"]] == [f"RT-{i:02d}" for i in range(1, 21)]
    assert data["checks"] and all(c["status"] == "pass" and c["value"] is not None and c["samples"] for c in data["checks"])
    run = data["run"]
    assert run["engine"] == "fake_suites:FakeEngine" and run["profile"] == "smoke"
    assert run["machine"] and run["versions"]["python"]
    assert run["notebooks"][0]["kernel_executable"] == sys.executable
    assert (out / run["notebooks"][0]["notebook"]).is_file()
    assert not (out / "work").exists()  # scratch removed
    html = (out / "report.html").read_text()
    assert_self_contained(html)
    assert all(f"RT-{i:02d}" in html for i in range(1, 21))


@pytest.mark.slow
def test_failing_notebooks_still_report_and_exit_2(fake_suites, generic_notebooks, tmp_path, monkeypatch):
    # realtime: a cell raises after the first group (the rest still runs); memory: the kernel dies.
    realtime, memory = generic_notebooks / "01_realtime.ipynb", generic_notebooks / "02_memory.ipynb"
    for path, source in ((realtime, 'raise RuntimeError("deliberate <failure>")'), (memory, "import os; os._exit(1)")):
        nb = nbformat.read(path, as_version=4)
        first_group = next(i for i, c in enumerate(nb.cells) if "run.group(" in c.source)
        nb.cells.insert(first_group + 1, nbformat.v4.new_code_cell(source))
        if path == realtime:
            nb.cells.append(nbformat.v4.new_code_cell("run.plot_values(real_time_factor, title='<RTF>');"))
        nbformat.write(nb, path)
    monkeypatch.setenv("FAKE_MODE", "messy")
    out = tmp_path / "run"
    outcome = run_cli(["--engine", "fake", "--profile", "smoke", "--categories", "realtime,memory",
                       "--out", str(out)], generic_notebooks)
    assert outcome.exit_code == 2
    data = read_results(out / "results.json")
    notebooks = {n["category"]: n for n in data["run"]["notebooks"]}
    assert notebooks["realtime"]["status"] == "failed" and "deliberate <failure>" in notebooks["realtime"]["error"]
    assert notebooks["memory"]["status"] == "failed" and "kernel died" in notebooks["memory"]["error"]
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["RT-10"]["status"] == "pass"  # cells after the failing one still ran
    assert by_id["RT-11"]["status"] == "error" and "boom" in by_id["RT-11"]["reason"]  # the raising group
    assert by_id["RT-16"]["status"] == "skip"
    assert by_id["MEM-01"]["status"] == "pass"  # the group before the kernel died kept its records
    assert by_id["MEM-06"]["reason"].startswith("notebook failed before this check: the kernel died")
    assert (out / "notebooks" / "02_memory.ipynb").is_file()
    html = (out / "report.html").read_text()
    assert_self_contained(html)
    assert "deliberate &lt;failure&gt;" in html and "deliberate <failure>" not in html
    assert "&lt;b&gt;boom&lt;/b&gt; &amp; friends" in html and "<b>boom</b>" not in html
    assert "alert(" in html and "<script>alert" not in html
    assert 'id="fake-memory"' in html and 'id="fake-realtime"' in html
    assert "data:image/png;base64," in html  # the plot cell, inline


@pytest.mark.slow
def test_notebook_timeout_is_reported_and_exits_2(fake_suites, generic_notebooks, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "block")
    out = tmp_path / "run"
    try:
        outcome = run_cli(["--engine", "fake", "--profile", "smoke", "--categories", "cache", "--timeout", "4",
                           "--out", str(out)], generic_notebooks)
    finally:
        (tmp_path / "release").touch()
    assert outcome.exit_code == 2
    data = read_results(out / "results.json")
    notebook = data["run"]["notebooks"][0]
    assert notebook["status"] == "timeout" and "budget of 4 s" in notebook["error"]
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["CACHE-01"]["status"] == "pass"
    assert by_id["CACHE-06"]["reason"].startswith("notebook timed out before this check")
    executed = nbformat.read(out / notebook["notebook"], as_version=4)
    assert "timed out" in executed.cells[0].source
    assert "timed out" in (out / "report.html").read_text()


@pytest.mark.slow
def test_two_engines_get_their_own_results_and_one_report(fake_suites, generic_notebooks, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "miss")
    out = tmp_path / "run"
    outcome = run_cli(["--engine", "fake,fake2", "--profile", "smoke", "--categories", "realtime",
                       "--out", str(out)], generic_notebooks)
    assert outcome.exit_code == 1  # RT-01 misses its critical bound
    index = json.loads((out / "runs.json").read_text())
    assert index["engines"] == ["fake", "fake2"]
    for engine in ("fake", "fake2"):
        data = read_results(out / index["results"][engine])
        assert data["run"]["engine"] == engine
        assert [c["id"][:3] for c in data["checks"]].count("RT-") == 20
    html = (out / "report.html").read_text()
    assert 'id="comparison"' in html and "Critical thresholds missed" in html


@pytest.mark.slow
def test_killed_run_leaves_no_results_json(fake_suites, generic_notebooks, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "FAKE_MODE": "block"}
    code = ("import sys, fake_suites; from auralis_perf.run.pipeline import main; "
            f"sys.exit(main(['--engine', 'fake', '--profile', 'smoke', '--categories', 'realtime', "
            f"'--no-progress', '--notebooks', {str(generic_notebooks)!r}, '--out', {str(out)!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    side = out / "parts" / "realtime.json"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if side.is_file() and json.loads(side.read_text())["groups_done"]:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        (tmp_path / "release").touch()  # lets the orphaned kernel finish its group and exit
    assert proc.returncode == -signal.SIGKILL
    assert json.loads(side.read_text())["groups_done"] == ["Real-time factor"]
    assert not (out / "results.json").exists()
    assert not (out / "report.html").exists()
