"""`python -m auralis_perf [options]` (the `auralis-perf` command): the report run, as run_report.py (see
auralis_perf.run.pipeline); `auralis-perf dashboard ...` builds the history dashboard (auralis_perf.dashboard)."""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["dashboard"]:
        from auralis_perf.dashboard.build import main as dashboard_main

        return dashboard_main(args[1:])
    from auralis_perf.run.pipeline import main as run_main

    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
