"""EXPLAIN QUERY PLAN on one of the library's connections (its own diagnostics: `Library.plans`, the bench).

The plan record is `auralis_perf.engines.support.query_plan.QueryPlan`, the harness's reading of a plan too.
"""
from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

from auralis_perf.engines.support.query_plan import QueryPlan, explainable


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


__all__ = ["QueryPlan", "explain", "explainable", "text"]
