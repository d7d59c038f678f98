"""`HistoryStore`: every run appended to one SQLAlchemy database, read back as baselines and series.

- SQLite (the default, a file under `reports/`): WAL journal and a long busy timeout so that concurrent
  runs on one machine wait for each other instead of failing; writes take the lock up front
  (`BEGIN IMMEDIATE`), so two writers never deadlock on a lock upgrade.
- PostgreSQL (or any SQLAlchemy URL): for a team or a fleet of CI machines sharing one store.

A run is appended in ONE transaction (the run row and all its check rows): a process killed half-way
leaves nothing behind. Appending a run whose `run.id` is already stored returns the stored row's id.
"""
from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError, NoSuchModuleError, SQLAlchemyError

from auralis_perf.history.schema import (
    OWN_TABLES,
    SCHEMA_VERSION,
    baselines,
    check_samples,
    metadata,
    runs,
    schema_version,
)
from auralis_perf.history.urls import HistoryError, display_url, parse_url
from auralis_perf.results import validate_results

#: How long an SQLite writer waits for another one before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 120
#: Key of the PostgreSQL advisory lock that serialises creating the tables.
_PG_INIT_LOCK = 0x4155524C  # "AURL"


class HistorySchemaError(HistoryError):
    """The store has a layout this version does not know (newer, older without migration, or foreign)."""


@dataclass(frozen=True)
class RunInfo:
    """A stored run's key, without its (large) results document."""

    id: int
    run_uid: str
    started_at: str
    machine_fingerprint: str
    engine: str
    profile: str


def machine_fingerprint(machine: dict[str, Any] | str) -> str:
    """The fingerprint of a `describe_machine()` dict (its `fingerprint` key, else computed), or the string."""
    if isinstance(machine, str):
        return machine
    if not isinstance(machine, dict):
        raise TypeError(f"machine must be a describe_machine() dict or a fingerprint string, got {type(machine).__name__}")
    if machine.get("fingerprint"):
        return str(machine["fingerprint"])
    from auralis_perf.measure.machine import fingerprint  # lazily: measure imports psutil

    return fingerprint(machine)


def run_key(results: dict[str, Any]) -> tuple[str, str, str]:
    """(machine fingerprint, engine, profile) of a results document."""
    run = results.get("run") if isinstance(results, dict) else None
    if not isinstance(run, dict):
        raise HistoryError("results document has no 'run' object")
    missing = [k for k in ("machine", "engine", "profile") if run.get(k) in (None, "")]
    if missing:
        raise HistoryError(f"results document's run lacks {', '.join(missing)}: cannot key it in the history")
    return machine_fingerprint(run["machine"]), str(run["engine"]), str(run["profile"])


