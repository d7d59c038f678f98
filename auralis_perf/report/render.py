"""The report page: one self-contained HTML file from results documents and their executed notebooks.

Order: summary (counts, critical misses first, failed notebooks, machine, engine, profile, duration);
the optional "Changes since baseline"; the engine comparison (with two or more engines); the table of
every check by ID; one section per category rendered from its executed notebook.

Everything that comes from a run (values, reasons, file names, machine facts) goes through jinja2's
autoescape; only the notebook fragments, which nbconvert builds and escapes itself, are inserted as HTML.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auralis_perf.catalog import TIERS
from auralis_perf.report.comparison import comparison_view
from auralis_perf.report.explain import explain_line, explanation_html
from auralis_perf.report.formatting import STATUS_COLOURS, format_duration, format_value, tier_mark
from auralis_perf.report.model import CATEGORY_TITLES, EngineSummary, summarize
from auralis_perf.report.notebook_html import TEMPLATES, notebook_body

RunInput = tuple[dict[str, Any], "str | os.PathLike[str]"]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if value is None or value == [] or value == {}:
        return []
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return [row for i, v in enumerate(value) for row in _flatten(v, f"{prefix}[{i}]")]
        return [(prefix, ", ".join(format_value(v) if isinstance(v, float) else str(v) for v in value))]
    return [(prefix, format_value(value) if isinstance(value, float) else str(value))]


def machine_facts(machine: dict[str, Any]) -> list[tuple[str, str]]:
    """The few machine facts a reader needs at a glance; the rest goes into a collapsed table."""
    cpu = machine.get("cpu") if isinstance(machine.get("cpu"), dict) else {}
    memory = machine.get("memory") if isinstance(machine.get("memory"), dict) else {}
    os_info = machine.get("os") if isinstance(machine.get("os"), dict) else {}
    python = machine.get("python") if isinstance(machine.get("python"), dict) else {}
    cores = "/".join(str(cpu.get(k, "?")) for k in ("logical_cores", "physical_cores", "usable_cores"))
    facts = [("CPU", cpu.get("model")), ("cores (logical/physical/usable)", cores if cpu else None),
             ("memory", f"{memory['total_mb'] / 1024:.1f} GiB" if memory.get("total_mb") else None),
             ("OS", os_info.get("platform")), ("Python", python.get("version")),
             ("load at start", ", ".join(f"{x:.2f}" for x in machine.get("load_average_at_start") or []) or None),
             ("fingerprint", machine.get("fingerprint"))]
    return [(k, str(v)) for k, v in facts if v not in (None, "")] or _flatten(machine)[:8]


def _sections(summary: EngineSummary) -> list[dict[str, Any]]:
    sections = []
    for nb in summary.notebooks:
        category = nb.get("category", "?")
        section = {"category": category, "title": CATEGORY_TITLES.get(category, category),
                   "status": nb.get("status", "?"), "error": nb.get("error"), "duration": nb.get("duration_s"),
                   "anchor": f"{summary.engine}-{category}", "body": None, "render_error": None}
        path = summary.base_dir / nb["notebook"] if nb.get("notebook") else None
        if path is None or not path.is_file():
            section["render_error"] = "the executed notebook was not written"
        else:
            try:
                section["body"] = notebook_body(path, prefix=section["anchor"])
            except Exception as exc:  # a damaged notebook file must not cost the whole report
                section["render_error"] = f"could not render {path.name}: {type(exc).__name__}: {exc}"
        sections.append(section)
    return sections


def render_report(runs: Sequence[RunInput], *, title: str = "auralis-perf report",
                  generated_at: datetime | None = None, changes_html: str | None = None) -> str:
    """The report's HTML. `runs` pairs each results document with the folder its notebook paths are in;
    `changes_html` is the "Changes since baseline" section (`regress.section.changes_section_html`, its
    one renderer), or None when no baseline was compared."""
    import jinja2
    from markupsafe import Markup

    summaries = [summarize(doc, base) for doc, base in runs]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(value=format_value, tier=tier_mark, duration=format_duration,
                       explain=lambda x, *args: Markup(explanation_html(x, *args)), explain_line=explain_line)
    engines = [{"summary": s, "sections": _sections(s), "machine_facts": machine_facts(s.run.get("machine") or {}),
                "machine_details": _flatten(s.run.get("machine") or {}),
                "parameters": _flatten(s.run.get("parameters") or {})} for s in summaries]
    for e in engines:
        for section in e["sections"]:
            section["body"] = Markup(section["body"]) if section["body"] is not None else None
    compared = comparison_view(summaries)  # rows with better/worse, the RTF chart, engine facts
    return env.get_template("report.html.j2").render(
        title=title, engines=engines, multi=len(summaries) > 1, tiers=TIERS, status_colours=STATUS_COLOURS,
        comparison=compared["rows"] if compared else [], compared=compared,
        changes_html=Markup(changes_html) if changes_html else None,
        generated_at=(generated_at or datetime.now(timezone.utc)).isoformat(timespec="seconds"))


def write_report(path: str | os.PathLike[str], runs: Sequence[RunInput], *, title: str = "auralis-perf report",
                 changes_html: str | None = None) -> Path:
    """Render and write the report atomically (a reader never sees half a page)."""
    path = Path(path)
    html = render_report(runs, title=title, changes_html=changes_html)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
