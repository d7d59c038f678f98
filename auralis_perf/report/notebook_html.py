"""One executed notebook as an HTML fragment: code hidden, plots inline, nothing fetched from outside.

nbconvert's page templates pull require.js, MathJax and mermaid from a CDN; the section template renders
only the cells (the report page brings its own CSS, once). Outputs that would run script (JavaScript,
widgets) are dropped before export, so the fragment is static.
"""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
_SCRIPT_MIMETYPES = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-view+json",
                     "application/vnd.jupyter.widget-state+json", "application/vnd.bokehjs_exec.v0+json",
                     "application/vnd.plotly.v1+json")
_SCRIPT_TAG = re.compile(r"<\s*script\b", re.IGNORECASE)
_HIDDEN_TAGS = {"parameters", "injected-parameters"}


def _static_outputs(nb, prefix: str) -> None:
    """Drop script-bearing outputs, parameter and output-less code cells; make cell ids unique in the report."""
    kept = []
    for cell in nb.cells:
        if _HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if "id" in cell:
            cell["id"] = f"{prefix}-{cell['id']}"[:64]
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                data = output.get("data")
                if not data:
                    continue
                for mime in _SCRIPT_MIMETYPES:
                    data.pop(mime, None)
                if _SCRIPT_TAG.search(str(data.get("text/html", ""))):
                    data.pop("text/html")
            cell["outputs"] = [o for o in cell.get("outputs", []) if "data" not in o or o["data"]]
            if not cell["outputs"]:
                continue  # code is hidden: a cell without output would be an empty box
        kept.append(cell)
    nb.cells = kept


def notebook_body(path: str | Path, prefix: str) -> str:
    """The HTML of an executed notebook's cells (code hidden); `prefix` keeps element ids unique."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    _static_outputs(nb, prefix)
    exporter = HTMLExporter(template_file="nb_section.html.j2", extra_template_paths=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            anchor_link_text="")
    body, _ = exporter.from_notebook_node(nb)
    return body
