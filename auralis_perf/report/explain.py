"""The explanation under a check in the report: top functions (time) or call sites (memory), the profile
diff against the baseline, a link to the full profile (a side file in the run folder, never inlined)."""
from __future__ import annotations

import re
from html import escape
from typing import Any

from auralis_perf.explain.timing import SUITE_MODULES


def _pct(share: float | None) -> str:
    return f"{100 * (share or 0.0):.1f} %"


def _function_rows(rows: list[dict[str, Any]], share_key: str) -> str:
    cells = []
    for r in rows:
        via = f" <span class='muted'>(compiled, via {escape(r['dispatcher'])})</span>" if r.get("dispatcher") else ""
        cells.append(f"<tr><td><code>{escape(str(r.get('function')))}</code>{via}</td>"
                     f"<td class='muted'>{escape(str(r.get('module')))}</td><td class='num'>{_pct(r.get(share_key))}</td></tr>")
    return "".join(cells)


def explanation_html(x: dict[str, Any], link_prefix: str = "", check_id: str | None = None,
                     anchor_prefix: str = "") -> str:
    """HTML for one check's `details["explanation"]` (every value escaped). A profile shared by several
    checks of a group is shown in full under the first of them; the others point there."""
    shared = x.get("shared_by") or []
    if check_id and shared and check_id != shared[0] and not x.get("problem"):
        first = escape(shared[0])
        return (f"<div class='explain'><b>Why</b> — see the {escape(x.get('kind', ''))} profile of group "
                f"<i>{escape(str(x.get('group')))}</i> under <a href='#{escape(anchor_prefix)}{first}'>{first}</a>"
                " (one run of the group measures all its checks).</div>")
    if x.get("problem"):
        return (f"<div class='explain'><b>No explanation</b> ({escape(x.get('kind') or '')} profile): "
                f"{escape(x['problem'])}. The verdict above is unaffected.</div>")
    workload = x.get("workload")  # older explanations do not say: the whole group ran, timing loops in full
    ran = ("" if not workload else "; its whole group ran" if x.get("whole_group")
           else f"; only {escape(', '.join(workload))} ran") + ("; one sample per timing loop" if workload else "")
    parts = [f"<div class='explain'><b>Why</b> — {escape(x.get('kind', ''))} profile of group "
             f"<i>{escape(str(x.get('group')))}</i> (shared by {escape(', '.join(x.get('shared_by') or []))}{ran}), "
             f"{escape(str(x.get('profiler')))}, profiling cost {x.get('cost_s', 0):.1f} s, not in any figure"]
    if x.get("html"):
        href = escape(link_prefix + x["html"], quote=True)
        parts.append(f"; <a href='{href}'>full {'call tree' if x.get('kind') == 'time' else 'flame graph'}</a>")
    parts.append(".")
    if x.get("kind") == "time":
        for title, key, share in (("by own time", "top_own", "own_share"), ("by total time", "top_total", "total_share")):
            parts.append(f"<table class='explain-top'><caption>Top functions {title}</caption>"
                         f"<thead><tr><th>function</th><th>module</th><th>share</th></tr></thead>"
                         f"<tbody>{_function_rows(x.get(key) or [], share)}</tbody></table>")
        if "diff" in x:
            rows = "".join(
                f"<tr><td><code>{escape(str(d.get('function')))}</code></td><td class='muted'>{escape(str(d.get('module')))}</td>"
                f"<td class='num'>{_pct(d.get('own_share_before'))} → {_pct(d.get('own_share_after'))}</td>"
                f"<td class='num'>+{100 * d['growth']:.1f} pt</td></tr>" for d in x["diff"])
            parts.append(f"<table class='explain-diff'><caption>Share of own time grown since baseline "
                         f"{escape(str(x.get('diff_baseline')))}</caption><thead><tr><th>function</th><th>module</th>"
                         f"<th>own share</th><th>grew by</th></tr></thead><tbody>"
                         f"{rows or '<tr><td colspan=4>no function grew by half a point or more</td></tr>'}</tbody></table>")
        elif x.get("diff_problem"):
            parts.append(f"<p class='muted'>No profile diff: {escape(x['diff_problem'])}.</p>")
        if x.get("note"):
            parts.append(f"<p class='muted'>{escape(x['note'])}</p>")
    else:
        rows = "".join(
            f"<tr><td><code>{escape(s.get('function') or '')}</code> {escape(s.get('file', ''))}:{s.get('line')}"
            + (f" <span class='muted'>called from {escape(s['caller'])}</span>" if s.get("caller") else "")
            + f"</td><td class='num'>{s.get('mb', 0):.1f} MB</td><td class='num'>{_pct(s.get('share'))}</td></tr>"
            for s in x.get("top_sites") or [])
        parts.append(f"<table class='explain-top'><caption>Alive at the peak ({x.get('peak_mb', 0):.1f} MB), by call site"
                     f"</caption><thead><tr><th>call site</th><th>held</th><th>share</th></tr></thead><tbody>{rows}</tbody></table>")
        if x.get("note"):
            parts.append(f"<p class='muted'>{escape(x['note'])}</p>")
    parts.append("</div>")
    return "".join(parts)


