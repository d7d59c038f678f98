"""`auralis-perf dashboard`: a static, self-contained site (one index.html) built from the whole history store.

    auralis-perf dashboard --history-url postgresql://user@host/perf --out site/ [--reports reports/]

Machines x engines x profiles: each check's values over time, one line per machine, steps and tier bounds
marked; the latest value per machine of the key metrics; every run's record, linked to its report.html
when that file is found under the --reports folders.
"""
from auralis_perf.dashboard.build import build_dashboard

__all__ = ["build_dashboard"]
