"""What the category notebooks call: run a group of checks, show its table, save the results, plot.

    run = NotebookRun("realtime", engine=engine, profile=profile, audio=audio, workdir=workdir,
                      results_path=results_path, thresholds=thresholds)
    rtf = run.group("Real-time factor")      # runs the suite's group, shows a table, saves the side file
    run.plot_values(rtf)                      # bars with the tier lines
    run.summary()                             # the category's table; marks the side file complete

A notebook never crashes because a scenario did: a missing suite module, an engine that cannot be built
or a group that raises all become `error` records with the reason, and the other groups still run (the
`SuiteSession` of suites/access.py does that, for the pytest front end too).

`AURALIS_PERF_SUITES="realtime=my_pkg.my_suite,..."` makes a category use another suite module
(`auralis_perf.suites.apply_suite_overrides`).
"""
from __future__ import annotations

import html
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auralis_perf import suites
from auralis_perf.catalog import TIERS, Catalog, load_catalog
from auralis_perf.categories import NAMES
from auralis_perf.engines import DEFAULT_ENGINE
from auralis_perf.measure.rounds import measuring_round
from auralis_perf.notebook.round_process import measure_round_in_fresh_process, round_request
from auralis_perf.notebook.rounds import merge_rounds
from auralis_perf.report.formatting import STATUS_COLOURS, format_value, tier_mark
from auralis_perf.results import CheckResult
from auralis_perf.run.sidefile import write_side_file
from auralis_perf.suites.access import SuiteSession

