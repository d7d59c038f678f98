"""The history store's tables and the rule for its schema version.

One row in `schema_version` says which layout the store has. A store written by a newer auralis-perf (a
higher version) or by something else (tables without that row) is refused with a clear error: reading a
layout we do not know could silently compare the wrong numbers.

- `runs`: one row per run, keyed for look-up by machine fingerprint + engine + profile; the whole
  `results.json` document is kept as JSON so that any later comparison can be recomputed.
- `check_samples`: one row per check of a run (value, status, raw samples), for trend series.
- `baselines`: a name marking one run for a machine/engine/profile; saving a name again moves it.
"""
from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

#: The layout this code reads and writes. Bump it (and add a migration) when a table changes.
SCHEMA_VERSION = 1

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, nullable=False),
    Column("written_by", String(80), nullable=False),
    Column("created_at", String(40), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uid", String(200), nullable=False, unique=True),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    Column("recorded_at", String(40), nullable=False),
    Column("machine_fingerprint", String(80), nullable=False),
    Column("engine", String(120), nullable=False),
    Column("profile", String(40), nullable=False),
    Column("machine_json", Text, nullable=False),
    Column("results_json", Text, nullable=False),
    Index("ix_runs_key", "machine_fingerprint", "engine", "profile", "started_at"),
)

check_samples = Table(
    "check_samples", metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("check_id", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("value", Float),
    Column("unit", String(60)),
    Column("kind", String(40)),
    Column("n_samples", Integer, nullable=False),
    Column("median", Float),
    Column("samples_json", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "check_id"),
    Index("ix_check_samples_series", "check_id", "run_id"),
)

baselines = Table(
    "baselines", metadata,
    Column("name", String(200), nullable=False),
    Column("machine_fingerprint", String(80), nullable=False),
    Column("engine", String(120), nullable=False),
    Column("profile", String(40), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("saved_at", String(40), nullable=False),
    PrimaryKeyConstraint("name", "machine_fingerprint", "engine", "profile"),
)

#: Tables this code owns; finding some of them without a version row means an unknown layout.
OWN_TABLES = ("schema_version", "runs", "check_samples", "baselines")
