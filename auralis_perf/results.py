"""The `results.json` contract: one record per check, plus the run's metadata.

    {"run": {id, started_at, finished_at, engine, profile, machine, versions, parameters, ...},
     "checks": [{id, category, title, status, value, unit, samples, criterion, tiers, reason, ...}]}

`status` is `pass`, `fail`, `skip` or `error`. `tiers` maps critical/target/stretch to true (held),
false (missed) or null (no bound, or no value). A check's status is `fail` when its first defined tier is
missed or when the suite found a violation (e.g. a fast path that changed the audio); a check without tiers
that was measured passes. Only critical misses make the report exit non-zero.

Files are written atomically (temporary file, fsync, rename): a killed run never leaves half a file.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from auralis_perf.catalog import TIERS, Catalog, CheckSpec, load_catalog

if TYPE_CHECKING:
    from datetime import datetime

STATUSES = ("pass", "fail", "skip", "error")
SCHEMA_VERSION = 1


@dataclass
class CheckResult:
    id: str
    category: str
    title: str
    status: str
    value: float | None
    unit: str
    samples: list[float]
    criterion: str
    tiers: dict[str, bool | None]
    reason: str | None = None
    direction: str = "higher"
    #: What kind of figure `value` is, e.g. "time", "rss", "uss", "peak_rss", "traced", "count", "ratio".
    kind: str | None = None
    #: median, iqr, cv, n, min, max of the samples, when they are timings.
    summary: dict[str, float] = field(default_factory=dict)
    #: Scenario data for plots and tables (per-size figures, query plans, evidence, ...). JSON-able.
    details: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    engine: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckResult":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def critical_missed(self) -> bool:
        return self.tiers.get("critical") is False


def evaluate(spec: CheckSpec, value: float | None, *, samples: Iterable[float] = (),
             violations: Iterable[str] = (), kind: str | None = None, summary: dict[str, float] | None = None,
             details: dict[str, Any] | None = None, unit: str | None = None) -> CheckResult:
    """Judge a measured value against the check's tiers and return its record."""
    violations = list(violations)
    tiers: dict[str, bool | None] = {}
    for tier in TIERS:
        bound = spec.tiers.get(tier)
        if bound is None or value is None or (isinstance(value, float) and math.isnan(value)):
            tiers[tier] = None
        else:
            tiers[tier] = bool(bound.holds(value)) and not violations
    gating = spec.gating_tier
    if violations:
        status = "fail"
        for tier in TIERS:
            if spec.tiers.get(tier) is not None:
                tiers[tier] = False
    elif value is None:
        status = "error"
    elif gating is not None and tiers[gating] is False:
        status = "fail"
    else:
        status = "pass"
    return CheckResult(
        id=spec.id, category=spec.category, title=spec.title, status=status, value=value,
        unit=unit or spec.unit, samples=[float(s) for s in samples], criterion=spec.criterion, tiers=tiers,
        reason="; ".join(violations) if violations else (None if value is not None else "no value measured"),
        direction=spec.direction, kind=kind, summary=dict(summary or {}), details=dict(details or {}),
        violations=violations)


def skipped(spec: CheckSpec, reason: str) -> CheckResult:
    return CheckResult(id=spec.id, category=spec.category, title=spec.title, status="skip", value=None,
                       unit=spec.unit, samples=[], criterion=spec.criterion,
                       tiers={t: None for t in TIERS}, reason=reason, direction=spec.direction)


def errored(spec: CheckSpec, error: BaseException | str) -> CheckResult:
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return CheckResult(id=spec.id, category=spec.category, title=spec.title, status="error", value=None,
                       unit=spec.unit, samples=[], criterion=spec.criterion,
                       tiers={t: None for t in TIERS}, reason=reason, direction=spec.direction)


def check_record(check_id: str, value: float | None, *, catalog: Catalog | None = None,
                 **kwargs: Any) -> CheckResult:
    """Shorthand for suites: `evaluate` with the spec looked up by ID."""
    return evaluate((catalog or load_catalog())[check_id], value, **kwargs)


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types only; NaN and infinities become null so the file stays strict JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
        obj = obj.item()  # numpy scalar
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def run_id(started: "datetime", *parts: str) -> str:
    """A run's id: its UTC start, what identifies it (engine, profile, ...) and 8 random hex digits, so
    two runs in the same second differ (the history store keys runs by id)."""
    return "-".join([f"{started:%Y%m%dT%H%M%SZ}", *parts, uuid.uuid4().hex[:8]])


def run_metadata(*, run_id: str, started: "datetime", finished: "datetime", engine: str, profile: str,
                 machine: dict[str, Any], versions: dict[str, Any], parameters: dict[str, Any],
                 **extra: Any) -> dict[str, Any]:
    """The `run` object of the contract, with the keys every front end (notebooks, pytest) writes."""
    return {"id": run_id, "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - started).total_seconds(), 3),
            "engine": engine, "profile": profile, "machine": machine, "versions": versions,
            "parameters": parameters, **extra}


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON through a temporary file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(data), fh, indent=1, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_results(path: str | Path, run: dict[str, Any], checks: Iterable[CheckResult | dict[str, Any]]) -> Path:
    records = [c.to_dict() if isinstance(c, CheckResult) else to_jsonable(c) for c in checks]
    return write_json_atomic(path, {"schema": SCHEMA_VERSION, "run": run, "checks": records})


def read_results(path: str | Path) -> dict[str, Any]:
    """Read and validate a results.json; raises ValueError naming the file on anything malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read results: {exc}") from exc
    problems = validate_results(data)
    if problems:
        raise ValueError(f"{path}: not a valid results file: {'; '.join(problems[:5])}")
    return data


def validate_results(data: Any) -> list[str]:
    """Problems with a results document against the contract; empty when it conforms."""
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict) or not isinstance(data.get("checks"), list):
        return ["expected an object with 'run' (object) and 'checks' (list)"]
    problems = []
    for key in ("id", "started_at", "finished_at", "engine", "profile", "machine", "versions", "parameters"):
        if key not in data["run"]:
            problems.append(f"run lacks {key!r}")
    for i, check in enumerate(data["checks"]):
        where = f"checks[{i}] ({check.get('id', '?') if isinstance(check, dict) else '?'})"
        if not isinstance(check, dict):
            problems.append(f"{where} is not an object")
            continue
        for key in ("id", "category", "title", "status", "value", "unit", "samples", "criterion", "tiers"):
            if key not in check:
                problems.append(f"{where} lacks {key!r}")
        if check.get("status") not in STATUSES:
            problems.append(f"{where} has status {check.get('status')!r}")
        if check.get("status") in ("skip", "error") and not check.get("reason"):
            problems.append(f"{where} is {check.get('status')} without a reason")
        value = check.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            problems.append(f"{where} value is not a number")
        if not isinstance(check.get("samples", []), list):
            problems.append(f"{where} samples is not a list")
        tiers = check.get("tiers", {})
        if not isinstance(tiers, dict) or any(t not in TIERS or v not in (True, False, None) for t, v in tiers.items()):
            problems.append(f"{where} tiers malformed")
    return problems


def results_frame(data: dict[str, Any]):  # -> pandas.DataFrame (imported lazily: pandas is slow to import)
    import pandas as pd

    rows = [{k: c.get(k) for k in ("id", "category", "title", "status", "value", "unit", "criterion", "reason")}
            | {f"tier_{t}": c.get("tiers", {}).get(t) for t in TIERS} | {"n_samples": len(c.get("samples", []))}
            for c in data["checks"]]
    return pd.DataFrame(rows)
