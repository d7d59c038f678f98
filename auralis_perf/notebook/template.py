"""The generic form of a category notebook, built from the catalogue.

The notebooks in `notebooks/` started as this form (parameters, an intro, one cell per group, a summary)
and the suite authors add plot cells and prose to them. The tests build it to run the pipeline on a
known notebook, and it is a starting point for a new category.
"""
from __future__ import annotations

import re
from pathlib import Path

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.categories import NAMES
from auralis_perf.categories import category as category_of

PARAMETERS = """\
engine = "reference"    # an engine name: see auralis_perf.engines.engine_names()
profile = "smoke"       # smoke (seconds) | standard (the report's default) | full (every size the catalogue names)
audio = []              # your own audio files as path strings; empty means generated music-like audio
workdir = None          # scratch folder; None means reports/lab/<category> in this checkout
results_path = None     # this notebook's results (JSON) for the pipeline; None means inside workdir
thresholds = None       # a thresholds TOML file; None means the built-in catalogue (auralis_perf/catalog.toml)"""


def variable_name(group: str) -> str:
    """The notebook variable that holds a group's records: "Real-time factor" -> real_time_factor."""
    return re.sub(r"[^0-9a-z]+", "_", group.lower()).strip("_")


def group_names(category: str, catalog: Catalog | None = None) -> list[str]:
    catalog = catalog or load_catalog()
    return list(dict.fromkeys(catalog[i].group for i in catalog.ids(category)))


def generic_notebook(category: str, catalog: Catalog | None = None, intro: str | None = None):
    """The category's notebook in generic form, as an nbformat v4 node without outputs."""
    import nbformat.v4 as v4

    catalog = catalog or load_catalog()
    ids = catalog.ids(category)
    title = category_of(category).title
    intro = category_of(category).intro if intro is None else intro
    cells = [
        v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}, id="parameters"),
        v4.new_markdown_cell(
            f"# {title} ({ids[0]}..{ids[-1]})\n\n{intro + chr(10) * 2 if intro else ''}"
            "The scenarios live in the library (`auralis_perf.suites`); this notebook runs them group by group, "
            "shows each group's checks with their tiers, and plots them. Run it top to bottom in JupyterLab "
            "(`make lab`), or let `make report` run it through the pipeline, which sets the parameters above.",
            id="intro"),
        v4.new_code_cell(
            "from auralis_perf.notebook.helper import NotebookRun\n\n"
            f"run = NotebookRun({category!r}, engine=engine, profile=profile, audio=audio, workdir=workdir,\n"
            "                  results_path=results_path, thresholds=thresholds)", id="setup"),
    ]
    for name in group_names(category, catalog):
        gids = [i for i in ids if catalog[i].group == name]
        rows = "\n".join(f"| {i} | {catalog[i].title} | {catalog[i].criterion} |" for i in gids)
        cells.append(v4.new_markdown_cell(f"## {name} ({gids[0]}..{gids[-1]})\n\n| ID | check | criterion |\n"
                                          f"|---|---|---|\n{rows}", id=f"{variable_name(name)}-intro"))
        cells.append(v4.new_code_cell(f"{variable_name(name)} = run.group({name!r})", id=variable_name(name)))
    cells.append(v4.new_markdown_cell(f"## {title}: summary\n\nEvery check of this notebook with its status.",
                                      id="summary-intro"))
    cells.append(v4.new_code_cell("run.summary();", id="summary"))
    return v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"}})


def write_generic_notebooks(folder: str | Path, categories: list[str] | None = None) -> list[Path]:
    """Write NN_<category>.ipynb in generic form for each category into `folder`."""
    import nbformat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for category in categories or NAMES:
        path = folder / f"{category_of(category).stem}.ipynb"
        nbformat.write(generic_notebook(category), str(path))
        written.append(path)
    return written
