"""Audio cache scenarios (CACHE-11..15, CACHE-17, CACHE-18) on the engine's `open_audio_cache(directory)`.

The cache computes an analysis of a file on the first request (`get(path, kind)`, kind one of waveform,
spectrum, fingerprint, analysis) and answers later requests from memory or from its folder on disk. These
scenarios write test audio files (music-like, or excerpts of the user's own audio), then:

- time the first (computing) and the second (cached) request and check in `stats()` that the second hit;
- read the entries back from a *new process* (CACHE-15);
- change files and rescan a library folder and count stale answers against a cache that never saw the old
  files (CACHE-17, CACHE-18).
"""
from __future__ import annotations

import math
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from auralis_perf.engines import Capability, EngineError, NotSupported
from auralis_perf.engines.protocols.library import LibraryFeature
from auralis_perf.measure.isolated import run_isolated
from auralis_perf.measure.timing import measure_time
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.audio import describe_source, test_audio
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import max_abs_diff
from auralis_perf.suites.common.engine_spec import child_env, child_spec, engine_from_spec
from auralis_perf.suites.library_workload.invalidation import StaleTally
from auralis_perf.suites.library_workload.workload import open_library, remove_library_files, replay, require_feature

KIND_CHECKS = {"CACHE-11": "waveform", "CACHE-12": "spectrum", "CACHE-13": "fingerprint", "CACHE-14": "analysis"}
KINDS = tuple(KIND_CHECKS.values())
SIZES = {
    "smoke": {"seconds": 3.0, "files": 2, "rounds": 5, "persist_files": 1, "change_seconds": 3.0,
              "scan_files": 5},
    "standard": {"seconds": 30.0, "files": 3, "rounds": 5, "persist_files": 3, "change_seconds": 10.0,
                 "scan_files": 12},
    "full": {"seconds": 120.0, "files": 5, "rounds": 7, "persist_files": 5, "change_seconds": 30.0,
             "scan_files": 40},
}
_FILES = "audio_cache.files"


def _root(ctx: SuiteContext) -> Path:
    return ctx.workdir / "audio-cache"


def _fresh_folder(path: Path) -> Path:
    """An empty folder at `path` (what an earlier run left there is removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path.resolve()


def open_cache(ctx: SuiteContext, directory: Path, *, fresh: bool = True) -> Any:
    """The engine's audio cache in `directory` (emptied first unless `fresh` is False)."""
    require(ctx, Capability.AUDIO_CACHE)
    if fresh:
        _fresh_folder(directory)
    return ctx.engine.open_audio_cache(directory)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, *, tags: dict[str, str] | None = None) -> Path:
    """Write `audio` to `path` (format from the extension), with title/artist/album tags when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial" + path.suffix)
    subtype = "PCM_16"
    with sf.SoundFile(str(partial), "w", sample_rate, audio.shape[1], subtype=subtype) as out:
        for name, value in (tags or {}).items():
            setattr(out, name, value)
        out.write(audio)
    partial.replace(path)
    return path


def test_files(ctx: SuiteContext) -> list[Path]:
    """The audio files the hit checks request (written once per run)."""
    if _FILES not in ctx.shared:
        size = ctx.sizes(SIZES)
        folder = _fresh_folder(_root(ctx) / "files")
        files = []
        for i in range(size["files"]):
            audio, sr = test_audio(ctx, size["seconds"], seed=11 + i)
            files.append(write_audio(folder / f"track-{i + 1}.wav", audio, sr))
        ctx.shared[_FILES] = files
    return ctx.shared[_FILES]


def _delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    return int(after.get(key, 0)) - int(before.get(key, 0))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def hit_rounds(cache: Any, files: list[Path], kind: str, rounds: int) -> list[dict[str, Any]]:
    """Per round: drop the file's entries, time the computing request, then the cached one."""
    rows = []
    for r in range(rounds):
        path = files[r % len(files)]
        cache.invalidate(path)
        before = cache.stats()
        started = time.perf_counter()
        cold_result = cache.get(path, kind)
        cold_s = time.perf_counter() - started
        middle = cache.stats()
        started = time.perf_counter()
        hot_result = cache.get(path, kind)
        second_s = time.perf_counter() - started
        after = cache.stats()
        hot = measure_time(lambda: cache.get(path, kind), warmup=0, repeat=5, min_time=0.0, max_time=0.5)
        rows.append({"file": path.name, "cold_s": cold_s, "second_request_s": second_s, "hit_s": hot.median,
                     "speedup": cold_s / hot.median, "first_missed": _delta(before, middle, "misses") >= 1,
                     "second_hit": _delta(middle, after, "hits") >= 1 and _delta(middle, after, "misses") == 0,
                     "max_abs_diff": _finite(max_abs_diff(cold_result, hot_result))})
    return rows


