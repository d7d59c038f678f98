"""The per-notebook results file: how a notebook hands its records to the pipeline.

A notebook writes it (atomically) when it starts and after every group; the pipeline polls it for the
progress bar and merges it into `results.json` at the end. Because it is rewritten whole after each group,
a notebook that fails half-way still leaves the records of the groups that finished.

    {"schema": 1, "category", "engine", "profile", "started_at", "updated_at", "complete": bool,
     "groups_done": [names], "kernel": {"executable", "pid"}, "checks": [CheckResult dicts]}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from auralis_perf.results import CheckResult, write_json_atomic

SIDE_SCHEMA = 1


def write_side_file(path: str | Path, *, category: str, engine: str, profile: str, started_at: str,
                    updated_at: str, records: Iterable[CheckResult], groups_done: Iterable[str],
                    complete: bool, kernel: dict[str, Any], engine_info: dict[str, Any] | None = None) -> Path:
    """`engine_info` is the engine's `describe()` (JSON-able), once the notebook has built its engine."""
    document = {
        "schema": SIDE_SCHEMA, "category": category, "engine": engine, "profile": profile,
        "started_at": started_at, "updated_at": updated_at, "complete": complete,
        "groups_done": list(groups_done), "kernel": kernel,
        "checks": [r.to_dict() for r in records]}
    if engine_info is not None:
        document["engine_info"] = engine_info
    return write_json_atomic(path, document)


def read_side_file(path: str | Path) -> dict[str, Any] | None:
    """The side file's content, or None when the notebook never wrote one.

    Raises ValueError naming the file when it exists but is not a side file (it is written atomically,
    so this means something else wrote there)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a notebook results file: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SIDE_SCHEMA or not isinstance(data.get("checks"), list):
        raise ValueError(f"{path}: not a notebook results file (schema {SIDE_SCHEMA} with a 'checks' list)")
    return data
