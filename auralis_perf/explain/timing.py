"""A call under pyinstrument: where its time went, by function, own and total.

Why pyinstrument: a statistical sampler (one look at the stack every `interval`), so its overhead stays
low and roughly even across functions, where a tracing profiler (cProfile) taxes every Python call and
inflates small helpers; and it records the time spent inside compiled calls (NumPy, a Numba-compiled
kernel) as frames of their own, not folded into the caller.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Sampling interval: 1 ms gives some thousand samples for a group that runs for seconds.
INTERVAL_S = 0.001
TOP_N = 8
#: Functions kept for later diffs (by own or total time): enough to name what grew, small in results.json.
KEPT_N = 40
#: The harness's own modules and the entry module: their frames are left out of the "by total time" list.
SUITE_MODULES = ("auralis_perf.suites", "auralis_perf.measure", "auralis_perf.explain", "__main__", "__mp_main__",
                 "runpy", "<frozen runpy>")
#: Frames of the harness between the profiler and the workload (run_group, the profiled lambda).
HARNESS_MODULES = frozenset({"auralis_perf.suites", "auralis_perf.explain.timing", "auralis_perf.explain.child"})


@dataclass
class FunctionTime:
    function: str
    module: str
    line: int | None
    own_s: float = 0.0
    total_s: float = 0.0
    dispatcher: str | None = None   # e.g. "numba CPUDispatcher auralis_perf....kernels.envelope"

    @property
    def key(self) -> str:
        return f"{self.module}:{self.function}"


@dataclass
class TimeProfile:
    duration_s: float
    functions: list[FunctionTime] = field(default_factory=list)

    def top(self, by: str, n: int = TOP_N) -> list[FunctionTime]:
        """The `n` functions with most `by` time; by total time the suite's own frames (the group function,
        its timers) are left out: each holds ~100 % and would push the engine's functions off the list."""
        functions = self.functions if by == "own_s" else [
            f for f in self.functions if not f.module.startswith(SUITE_MODULES) and f.function != "<module>"]
        return sorted(functions, key=lambda f: getattr(f, by), reverse=True)[:n]

    def summary(self) -> dict[str, Any]:
        """The compact, JSON-able form kept in the check record (shares of the profiled time)."""
        def row(f: FunctionTime) -> dict[str, Any]:
            total = self.duration_s or 1.0
            return {"function": f.function, "module": f.module, "line": f.line,
                    "own_share": round(f.own_s / total, 4), "total_share": round(f.total_s / total, 4),
                    **({"dispatcher": f.dispatcher} if f.dispatcher else {})}
        kept = {f.key: f for f in self.top("own_s", KEPT_N) + self.top("total_s", KEPT_N)}
        return {"duration_s": round(self.duration_s, 4),
                "top_own": [row(f) for f in self.top("own_s")],
                "top_total": [row(f) for f in self.top("total_s")],
                "functions": {k: row(f) for k, f in kept.items()}}


def profile_call(call: Callable[[], Any], html_path: Path | None = None) -> tuple[Any, TimeProfile]:
    """Run `call()` under pyinstrument; returns its result and the profile (and writes the HTML call tree
    to `html_path` when given). ImportError when pyinstrument is not installed."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=INTERVAL_S)
    started = time.perf_counter()
    profiler.start()
    try:
        result = call()
    finally:
        profiler.stop()
    duration = time.perf_counter() - started
    session = profiler.last_session
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(profiler.output_html(), encoding="utf-8")
    return result, profile_from_frames(session.root_frame(), duration)


def profile_from_frames(root: Any, duration_s: float) -> TimeProfile:
    """Own and total time per function from a pyinstrument frame tree (recursion counted once in total)."""
    modules = _module_names()
    dispatchers = numba_dispatchers()
    by_key: dict[str, FunctionTime] = {}

    def visit(frame: Any, ancestors: frozenset[str]) -> None:
        identifier = frame.identifier or ""
        if identifier.startswith("[") or frame.file_path is None and not frame.function:
            return  # pyinstrument's own pseudo-frames ([self], [await], ...): their time is in the parent's own
        function = frame.function or "?"
        path = frame.file_path or ""
        module = modules.get(_norm(path)) or (frame.file_path_short or path or "?")
        if id(frame) in above or module in HARNESS_MODULES or function == "<lambda>" and module.startswith("auralis_perf.explain"):
            for child in frame.children:  # the profiler's and run_group's own frames: not the workload's
                visit(child, ancestors)
            return
        entry = by_key.setdefault(f"{module}:{function}", FunctionTime(function, module, frame.line_no))
        entry.own_s += frame.total_self_time
        if entry.key not in ancestors:
            entry.total_s += frame.time
        entry.dispatcher = entry.dispatcher or dispatchers.get((_norm(path), frame.line_no))
        for child in frame.children:
            visit(child, ancestors | {entry.key})

    # The frames from the thread down to `profile_call` are the caller's, not the workload's: passed through.
    # (A compiled call can sit beside them at the top: pyinstrument does not always see its Python caller.)
    above = {id(f) for f in _path_to_profile_call(root)} if root is not None else set()
    for frame in (root.children if root is not None and "<thread>" in (root.identifier or "") else [root] if root else []):
        visit(frame, frozenset())
    return TimeProfile(duration_s=duration_s, functions=list(by_key.values()))


def _path_to_profile_call(root: Any) -> list[Any]:
    """The frames from `root` down to `profile_call` (inclusive); empty when it is not in the tree."""
    pending = [(root, [root])]
    while pending:
        frame, path = pending.pop()
        if frame.function == "profile_call" and (frame.file_path or "").endswith("timing.py"):
            return path
        pending.extend((child, path + [child]) for child in frame.children)
    return []


def _norm(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path


def _module_names() -> dict[str, str]:
    """Source file -> module name, for the modules loaded now."""
    names = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path:
            names[_norm(path)] = name
    return names


def numba_dispatchers() -> dict[tuple[str, int], str]:
    """(source file, first line) of each Numba-compiled function loaded now -> the dispatcher it is called
    through. A compiled call has no Python frame of its own; pyinstrument names it after the Python source
    it was compiled from, and this map says it ran as compiled code, through which dispatcher."""
    found: dict[tuple[str, int], str] = {}
    if "numba" not in sys.modules:
        return found
    for name, module in list(sys.modules.items()):
        for value in list(getattr(module, "__dict__", {}).values()):
            kind = type(value)
            if not str(getattr(kind, "__module__", "")).startswith("numba") or not hasattr(value, "py_func"):
                continue
            code = getattr(value.py_func, "__code__", None)
            if code is not None:
                found[(_norm(code.co_filename), code.co_firstlineno)] = (
                    f"numba {kind.__name__} {name}.{value.py_func.__qualname__}")
    return found
