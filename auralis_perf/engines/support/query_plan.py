"""A SQLite query plan (EXPLAIN QUERY PLAN rows) read into what the checks ask: indexes used, full scans,
sorts. Shared by the harness's database introspection (auralis_perf.measure.database) and the reference
library's own diagnostics, so both read a plan the same way.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# "SCAN tracks", "SCAN t", "SEARCH tracks USING INDEX ix (title>?)", "SCAN tracks USING COVERING INDEX ix"
PLAN_DETAIL = re.compile(r"^(?P<op>SCAN|SEARCH) (?:TABLE )?(?P<table>\S+)(?: AS (?P<alias>\S+))?(?P<rest>.*)$")
PLAN_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\S+)|USING (INTEGER PRIMARY KEY|PRIMARY KEY)")


@dataclass(frozen=True)
class QueryPlan:
    """The plan SQLite chose for one statement (EXPLAIN QUERY PLAN rows: id, parent, detail)."""

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
            for named, primary in PLAN_INDEX.findall(detail):
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
            match = PLAN_DETAIL.match(detail)
            if match and match["op"] == "SCAN" and "VIRTUAL TABLE" not in detail \
                    and not PLAN_INDEX.search(detail) and match["table"] not in derived:
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


def explainable(sql: str) -> bool:
    """Statements EXPLAIN QUERY PLAN can describe (reads, updates, deletes)."""
    head = sql.lstrip()[:6].upper()
    return head in ("SELECT", "UPDATE", "DELETE") or sql.lstrip()[:4].upper() == "WITH"


def distinct_explainable(executed: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The explainable statements of an executed sequence, each once (first parameters kept), in order."""
    seen: dict[str, Any] = {}
    for sql, params in executed:
        if explainable(sql) and sql not in seen:
            seen[sql] = params
    return seen


__all__ = ["PLAN_DETAIL", "PLAN_INDEX", "QueryPlan", "distinct_explainable", "explainable"]
