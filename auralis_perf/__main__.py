"""`python -m auralis_perf [options]`: the same command as run_report.py (see auralis_perf.run.pipeline)."""
import sys

from auralis_perf.run.pipeline import main

if __name__ == "__main__":
    sys.exit(main())
