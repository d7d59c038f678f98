"""The history of runs: a SQLAlchemy store (SQLite by default, PostgreSQL for a team) and baselines."""
from auralis_perf.history.baseline import BaselineChoice, BaselineError, resolve_baseline
from auralis_perf.history.schema import SCHEMA_VERSION
from auralis_perf.history.store import HistorySchemaError, HistoryStore, RunInfo, machine_fingerprint, run_key
from auralis_perf.history.urls import (
                   DEFAULT_FILE_NAME,
                   HISTORY_URL_ENV,
                   HistoryError,
                   default_history_url,
                   display_url,
                   resolve_history_url,
)

__all__ = [
    "BaselineChoice", "BaselineError", "DEFAULT_FILE_NAME", "HISTORY_URL_ENV", "HistoryError",
    "HistorySchemaError", "HistoryStore", "RunInfo", "SCHEMA_VERSION", "default_history_url", "display_url",
    "machine_fingerprint", "resolve_baseline", "resolve_history_url", "run_key",
]
