"""Build the dashboard: read the store, render the page, write index.html atomically."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from auralis_perf.catalog import ThresholdsError, load_catalog
from auralis_perf.dashboard.data import load
from auralis_perf.dashboard.page import render
from auralis_perf.history import HistoryError, HistoryStore, resolve_history_url

EXIT_OK, EXIT_USAGE = 0, 3


@dataclass(frozen=True)
class Built:
    path: Path
    runs: int
    bytes: int
    seconds: float


def build_dashboard(history_url: str, out_dir: Path, *, reports_dirs: Sequence[Path] = (),
                    thresholds: Path | None = None, title: str = "auralis-perf dashboard") -> Built:
    """Write `out_dir/index.html` from the store at `history_url`; raises HistoryError on a bad store."""
    started = time.perf_counter()
    catalog = load_catalog(thresholds)
    with HistoryStore(history_url, create=False) as store:
        data = load(store, reports_dirs)
        source = store.display_url
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render(data, catalog, out_dir=out_dir, title=title, source=source)
    path = out_dir / "index.html"
    tmp = path.with_name("index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return Built(path, len(data.runs), path.stat().st_size, time.perf_counter() - started)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="auralis-perf dashboard", description=(
        "Build a static, self-contained dashboard (one index.html) from the whole history store: every check "
        "over time per machine, engine and profile, with steps and tiers marked. Exit codes: 0 built; "
        "3 bad usage or an unusable store."))
    p.add_argument("--history-url", metavar="URL",
                   help="SQLAlchemy URL of the store (default: $AURALIS_PERF_HISTORY_URL, else reports/history.sqlite)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write index.html into")
    p.add_argument("--reports", type=Path, action="append", default=[], metavar="DIR",
                   help="folder(s) holding run folders, searched for each run's report.html to link to "
                        "(default: the folder of a SQLite store)")
    p.add_argument("--thresholds", type=Path, metavar="FILE", help="thresholds file for the tier lines")
    p.add_argument("--title", default="auralis-perf dashboard", help="the page's title")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage mistake is exit code 3 as in the report run
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    url = resolve_history_url(args.history_url, reports_dir="reports")
    reports = list(args.reports)
    if not reports and url.startswith("sqlite:///"):
        reports.append(Path(url.removeprefix("sqlite:///")).parent)
    try:
        built = build_dashboard(url, args.out, reports_dirs=reports, thresholds=args.thresholds, title=args.title)
    except (HistoryError, ThresholdsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"dashboard: {built.path} ({built.bytes / 2**20:.2f} MB, {built.runs} runs, built in {built.seconds:.1f} s)")
    return EXIT_OK
