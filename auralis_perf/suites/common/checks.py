"""Running a group's checks one by one, so that one failing scenario never hides the other four.

    def measure_mem01(ctx) -> CheckResult: ...
    records = run_checks(ctx, [("MEM-01", measure_mem01), ...])

A missing capability (`NotSupported`) becomes a `skip` with the engine's reason, any other exception an
`error` record with its traceback in the details.
"""
from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from auralis_perf.engines import NotSupported
from auralis_perf.results import CheckResult, check_record, errored, skipped
from auralis_perf.suites import SuiteContext

CheckFunction = Callable[[SuiteContext], CheckResult]
#: The reason of a check's record when the run asked only for other checks of its group (`ctx.only`).
NOT_ASKED = "not run: this run asked only for other checks of the group"


def run_checks(ctx: SuiteContext, checks: Sequence[tuple[str, CheckFunction]]) -> list[CheckResult]:
    """Run each check function; every ID gets exactly one record whatever happens (a check the context
    does not ask for, `ctx.only`, is not run: its record is a skip saying so)."""
    records = []
    for check_id, function in checks:
        if not ctx.asked(check_id):
            records.append(skipped(ctx.catalog[check_id], NOT_ASKED))
            continue
        started = time.perf_counter()
        try:
            record = function(ctx)
            if record.id != check_id:
                raise RuntimeError(f"{function.__name__} returned a record for {record.id}, not {check_id}")
        except NotSupported as exc:
            record = skipped(ctx.catalog[check_id], str(exc))
        except Exception as exc:  # one broken scenario must not take down the group
            record = errored(ctx.catalog[check_id], exc)
            record.details["traceback"] = traceback.format_exc(limit=8)
        record.details.setdefault("scenario_seconds", round(time.perf_counter() - started, 3))
        records.append(record)
    return records


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's sight for the block (gc.freeze).

    A notebook kernel holds hundreds of thousands of objects (NumPy, SciPy, Numba, pandas, matplotlib);
    a full collection walks all of them, 0.1-0.5 s each time, and the memory checks collect before every
    reading. Frozen objects are the ones that existed before the checks (never the engine's work under
    measurement, which is allocated later and collected as usual), so collections cost microseconds.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def record(ctx: SuiteContext, check_id: str, value: float | None, **kwargs: Any) -> CheckResult:
    """`results.check_record` judged against this run's thresholds file."""
    return check_record(check_id, value, catalog=ctx.catalog, **kwargs)


def require(ctx: SuiteContext, *capabilities: str) -> None:
    """Raise NotSupported (→ skip) naming the first capability the engine lacks."""
    for capability in capabilities:
        ctx.engine.require(capability)


def scaled(profile: str, what: str, seed_size: Any, used: Any) -> dict[str, str]:
    """details entry saying a seed size was scaled down for this profile (empty when not scaled)."""
    if used == seed_size:
        return {}
    return {"scaled": f"{what}: {seed_size} -> {used} ({profile} profile; `full` uses the catalogue's size)"}


__all__ = ["NOT_ASKED", "CheckFunction", "frozen_heap", "record", "require", "run_checks", "scaled"]
