"""Synthetic results documents for the history and regression tests (no measuring anywhere), and a writer
killed half-way through its append."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

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


_KILLED = textwrap.dedent("""
    import signal, sys
    sys.path.insert(0, sys.argv[3])
    from sqlalchemy import event
    from auralis_perf.history import HistoryStore
    from history_support import results, timing
    store = HistoryStore(sys.argv[1])
    @event.listens_for(store.engine, "after_cursor_execute")
    def stop_half_way(conn, cursor, statement, *args):
        if "INSERT INTO check_samples" in statement:
            open(sys.argv[2], "w").write("inside the transaction")
            signal.pause()  # the parent kills us here, with the run row written but not committed
    store.append(results("doomed", [timing("RT-06", [1.0, 1.1, 1.2, 1.0, 1.05])]))
""")


def kill_half_way_through_an_append(url: str, marker: Path) -> None:
    """Append a run to the store at `url` in a child process and SIGKILL it inside the transaction (once it
    has written `marker`); the child is reaped before this returns."""
    child = subprocess.Popen([sys.executable, "-c", _KILLED, url, str(marker), str(TESTS)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached the middle of its append"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
