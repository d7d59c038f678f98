"""The mail's compact HTML body: what needs attention, two or three plots as `cid:` images, styles inline.

Gmail clips a message body over about 102 KB and, like Outlook, drops `<style>` blocks in places and never
shows `data:` images. So the body is small (under `MAX_BODY_BYTES`), every style sits on its element, the
plots are PNG parts of a multipart/related and referenced by `cid:`, and the whole report.html goes along
as an attachment for everything else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Sequence

from auralis_perf.report.explain import explanation_brief
from auralis_perf.report.formatting import STATUS_COLOURS, format_value
from auralis_perf.report.model import subject_line, text_summary
from auralis_perf.run.digest import EngineDigest, Row, digests, value_text
from auralis_perf.run.mail import SmtpConfig, send_report
from auralis_perf.run.mail_plots import key_plots

MAX_BODY_BYTES = 100_000
#: Most rows of the failed/changed table per engine (the report has them all).
MAX_ROWS = 40
MAX_IMAGES = 3

_FONT = "font-family:Arial,Helvetica,sans-serif;color:#24292f"
_TABLE = "border-collapse:collapse;font-size:13px;margin:6px 0 12px 0"
_TH = "border:1px solid #d0d7de;padding:3px 6px;text-align:left;background:#f6f8fa"
_TD = "border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top"
_NUM = _TD.replace("text-align:left", "text-align:right")
_VERDICT_COLOURS = {"regressed": "#c0392b", "improved": "#1e8449"}


@dataclass
class MailBody:
    html: str
    #: (content id without brackets, png bytes) of the images the HTML refers to as cid:<id>.
    images: list[tuple[str, bytes]] = field(default_factory=list)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """`rows` are already-escaped HTML cells."""
    th = "".join(f'<th style="{_TH}">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{_NUM if i in numeric else _TD}">{c}</td>' for i, c in enumerate(row))
                   + "</tr>" for row in rows)
    return f'<table style="{_TABLE}" cellpadding="0" cellspacing="0"><tr>{th}</tr>{body}</table>'


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#24292f")
    return f'<span style="color:{colour};font-weight:bold">{escape(status)}</span>'


def _verdict(row: Row) -> str:
    if not row.verdict:
        return ""
    colour = _VERDICT_COLOURS.get(row.verdict, "#24292f")
    return f'<span style="color:{colour}">{escape(row.verdict)}</span> {escape(row.change)}'


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def engine_html(digest: EngineDigest, *, max_rows: int = MAX_ROWS) -> str:
    s = digest.summary
    bad = digest.regressions or s.critical_misses or s.errors or s.failed_notebooks
    colour = STATUS_COLOURS["fail"] if bad else STATUS_COLOURS["pass"]
    parts = [f'<h2 style="font-size:17px;margin:14px 0 4px 0;color:{colour}">{escape(digest.engine)} · '
             f'{escape(digest.profile)}: {escape(digest.headline())}</h2>',
             f'<p style="margin:0 0 8px 0;font-size:13px">Run {escape(str(s.run.get("id", "?")))} on '
             f'{escape(digest.machine_label)}, {escape(s.duration)}. '
             + " · ".join(f"{_status(k)} {n}" for k, n in s.counts.items()) + "</p>"]
    if digest.regressions:
        parts.append('<p style="margin:4px 0;font-size:14px"><b>Regressed against the baseline:</b></p>')
        parts.append(_table(["check", "title", "before", "after", "unit", "change", "why"], [
            [escape(str(c["id"])), escape(str(c.get("title", ""))) + (" <b>(critical)</b>" if c.get("critical") else ""),
             escape(format_value(c.get("before"))), escape(format_value(c.get("after"))), escape(str(c.get("unit", ""))),
             escape(digest.change_text(c)), escape(_short(str(c.get("note", ""))))] for c in digest.regressions[:max_rows]],
            numeric=(2, 3)))
    if s.critical_misses:
        parts.append('<p style="margin:4px 0;font-size:14px"><b>Critical misses:</b></p>')
        parts.append(_table(["check", "title", "value", "bound"], [
            [escape(c["id"]), escape(str(c.get("title", ""))), escape(value_text(c)), escape(digest.missed_bound(c))]
            for c in s.critical_misses], numeric=(2,)))
    for n in s.failed_notebooks:
        parts.append(f'<p style="margin:4px 0;font-size:13px;color:{STATUS_COLOURS["error"]}"><b>Notebook '
                     f'{escape(str(n.get("category")))} {escape(str(n.get("status")))}:</b> '
                     f'{escape(_short(str(n.get("error"))))}</p>')
    if digest.changes is not None:
        counts = ", ".join(f"{len(digest.verdicts(v))} {v}" for v in ("regressed", "improved", "inconclusive", "unchanged"))
        label = f" ({digest.baseline_label})" if digest.baseline_label else ""
        parts.append(f'<p style="margin:4px 0;font-size:13px">Against the baseline{escape(label)}: {escape(counts)}.</p>')
    rows = digest.attention_rows()
    if rows:
        parts.append('<p style="margin:8px 0 0 0;font-size:14px"><b>Checks that failed, errored or changed</b></p>')
        parts.append(_table(["check", "status", "value", "missed", "baseline", "reason"], [
            [f"{escape(r.id)} {escape(r.title)}", _status(r.status), escape(r.value), escape(r.bound), _verdict(r),
             escape(_short(r.reason))] for r in rows[:max_rows]], numeric=(2,)))
        if len(rows) > max_rows:
            parts.append(f'<p style="font-size:13px">… and {len(rows) - max_rows} more in the attached report.</p>')
    explained = digest.explained()
    if explained and max_rows:  # --explain: where the time or the memory went
        parts.append('<p style="margin:8px 0 0 0;font-size:14px"><b>Why</b> (profiles of the failing and '
                     'regressed checks; the full ones are in the report)</p>')
        parts.append(_table(["check", "profile", "top entries"], [
            [escape(str(record["id"])), escape(f"{x.get('kind', '')} · {x.get('group', '')}"),
             escape(_short(explanation_brief(x), 400))] for record, x in explained[:max_rows]]))
    return "\n".join(parts)


def compose_body(digests: Sequence[EngineDigest], *, report_name: str = "report.html",
                 report_bytes: int | None = None) -> MailBody:
    """The HTML body and its images; the table rows shrink until the body is under MAX_BODY_BYTES."""
    images: list[tuple[str, bytes]] = []
    figures = []
    for digest in digests:
        for name, caption, png in key_plots(digest):
            if len(images) >= MAX_IMAGES:
                break
            cid = f"{name}-{len(images)}@auralis-perf"
            images.append((cid, png))
            label = f"{caption} ({digest.engine})" if len(digests) > 1 else caption
            figures.append(f'<p style="margin:10px 0 2px 0;font-size:13px"><b>{escape(label)}</b></p>'
                           f'<img src="cid:{cid}" alt="{escape(label)}" style="display:block;max-width:100%;border:0">')
    size = f" ({report_bytes / 2**20:.2f} MB)" if report_bytes is not None else ""
    footer = (f'<p style="margin:14px 0 0 0;font-size:12px;color:#57606a">The full report, every check with its '
              f'plots and the machine, is attached as <b>{escape(report_name)}</b>{size}: open it in a browser.</p>')
    max_rows = MAX_ROWS
    while True:
        sections = "\n".join(engine_html(d, max_rows=max_rows) for d in digests)
        html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>auralis-perf report</title></head>'
                f'<body style="{_FONT};margin:0;padding:8px">'
                f'<h1 style="font-size:19px;margin:0 0 6px 0">auralis-perf report</h1>{sections}'
                + "\n".join(figures) + footer + "</body></html>")
        if len(html.encode("utf-8")) <= MAX_BODY_BYTES or max_rows == 0:
            return MailBody(html, images)
        max_rows //= 2


def send_run_report(outcome: Any, *, config: SmtpConfig | None = None) -> MailBody:
    """Mail a finished run (a pipeline RunOutcome) to its --email-to; raises MailError. Returns the body sent."""
    report_path = Path(outcome.report_path)
    found = digests([(r.results, r.base) for r in outcome.engine_runs], getattr(outcome, "changes", None),
                    report_path=report_path)
    summaries = [d.summary for d in found]
    body = compose_body(found, report_name=report_path.name,
                        report_bytes=report_path.stat().st_size if report_path.is_file() else None)
    send_report(report_path, outcome.config.email_to, subject=subject_line(summaries),
                text=text_summary(summaries, report_path), html=body.html, images=body.images, config=config)
    return body