def kind_check(ctx: SuiteContext, check_id: str) -> CheckResult:
    """CACHE-11..14: second request of one analysis kind: a hit, and its speedup over computing."""
    kind = KIND_CHECKS[check_id]
    files = test_files(ctx)
    cache = open_cache(ctx, _root(ctx) / f"store-{kind}")
    try:
        rows = hit_rounds(cache, files, kind, ctx.sizes(SIZES)["rounds"])
        stats = cache.stats()
    finally:
        cache.close()
    speedups = [r["speedup"] for r in rows]
    violations = []
    if not all(r["second_hit"] for r in rows):
        violations.append(f"the second request of {kind} was not a cache hit in "
                          f"{sum(not r['second_hit'] for r in rows)} of {len(rows)} rounds")
    if not all(r["first_missed"] for r in rows):
        violations.append("a request right after invalidate() did not compute (no miss counted)")
    if any(r["max_abs_diff"] != 0.0 for r in rows):
        violations.append(f"the cached {kind} differs from the computed one")
    return record(ctx, check_id, statistics.median(speedups), samples=speedups, kind="ratio",
                  violations=violations, details={
                      "kind": kind, "rounds": rows, "seconds_of_audio": ctx.sizes(SIZES)["seconds"],
                      "cold_ms": statistics.median(r["cold_s"] for r in rows) * 1e3,
                      "hit_us": statistics.median(r["hit_s"] for r in rows) * 1e6, "cache_stats": stats,
                      **describe_source(ctx)})


# --------------------------------------------------------------------------------- across processes

def persistence_child(spec: str, directory: str, paths: list[str], kinds: list[str], cold_dir: str,
                      warmup_file: str, scratch_dir: str) -> dict[str, Any]:
    """Run in a new process: the first request of every (file, kind) on the persisted cache, against
    computing it in a cache that starts empty. Every code path is warmed on another file first.
    The engine is built from `engine_spec` (a registered name or package.module:Factory)."""
    engine = engine_from_spec(spec)
    try:
        for kind in kinds:  # imports, compilation and disk reads warmed on a file not measured
            scratch = engine.open_audio_cache(scratch_dir)
            scratch.get(warmup_file, kind)
            scratch.close()
            reopened = engine.open_audio_cache(scratch_dir)
            reopened.get(warmup_file, kind)
            reopened.close()
        persisted = engine.open_audio_cache(directory)
        cold = engine.open_audio_cache(cold_dir)
        rows = []
        for path in paths:
            for kind in kinds:
                before = persisted.stats()
                started = time.perf_counter()
                found = persisted.get(path, kind)
                first_s = time.perf_counter() - started
                after = persisted.stats()
                started = time.perf_counter()
                computed = cold.get(path, kind)
                cold_s = time.perf_counter() - started
                diff = max_abs_diff(found, computed)
                rows.append({"file": Path(path).name, "kind": kind, "first_request_s": first_s, "cold_s": cold_s,
                             "hit": _delta(before, after, "hits") >= 1 and _delta(before, after, "misses") == 0,
                             "disk_hit": _delta(before, after, "disk_hits") >= 1 if "disk_hits" in after else None,
                             "max_abs_diff": _finite(diff), "same": diff == 0.0})
        stats = {"persisted": persisted.stats(), "cold": cold.stats()}
        persisted.close()
        cold.close()
        return {"rows": rows, "stats": stats, "pid": os.getpid()}
    finally:
        engine.close()


