"""A call under a memory profiler: which call sites hold the memory alive at the peak.

memray when it is installed: it intercepts the allocator itself, so memory that native code (NumPy's
buffers, a C library) allocates is seen too, and it reads the live allocations at the high-water mark
exactly; its flame graph is written as a side file. tracemalloc otherwise: it sees only allocations made
through Python's allocators (NumPy registers its buffers there, most C libraries do not), and the peak is
approximated by snapshots taken whenever the traced total climbs past the largest seen so far.
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
#: The tracemalloc poller's period and the growth that triggers a fresh snapshot (snapshots are costly).
POLL_S = 0.01
SNAPSHOT_GROWTH = 1.05
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
    best: dict[str, Any] = {"total": 0, "snapshot": None}
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            current, _ = tracemalloc.get_traced_memory()
            if current > best["total"] * SNAPSHOT_GROWTH:
                best["snapshot"], best["total"] = tracemalloc.take_snapshot(), current

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        result = call()
    finally:
        stop.set()
        poller.join()
        _, peak = tracemalloc.get_traced_memory()
        if not was_tracing:
            tracemalloc.stop()
    sites = []
    if best["snapshot"] is not None:
        for stat in best["snapshot"].statistics("traceback")[:50]:
            frames = [("", f.filename, f.lineno) for f in reversed(stat.traceback)]  # innermost first
            function, file, line, caller = site_of(frames)
            sites.append(CallSite(function, file, line, stat.size, stat.count, caller))
    return result, MemoryProfile(
        profiler="tracemalloc (Python allocators only; memray not used)", peak_bytes=peak, sites=sites,
        note=f"call sites from the largest snapshot taken ({best['total'] / MB:.1f} MB traced), "
             f"near the peak of {peak / MB:.1f} MB")
