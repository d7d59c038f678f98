"""EXPLAIN QUERY PLAN, read into a small record that says which indexes a query uses and what it scans."""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

# "SCAN tracks", "SCAN t", "SEARCH tracks USING INDEX ix (title>?)", "SCAN tracks USING COVERING INDEX ix"
_DETAIL = re.compile(r"^(?P<op>SCAN|SEARCH) (?:TABLE )?(?P<table>\S+)(?: AS (?P<alias>\S+))?(?P<rest>.*)$")
_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\S+)|USING (INTEGER PRIMARY KEY|PRIMARY KEY)")


@dataclass(frozen=True)
class QueryPlan:
    """The plan SQLite chose for one statement."""

    sql: str
    params: Any
    rows: tuple[tuple[int, int, str], ...]

    @property
    def text(self) -> str:
        return "\n".join(detail for _, _, detail in self.rows)

    @property
    def indexes(self) -> list[str]:
        """Index names used (INTEGER PRIMARY KEY lookups appear as "PRIMARY KEY")."""
        found = []
        for _, _, detail in self.rows:
            for named, primary in _INDEX.findall(detail):
                found.append(named or "PRIMARY KEY")
        return found

    @property
    def full_scans(self) -> list[str]:
        """Tables read from start to end without any index (virtual tables and the query's own
        materialised subqueries excluded)."""
        derived = {detail.split()[-1] for _, _, detail in self.rows
                   if detail.startswith(("MATERIALIZE ", "CO-ROUTINE "))}
        scans = []
        for _, _, detail in self.rows:
            match = _DETAIL.match(detail)
            if match and match["op"] == "SCAN" and "VIRTUAL TABLE" not in detail \
                    and not _INDEX.search(detail) and match["table"] not in derived:
                scans.append(match["table"])
        return scans

    @property
    def temp_btree(self) -> bool:
        """True when SQLite had to sort (ORDER BY / GROUP BY / DISTINCT not served by an index)."""
        return any("USE TEMP B-TREE" in detail for _, _, detail in self.rows)

    def uses_index(self, name: str | None = None) -> bool:
        used = self.indexes
        return bool(used) if name is None else name in used

    def scans(self, table: str) -> bool:
        """True when `table` is read in full without an index."""
        return table in self.full_scans


def _compile(statement: Any, params: Any, conn: Connection) -> tuple[str, Any]:
    if isinstance(statement, ClauseElement):
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        positional = [compiled.params[name] for name in compiled.positiontup or ()]
        return str(compiled), tuple(positional) if positional else dict(compiled.params)
    return str(statement), params


def explain(conn: Connection, statement: Any, params: Any = None) -> QueryPlan:
    """EXPLAIN QUERY PLAN of SQL text (with its parameters) or of a SQLAlchemy statement."""
    sql, bound = _compile(statement, params, conn)
    if bound is None:
        bound = ()
    if isinstance(bound, list):
        bound = tuple(bound)
    if isinstance(bound, dict) and not bound:
        bound = ()
    raw = conn.connection.driver_connection
    # The driver caches prepared statements by text, and a cached EXPLAIN is not re-prepared after a
    # schema change (an index dropped for comparison, then restored by a rollback): key the text by
    # the schema version and the set of indexes.
    version = raw.execute("PRAGMA schema_version").fetchone()[0]
    names = raw.execute("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master "
                        "WHERE type = 'index' ORDER BY name)").fetchone()[0] or ""
    schema = f"{version}-{zlib.crc32(names.encode('utf-8')):08x}"
    rows = raw.execute(f"/* schema {schema} */ EXPLAIN QUERY PLAN {sql}", bound).fetchall()
    return QueryPlan(sql=sql, params=bound, rows=tuple((r[0], r[1], r[3]) for r in rows))


def explainable(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head in ("SELECT", "UPDATE", "DELETE") or sql.lstrip()[:4].upper() == "WITH"


__all__ = ["QueryPlan", "explain", "explainable", "text"]
