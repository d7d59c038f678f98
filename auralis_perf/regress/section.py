"""The report's "Changes since baseline" section, as a self-contained HTML fragment.

Regressions first, then improvements, then inconclusive verdicts, each with before, after, ratio and
p-value; unchanged checks are counted, not listed. Trend plots follow, inlined as base64 PNG. Everything
that comes from outside (titles, notes, labels) is HTML-escaped.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from auralis_perf.regress.trends import TrendPlot
from auralis_perf.regress.verdicts import VERDICTS, Comparison

_COLOURS = {"regressed": "#c0392b", "improved": "#1e8449", "inconclusive": "#b9770e", "unchanged": "#566573"}
_STYLE = """<style>
#changes table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0}
#changes th,#changes td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
#changes td.num{text-align:right;font-variant-numeric:tabular-nums}
#changes .verdict{font-weight:bold}
#changes .trend{display:inline-block;margin:4px;vertical-align:top}
#changes .trend p{margin:0;font-size:0.8em}
</style>"""


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "&ndash;"
    return escape(f"{value:.{digits}g}")


def _p(value: float | None) -> str:
    return "&ndash;" if value is None else escape(f"{value:.2g}")


def _ci(verdict) -> str:
    if verdict.rounds is None:
        return ""
    interval = "&ndash;" if not verdict.ci else f"{_number(verdict.ci[0], 3)}&ndash;{_number(verdict.ci[1], 3)}"
    return f"<td class=\"num\">{verdict.rounds}</td><td class=\"num\">{interval}</td>"


def _table(comparison: Comparison) -> str:
    paired = comparison.mode == "paired"
    rows = []
    for verdict in comparison.ordered():
        if verdict.verdict == "unchanged":
            continue
        colour = _COLOURS[verdict.verdict]
        critical = " (critical)" if verdict.critical else ""
        rows.append(
            f"<tr><td>{escape(verdict.id)}</td><td>{escape(verdict.title)}{critical}</td>"
            f"<td class=\"verdict\" style=\"color:{colour}\">{escape(verdict.verdict)}</td>"
            f"<td class=\"num\">{_number(verdict.before)}</td><td class=\"num\">{_number(verdict.after)}</td>"
            f"<td>{escape(verdict.unit)}</td><td class=\"num\">{_number(verdict.ratio, 3)}</td>"
            f"<td class=\"num\">{_p(verdict.p_value)}</td>"
            + (_ci(verdict) or "<td></td><td></td>" if paired else "") + f"<td>{escape(verdict.rule)}</td>"
            f"<td>{escape(verdict.note)}</td></tr>")
    if not rows:
        return "<p>No check changed: every compared check is unchanged.</p>"
    head = ("<tr><th>check</th><th>title</th><th>verdict</th><th>before</th><th>after</th><th>unit</th>"
            "<th>ratio after/before</th><th>p-value</th>"
            + ("<th>rounds</th><th>95 % CI of the ratio</th>" if paired else "") + "<th>rule</th><th>why</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


PAIRED_RULE_HTML = (
    "<p style=\"font-size:0.85em\">Paired mode: the candidate's and the baseline's kernels ran the notebooks in "
    "lockstep, and each timing group in alternating rounds (A B B A ...). A check measured in rounds is judged "
    "on its per-round log ratios: <i>regressed</i> or <i>improved</i> when their median is beyond the check's "
    "floor AND a one-sided test gives p &lt; alpha (the Wilcoxon signed-rank or the sign test, the smaller p "
    "doubled); <i>unchanged</i> when the whole 95 % interval of the ratio lies within the floor; otherwise, or "
    "with fewer than 8 rounds, <i>inconclusive</i>. "
    "Computation (real-time factors, durations) is judged by CPU time, the rest by its own value. Other checks "
    "are compared as against a stored baseline (unpaired). A check that uses several cores is "
    "<i>inconclusive</i> when the machine was saturated around its notebook.</p>")


def _plots(plots: Sequence[TrendPlot]) -> str:
    if not plots:
        return "<p>No trend plots yet: the history holds fewer than two runs of this machine, engine and profile.</p>"
    figures = "".join(
        f"<div class=\"trend\"><img alt=\"trend of {escape(p.check_id)}\" src=\"{p.data_uri()}\">"
        f"<p>{escape(p.check_id)}: {p.points} runs; {escape(p.steps_text())}</p></div>" for p in plots)
    return f"<h3>Trends over the stored history</h3>{figures}"


def changes_section_html(comparison: Comparison | None, plots: Sequence[TrendPlot] = (), *,
                         message: str = "", problems: Sequence[str] = (), engine: str | None = None) -> str:
    """The section as HTML. `comparison=None` (first run, history off, ...) shows `message` instead.

    With several engines in one report, pass `engine`: each gets its own section (and anchor)."""
    anchor = "changes" if engine is None else f"changes-{escape(engine)}"
    heading = "Changes since baseline" + ("" if engine is None else f" &mdash; {escape(engine)}")
    parts = [_STYLE.replace("#changes", f"#{anchor}"), f"<section id=\"{anchor}\"><h2>{heading}</h2>"]
    for problem in problems:
        parts.append(f"<p style=\"color:#c0392b\"><b>History problem:</b> {escape(problem)}</p>")
    if comparison is None:
        parts.append(f"<p>{escape(message or 'No baseline to compare with.')}</p>")
    else:
        counts = comparison.counts()
        summary = ", ".join(f"<span style=\"color:{_COLOURS[n]}\">{counts[n]} {n}</span>" for n in VERDICTS)
        mode = ("paired: baseline measured beside this run, in the same session (--against)"
                if comparison.mode == "paired" else "history: a stored baseline run")
        parts.append(f"<p>Compared with {escape(comparison.baseline_label or str(comparison.baseline_id))}: "
                     f"{summary}. Mode: {escape(mode)}.</p>")
        if comparison.normalised:
            parts.append(f"<p><b>Normalised comparison</b> (another machine): {escape(comparison.note)}. Times and "
                         "rates are scaled by the control workload; memory and counts are compared as measured.</p>")
        if comparison.critical_regressions:
            ids = ", ".join(v.id for v in comparison.critical_regressions)
            parts.append(f"<p style=\"color:#c0392b\"><b>Critical checks regressed: {escape(ids)}</b> "
                         "(exit code 4).</p>")
        parts.append(_table(comparison))
        if comparison.not_compared:
            parts.append(f"<p>Not compared (no value on either side, or present in one run only): "
                         f"{escape(', '.join(comparison.not_compared))}.</p>")
        if comparison.mode == "paired":
            parts.append(PAIRED_RULE_HTML)
        else:
            parts.append("<p style=\"font-size:0.85em\">A timing is <i>regressed</i> or <i>improved</i> only when it "
                         "moved beyond its floor (default 10 %) AND a one-sided Mann&ndash;Whitney U test on the "
                         "raw samples gives p &lt; alpha (0.01); too few samples or too much spread give "
                         "<i>inconclusive</i>. Memory uses its own tolerance in MB; counts compare exactly.</p>")
    parts.append(_plots(plots))
    parts.append("</section>")
    return "\n".join(parts)
