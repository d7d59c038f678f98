"""Fresh-process measurements started early and collected later, so a group does not wait on them.

A check that needs its own interpreter (idle footprint, a streamed large file, Numba blocked) spends most
of its time starting Python and importing the engine. `start` runs it on a helper thread (the work is in
the child process) while the group's in-process checks go on; the check then takes the result with
`result`, or runs the work itself when nothing was started. Only memory figures and fresh-process
figures go to the background: timings measured in this process must not share the cores with a child.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from auralis_perf.suites import SuiteContext

T = TypeVar("T")
_KEY = "memopt_background"
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memopt-child")


def start(ctx: SuiteContext, key: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
    """Begin `fn(*args, **kwargs)` on a helper thread, unless `key` is already under way."""
    futures: dict[str, Future] = ctx.shared.setdefault(_KEY, {})
    if key not in futures:
        futures[key] = _POOL.submit(fn, *args, **kwargs)


def result(ctx: SuiteContext, key: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The result of the work started under `key` (its exception re-raised), or of running it now."""
    future = ctx.shared.get(_KEY, {}).pop(key, None)
    if future is None:
        return fn(*args, **kwargs)
    return future.result()


__all__ = ["result", "start"]
