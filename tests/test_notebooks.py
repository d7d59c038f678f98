"""The category notebooks (stored clean, one cell per group) and the helper they call (NotebookRun)."""
from __future__ import annotations

import ast
import json
import sys
import textwrap

import nbformat
import pytest

from auralis_perf import engines, suites
from auralis_perf.catalog import load_catalog
from auralis_perf.categories import NAMES
from auralis_perf.notebook.helper import NotebookRun, records_html
from auralis_perf.notebook.template import PARAMETERS, generic_notebook, group_names
from auralis_perf.run.cli import DEFAULT_NOTEBOOKS, notebook_path
from auralis_perf.run.sidefile import read_side_file
from auralis_perf.suites import apply_suite_overrides

CATALOG = load_catalog()
PARAMETER_NAMES = {"engine", "profile", "audio", "workdir", "results_path", "thresholds"}


def calls(source: str, method: str) -> list[list]:
    """Literal arguments of every `run.<method>(...)` call in a cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "run"):
            found.append([a.value for a in node.args if isinstance(a, ast.Constant)])
    return found


@pytest.mark.parametrize("category", NAMES)
def test_notebook_is_stored_clean_and_runs_every_group(category):
    path = notebook_path(DEFAULT_NOTEBOOKS, category)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), f"{path.name} is stored with outputs"
    assert nb.metadata.kernelspec.name == "python3"
    assert "parameters" in code[0].metadata.get("tags", [])
    assigned = {t.id for n in ast.parse(code[0].source).body if isinstance(n, ast.Assign) for t in n.targets}
    assert PARAMETER_NAMES <= assigned
    setup = "".join(c.source for c in code)
    assert f"NotebookRun({category!r}" in setup or f'NotebookRun("{category}"' in setup
    grouped = [args[0] for c in code for args in calls(c.source, "group") if args]
    assert grouped == group_names(category), f"{path.name} must run each group once, in catalogue order"
    assert calls(code[-1].source, "summary"), f"{path.name} must end with run.summary()"


def test_generic_form_has_parameters_intro_groups_and_summary():
    nb = generic_notebook("database")
    assert nb.cells[0].source == PARAMETERS and nb.cells[0].metadata["tags"] == ["parameters"]
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# Database queries (DB-01..DB-20)")
    groups = [args[0] for c in nb.cells if c.cell_type == "code" for args in calls(c.source, "group")]
    assert groups == ["Query time", "Index", "Large dataset", "Optimization"]
    assert nb.cells[-1].source == "run.summary();"


# -- the helper -------------------------------------------------------------------------------------------
FAKE = textwrap.dedent('''
    from auralis_perf.results import check_record
    from auralis_perf.suites import group

    class FakeEngine:
        name = "nbfake"
        capabilities = frozenset()

    @group("Baseline", category="memory", ids=["MEM-01", "MEM-02", "MEM-03", "MEM-04", "MEM-05"])
    def baseline(ctx):
        return [check_record(i, 10.0, catalog=ctx.catalog, samples=[9.0, 10.0, 11.0]) for i in
                ["MEM-01", "MEM-02", "MEM-03", "MEM-04"]]          # MEM-05 forgotten on purpose

    @group("Leaks", category="memory", ids=["MEM-06", "MEM-07", "MEM-08", "MEM-09", "MEM-10"])
    def leaks(ctx):
        raise RuntimeError("<leak> & co")
''')


@pytest.fixture
def isolated_suites(tmp_path, monkeypatch):
    """Suite registry and category modules that this test may change; restored afterwards."""
    module = f"nb_fake_suite_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    with suites.isolated_registry():
        suites.forget_groups("memory")
        engines.register("nbfake", f"{module}:FakeEngine")
        try:
            yield module
        finally:
            engines.unregister("nbfake")


def new_run(tmp_path, **kwargs) -> NotebookRun:
    return NotebookRun("memory", profile="smoke", workdir=tmp_path / "work", results_path=tmp_path / "side.json",
                       show=False, **kwargs)


def test_missing_suite_module_gives_error_records(tmp_path, monkeypatch, isolated_suites):
    monkeypatch.setenv("AURALIS_PERF_SUITES", "memory=no_such_suite_module")
    run = new_run(tmp_path, engine="nbfake")
    side = read_side_file(tmp_path / "side.json")
    assert side["checks"] == [] and side["complete"] is False  # written at start: progress sees it
    records = run.group("Baseline")
    assert [r.id for r in records] == ["MEM-01", "MEM-02", "MEM-03", "MEM-04", "MEM-05"]
    assert all(r.status == "error" and "no_such_suite_module" in r.reason and "not available" in r.reason
               for r in records)
    assert records[0].engine == "nbfake"


def test_groups_run_save_and_summarise(tmp_path, monkeypatch, isolated_suites):
    monkeypatch.setenv("AURALIS_PERF_SUITES", f"memory={isolated_suites}")
    run = new_run(tmp_path, engine="nbfake")
    baseline = run.group("Baseline")
    assert [r.value for r in baseline[:4]] == [10.0] * 4 and all(r.status in ("pass", "fail") for r in baseline[:4])
    assert baseline[4].status == "error"
    assert "returned no record for MEM-05" in baseline[4].reason
    leaks = run.group("Leaks")
    assert leaks and all(r.status == "error" and r.reason == "RuntimeError: <leak> & co" for r in leaks)
    side = read_side_file(tmp_path / "side.json")
    assert side["groups_done"] == ["Baseline", "Leaks"] and len(side["checks"]) == 10
    assert side["kernel"]["executable"] == sys.executable and side["engine"] == "nbfake"
    ordered = run.summary()
    assert [r.id for r in ordered] == [f"MEM-{i:02d}" for i in range(1, 11)]
    assert read_side_file(tmp_path / "side.json")["complete"] is True
    assert run.details("MEM-06")["traceback"].startswith("Traceback")
    with pytest.raises(KeyError, match="MEM-11 has no record yet"):
        run.record("MEM-11")


def test_unavailable_engine_is_an_error_record_not_a_crash(tmp_path, monkeypatch, isolated_suites):
    monkeypatch.setenv("AURALIS_PERF_SUITES", f"memory={isolated_suites}")
    run = new_run(tmp_path, engine="no-such-engine")
    records = run.group("Baseline")
    assert records and all(r.status == "error" and "engine 'no-such-engine' is unavailable" in r.reason for r in records)


def test_bad_arguments_are_refused(tmp_path, isolated_suites):
    with pytest.raises(ValueError, match="unknown category 'sound'"):
        NotebookRun("sound", workdir=tmp_path, show=False)
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        NotebookRun("memory", profile="huge", workdir=tmp_path, show=False)
    run = new_run(tmp_path, engine="nbfake")
    with pytest.raises(ValueError, match="memory has no group 'Speed'; its groups: Baseline, Efficiency, Leaks, Peak"):
        run.group("Speed")
    with pytest.raises(ValueError, match="AURALIS_PERF_SUITES: expected CATEGORY=module.path"):
        apply_suite_overrides({"AURALIS_PERF_SUITES": "sound=x"})


def test_table_is_escaped(tmp_path, monkeypatch, isolated_suites):
    monkeypatch.setenv("AURALIS_PERF_SUITES", f"memory={isolated_suites}")
    records = new_run(tmp_path, engine="nbfake").group("Leaks")
    html = records_html(records, caption="<caption>")
    assert "&lt;leak&gt; &amp; co" in html and "<leak>" not in html and "&lt;caption&gt;" in html


def test_plot_helpers(tmp_path, monkeypatch, isolated_suites):
    monkeypatch.setenv("AURALIS_PERF_SUITES", f"memory={isolated_suites}")
    run = new_run(tmp_path, engine="nbfake")
    records = run.group("Baseline")
    ax = run.plot_values(records[:4], title="baseline")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MEM-01", "MEM-02", "MEM-03", "MEM-04"]
    assert [round(p.get_height(), 6) for p in ax.patches] == [10.0] * 4
    ax = run.plot_samples(["MEM-01", "MEM-02"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MEM-01", "MEM-02"]
    fig, axes = run.figure(ncols=2)
    run.tier_lines(axes[0], "RT-01")
    assert sorted(line.get_ydata()[0] for line in axes[0].get_lines()) == [20.0, 30.0, 40.0]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_side_file_is_plain_json(tmp_path, isolated_suites):
    new_run(tmp_path, engine="nbfake")
    data = json.loads((tmp_path / "side.json").read_text())
    assert data["schema"] == 1 and data["category"] == "memory" and data["profile"] == "smoke"
