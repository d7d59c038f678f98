"""Database introspection done by the harness on a library's `DatabaseHandle`, never by the engine.

    probe = DatabaseProbe(library.database())       # listeners on the library's SQLAlchemy engine
    with probe.count() as block:                     # statements issued by this thread in the block
        library.repo.list_tracks(limit=500)
    block.count, block.executed                      # how many, and (SQL, parameters) of each
    probe.plans(lambda: library.repo.get_track(1))   # EXPLAIN QUERY PLAN of what the call issued
    probe.indexes()                                  # {index name: [columns]} of every table
    probe.pool_stats()                               # checkouts, peak checked out, connections open
    probe.pool_bound()                               # size + overflow, observed on a copy of the pool
    probe.close()                                    # removes the listeners

Statements are counted with SQLAlchemy's `before_cursor_execute` event, pool figures with the pool's
`connect`/`close`/`checkout`/`checkin` events, plans and indexes are read from the SQLite file on a
read-only connection of the harness's own. "This call without that index" is run on copies of the file
(`index_variants`): one with every index, one with the named ones dropped, each opened as a library of
its own, so the library's file and connections are never touched.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

from auralis_perf.engines.protocols.library import DatabaseHandle, MusicLibrary
from auralis_perf.engines.support.query_plan import QueryPlan, distinct_explainable, explainable

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
#: Distinct statement texts remembered by `DatabaseProbe.issued` (a bound against unbounded growth).
MAX_DISTINCT = 2000
#: `DatabaseProbe.pool_bound`: at most this many connections are probed; a checkout pending this long waits.
POOL_PROBE_LIMIT = 64
POOL_PROBE_PATIENCE_S = 2.0


class NoDatabaseAccess(Exception):
    """The handle lacks what an introspection needs (no SQLAlchemy engine, no SQLite file)."""


@dataclass
class StatementBlock:
    """Statements one thread issued inside a `DatabaseProbe.count()` block."""

    count: int = 0
    #: (SQL text, parameters) of every statement, in order (executemany: its first parameter set).
    executed: list[tuple[str, Any]] = field(default_factory=list)


def bound_parameters(params: Any) -> Any:
    """DBAPI parameters as sqlite3 takes them again (positional tuple or named mapping)."""
    if params is None:
        return ()
    if isinstance(params, list):
        return tuple(params)
    return params


class DatabaseProbe:
    """Statement counts, plans, indexes and pool figures of one library's database (see the module)."""

    def __init__(self, handle: DatabaseHandle) -> None:
        self.handle = handle
        self.engine = handle.engine
        self.path = Path(handle.path) if handle.path is not None else None
        self.total = 0
        self.lock = threading.Lock()
        self.local = threading.local()
        self.distinct: dict[str, Any] = {}
        self.pool_figures = {"checkouts": 0, "checkins": 0, "peak_checked_out": 0, "opened": 0, "closed": 0}
        self.listening = False
        if self.engine is not None:
            event.listen(self.engine, "before_cursor_execute", self.on_execute)
            for name in ("connect", "close", "checkout", "checkin"):
                event.listen(self.engine.pool, name, getattr(self, f"on_{name}"))
            self.listening = True

    # -- statements -----------------------------------------------------------------------------------
    def on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                   executemany: bool) -> None:
        if statement.lstrip()[:9].upper().startswith(TRANSACTION_CONTROL):
            return
        params = parameters[0] if executemany and parameters else parameters
        with self.lock:
            self.total += 1
            if statement in self.distinct or len(self.distinct) < MAX_DISTINCT:
                self.distinct[statement] = params
        block = getattr(self.local, "block", None)
        if block is not None:
            block.count += 1
            block.executed.append((statement, params))

    def require_engine(self, what: str) -> None:
        if self.engine is None:
            raise NoDatabaseAccess(f"{what} needs the library's SQLAlchemy engine; its DatabaseHandle has none")

    @contextmanager
    def count(self) -> Iterator[StatementBlock]:
        """Count the statements this thread issues inside the block (transaction control left out)."""
        self.require_engine("counting statements")
        outer = getattr(self.local, "block", None)
        block = StatementBlock()
        self.local.block = block
        try:
            yield block
        finally:
            self.local.block = outer
            if outer is not None:
                outer.count += block.count
                outer.executed.extend(block.executed)

    def issued(self) -> dict[str, Any]:
        """Every distinct statement text issued since the probe was attached -> its last parameters."""
        with self.lock:
            return dict(self.distinct)

    # -- plans and indexes ----------------------------------------------------------------------------
    def require_path(self, what: str) -> Path:
        if self.path is None:
            raise NoDatabaseAccess(f"{what} needs the library's SQLite file; its DatabaseHandle has no path")
        return self.path

    def connect(self) -> sqlite3.Connection:
        """A read-only connection of the harness's own to the library's file."""
        path = self.require_path("reading plans and indexes")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)

    def explain(self, sql: str, params: Any = None) -> QueryPlan:
        """EXPLAIN QUERY PLAN of one statement with its parameters."""
        bound = bound_parameters(params)
        conn = self.connect()
        try:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", bound).fetchall()
        finally:
            conn.close()
        return QueryPlan(sql=sql, params=bound, rows=tuple((r[0], r[1], r[3]) for r in rows))

    def plans(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[QueryPlan]:
        """Run `fn` and return the plan of every distinct statement it issued (reads, updates, deletes)."""
        with self.count() as block:
            fn(*args, **kwargs)
        return [self.explain(sql, params) for sql, params in distinct_explainable(block.executed).items()]

    def indexes(self) -> dict[str, list[str]]:
        """Every index of the database -> its columns (SQLite's automatic indexes included)."""
        conn = self.connect()
        try:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY tbl_name, name")]
            return {name: [r[2] for r in conn.execute(f'PRAGMA index_info("{name}")')] for name in names}
        finally:
            conn.close()

    def find_index(self, columns: Sequence[str]) -> str | None:
        """The shortest droppable index whose leading columns are `columns` (the schema's names)."""
        columns = tuple(columns)
        matches = [(len(cols), name) for name, cols in self.indexes().items()
                   if tuple(cols[:len(columns)]) == columns and not name.startswith("sqlite_autoindex")]
        return min(matches)[1] if matches else None

    def indexes_on(self, columns: Sequence[str]) -> list[str]:
        """Every droppable index that holds one of `columns` (what SQLite could fall back on)."""
        return sorted(name for name, cols in self.indexes().items()
                      if set(cols) & set(columns) and not name.startswith("sqlite_autoindex"))

    # -- pool -----------------------------------------------------------------------------------------
    def on_connect(self, *args: Any) -> None:
        with self.lock:
            self.pool_figures["opened"] += 1

    def on_close(self, *args: Any) -> None:
        with self.lock:
            self.pool_figures["closed"] += 1

    def on_checkout(self, *args: Any) -> None:
        with self.lock:
            self.pool_figures["checkouts"] += 1
            out = self.pool_figures["checkouts"] - self.pool_figures["checkins"] + self.checked_out_at_reset
            self.pool_figures["peak_checked_out"] = max(self.pool_figures["peak_checked_out"], out)

    def on_checkin(self, *args: Any) -> None:
        with self.lock:
            self.pool_figures["checkins"] += 1

    checked_out_at_reset = 0

    def pool_reset(self) -> None:
        """Zero the checkout counters (connections opened and closed keep counting)."""
        self.require_engine("pool figures")
        with self.lock:
            self.checked_out_at_reset = self.checked_out()
            self.pool_figures.update(checkouts=0, checkins=0, peak_checked_out=self.checked_out_at_reset)

    def checked_out(self) -> int:
        pool = self.engine.pool
        return int(pool.checkedout()) if hasattr(pool, "checkedout") else 0

    def pool_stats(self) -> dict[str, Any]:
        """The pool's class and size (None when it has no size() method), what is checked out now,
        checkouts and check-ins since the last reset, the peak checked out at once, and connections
        opened, closed and open since the probe was attached. The overflow bound is not here: SQLAlchemy
        has no public accessor for it; `pool_bound` observes it."""
        self.require_engine("pool figures")
        pool = self.engine.pool
        size = pool.size() if callable(getattr(pool, "size", None)) else None
        with self.lock:
            figures = dict(self.pool_figures)
        return {"pool": type(pool).__name__, "size": size,
                "checked_out": self.checked_out(), "checkouts": figures["checkouts"],
                "checkins": figures["checkins"], "peak_checked_out": figures["peak_checked_out"],
                "connections_opened": figures["opened"], "connections_closed": figures["closed"],
                "connections_open": figures["opened"] - figures["closed"]}

    def pool_bound(self, *, limit: int = POOL_PROBE_LIMIT, patience_s: float = POOL_PROBE_PATIENCE_S) -> dict[str, Any]:
        """How many connections the pool hands out at once (its size + max_overflow), observed: connections
        are checked out of a copy of the pool (`Pool.recreate()`: same class and settings; the library's
        own pool is not touched) until a checkout waits. A checkout still pending after `patience_s` waits
        at the bound when the copy's checkedout() did not grow for it (one being opened slowly already
        counts there). {"bound": None} for a pool without size()/checkedout() (NullPool, static pools) or
        with no bound up to `limit`; "method" says how the figure was found."""
        self.require_engine("the pool's bound")
        pool = self.engine.pool
        if not (callable(getattr(pool, "size", None)) and callable(getattr(pool, "checkedout", None))):
            return {"bound": None, "method": f"{type(pool).__name__} has no size()/checkedout(): no bound probed"}
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        copy = pool.recreate()
        held: list[Any] = []
        pending: tuple[threading.Thread, dict[str, Any]] | None = None
        outcome: dict[str, Any] = {"bound": None, "method": f"no checkout of {limit} waited: no bound found"}
        try:
            while len(held) < limit:
                box: dict[str, Any] = {}
                thread = threading.Thread(target=_checkout_into, args=(copy, box), daemon=True,
                                          name="pool-bound-probe")
                thread.start()
                thread.join(patience_s)
                while thread.is_alive() and copy.checkedout() > len(held):  # opening slowly, not waiting
                    thread.join(patience_s)
                if thread.is_alive() or isinstance(box.get("error"), PoolTimeout):
                    pending = (thread, box)
                    outcome = {"bound": len(held), "method": f"checkout {len(held) + 1} of a recreated "
                               f"{type(pool).__name__} waited (> {patience_s:g} s, or timed out) while "
                               f"{len(held)} were held"}
                    break
                if "error" in box:
                    outcome = {"bound": None, "method": f"a probing checkout failed: {box['error']!r}"}
                    break
                held.append(box["connection"])
        finally:
            for connection in held:
                connection.close()
            if pending is not None:
                pending[0].join(60.0)  # it gets a released connection now
                if "connection" in pending[1]:
                    pending[1]["connection"].close()
            copy.dispose()
        return outcome

    def close(self) -> None:
        """Remove the listeners (idempotent)."""
        if self.listening:
            self.listening = False
            event.remove(self.engine, "before_cursor_execute", self.on_execute)
            for name in ("connect", "close", "checkout", "checkin"):
                event.remove(self.engine.pool, name, getattr(self, f"on_{name}"))


def _checkout_into(pool: Any, box: dict[str, Any]) -> None:
    """A pool checkout on its own thread (it may wait at the pool's bound): the connection or the error."""
    try:
        box["connection"] = pool.connect()
    except Exception as exc:  # noqa: BLE001 - the prober reads it (a pool timeout means: waited at the bound)
        box["error"] = exc


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (the backup API: WAL content included, readers undisturbed)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def drop_indexes(path: Path, names: Sequence[str]) -> None:
    conn = sqlite3.connect(str(path))
    try:
        for name in names:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
    finally:
        conn.close()


@dataclass
class IndexVariants:
    """Two copies of a library's database opened as libraries: every index, and `dropped` dropped."""

    indexed: MusicLibrary
    bare: MusicLibrary
    indexed_probe: DatabaseProbe
    bare_probe: DatabaseProbe
    dropped: tuple[str, ...]


@contextmanager
def index_variants(probe: DatabaseProbe, dropped: Sequence[str], folder: Path,
                   open_copy: Callable[[Path], MusicLibrary]) -> Iterator[IndexVariants]:
    """Copies of the library's file, one with every index and one without `dropped`, each opened as a
    library (`open_copy(path)`); both are closed and deleted at exit. A library that re-creates a
    dropped index when it opens is an error (the comparison would be meaningless)."""
    source = probe.require_path("running a query without an index")
    known = probe.indexes()
    for name in dropped:
        if name not in known or name.startswith("sqlite_autoindex"):
            raise ValueError(f"no droppable index {name!r} in {source}; indexes: {', '.join(sorted(known))}")
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "indexed.db", folder / "without-index.db")
    copy_database(source, paths[0])
    copy_database(source, paths[1])
    drop_indexes(paths[1], dropped)
    opened: list[MusicLibrary] = []
    probes: list[DatabaseProbe] = []
    try:
        for path in paths:
            opened.append(open_copy(path))
            probes.append(DatabaseProbe(opened[-1].database()))
        back = set(dropped) & set(probes[1].indexes())
        if back:
            raise RuntimeError(f"the library re-created {', '.join(sorted(back))} when it opened a copy "
                               "without it: it cannot be measured without that index")
        yield IndexVariants(opened[0], opened[1], probes[0], probes[1], tuple(dropped))
    finally:
        for p in probes:
            p.close()
        for lib in opened:
            lib.close()
        for path in paths:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)


__all__ = ["DatabaseProbe", "IndexVariants", "MAX_DISTINCT", "NoDatabaseAccess", "QueryPlan", "StatementBlock",
           "bound_parameters", "copy_database", "drop_indexes", "explainable", "index_variants"]
