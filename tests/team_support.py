"""Synthetic runs with the real results schema (every record made by `check_record`/`skipped`/`errored`),
for the tests of summary.md, JUnit, the compact mail and the dashboard. Nothing here measures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from auralis_perf.catalog import load_catalog
from auralis_perf.results import check_record, errored, skipped, validate_results

CATALOG = load_catalog()


def passing_value(check_id: str) -> float:
    """A value that holds every tier of the check: the first of a few values near its bounds that does."""
    bounds = [b for b in CATALOG[check_id].tiers.values() if b is not None]
    candidates = [v for b in bounds for v in (b.limit, 2 * b.limit + 1, b.limit / 2, b.limit - 1)] + [1.0]
    return next((v for v in candidates if all(b.holds(v) for b in bounds)), 1.0)


def machine(name: str, model: str = "Synthetic CPU", cores: int = 8) -> dict[str, Any]:
    return {"fingerprint": f"fp-{name}", "cpu": {"model": model, "logical_cores": cores}, "os": {"platform": "Linux"}}


def run_document(uid: str, *, engine: str = "reference", profile: str = "smoke", machine_name: str = "m1",
                 started_at: datetime | None = None, categories: tuple[str, ...] | None = None,
                 values: dict[str, float] | None = None, scale: float = 1.0, skip: tuple[str, ...] = (),
                 error: tuple[str, ...] = (), rng: np.random.Generator | None = None) -> dict[str, Any]:
    """A valid results document: every check of `categories` (default all) with a passing value times
    `scale` (and a little noise with `rng`), `values` overriding, `skip`/`error` IDs as such."""
    started_at = started_at or datetime(2026, 1, 1, tzinfo=timezone.utc)
    checks = []
    for check_id, spec in CATALOG.checks.items():
        if categories and spec.category not in categories:
            continue
        if check_id in skip:
            checks.append(skipped(spec, "the engine has no playback").to_dict())
            continue
        if check_id in error:
            checks.append(errored(spec, "RuntimeError: boom").to_dict())
            continue
        value = (values or {}).get(check_id, passing_value(check_id) * scale)
        noise = rng.lognormal(0, 0.02, 5) if rng is not None else np.ones(5)
        checks.append(check_record(check_id, value, catalog=CATALOG, samples=list(value * noise)).to_dict())
    finished = started_at + timedelta(minutes=3)
    run = {"id": uid, "started_at": started_at.isoformat(), "finished_at": finished.isoformat(),
           "duration_s": 180.0, "engine": engine, "profile": profile, "machine": machine(machine_name),
           "versions": {"python": "3.11", "auralis-perf": "0.1.0"}, "parameters": {}, "notebooks": []}
    doc = {"schema": 1, "run": run, "checks": checks}
    assert validate_results(doc) == []
    return doc


def regression(check_id: str, before: float, after: float, *, critical: bool = True,
               engine: str = "reference") -> dict[str, Any]:
    """A baseline verdict as the regression step hands it to the pipeline."""
    spec = CATALOG[check_id]
    return {"id": check_id, "title": spec.title, "unit": spec.unit, "verdict": "regressed", "before": before,
            "after": after, "ratio": after / before, "p_value": 0.001, "rule": "samples",
            "note": "slower in every sample", "critical": critical, "normalised": False, "engine": engine}


def fill_store(store: Any, *, machines: int = 3, engines: tuple[str, ...] = ("reference", "pedalboard"),
               profiles: tuple[str, ...] = ("smoke", "standard"), runs_per_key: int = 8,
               step_check: str = "RT-06", seed: int = 7) -> list[dict[str, Any]]:
    """Append runs_per_key runs of every machine x engine x profile through the store's own API; on
    machine m1 `step_check` gets 40 % slower half-way (a step). Returns the documents, in append order."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    docs = []
    for k in range(runs_per_key):
        for m in range(1, machines + 1):
            for engine in engines:
                for profile in profiles:
                    values = {}
                    if m == 1 and k >= runs_per_key // 2:
                        values[step_check] = passing_value(step_check) * 1.4 * float(rng.lognormal(0, 0.01))
                    doc = run_document(f"run-{k}-m{m}-{engine}-{profile}", engine=engine, profile=profile,
                                       machine_name=f"m{m}", started_at=start + timedelta(hours=k, minutes=m),
                                       values=values, rng=rng, scale=float(rng.lognormal(0, 0.02)))
                    store.append(doc)
                    docs.append(doc)
    return docs
