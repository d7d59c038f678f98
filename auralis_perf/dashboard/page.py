"""The dashboard page: one self-contained index.html (inline CSS, SVG and one small script; nothing outside).

    machines (colour, CPU, runs)  ·  latest value per machine of the key metrics, per engine and profile
    per category, per check: one chart per engine x profile, a line per machine, steps and tiers marked
    run records: every stored run (its record, and a link to its report when that file was found)

A chart point links to its run's record on the page (`#run-N`); the record holds the link to the run's
report.html when that file was found, and the small inline script follows it at once, so with scripts on a
click on a point opens the report. The report's path is written once per run, not once per point: at
1,000 runs that is the difference between about 7 and 14 MB of page.
"""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from auralis_perf.catalog import Catalog
from auralis_perf.categories import CATEGORIES
from auralis_perf.dashboard.data import Dashboard, RunRow, relative_link
from auralis_perf.dashboard.svg import PALETTE, Line, chart, epoch
from auralis_perf.regress.trends import key_metric_ids
from auralis_perf.report.formatting import STATUS_COLOURS, format_value

#: On a click on a chart point whose run has a report: go to the report instead of the record.
SCRIPT = ("document.addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('svg a');"
          "if(!a)return;var r=document.getElementById((a.getAttribute('href')||'').slice(1));"
          "var u=r&&r.getAttribute('data-report');if(u){e.preventDefault();location.href=u;}});")
CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#24292f;margin:12px 18px;font-size:14px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:22px 0 6px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:14px 0 2px}table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:left}td.n{text-align:right}
.muted,.note{color:#57606a;font-size:12px}.panels{display:flex;flex-wrap:wrap;gap:6px}
.panel{border:1px solid #eee;padding:2px}.panel p{margin:0;font-size:12px}
svg .t{font-size:10px;fill:#57606a}svg circle.f{fill:#fff}svg a:hover circle{stroke-width:3}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
nav a{margin-right:10px}tr:target{background:#fff8c5}
"""


def machine_name(machine: dict[str, Any], fingerprint: str) -> str:
    cpu = machine.get("cpu") or {}
    return f"{cpu.get('model') or 'unknown CPU'} [{fingerprint[:8]}]"


def render(data: Dashboard, catalog: Catalog, *, out_dir: Path, title: str, source: str,
           key_metrics: list[str] | None = None) -> str:
    machines = sorted(data.machines, key=lambda fp: machine_name(data.machines[fp], fp))
    colours = {fp: PALETTE[i % len(PALETTE)] for i, fp in enumerate(machines)}
    times = {run_id: epoch(r.started_at) for run_id, r in data.runs.items()}
    reports = {run_id: relative_link(r.report, out_dir) for run_id, r in data.runs.items() if r.report}
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
             f'<style>{CSS}</style><script>{SCRIPT}</script></head><body><h1>{escape(title)}</h1>',
             f'<p class="muted">{len(data.runs)} runs from {escape(source)} · {len(machines)} machines · engines '
             f'{escape(", ".join(data.engines))} · profiles {escape(", ".join(data.profiles))} · built {built}. '
             "Click a point for its run's report when the file was found, else for its record below; dashed "
             "vertical lines are detected steps (red: worse), dashed horizontal lines the tier bounds; hollow "
             "points failed their check.</p>"]
    categories = [c for c in CATEGORIES if catalog.ids(c.name)]
    parts.append("<nav>" + "".join(f'<a href="#cat-{c.name}">{escape(c.title)}</a>' for c in categories)
                 + '<a href="#latest">Latest values</a><a href="#runs">Run records</a></nav>')
    parts.append(_machines_table(data, machines, colours))
    parts.append(_latest_matrix(data, catalog, machines, colours, key_metrics or key_metric_ids(catalog)))
    for category in categories:
        parts.append(f'<h2 id="cat-{category.name}">{escape(category.title)}</h2>')
        for check_id in catalog.ids(category.name):
            spec = catalog[check_id]
            parts.append(f'<h3 id="check-{check_id}">{check_id} {escape(spec.title)}</h3>'
                         f'<p class="muted">{escape(spec.criterion)} ({spec.direction} is better)</p>')
            panels = data.panels(check_id)
            if not panels:
                parts.append('<p class="note">No stored value of this check yet.</p>')
                continue
            parts.append('<div class="panels">')
            for engine, profile in panels:
                series = data.series[(check_id, engine, profile)]
                lines = [Line(fp, colours[fp], series[fp]) for fp in machines if series.get(fp)]
                svg = chart(lines, spec, times=times, unit=data.units.get(check_id, spec.unit),
                            href="#run-{}".format, chart_id=f"chart-{check_id}-{engine}-{profile}")
                parts.append(f'<div class="panel"><p>{escape(engine)} · {escape(profile)}</p>{svg}</div>')
            parts.append("</div>")
    parts.append(_run_records(data, colours, reports))
    parts.append("</body></html>")
    return "\n".join(parts)


def _machines_table(data: Dashboard, machines: list[str], colours: dict[str, str]) -> str:
    rows = []
    for fp in machines:
        machine = data.machines[fp]
        cpu = machine.get("cpu") or {}
        n = sum(r.machine == fp for r in data.runs.values())
        rows.append(f'<tr><td><span class="sw" style="background:{colours[fp]}"></span>'
                    f'{escape(machine_name(machine, fp))}</td><td>{escape(str(cpu.get("logical_cores") or "?"))}</td>'
                    f'<td>{escape(str((machine.get("os") or {}).get("platform") or "?"))}</td><td class="n">{n}</td></tr>')
    return ('<h2 id="machines">Machines</h2><table><tr><th>machine (line colour)</th><th>threads</th><th>OS</th>'
            f'<th>runs</th></tr>{"".join(rows)}</table>')


def _latest_matrix(data: Dashboard, catalog: Catalog, machines: list[str], colours: dict[str, str],
                   key_metrics: list[str]) -> str:
    parts = ['<h2 id="latest">Latest value per machine (key metrics)</h2>']
    for engine in data.engines:
        for profile in data.profiles:
            here = [fp for fp in machines if (fp, engine, profile) in data.newest_runs]
            if not here:
                continue
            head = "".join(f'<th><span class="sw" style="background:{colours[fp]}"></span>'
                           f'{escape(machine_name(data.machines[fp], fp))}</th>' for fp in here)
            rows = []
            for check_id in key_metrics:
                spec = catalog.checks.get(check_id)
                cells = []
                for fp in here:
                    point, status = data.latest(check_id, engine, profile, fp)
                    colour = STATUS_COLOURS.get(status or "", "#57606a")
                    value = format_value(point.value) if point else "—"
                    cells.append(f'<td class="n" style="color:{colour}">{escape(value)} '
                                 f'<span class="muted">{escape(status or "")}</span></td>')
                title = escape(spec.title) if spec else ""
                rows.append(f'<tr><td><a href="#check-{check_id}">{check_id}</a> {title} '
                            f'<span class="muted">({escape(data.units.get(check_id, spec.unit if spec else ""))})'
                            f'</span></td>{"".join(cells)}</tr>')
            parts.append(f'<h3>{escape(engine)} · {escape(profile)}</h3><table><tr><th>check</th>{head}</tr>'
                         f'{"".join(rows)}</table>')
    return "".join(parts)


def _run_records(data: Dashboard, colours: dict[str, str], reports: dict[int, str]) -> str:
    rows = []
    for run in sorted(data.runs.values(), key=lambda r: (r.started_at, r.id), reverse=True):
        rows.append(_run_row(run, data, colours, reports.get(run.id)))
    return ('<h2 id="runs">Run records</h2><table><tr><th>#</th><th>run</th><th>started (UTC)</th><th>machine</th>'
            '<th>engine</th><th>profile</th><th>pass</th><th>fail</th><th>skip</th><th>error</th><th>report</th></tr>'
            + "".join(rows) + "</table>")


def _run_row(run: RunRow, data: Dashboard, colours: dict[str, str], link: str | None) -> str:
    counts = "".join(f'<td class="n">{run.counts.get(s, 0)}</td>' for s in ("pass", "fail", "skip", "error"))
    report = f'<a href="{escape(link)}">report.html</a>' if link else '<span class="muted">not found</span>'
    machine = data.machines.get(run.machine, {})
    target = f' data-report="{escape(link)}"' if link else ""
    return (f'<tr id="run-{run.id}"{target}><td>{run.id}</td><td>{escape(run.run_uid)}</td><td>{escape(run.started_at[:19])}</td>'
            f'<td><span class="sw" style="background:{colours.get(run.machine, "#999")}"></span>'
            f'{escape(machine_name(machine, run.machine))}</td><td>{escape(run.engine)}</td><td>{escape(run.profile)}</td>'
            f'{counts}<td>{report}</td></tr>')