TIER_COLOURS = {"critical": "#cf222e", "target": "#bf8700", "stretch": "#1a7f37"}
_PLOT_STYLE = {"figure.dpi": 90, "figure.figsize": (7.0, 3.4), "axes.grid": True, "grid.alpha": 0.3,
               "axes.spines.top": False, "axes.spines.right": False, "font.size": 9}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_workdir(category: str) -> Path:
    """Where an interactive run keeps its scratch: reports/lab/<category> in a checkout, else a temp dir."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        return root / "reports" / "lab" / category
    return Path(tempfile.gettempdir()) / "auralis-perf-lab" / category


class NotebookRun:
    """One category notebook's run: a `SuiteSession` for its category, and its side file."""

    def __init__(self, category: str, *, engine: str = DEFAULT_ENGINE, profile: str = "standard",
                 audio: Sequence[str | os.PathLike[str]] = (), workdir: str | os.PathLike[str] | None = None,
                 results_path: str | os.PathLike[str] | None = None,
                 thresholds: str | os.PathLike[str] | None = None, show: bool = True) -> None:
        if category not in NAMES:
            raise ValueError(f"unknown category {category!r}; known: {', '.join(NAMES)}")
        suites.apply_suite_overrides()
        workdir = Path(workdir) if workdir else default_workdir(category)
        self.session = SuiteSession(engine, profile=profile, workdir=workdir, audio_files=list(audio),
                                    catalog=load_catalog(thresholds))
        self.thresholds = str(thresholds) if thresholds else None
        self.category = category
        self.engine_name = engine
        self.profile = profile
        self.audio = self.session.audio_files
        self.catalog: Catalog = self.session.catalog
        self.workdir = workdir
        self.results_path = Path(results_path) if results_path else self.workdir / f"{category}.results.json"
        self.show = show
        self.records = self.session.records
        self.groups_done: list[str] = []
        #: group name -> each round's records, for a group the pipeline measures in rounds (--against)
        self.rounds: dict[str, list[list[CheckResult]]] = {}
        self.started_at = _now()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.save()  # the pipeline sees at once that this notebook has started

    # -- running -------------------------------------------------------------------------------------
    def group_ids(self, name: str) -> list[str]:
        """The catalogue IDs of one of this category's groups (the `group` key in catalog.toml)."""
        ids = self.session.catalogue_group_ids(self.category, name)
        if not ids:
            known = sorted({self.catalog[i].group for i in self.catalog.ids(self.category)})
            raise ValueError(f"{self.category} has no group {name!r}; its groups: {', '.join(known)}")
        return ids

    def group(self, name: str) -> list[CheckResult]:
        """Run the group `name`, show its table, save the side file; returns its records."""
        ids = self.group_ids(name)
        if name in self.rounds:  # measured round by round already (--against): merge, do not measure again
            records = merge_rounds(self.rounds.pop(name), self.catalog)
            self.records.update((r.id, r) for r in records)
        else:
            _, records, _ = self.session.run(lambda: self.session.group_named(self.category, name), ids)
        if name not in self.groups_done:
            self.groups_done.append(name)
        self.save()
        if self.show:
            self._display_table(records, caption=name)
        return records

    def group_round(self, name: str, index: int, rounds: int, *, fresh_process: bool = False,
                    turns: tuple[str, int] | None = None) -> int:
        """Measure round `index` of `rounds` of the group `name` (see measure/rounds.py), keep its records for
        `group(name)`, show nothing; returns how many rounds are kept. The --against runner calls this.
        `fresh_process`: the round is measured in a new process (notebook/round_process.py), not here;
        `turns`: (referee socket, side): that process takes turns with the other side's (measure/turns.py)."""
        ids = self.group_ids(name)
        if turns is not None and not fresh_process:
            raise ValueError("turns are taken by fresh round processes only: pass fresh_process=True")
        if fresh_process:
            records = measure_round_in_fresh_process(round_request(
                engine=self.engine_name, profile=self.profile, category=self.category, group=name, ids=ids,
                index=index, rounds=rounds, workdir=self.workdir, audio=self.audio, thresholds=self.thresholds,
                turns=turns))
            self.records.update((r.id, r) for r in records)
        else:
            with measuring_round(index, rounds):
                _, records, _ = self.session.run(lambda: self.session.group_named(self.category, name), ids)
        kept = self.rounds.setdefault(name, [])
        kept.append(records)
        return len(kept)

    @property
    def context(self) -> suites.SuiteContext:
        """The suite context, built on first use (building an engine can take a while)."""
        return self.session.context

    # -- results -------------------------------------------------------------------------------------
    def record(self, check_id: str) -> CheckResult:
        try:
            return self.records[check_id]
        except KeyError:
            raise KeyError(f"{check_id} has no record yet in this run; run its group first") from None

    def details(self, check_id: str) -> dict[str, Any]:
        """The scenario data a suite attached to a check (per-size figures, query plans, ...)."""
        return self.record(check_id).details

    def save(self, complete: bool = False) -> Path:
        return write_side_file(
            self.results_path, category=self.category, engine=self.engine_name, profile=self.profile,
            started_at=self.started_at, updated_at=_now(), records=self.session.ordered_records(self.category),
            groups_done=self.groups_done, complete=complete,
            kernel={"executable": sys.executable, "pid": os.getpid()},
            engine_info=self.session.engine_description())

    def summary(self) -> list[CheckResult]:
        """Show every check of the category (unreported ones named), mark the side file complete."""
        ordered = self.session.ordered_records(self.category)
        missing = [i for i in self.catalog.ids(self.category) if i not in self.records]
        self.save(complete=True)
        if self.show:
            counts = {s: sum(r.status == s for r in ordered) for s in ("pass", "fail", "skip", "error")}
            line = ", ".join(f"{n} {s}" for s, n in counts.items())
            if missing:
                line += f"; not run in this notebook: {', '.join(missing)}"
            self._display_table(ordered, caption=f"{self.category}: {line}")
        return ordered

    # -- display -------------------------------------------------------------------------------------
    def _display_table(self, records: Sequence[CheckResult], caption: str) -> None:
        from IPython.display import display

        display({"text/html": records_html(records, caption), "text/plain": records_text(records, caption)},
                raw=True)

    # -- plots (for the suite helpers' plot cells) ---------------------------------------------------
    def figure(self, ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None):
        """A matplotlib figure in the report's style: returns (fig, axes) as `plt.subplots` does."""
        plt = pyplot()
        w, h = _PLOT_STYLE["figure.figsize"]
        return plt.subplots(nrows, ncols, figsize=(width or w * min(ncols, 2), height or h * nrows),
                            squeeze=True, constrained_layout=True)

    def tier_lines(self, ax, check_id: str, *, x: tuple[float, float] | None = None, label: bool = True) -> None:
        """Draw the check's tier bounds on `ax` as horizontal lines (across `x` = (left, right) if given)."""
        spec = self.catalog[check_id]
        for tier in TIERS:
            bound = spec.tiers.get(tier)
            if bound is None:
                continue
            style = {"color": TIER_COLOURS[tier], "linestyle": "--", "linewidth": 1.2,
                     "label": f"{tier} {bound}" if label else None}
            if x is None:
                ax.axhline(bound.limit, **style)
            else:
                ax.hlines(bound.limit, x[0], x[1], **style)

    def plot_values(self, records: Iterable[CheckResult | str], *, title: str | None = None, ax=None,
                    log: bool = False):
        """Bars of each check's value, coloured by status, with each check's tier lines; returns the Axes."""
        recs = self._resolve(records)
        if ax is None:
            _, ax = self.figure()
        values = [r.value if r.value is not None else 0.0 for r in recs]
        ax.bar(range(len(recs)), values, color=[STATUS_COLOURS[r.status] for r in recs], alpha=0.8)
        seen: set[str] = set()
        for i, r in enumerate(recs):
            for tier in TIERS:
                bound = self.catalog[r.id].tiers.get(tier)
                if bound is not None:
                    first = tier not in seen
                    seen.add(tier)
                    ax.hlines(bound.limit, i - 0.45, i + 0.45, color=TIER_COLOURS[tier], linestyle="--",
                              linewidth=1.2, label=tier if first else None)
        ax.set_xticks(range(len(recs)), [r.id for r in recs])
        units = sorted({r.unit for r in recs if r.unit})
        ax.set_ylabel(" / ".join(units))
        if log:
            ax.set_yscale("log")
        if seen:
            ax.legend(fontsize=8)
        ax.set_title(title or ", ".join(r.id for r in recs))
        return ax

    def plot_samples(self, records: Iterable[CheckResult | str], *, title: str | None = None, ax=None,
                     ylabel: str = "", log: bool = False):
        """The raw samples of each check as a box with the points over it; returns the Axes."""
        recs = [r for r in self._resolve(records) if r.samples]
        if ax is None:
            _, ax = self.figure()
        if recs:
            ax.boxplot([r.samples for r in recs], showfliers=False, widths=0.5)
            for i, r in enumerate(recs, start=1):
                ax.plot([i] * len(r.samples), r.samples, ".", color=STATUS_COLOURS[r.status], alpha=0.6)
            ax.set_xticks(range(1, len(recs) + 1), [r.id for r in recs])
        else:
            ax.text(0.5, 0.5, "no samples recorded", ha="center", va="center", transform=ax.transAxes)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.set_title(title or "raw samples")
        return ax

    def _resolve(self, records: Iterable[CheckResult | str]) -> list[CheckResult]:
        return [self.record(r) if isinstance(r, str) else r for r in records]


