"""A call under a memory profiler: which call sites hold the memory alive at the peak.

memray when it is installed: it intercepts the allocator itself, so memory that native code (NumPy's
buffers, a C library) allocates is seen too, and it reads the live allocations at the high-water mark
exactly; its flame graph is written as a side file. tracemalloc otherwise: it sees only allocations made
through Python's allocators (NumPy registers its buffers there, most C libraries do not), and the peak is
read at every call and return (see `PeakWatch`), so a buffer that lives for one call only is still seen.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOP_N = 8
MB = 2**20
#: The tracemalloc poller's period (for threads without the profile hook) and the growth of the traced
#: total over the last snapshot's that triggers a fresh one (a snapshot costs time per live allocation).
POLL_S = 0.01
SNAPSHOT_GROWTH = 1.01
#: Call sites kept from each snapshot (by size).
SITES_KEPT = 50
STACK_DEPTH = 12


@dataclass
class CallSite:
    function: str
    file: str
    line: int
    bytes: int
    allocations: int
    caller: str = ""     # the first frame outside NumPy/SciPy/the standard library, when the site is inside them


#: Path parts of libraries whose allocation sites say less than the code that called them.
LIBRARY_PARTS = ("/numpy/", "/scipy/", "/lib/python3.")


def site_of(frames: list[tuple[str, str, int]]) -> tuple[str, str, int, str]:
    """(function, file, line, caller) for a stack given innermost first."""
    if not frames:
        return "<native, no Python frame>", "", 0, ""
    function, file, line = frames[0]
    caller = ""
    if any(part in file for part in LIBRARY_PARTS):
        outside = next((f for f in frames[1:] if not any(part in f[1] for part in LIBRARY_PARTS)), None)
        if outside is not None:
            caller = f"{outside[0]} ({outside[1]}:{outside[2]})"
    return function, file, line, caller


@dataclass
class MemoryProfile:
    profiler: str                      # "memray 1.20.0" or "tracemalloc (Python allocators only)"
    peak_bytes: int
    sites: list[CallSite] = field(default_factory=list)
    flamegraph: Path | None = None
    note: str = ""

    def summary(self) -> dict[str, Any]:
        total = sum(s.bytes for s in self.sites) or 1
        return {"profiler": self.profiler, "peak_mb": round(self.peak_bytes / MB, 3), "note": self.note,
                "top_sites": [{"function": s.function, "file": s.file, "line": s.line,
                               "mb": round(s.bytes / MB, 3), "share": round(s.bytes / total, 4),
                               "allocations": s.allocations,
                               **({"caller": s.caller} if s.caller else {})}
                              for s in sorted(self.sites, key=lambda s: s.bytes, reverse=True)[:TOP_N]]}


def memray_available() -> bool:
    try:
        import memray  # noqa: F401
    except ImportError:
        return False
    return True


def profile_memory(call: Callable[[], Any], folder: Path, stem: str, *, use_memray: bool | None = None) -> tuple[Any, MemoryProfile]:
    """Run `call()` under memray (when available, unless `use_memray=False`) or tracemalloc."""
    if use_memray is None:
        use_memray = memray_available()
    folder.mkdir(parents=True, exist_ok=True)
    if use_memray:
        return _with_memray(call, folder, stem)
    return _with_tracemalloc(call)


def _with_memray(call: Callable[[], Any], folder: Path, stem: str) -> tuple[Any, MemoryProfile]:
    import memray

    capture = folder / f"{stem}.memray"
    capture.unlink(missing_ok=True)
    with memray.Tracker(str(capture)):
        result = call()
    reader = memray.FileReader(str(capture))
    sites: dict[tuple[str, str, int, str], CallSite] = {}
    for record in reader.get_high_watermark_allocation_records(merge_threads=True):
        key = site_of(list(record.stack_trace(max_stacks=STACK_DEPTH)))
        site = sites.setdefault(key, CallSite(key[0], key[1], key[2], 0, 0, key[3]))
        site.bytes += record.size
        site.allocations += record.n_allocations
    profile = MemoryProfile(profiler=f"memray {memray.__version__}", peak_bytes=reader.metadata.peak_memory,
                            sites=list(sites.values()))
    flamegraph = folder / f"{stem}.memory.html"
    done = subprocess.run([sys.executable, "-m", "memray", "flamegraph", "--force", "-o", str(flamegraph),
                           str(capture)], capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        profile.flamegraph = flamegraph
    else:
        profile.note = f"the flame graph could not be drawn: {done.stderr.strip()[-300:]}"
    capture.unlink(missing_ok=True)  # the capture is large; the flame graph holds what a reader needs
    return result, profile


def _with_tracemalloc(call: Callable[[], Any]) -> tuple[Any, MemoryProfile]:
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start(STACK_DEPTH)
    tracemalloc.reset_peak()
    watch = PeakWatch()
    old_profile, old_thread_profile = sys.getprofile(), threading.getprofile()
    stop = threading.Event()

    def poll() -> None:  # threads that were running before the call have no hook: they are polled
        while not stop.wait(POLL_S):
            watch.check()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    threading.setprofile(watch.hook)
    sys.setprofile(watch.hook)
    try:
        result = call()
    finally:
        sys.setprofile(old_profile)
        threading.setprofile(old_thread_profile)
        stop.set()
        poller.join()
        peak = watch.peak()
        if not was_tracing:
            tracemalloc.stop()
    sites = []
    for stat in watch.statistics:  # tracebacks are outermost first; site_of wants the innermost first
        function, file, line, caller = site_of([("", f.filename, f.lineno) for f in reversed(stat.traceback)])
        sites.append(CallSite(function, file, line, stat.size, stat.count, caller))
    return result, MemoryProfile(
        profiler="tracemalloc (Python allocators only; memray not used)", peak_bytes=peak, sites=sites,
        note=f"call sites as they stood at the highest traced total seen at a call or return "
             f"({watch.best / MB:.1f} MB), of a peak of {peak / MB:.1f} MB")


class PeakWatch:
    """The call sites alive at (nearly) the peak of the traced memory, for tracemalloc.

    tracemalloc knows its peak exactly (`get_traced_memory`) but not what was alive then, and a snapshot
    can only be taken from Python. So the traced total is read at every call and return of every thread
    started under the watch (a profile hook; other threads are polled), and a snapshot is taken whenever it
    exceeds the highest one seen by `SNAPSHOT_GROWTH`: a buffer that lives for a single call is still alive
    at that call's return. What it cannot see is a temporary that lives inside one native call or one
    expression (NumPy's intermediates in `a * b + c`); the note compares the snapshot's total to the peak.
    """

    def __init__(self) -> None:
        self.best = 0                         # traced bytes when the kept statistics were taken
        self.statistics: list[tracemalloc.Statistic] = []
        self._threshold = 0
        self._peak = 0
        self._lock = threading.Lock()

    def hook(self, frame: Any, event: str, arg: Any) -> None:  # sys.setprofile's signature
        if tracemalloc.get_traced_memory()[0] > self._threshold:
            self.check()

    def check(self) -> None:
        with self._lock:  # a thread that finds another snapshotting waits: its own peak must not slip by
            self._check()

    def _check(self) -> None:
        current, peak = tracemalloc.get_traced_memory()
        if current <= self._threshold:
            return
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        self.statistics = snapshot.statistics("traceback")[:SITES_KEPT]
        del snapshot
        # the snapshot's own objects are traced too: keep the peak as it was, then start afresh
        self._peak = max(self._peak, peak)
        tracemalloc.reset_peak()
        self.best, self._threshold = current, int(current * SNAPSHOT_GROWTH)

    def peak(self) -> int:
        return max(self._peak, tracemalloc.get_traced_memory()[1])
