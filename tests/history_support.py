"""Synthetic results documents for the history and regression tests (no measuring anywhere)."""
from __future__ import annotations

from typing import Any

import numpy as np

CONTROL = {"version": 1, "cpu": {"median_s": 0.010}, "memory": {"median_s": 0.020}}


def control(slower: float = 1.0) -> dict[str, Any]:
    """A control workload result whose kernels took `slower` times the reference's time."""
    return {"version": 1, "cpu": {"median_s": 0.010 * slower}, "memory": {"median_s": 0.020 * slower}}


def check(check_id: str, value: float | None, *, samples: list[float] | None = None, unit: str = "ms",
          kind: str | None = "time", status: str = "pass", reason: str | None = None,
          direction: str = "lower") -> dict[str, Any]:
    return {"id": check_id, "category": "realtime", "title": f"synthetic {check_id}", "status": status,
            "value": value, "unit": unit, "samples": list(samples or []), "criterion": "", "tiers": {},
            "reason": reason, "kind": kind, "direction": direction}


def timing(check_id: str, samples: list[float] | np.ndarray, **kwargs: Any) -> dict[str, Any]:
    samples = [float(s) for s in samples]
    return check(check_id, float(np.median(samples)), samples=samples, **kwargs)


def results(uid: str, checks: list[dict[str, Any]], *, machine: str = "m-test", engine: str = "reference",
            profile: str = "smoke", started_at: str = "2025-01-01T00:00:00Z",
            control: dict[str, Any] | None = CONTROL,
            control_by_category: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    run = {"id": uid, "started_at": started_at, "finished_at": started_at, "engine": engine, "profile": profile,
           "machine": {"fingerprint": machine, "cpu": {"model": "synthetic"}}, "versions": {}, "parameters": {}}
    if control is not None:
        run["control"] = control
    if control_by_category is not None:
        run["control_by_category"] = control_by_category
    return {"schema": 1, "run": run, "checks": checks}


def noisy(rng: np.random.Generator, n: int, *, scale: float = 1.0, sigma: float = 0.04,
          outlier_rate: float = 0.05) -> np.ndarray:
    """Skewed timing-like samples: lognormal core plus occasional 1.2-2x slow outliers (a busy shared box)."""
    x = rng.lognormal(0.0, sigma, n)
    slow = rng.random(n) < outlier_rate
    x[slow] *= rng.uniform(1.2, 2.0, int(slow.sum()))
    return scale * x
