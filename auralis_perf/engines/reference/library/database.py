"""The SQLite connection layer: file checks, engine and pool, pragmas, transactions, counters.

Transactions are explicit: the driver runs in autocommit mode and every SQLAlchemy transaction starts
with our own BEGIN (DEFERRED for reads, IMMEDIATE for writes). That makes DDL transactional (so an index
can be dropped and the drop rolled back) and avoids the deadlock of upgrading a read to a write.
"""
from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from auralis_perf.engines.reference.library.errors import (
    CorruptLibraryError,
    LibraryError,
    NotALibraryError,
    ReadOnlyLocationError,
)
from auralis_perf.engines.reference.library.schema import APPLICATION_ID

SQLITE_HEADER = b"SQLite format 3\x00"
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


# -- the file -----------------------------------------------------------------------------------------

def prepare_location(path: Path) -> None:
    """Create missing parent folders and make sure the folder and the file can be written."""
    if path.is_dir():
        raise NotALibraryError(f"library path {path} is a folder, not a database file")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReadOnlyLocationError(f"cannot create the folder {parent} for the library {path}: "
                                    f"{exc.strerror or exc}") from exc
    try:  # a real write, not os.access: root passes os.access on a read-only file system
        with tempfile.TemporaryFile(dir=parent, prefix=".auralis-probe-"):
            pass
    except OSError as exc:
        raise ReadOnlyLocationError(f"the folder {parent} of the library {path} is not writable "
                                    f"(SQLite needs it for its journal): {exc.strerror or exc}") from exc
    if path.exists():
        try:
            with open(path, "r+b"):
                pass
        except OSError as exc:
            raise ReadOnlyLocationError(f"the library file {path} is not writable: "
                                        f"{exc.strerror or exc}") from exc


def inspect_existing(path: Path) -> bool:
    """Check an existing file without writing to it. Returns True when it holds a library already,
    False when it is empty (a new library may be created in it). Raises LibraryFileError otherwise."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle:
        header = handle.read(100)
    if not header.startswith(SQLITE_HEADER):
        raise NotALibraryError(f"{path} is not an SQLite database (its first bytes are {header[:16]!r})")
    if len(header) < 100:
        raise CorruptLibraryError(f"{path} is a truncated SQLite database ({len(header)} bytes)")
    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        probe = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise CorruptLibraryError(f"{path} cannot be opened as SQLite: {exc}") from exc
    try:
        app_id = probe.execute("PRAGMA application_id").fetchone()[0]
        tables = [r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        check = probe.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise CorruptLibraryError(f"{path} is a corrupt SQLite database: {exc}") from exc
    finally:
        probe.close()
    if check != "ok":
        raise CorruptLibraryError(f"{path} is a corrupt SQLite database: integrity check says {check!r}")
    if app_id != APPLICATION_ID:
        if not tables:
            return False
        raise NotALibraryError(f"{path} is an SQLite database of another application "
                               f"(application_id {app_id:#x}, tables {', '.join(sorted(tables)[:5])})")
    return True


# -- statement counter --------------------------------------------------------------------------------

@dataclass
class StatementCount:
    """Statements issued by one thread inside a `StatementCounter.count()` block."""

    count: int = 0
    statements: list[str] = field(default_factory=list)
    #: (SQL text, parameters) of every statement, in order (executemany: the first parameter set).
    executed: list[tuple[str, Any]] = field(default_factory=list)


class StatementCounter:
    """Counts every SQL statement sent to SQLite through the library's engine (transaction control
    excluded) and remembers each distinct statement text with its last parameters."""

    MAX_DISTINCT = 2000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.total = 0
        self._issued: dict[str, Any] = {}

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
        if statement.lstrip()[:9].upper().startswith(_TRANSACTION_CONTROL):
            return
        params = parameters[0] if executemany and parameters else parameters
        with self._lock:
            self.total += 1
            if statement in self._issued or len(self._issued) < self.MAX_DISTINCT:
                self._issued[statement] = params
        for block in getattr(self._local, "blocks", ()):
            block.count += 1
            block.statements.append(statement)
            block.executed.append((statement, params))

    @contextmanager
    def count(self) -> Iterator[StatementCount]:
        """Count the statements the calling thread issues inside the block."""
        block = StatementCount()
        blocks = self._local.__dict__.setdefault("blocks", [])
        blocks.append(block)
        try:
            yield block
        finally:
            blocks.remove(block)

    def issued(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._issued)

    def forget(self) -> None:
        """Forget the distinct statements seen so far (the total keeps counting)."""
        with self._lock:
            self._issued.clear()


# -- pool monitor ---------------------------------------------------------------------------------------

class PoolMonitor:
    """Checkout, overflow, wait and open-connection figures of the engine's connection pool."""

    def __init__(self, size: int, max_overflow: int) -> None:
        self.size = size
        self.max_overflow = max_overflow
        self._lock = threading.Lock()
        self._opened = 0
        self._closed = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._checked_out = getattr(self, "_checked_out", 0)
            self._checkouts = 0
            self._checkins = 0
            self._peak = self._checked_out
            self._waits = 0
            self._wait_seconds = 0.0
            self._max_wait = 0.0

    def attach(self, engine: Engine) -> None:
        event.listen(engine.pool, "connect", self._on_connect)
        event.listen(engine.pool, "close", self._on_close)
        event.listen(engine.pool, "checkout", self._on_checkout)
        event.listen(engine.pool, "checkin", self._on_checkin)

    def _on_connect(self, *args: Any) -> None:
        with self._lock:
            self._opened += 1

    def _on_close(self, *args: Any) -> None:
        with self._lock:
            self._closed += 1

    def _on_checkout(self, *args: Any) -> None:
        with self._lock:
            self._checked_out += 1
            self._checkouts += 1
            self._peak = max(self._peak, self._checked_out)

    def _on_checkin(self, *args: Any) -> None:
        with self._lock:
            self._checked_out -= 1
            self._checkins += 1

    def will_wait(self) -> bool:
        with self._lock:
            return self._checked_out >= self.size + self.max_overflow

    def record_wait(self, seconds: float, waited: bool) -> None:
        with self._lock:
            if waited:
                self._waits += 1
            self._wait_seconds += seconds
            self._max_wait = max(self._max_wait, seconds)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "size": self.size, "max_overflow": self.max_overflow,
                "checked_out": self._checked_out, "checkouts": self._checkouts, "checkins": self._checkins,
                "overflow": max(0, self._checked_out - self.size),
                "peak_checked_out": self._peak, "peak_overflow": max(0, self._peak - self.size),
                "waits": self._waits, "wait_seconds": self._wait_seconds,
                "max_wait_seconds": self._max_wait,
                "connections_opened": self._opened, "connections_closed": self._closed,
                "connections_open": self._opened - self._closed,
            }