def pyplot():
    """matplotlib.pyplot with the report's plot style (imported on first plot: it costs ~0.5 s)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(_PLOT_STYLE)
    return plt


_COLUMNS = ("ID", "check", "status", "value", "unit", "criterion", "critical", "target", "stretch", "reason")


def _row(r: CheckResult) -> list[str]:
    return [r.id, r.title, r.status, format_value(r.value), r.unit, r.criterion,
            *(tier_mark(r.tiers.get(t)) for t in TIERS), r.reason or ""]


def records_html(records: Sequence[CheckResult], caption: str) -> str:
    """An HTML table of records; every value is escaped (reasons carry exception text and file names)."""
    esc = html.escape
    head = "".join(f"<th style='text-align:left'>{c}</th>" for c in _COLUMNS)
    rows = []
    for r in records:
        cells = _row(r)
        colour = STATUS_COLOURS.get(r.status, "inherit")
        tds = [f"<td>{esc(c)}</td>" for c in cells]
        tds[2] = f"<td style='color:{colour};font-weight:bold'>{esc(cells[2])}</td>"
        rows.append(f"<tr class='ap-status-{esc(r.status)}'>{''.join(tds)}</tr>")
    return (f"<table class='ap-checks'><caption style='text-align:left'>{esc(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def records_text(records: Sequence[CheckResult], caption: str) -> str:
    lines = [caption]
    for r in records:
        value = f"{format_value(r.value)} {r.unit}".strip()
        lines.append(f"{r.id:9} {r.status:5} {value:>14}  {r.title}" + (f"  ({r.reason})" if r.reason else ""))
    return "\n".join(lines)
