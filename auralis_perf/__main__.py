"""`python -m auralis_perf [options]`: the same command as run_report.py (see auralis_perf.pipeline)."""
import sys

from .pipeline import main

if __name__ == "__main__":
    sys.exit(main())