# -- connections ----------------------------------------------------------------------------------------

class ConnectionSource(Protocol):
    """Where a repository gets its connections: the pool, or one bound connection."""

    def read(self) -> Any: ...

    def write(self) -> Any: ...


class Database:
    """The engine, its pool and listeners, and the read/write transaction helpers."""

    def __init__(self, path: Path, *, pool_size: int, max_overflow: int, pool_timeout: float,
                 page_cache_mib: int) -> None:
        self.path = path
        self._page_cache_kib = int(page_cache_mib) * 1024
        self.engine = create_engine(
            "sqlite://", creator=self._connect, poolclass=QueuePool, pool_size=pool_size,
            max_overflow=max_overflow, pool_timeout=pool_timeout)
        event.listen(self.engine, "begin", self._on_begin)
        self.statements = StatementCounter()
        self.statements.attach(self.engine)
        self.pool = PoolMonitor(pool_size, max_overflow)
        self.pool.attach(self.engine)
        self.closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                       "busy_timeout = 30000", "temp_store = MEMORY",
                       f"cache_size = -{self._page_cache_kib}", "mmap_size = 268435456"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    @staticmethod
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("begin", "DEFERRED")
        conn.connection.driver_connection.execute(f"BEGIN {mode}")

    def _checkout(self) -> Connection:
        if self.closed:
            raise LibraryError(f"the library {self.path} is closed")
        waited = self.pool.will_wait()
        start = time.perf_counter()
        conn = self.engine.connect()
        self.pool.record_wait(time.perf_counter() - start, waited)
        return conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A pooled connection in a read transaction (one consistent snapshot), rolled back at exit."""
        conn = self._checkout()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A pooled connection in a write transaction (BEGIN IMMEDIATE), committed at a clean exit."""
        conn = self._checkout()
        try:
            conn.execution_options(begin="IMMEDIATE")
            with conn.begin():
                yield conn
        finally:
            conn.close()

    def file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = self.path.with_name(self.path.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    def dispose(self) -> None:
        self.engine.dispose()

    def close(self) -> None:
        """Close every pooled connection (the last one checkpoints the WAL); later use raises."""
        self.closed = True
        self.engine.dispose()


class BoundSource:
    """Every read and write on one connection that already holds a transaction (see without_index)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        yield self._conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        yield self._conn
