#!/usr/bin/env python3
"""Run the performance report: `python run_report.py --help` (or `make report ARGS="..."`)."""
import sys

from auralis_perf.run.pipeline import main

if __name__ == "__main__":
    sys.exit(main())
