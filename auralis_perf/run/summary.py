"""`summary.md`: the run in GitHub-flavoured Markdown, for a CI job page or a pull-request comment.

Written into every run folder; `--summary-to PATH` also appends it to PATH (e.g. `$GITHUB_STEP_SUMMARY`).
What needs attention comes first: a run with a regression names it in its first lines. GitHub refuses a
job summary over 65,536 characters (1 MiB per step in bytes), so the summary is kept under
`MAX_CHARS`: long tables are cut with a line saying how many rows were left out.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from auralis_perf.report.explain import explanation_brief
from auralis_perf.report.formatting import format_value
from auralis_perf.run.digest import EngineDigest, Row, value_text

MAX_CHARS = 65_000
#: Longest list of rows in one table of the summary.
MAX_ROWS = 40
_STATUS_MARK = {"pass": "✅", "fail": "❌", "skip": "⏭️", "error": "⚠️"}


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks, no HTML."""
    raw = str(text if text is not None else "")
    raw = raw.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return " ".join(raw.split())


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], *, limit: int = MAX_ROWS) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n_… and {len(rows) - limit} more: see the report._")
    return lines + [""]


def _change_rows(digest: EngineDigest, changes: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[c.get("id"), c.get("title", "") + (" (critical)" if c.get("critical") else ""),
             format_value(c.get("before")), format_value(c.get("after")), c.get("unit", ""),
             digest.change_text(c), c.get("note", "")] for c in changes]


def engine_markdown(digest: EngineDigest, *, heading_level: int = 2) -> list[str]:
    """One engine's part of the summary."""
    h = "#" * heading_level
    s = digest.summary
    worst = "❌" if digest.regressions or s.critical_misses else "⚠️" if s.errors or s.failed_notebooks else "✅"
    lines = [f"{h} {worst} auralis-perf: {digest.engine} · {digest.profile} — {digest.headline()}", ""]
    if digest.regressions:  # the first lines of a regressed run name what regressed
        lines.append("**Regressed against the baseline:** " + "; ".join(
            f"{c['id']} {c.get('title', '')} {format_value(c.get('before'))} → {format_value(c.get('after'))} "
            f"{c.get('unit', '')} ({digest.change_text(c) or 'changed'}{', critical' if c.get('critical') else ''})"
            for c in digest.regressions[:10]) + ("; …" if len(digest.regressions) > 10 else ""))
        lines.append("")
    lines.append(f"Run `{s.run.get('id', '?')}` on {digest.machine_label}, duration {s.duration}. "
                 + " · ".join(f"{_STATUS_MARK[k]} {k} {n}" for k, n in s.counts.items()))
    lines.append("")
    if s.critical_misses:
        lines.append(f"{h}# Critical misses")
        lines += _table(["check", "title", "value", "bound", "reason"],
                        [[c["id"], c.get("title", ""), value_text(c), digest.missed_bound(c),
                          c.get("reason") or c.get("criterion", "")] for c in s.critical_misses])
    for n in s.failed_notebooks:
        lines += [f"> **Notebook {cell(n.get('category'))} {cell(n.get('status'))}:** {cell(n.get('error'))}", ""]
    if digest.changes is None:
        lines += ["No baseline comparison was made.", ""]
    else:
        counts = {v: len(digest.verdicts(v)) for v in ("regressed", "improved", "inconclusive", "unchanged")}
        against = f"Against the baseline ({digest.baseline_label})" if digest.baseline_label else "Against the baseline"
        lines += [f"{against}: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".", ""]
        for title, changes in (("Regressions", digest.regressions), ("Improvements", digest.improvements)):
            if changes:
                lines.append(f"{h}# {title}")
                lines += _table(["check", "title", "before", "after", "unit", "change", "why"],
                                _change_rows(digest, changes))
        moves = digest.biggest_moves()
        if moves:
            lines.append(f"{h}# Largest moves against the baseline (any verdict)")
            lines += _table(["check", "title", "before", "after", "unit", "change", "verdict"],
                            [r[:6] + [c.get("verdict", "")] for r, c in zip(_change_rows(digest, moves), moves)])
    rows = digest.attention_rows()
    if rows:
        lines.append(f"{h}# Checks that failed, errored or changed")
        lines += _table(["check", "category", "status", "value", "missed", "verdict", "reason"],
                        [_row_cells(r) for r in rows])
    explained = digest.explained()
    if explained:  # --explain: where the time or the memory went, under what failed or regressed
        lines.append(f"{h}# Why (profiles of the failing and regressed checks)")
        lines += _table(["check", "profile", "top entries"],
                        [[record["id"], f"{x.get('kind', '')} · {x.get('group', '')}", explanation_brief(x)]
                         for record, x in explained])
    lines.append(f"{h}# By category")
    lines += _table(["category", "pass", "fail", "skip", "error"],
                    [[title, c["pass"], c["fail"], c["skip"], c["error"]] for title, c in digest.category_counts()])
    return lines


def summary_markdown(digests: Sequence[EngineDigest], *, report_path: Path | None = None) -> str:
    """The whole summary (every engine of the run), under MAX_CHARS characters."""
    lines: list[str] = []
    for digest in digests:
        lines += engine_markdown(digest, heading_level=2 if len(digests) == 1 else 3)
    if report_path is not None:
        lines += [f"Full report: `{report_path}` (one self-contained HTML file; keep it as the job's artifact).", ""]
    return fit("\n".join(lines), MAX_CHARS)


def fit(text: str, limit: int) -> str:
    """`text` cut at a line boundary to stay under `limit` characters, saying that it was cut."""
    if len(text) <= limit:
        return text
    note = "\n\n_… summary cut to stay under GitHub's job-summary limit: see the report._\n"
    cut = text[: limit - len(note)].rsplit("\n", 1)[0]
    return cut + note


def write_summary(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def append_summary(path: Path, text: str) -> None:
    """Append to a file such as $GITHUB_STEP_SUMMARY (other steps write there too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text if text.endswith("\n") else text + "\n")


def _row_cells(row: Row) -> list[str]:
    mark = _STATUS_MARK.get(row.status, "")
    return [f"{row.id} {row.title}", row.category, f"{mark} {row.status}", row.value, row.bound,
            f"{row.verdict} {row.change}".strip(), row.reason]