def _utc_iso(raw: Any, what: str) -> str:
    """An ISO-8601 UTC timestamp with microseconds, so that stored strings sort in time order."""
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise HistoryError(f"{what} {raw!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HistoryStore:
    """The results store. `HistoryStore(url)`; `url=None` is an in-memory SQLite store (for tests)."""

    def __init__(self, url: str | URL | None = None, *, create: bool = True) -> None:
        self._url = parse_url(url or "sqlite://")
        self.display_url = display_url(self._url)
        self._engine = self._make_engine(self._url)
        try:
            self._ensure_schema(create)
        except BaseException:
            self._engine.dispose()
            raise

    # -- set-up -------------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests; the store's methods are the supported way in)."""
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self._url.get_backend_name() == "postgresql"

    def _make_engine(self, url: URL) -> Engine:
        try:
            if url.get_backend_name() != "sqlite":
                return create_engine(url, pool_pre_ping=True)
            return self._make_sqlite_engine(url)
        except (NoSuchModuleError, ImportError) as exc:
            hint = (" PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'"
                    if url.get_backend_name() == "postgresql" else "")
            raise HistoryError(f"history store {self.display_url}: no driver for {url.drivername!r}.{hint}") from exc

    @staticmethod
    def _make_sqlite_engine(url: URL) -> Engine:
        database = url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if not in_memory:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        if in_memory:
            from sqlalchemy.pool import StaticPool

            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _begin)
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # Writers lock at BEGIN: a deferred transaction that later wants to write can fail at once
            # with SQLITE_BUSY when another process wrote in between (the busy timeout does not help).
            immediate = connection.get_execution_options().get("auralis_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        """A connection inside one transaction (committed on success, rolled back on any error)."""
        try:
            with self._engine.connect() as conn:
                if write:
                    conn = conn.execution_options(auralis_write=True)
                with conn.begin():
                    yield conn
        except HistoryError:
            raise
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            first_line = (str(cause).strip().splitlines() or [""])[0]
            raise HistoryError(f"history store {self.display_url}: {type(cause).__name__}: {first_line}") from exc

    def _ensure_schema(self, create: bool) -> None:
        with self._connection(write=False) as conn:
            tables = set(inspect(conn).get_table_names())
        if "schema_version" not in tables:
            if tables & set(OWN_TABLES):
                raise self._foreign_layout(tables)
            if not create:
                raise HistoryError(f"history store {self.display_url} has no auralis-perf tables")
            with self._connection(write=True) as conn:
                if self.is_postgresql:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_INIT_LOCK})
                tables = set(inspect(conn).get_table_names())
                if "schema_version" not in tables:  # nobody created it while we waited for the lock
                    if tables & set(OWN_TABLES):
                        raise self._foreign_layout(tables)
                    metadata.create_all(conn)
                    conn.execute(schema_version.insert().values(
                        version=SCHEMA_VERSION, written_by=f"auralis-perf schema {SCHEMA_VERSION}",
                        created_at=_now()))
        self._check_version()

    def _foreign_layout(self, tables: set[str]) -> HistorySchemaError:
        return HistorySchemaError(
            f"history store {self.display_url} has tables {sorted(tables & set(OWN_TABLES))} but no schema_version "
            "row: it was not written by auralis-perf (or is damaged). Use another --history-url.")

    def _check_version(self) -> None:
        with self._connection(write=False) as conn:
            rows = conn.execute(select(schema_version.c.version, schema_version.c.written_by)).all()
        if len(rows) != 1 or not isinstance(rows[0].version, int):
            raise HistorySchemaError(
                f"history store {self.display_url}: schema_version holds {[tuple(r) for r in rows]!r}, expected "
                "exactly one integer version: the store is damaged or not auralis-perf's.")
        version = rows[0].version
        if version > SCHEMA_VERSION:
            raise HistorySchemaError(
                f"history store {self.display_url} has schema version {version} (written by {rows[0].written_by}); "
                f"this auralis-perf understands version {SCHEMA_VERSION} only. Upgrade auralis-perf, or point "
                "--history-url at another store.")
        if version < SCHEMA_VERSION:
            raise HistorySchemaError(
                f"history store {self.display_url} has schema version {version}, older than {SCHEMA_VERSION}, "
                "and no migration is known for it.")

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------------

    def append(self, results: dict[str, Any]) -> int:
        """Store one run (a results document) in one transaction and return its id in the store."""
        problems = validate_results(results)
        if problems:
            raise HistoryError(f"cannot append to the history, not a valid results document: {'; '.join(problems[:5])}")
        fingerprint, engine, profile = run_key(results)
        run = results["run"]
        run_uid = str(run["id"])
        ids = [c["id"] for c in results["checks"]]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise HistoryError(f"cannot append run {run_uid}: check ids appear twice: {', '.join(duplicated)}")
        run_row = {
            "run_uid": run_uid, "started_at": _utc_iso(run["started_at"], "run.started_at"),
            "finished_at": _utc_iso(run["finished_at"], "run.finished_at") if run.get("finished_at") else None,
            "recorded_at": _now(), "machine_fingerprint": fingerprint, "engine": engine, "profile": profile,
            "machine_json": json.dumps(run["machine"], allow_nan=False),
            "results_json": json.dumps(results, allow_nan=False),
        }
        try:
            with self._connection(write=True) as conn:
                existing = conn.execute(select(runs.c.id).where(runs.c.run_uid == run_uid)).scalar()
                if existing is not None:
                    return int(existing)
                run_id = int(conn.execute(runs.insert().values(**run_row)).inserted_primary_key[0])
                rows = [self._check_row(run_id, check) for check in results["checks"]]
                if rows:
                    conn.execute(check_samples.insert(), rows)
                return run_id
        except IntegrityError:
            # Another writer stored the same run between our look-up and insert (PostgreSQL): use theirs.
            with self._connection(write=False) as conn:
                existing = conn.execute(select(runs.c.id).where(runs.c.run_uid == run_uid)).scalar()
            if existing is None:
                raise
            return int(existing)

    @staticmethod
    def _check_row(run_id: int, check: dict[str, Any]) -> dict[str, Any]:
        samples = [float(s) for s in check.get("samples") or [] if s is not None]
        value = check.get("value")
        return {"run_id": run_id, "check_id": str(check["id"]), "status": str(check["status"]),
                "value": None if value is None else float(value), "unit": check.get("unit"),
                "kind": check.get("kind"), "n_samples": len(samples),
                "median": statistics.median(samples) if samples else None,
                "samples_json": json.dumps(samples, allow_nan=False)}

    def update_details(self, run_id: int, results: dict[str, Any]) -> None:
        """Replace a stored run's document by `results` when only what is beside the figures changed (the
        checks' `details`, `run["explain"]`): profiles made after the run was stored, for later diffs.
        Refused (HistoryError) when a check's id, status, value or samples differ from the stored ones."""
        stored = self.run(run_id)

        def figures(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
            return [(c.get("id"), c.get("status"), c.get("value"), c.get("samples")) for c in doc.get("checks", [])]

        if str(stored["run"].get("id")) != str(results["run"].get("id")) or figures(stored) != figures(results):
            raise HistoryError(f"run #{run_id} in {self.display_url} is not the run given, or its figures differ: "
                               "a stored run's figures are never rewritten")
        with self._connection(write=True) as conn:
            conn.execute(runs.update().where(runs.c.id == run_id)
                         .values(results_json=json.dumps(results, allow_nan=False)))

    def save_baseline(self, name: str, run_id: int) -> None:
        """Mark a stored run as baseline `name` for its machine/engine/profile (moving an older mark)."""
        if not isinstance(name, str) or not name.strip() or name.strip().lower() == "latest" or name.endswith(".json"):
            raise HistoryError(f"baseline name {name!r} is not usable: give a non-empty name other than 'latest' "
                               "that does not end in .json")
        name = name.strip()
        with self._connection(write=True) as conn:
            row = conn.execute(select(runs.c.machine_fingerprint, runs.c.engine, runs.c.profile)
                               .where(runs.c.id == run_id)).first()
            if row is None:
                raise HistoryError(f"history store {self.display_url} has no run with id {run_id}")
            key = {"name": name, "machine_fingerprint": row.machine_fingerprint, "engine": row.engine,
                   "profile": row.profile}
            conn.execute(baselines.delete().where(*(baselines.c[k] == v for k, v in key.items())))
            conn.execute(baselines.insert().values(**key, run_id=run_id, saved_at=_now()))

    # -- reading ------------------------------------------------------------------------------------

    def run(self, run_id: int) -> dict[str, Any]:
        """The stored results document of a run, plus `history: {run_id, run_uid}`."""
        with self._connection(write=False) as conn:
            row = conn.execute(select(runs.c.id, runs.c.run_uid, runs.c.results_json)
                               .where(runs.c.id == run_id)).first()
        if row is None:
            raise HistoryError(f"history store {self.display_url} has no run with id {run_id}")
        return self._document(row.id, row.run_uid, row.results_json)

    @staticmethod
    def _document(run_id: int, run_uid: str, results_json: str, baseline: str | None = None) -> dict[str, Any]:
        document = json.loads(results_json)
        document["history"] = {"run_id": int(run_id), "run_uid": run_uid, "baseline": baseline}
        return document

    def runs(self, machine: dict[str, Any] | str | None = None, engine: str | None = None,
             profile: str | None = None, *, limit: int | None = None) -> list[RunInfo]:
        """Stored runs, newest first, optionally only those of one machine/engine/profile."""
        query = select(runs.c.id, runs.c.run_uid, runs.c.started_at, runs.c.machine_fingerprint, runs.c.engine,
                       runs.c.profile)
        query = self._where_key(query, machine, engine, profile).order_by(runs.c.started_at.desc(), runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._connection(write=False) as conn:
            return [RunInfo(*row) for row in conn.execute(query).all()]

    @staticmethod
    def _where_key(query: Any, machine: dict[str, Any] | str | None, engine: str | None, profile: str | None) -> Any:
        if machine is not None:
            query = query.where(runs.c.machine_fingerprint == machine_fingerprint(machine))
        if engine is not None:
            query = query.where(runs.c.engine == engine)
        if profile is not None:
            query = query.where(runs.c.profile == profile)
        return query

    def count_runs(self) -> int:
        with self._connection(write=False) as conn:
            return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())

    def baseline(self, name: str, machine: dict[str, Any] | str | None, engine: str, profile: str, *,
                 exclude_run_id: int | None = None) -> dict[str, Any] | None:
        """The results document of baseline `name` ("latest": the newest run) for this key, or None.

        `machine=None` looks across machines (the newest match wins); `exclude_run_id` skips a run (e.g.
        the current one when it was appended first).
        """
        if name.strip().lower() == "latest":
            query = select(runs.c.id, runs.c.run_uid, runs.c.results_json)
            query = self._where_key(query, machine, engine, profile)
            if exclude_run_id is not None:
                query = query.where(runs.c.id != exclude_run_id)
            query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(1)
        else:
            query = (select(runs.c.id, runs.c.run_uid, runs.c.results_json)
                     .join(baselines, baselines.c.run_id == runs.c.id)
                     .where(baselines.c.name == name.strip(), baselines.c.engine == engine,
                            baselines.c.profile == profile))
            if machine is not None:
                query = query.where(baselines.c.machine_fingerprint == machine_fingerprint(machine))
            if exclude_run_id is not None:
                query = query.where(runs.c.id != exclude_run_id)
            query = query.order_by(baselines.c.saved_at.desc()).limit(1)
        with self._connection(write=False) as conn:
            row = conn.execute(query).first()
        return None if row is None else self._document(row.id, row.run_uid, row.results_json, name.strip())

    def baseline_names(self, engine: str | None = None, profile: str | None = None) -> list[dict[str, Any]]:
        """Saved baselines: name, machine fingerprint, engine, profile, run id, saved at."""
        query = select(baselines)
        if engine is not None:
            query = query.where(baselines.c.engine == engine)
        if profile is not None:
            query = query.where(baselines.c.profile == profile)
        with self._connection(write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(baselines.c.name)).all()]

    def series(self, check_id: str, machine: dict[str, Any] | str, engine: str, profile: str, *,
               limit: int = 200) -> list[dict[str, Any]]:
        """One check over the newest `limit` runs of a key, oldest first.

        Each point: run_id, run_uid, started_at, status, value, unit, kind, n_samples, median, samples.
        """
        query = (select(runs.c.id, runs.c.run_uid, runs.c.started_at, check_samples.c.status,
                        check_samples.c.value, check_samples.c.unit, check_samples.c.kind,
                        check_samples.c.n_samples, check_samples.c.median, check_samples.c.samples_json)
                 .join(check_samples, check_samples.c.run_id == runs.c.id)
                 .where(check_samples.c.check_id == check_id))
        query = self._where_key(query, machine, engine, profile)
        query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        with self._connection(write=False) as conn:
            rows = conn.execute(query).all()
        points = [{"run_id": r.id, "run_uid": r.run_uid, "started_at": r.started_at, "status": r.status,
                   "value": r.value, "unit": r.unit, "kind": r.kind, "n_samples": r.n_samples, "median": r.median,
                   "samples": json.loads(r.samples_json)} for r in rows]
        return points[::-1]

    def run_rows(self) -> list[dict[str, Any]]:
        """Every stored run without its results document, oldest first: id, run_uid, started_at,
        finished_at, machine_fingerprint, engine, profile, machine (the describe_machine() dict)."""
        query = (select(runs.c.id, runs.c.run_uid, runs.c.started_at, runs.c.finished_at, runs.c.machine_fingerprint,
                        runs.c.engine, runs.c.profile, runs.c.machine_json)
                 .order_by(runs.c.started_at, runs.c.id))
        with self._connection(write=False) as conn:
            rows = conn.execute(query).all()
        return [{"id": r.id, "run_uid": r.run_uid, "started_at": r.started_at, "finished_at": r.finished_at,
                 "machine_fingerprint": r.machine_fingerprint, "engine": r.engine, "profile": r.profile,
                 "machine": json.loads(r.machine_json)} for r in rows]

    def check_values(self) -> list[tuple[int, str, str, float | None, str | None]]:
        """Every stored check row as (run id, check id, status, value, unit), in one query: for views of
        the whole store (the dashboard) that would otherwise ask for one series at a time."""
        query = select(check_samples.c.run_id, check_samples.c.check_id, check_samples.c.status,
                       check_samples.c.value, check_samples.c.unit)
        with self._connection(write=False) as conn:
            return [tuple(r) for r in conn.execute(query).all()]

    def integrity_problems(self) -> list[str]:
        """Check rows without a run, and (SQLite) what PRAGMA integrity_check finds; empty when sound."""
        problems: list[str] = []
        with self._connection(write=False) as conn:
            orphans = conn.execute(select(func.count()).select_from(check_samples)
                                   .where(check_samples.c.run_id.not_in(select(runs.c.id)))).scalar_one()
            if orphans:
                problems.append(f"{orphans} check rows belong to no run")
            if self.is_sqlite:
                verdict = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
                if verdict != ["ok"]:
                    problems.extend(verdict)
        return problems