def explain_line(run: dict[str, Any]) -> str:
    """One line on the run's explain step: mode, checks profiled, cost (or '' when it did nothing)."""
    info = run.get("explain") or {}
    passes = info.get("passes") or []
    if not info:
        return ""
    checks = sorted({c for p in passes for c in p.get("checks", [])})
    text = (f"--explain {info.get('mode')}: {len(checks)} check(s) profiled"
            + (f" ({', '.join(checks)})" if checks else "")
            + f", profiling cost {info.get('cost_s', 0.0):.1f} s, outside every figure")
    left_out = sorted({c for p in passes for c in p.get("not_profiled") or []})
    if left_out:  # the budget (explain.budget) left these out; each says so under its row
        text += (f"; {len(left_out)} not profiled, explain budget {info.get('budget_s') or 0:g} s spent "
                 f"({', '.join(left_out)})")
    problems = [p["problem"] for p in passes if p.get("problem") and not str(p["problem"]).startswith("not profiled")]
    problems += [info["problem"]] if info.get("problem") else []
    return text + (f"; problem: {'; '.join(problems)}" if problems else "")


#: Entries of an explanation in the short forms (summary.md, the mail's body).
BRIEF_N = 3


def _short_path(path: str) -> str:
    """The last two parts of a source path (enough to find the file, short enough for a table cell)."""
    parts = [p for p in str(path).replace("\\", "/").split("/") if p]
    return "/".join(parts[-2:]) if parts else "?"


def _short_caller(caller: str) -> str:
    """'process (/long/path/to/chain.py:88)' -> 'process (engines/chain.py:88)'."""
    return re.sub(r"[(]([^()]*):(\d+)[)]", lambda m: f"({_short_path(m[1])}:{m[2]})", caller)


def explanation_entries(x: dict[str, Any], n: int = BRIEF_N) -> list[str]:
    """The top `n` entries of one check's explanation as plain text, for the short forms: a time profile
    gives the functions whose own share grew most since the baseline when it was diffed (a regression's
    answer), else the top functions by own time; a memory profile, the call sites alive at the peak."""
    if x.get("problem"):
        return []
    if x.get("kind") == "time":
        if x.get("diff"):
            return [f"{d.get('function')} +{100 * d['growth']:.1f} pt own ({_pct(d.get('own_share_before'))} → "
                    f"{_pct(d.get('own_share_after'))})" + (" [compiled]" if d.get("dispatcher") else "")
                    for d in x["diff"][:n]]
        return [f"{r.get('function')} {_pct(r.get('own_share'))} own" + (" [compiled]" if r.get("dispatcher") else "")
                for r in (x.get("top_own") or [])[:n]]
    entries = []
    for s in (x.get("top_sites") or [])[:n]:
        where = f"{s.get('function') + ' ' if s.get('function') else ''}{_short_path(s.get('file', ''))}:{s.get('line')}"
        via = f" called from {_short_caller(s['caller'])}" if s.get("caller") else ""
        entries.append(f"{s.get('mb', 0):.1f} MB at {where}{via}")
    return entries


def explanation_brief(x: dict[str, Any], n: int = BRIEF_N) -> str:
    """One line for a check's explanation: what the profile found, or why there is none."""
    if x.get("problem"):
        return f"no {x.get('kind') or ''} profile: {x['problem']}"
    entries = explanation_entries(x, n)
    if x.get("kind") == "time":
        head = ("own time grown since the baseline" if x.get("diff") else
                "own time (no function grew since the baseline)" if "diff" in x else "own time")
    else:
        head = f"alive at the {x.get('peak_mb', 0):.1f} MB peak ({str(x.get('profiler') or '').split(' (')[0]})"
    line = f"{head}: " + ("; ".join(entries) if entries else "nothing recorded")
    path = hot_path(x, n) if x.get("kind") == "time" and not x.get("diff") else []
    return line + (" | hot path (total time): " + " → ".join(path) if path else "")


def hot_path(x: dict[str, Any], n: int = BRIEF_N) -> list[str]:
    """The `n` deepest functions holding at least half of the profiled time, outermost first. Own time names
    the leaves (an FFT, a filter) but not the feature that calls them; more than half of the time can only
    be held by functions nested in one another, so these lie on one call path, and the deepest of them
    name the part of the engine the time goes to (say a fingerprint analysis at 98 % inside `master()`)."""
    rows = [r for r in (x.get("functions") or {}).values() if (r.get("total_share") or 0) >= 0.5
            and not str(r.get("module") or "").startswith(SUITE_MODULES)]  # the harness's frames hold ~all
    rows.sort(key=lambda r: r["total_share"], reverse=True)
    return [f"{str(r.get('module') or '?').rsplit('.', 1)[-1]}.{r.get('function')} {_pct(r['total_share'])}"
            for r in rows[-n:]]
