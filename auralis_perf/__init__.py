"""auralis-perf: a performance-regression report for real-time audio mastering engines (see README.md)."""

__version__ = "0.1.0"