def offered_kinds(cache: Any, path: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The kinds this cache computes for `path` (each asked once), and the ones it lacks with its reason.
    A check over all kinds measures the offered ones and names the others; none offered is a skip."""
    offered, absent = [], {}
    for kind in KINDS:
        try:
            cache.get(path, kind)
            offered.append(kind)
        except NotSupported as exc:
            absent[kind] = str(exc)
    if not offered:
        raise NotSupported("the audio cache offers none of the kinds " + ", ".join(KINDS))
    return tuple(offered), absent


def persistence_check(ctx: SuiteContext) -> CheckResult:
    """CACHE-15: entries written by this process are found on disk by a new one, faster than computing."""
    require(ctx, Capability.AUDIO_CACHE)
    files = test_files(ctx)[:ctx.sizes(SIZES)["persist_files"]]
    root = _root(ctx)
    directory = root / "persist"
    cache = open_cache(ctx, directory)
    try:
        kinds, absent = offered_kinds(cache, files[0])
        for path in files:
            for kind in kinds:
                cache.get(path, kind)
        written = cache.stats()
    finally:
        cache.close()
    warm_audio, sr = test_audio(ctx, 2.0, seed=97)
    warmup_file = write_audio(_fresh_folder(root / "warmup") / "warmup.wav", warm_audio, sr)
    cold_dir, scratch_dir = _fresh_folder(root / "persist-cold"), _fresh_folder(root / "persist-scratch")
    run = run_isolated(persistence_child, args=(child_spec(ctx), str(directory), [str(p) for p in files],
                                                list(kinds), str(cold_dir), str(warmup_file), str(scratch_dir)),
                       env=child_env(ctx), timeout=600.0)
    rows = run.result["rows"]
    speedups = [r["cold_s"] / r["first_request_s"] for r in rows]
    violations = []
    missed = [f"{r['file']}:{r['kind']}" for r in rows if not r["hit"]]
    if missed:
        violations.append(f"the new process did not find {len(missed)} persisted entries: {', '.join(missed[:6])}")
    differ = [f"{r['file']}:{r['kind']}" for r in rows if not r["same"]]
    if differ:
        violations.append(f"entries read from disk differ from a fresh computation: {', '.join(differ[:6])}")
    for row, speedup in zip(rows, speedups):
        row["speedup"] = speedup
    return record(ctx, "CACHE-15", statistics.median(speedups), samples=speedups, kind="ratio",
                  violations=violations, details={
                      "rows": rows, "written": written, "child_stats": run.result["stats"],
                      "child_pid": run.result["pid"], "child_process_s": run.process_s,
                      "by_kind": {k: statistics.median(s for r, s in zip(rows, speedups) if r["kind"] == k)
                                  for k in kinds},
                      "kinds_not_offered": absent,
                      **describe_source(ctx)})


# --------------------------------------------------------------------------------------- invalidation

#: How CACHE-17 changes a file: new audio (new mtime); new audio with size and mtime restored (only
#: the content tells); one second longer (the size tells).
CHANGES = ("rewritten", "same_size_and_mtime", "longer")


def change_file(ctx: SuiteContext, path: Path, change: str, seed: int) -> None:
    info = sf.info(str(path))
    before = path.stat()
    seconds = info.frames / info.samplerate
    if change == "longer":
        seconds += 1.0
    audio, sr = test_audio(ctx, seconds, seed=seed)
    write_audio(path, audio[: round(seconds * info.samplerate)], info.samplerate)
    if change == "same_size_and_mtime":
        if path.stat().st_size != before.st_size:
            raise RuntimeError(f"{path}: rewriting with the same length changed the size")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        # a distinct mtime even on file systems with coarse timestamps
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 2_000_000_000))


def _stale_answer(cache: Any, truth: Any, path: Path, kind: str) -> bool:
    return max_abs_diff(cache.get(path, kind), truth) != 0.0


def file_change_check(ctx: SuiteContext) -> CheckResult:
    """CACHE-17: after a file changes, the cache (in memory, and reopened from disk) answers with the
    analysis of the new content, as a cache that never saw the old file does."""
    require(ctx, Capability.AUDIO_CACHE)
    root = _root(ctx)
    folder = _fresh_folder(root / "change-files")
    seconds = ctx.sizes(SIZES)["change_seconds"]
    cache = open_cache(ctx, root / "change-store")
    rows, stale_counts = [], []
    kinds: tuple[str, ...] = KINDS
    absent: dict[str, str] = {}
    try:
        for i, change in enumerate(CHANGES):
            audio, sr = test_audio(ctx, seconds, seed=40 + i)
            path = write_audio(folder / f"changing-{i + 1}.wav", audio, sr)
            if i == 0:
                kinds, absent = offered_kinds(cache, path)
            old = {kind: cache.get(path, kind) for kind in kinds}
            change_file(ctx, path, change, seed=140 + i)
            truth_cache = open_cache(ctx, root / f"change-truth-{i + 1}")
            try:
                truth = {kind: truth_cache.get(path, kind) for kind in kinds}
            finally:
                truth_cache.close()
            in_memory = [k for k in kinds if _stale_answer(cache, truth[k], path, k)]
            reopened = open_cache(ctx, root / "change-store", fresh=False)
            try:
                from_disk = [k for k in kinds if _stale_answer(reopened, truth[k], path, k)]
            finally:
                reopened.close()
            unchanged = [k for k in kinds if max_abs_diff(old[k], truth[k]) == 0.0]
            stale_counts.append(float(len(in_memory) + len(from_disk)))
            rows.append({"change": change, "stale_in_memory": in_memory, "stale_after_reopen": from_disk,
                         "kinds_whose_result_did_not_change": unchanged})
    finally:
        cache.close()
    violations = [f"{r['change']}: the new content gives the same {', '.join(r['kinds_whose_result_did_not_change'])}"
                  " as the old, so staleness cannot be seen" for r in rows if r["kinds_whose_result_did_not_change"]]
    return record(ctx, "CACHE-17", sum(stale_counts), samples=stale_counts, kind="count", violations=violations,
                  details={"checked": 2 * len(kinds) * len(CHANGES), "changes": rows, "kinds": list(kinds),
                           "kinds_not_offered": absent,
                           "seconds_of_audio": seconds,
                           **describe_source(ctx)})


def _scan_tags(i: int, changed: bool = False) -> dict[str, str]:
    title = f"Changed Ünïcode {i}" if changed else f"Scanned Track {i}"
    return {"title": title, "artist": f"Scan Artist {i % 3}", "album": f"Scan Album {i % 3}"}


def rescan_check(ctx: SuiteContext) -> CheckResult:
    """CACHE-18: change, remove and add files in a scanned folder; rescan with the audio cache. The scan
    must report them, the library's cached reads must match the database, the audio cache must answer
    changed files with their new analysis and never answer for a removed file."""
    require(ctx, Capability.LIBRARY)
    require(ctx, Capability.AUDIO_CACHE)
    root = _root(ctx)
    folder = _fresh_folder(root / "scan-folder")
    seconds = min(4.0, ctx.sizes(SIZES)["change_seconds"])
    n = ctx.sizes(SIZES)["scan_files"]
    files = []
    for i in range(n):
        audio, sr = test_audio(ctx, seconds, seed=60 + i)
        files.append(write_audio(folder / f"scan-{i + 1:02d}.flac", audio, sr, tags=_scan_tags(i)))
    db_path = ctx.workdir / "library" / "scan.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    remove_library_files(db_path)
    lib = open_library(ctx, db_path)
    try:
        require_feature(lib, LibraryFeature.SCAN, "CACHE-18 (rescanning a folder)")
    except NotSupported:
        lib.close()
        raise
    cache = open_cache(ctx, root / "scan-store")
    try:
        first = lib.scan(folder, audio_cache=cache)
        ids = [t.id for t in (lib.repo.get_track_by_path(str(p)) for p in files) if t is not None]
        reads = [("get_track_by_path", {"path": str(p)}) for p in files]
        reads += [("get_track", {"track_id": i}) for i in ids]
        reads += [("search", {"text": "Scanned"}), ("search", {"text": "Changed"}),
                  ("list_tracks", {"sort": "title", "limit": 50}), ("count_tracks", {})]
        replay(lib.cached, reads)  # all of it cached before the files change
        kinds, absent = offered_kinds(cache, files[0])
        for path in files:
            for kind in kinds:
                cache.get(path, kind)
        changed = files[0::3]
        removed = [p for p in files[1::4] if p not in changed]
        for i, path in enumerate(files):
            if path in changed:
                audio, sr = test_audio(ctx, seconds, seed=160 + i)
                write_audio(path, audio, sr, tags=_scan_tags(i, changed=True))
                before = path.stat()
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 2_000_000_000))
        for path in removed:
            path.unlink()
        added = []
        for j in range(2):
            audio, sr = test_audio(ctx, seconds, seed=260 + j)
            added.append(write_audio(folder / f"scan-new-{j + 1}.flac", audio, sr, tags=_scan_tags(100 + j)))
        before = cache.stats()
        second = lib.scan(folder, audio_cache=cache)
        after = cache.stats()
        # entries of changed and removed files must be gone right after the rescan (where the cache
        # tells how many entries it holds on disk)
        undropped = None
        if "disk_entries" in before and "disk_entries" in after:
            expected = before["disk_entries"] - len(kinds) * (len(changed) + len(removed))
            undropped = max(0, after["disk_entries"] - expected)
        tally = StaleTally()
        missed = {"changed": sorted({str(p) for p in changed} - set(second.changed)),
                  "removed": sorted({str(p) for p in removed} - set(second.removed)),
                  "added": sorted({str(p) for p in added} - set(second.added))}
        reads += [("get_track_by_path", {"path": str(p)}) for p in added]
        for op in reads:
            tally.compare(lib, op, after="rescan")
        truth_cache = open_cache(ctx, root / "scan-truth")
        try:
            audio_stale = [f"{p.name}:{k}" for p in changed for k in kinds
                           if _stale_answer(cache, truth_cache.get(p, k), p, k)]
        finally:
            truth_cache.close()
        served_removed = []
        for path in removed:
            for kind in kinds:
                try:
                    cache.get(path, kind)
                    served_removed.append(f"{path.name}:{kind}")
                except (EngineError, OSError):
                    pass  # the file is gone: an error, never the old analysis
    finally:
        cache.close()
        lib.close()
    parts = [float(tally.stale), float(len(audio_stale)), float(len(served_removed)),
             float(sum(len(v) for v in missed.values())), float(undropped or 0)]
    stale = sum(parts)
    checked = (tally.reads + len(kinds) * (len(changed) + len(removed)) + len(changed) + len(removed) + len(added)
               + (1 if undropped is not None else 0))
    return record(ctx, "CACHE-18", float(stale), samples=parts, kind="count", details={
        "checked": checked, "files": n, "changed": len(changed), "removed": len(removed), "added": len(added),
        "first_scan": {"added": len(first.added), "errors": [e.message for e in first.errors][:5]},
        "rescan": {"added": len(second.added), "changed": len(second.changed), "removed": len(second.removed),
                   "unchanged": second.unchanged, "seconds": second.seconds},
        "missed_by_rescan": missed, "library_stale_reads": tally.to_dict(), "audio_stale": audio_stale,
        "served_for_removed_files": served_removed, "entries_not_dropped": undropped,
        "cache_stats_before_rescan": before, "cache_stats_after_rescan": after,
        "kinds": list(kinds), "kinds_not_offered": absent,
        "samples_are": ["library stale reads", "audio stale answers", "answers for removed files",
                        "files the rescan missed", "entries not dropped"], **describe_source(ctx)})


__all__ = ["CHANGES", "KINDS", "KIND_CHECKS", "change_file", "file_change_check", "hit_rounds", "kind_check",
           "offered_kinds",
           "open_cache", "persistence_check", "persistence_child", "rescan_check", "test_files", "write_audio"]
