"""Auralis's caches of file analyses behind the protocol's `AudioCache`.

Auralis has three, and each kind goes where Auralis keeps it:

- memory: `SmartCache(max_size_mb=128, ttl_seconds=300)` (its defaults: LRU by pickled size, expiry 300 s
  after the last access) for every kind. Auralis keys it by the printed arguments of a call; for files the
  adapter keys it by (kind, real path, size, mtime in ns), so an edited file misses in memory;
- "fingerprint" on disk: `FingerprintStorage` (`.25d` JSON files in ~/.auralis/fingerprints, keyed by the
  path and an MD5 of the file's first MiB). It has no folder setting, so the adapter points HOME at this
  cache's `directory` while it calls it (under a lock): each cache directory persists on its own and
  nothing leaks between checks. A change past the first MiB keeps the old key: that stale read is
  Auralis's, and the checks count it;
- "analysis" on disk: `SidecarManager` (`<file>.25d` next to the audio, valid while the file's size and
  mtime match), holding `ContentAnalyzer.analyze_content` in its processing cache.

"spectrum" is kept in memory only; "waveform" is absent (Auralis has no waveform analysis).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter import analysis
from auralis_perf.engines.auralis_adapter.api import AuralisAPI
from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import AudioFileError, AudioInputError, NotSupported
from auralis_perf.engines.protocols.audio import CACHE_KINDS

#: FingerprintStorage.load answers None when the stored targets are empty; the adapter derives none.
NO_TARGETS = {"derived_by": "none (the adapter stores fingerprints only)"}
#: SmartCache's defaults at 087974e2.
MEMORY_MB, MEMORY_TTL_SECONDS = 128, 300

_home_lock = threading.Lock()


def jsonable(value: Any) -> Any:
    """What a JSON round trip gives back (the on-disk caches store JSON): computed and cached results alike."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class AuralisAudioCache:
    """Analyses of files, served from Auralis's SmartCache, FingerprintStorage and sidecar files."""

    def __init__(self, api: AuralisAPI, directory: str | os.PathLike[str]) -> None:
        for part in ("smart_cache", "fingerprint_storage", "sidecar", "io"):
            if not api.has(part):
                raise NotSupported(f"this Auralis has no {part} ({api.why_missing(part)})")
        self._api = api
        self._directory = Path(directory).expanduser().resolve()
        self._directory.mkdir(parents=True, exist_ok=True)
        (smart_cache_class,) = api.get("smart_cache")
        (self._storage,) = api.get("fingerprint_storage")
        (sidecar_class,) = api.get("sidecar")
        self._load = api.get("io")[0]
        with quiet():
            self._memory = smart_cache_class(max_size_mb=MEMORY_MB, ttl_seconds=MEMORY_TTL_SECONDS)
            self._sidecars = sidecar_class()
        self._lock = threading.RLock()
        self._keys: dict[str, set[str]] = {}  # real path -> memory keys of that file
        self._counts = {"hits": 0, "misses": 0, "disk_hits": 0, "puts": 0, "invalidated": 0}

    # -- keys and files ----------------------------------------------------------------------------
    @staticmethod
    def _real(path: str | os.PathLike[str]) -> Path:
        real = Path(path).expanduser().resolve()
        if not real.is_file():
            raise AudioFileError(f"{real}: no such file")
        return real

    def _memory_key(self, real: Path, kind: str) -> str:
        stat = real.stat()
        return f"{kind}:{real}:{stat.st_size}:{stat.st_mtime_ns}"

    def _decode(self, real: Path) -> tuple[np.ndarray, int]:
        with quiet():
            try:
                audio, rate = self._load(str(real))
            except RuntimeError as exc:
                raise AudioFileError(f"{real}: {exc}") from exc
        return np.asarray(audio), int(rate)

    def _with_home(self, call: Any) -> Any:
        """FingerprintStorage writes under ~/.auralis: HOME is this cache's directory during the call."""
        with _home_lock:
            previous = os.environ.get("HOME")
            os.environ["HOME"] = str(self._directory)
            try:
                with quiet():
                    return call()
            finally:
                if previous is None:
                    os.environ.pop("HOME", None)
                else:
                    os.environ["HOME"] = previous

    # -- the persistent tiers ------------------------------------------------------------------------
    def _from_disk(self, real: Path, kind: str) -> Any:
        if kind == "fingerprint":
            found = self._with_home(lambda: self._storage.load(real))
            return None if found is None else found[0]
        if kind == "analysis":
            with quiet():
                if not self._sidecars.is_valid(real):
                    return None
                cached = self._sidecars.get_processing_cache(real) or {}
            return cached.get("content_analysis")
        return None

    def _to_disk(self, real: Path, kind: str, value: Any) -> None:
        if kind == "fingerprint":
            self._with_home(lambda: self._storage.save(real, dict(value), NO_TARGETS))
        elif kind == "analysis":
            with quiet():
                self._sidecars.write(real, {"fingerprint": {}, "processing_cache": {"content_analysis": value}})

    def _compute(self, real: Path, kind: str) -> Any:
        audio, rate = self._decode(real)
        return jsonable(analysis.analyze(self._api, audio, rate, "analysis" if kind == "analysis" else kind))

    # -- the protocol --------------------------------------------------------------------------------
    def get(self, path: str | os.PathLike[str], kind: str) -> Any:
        if kind not in CACHE_KINDS:
            raise AudioInputError(f"unknown cache kind {kind!r}; kinds: {', '.join(CACHE_KINDS)}")
        if kind == "waveform":
            raise NotSupported("Auralis has no waveform (peak envelope) analysis to cache")
        real = self._real(path)
        key = self._memory_key(real, kind)
        with self._lock:
            value = self._memory.get(key)
            if value is not None:
                self._counts["hits"] += 1
                return value
            value = self._from_disk(real, kind)
            if value is not None:
                self._counts["hits"] += 1
                self._counts["disk_hits"] += 1
            else:
                self._counts["misses"] += 1
                value = self._compute(real, kind)
                self._to_disk(real, kind, value)
            self._memory.put(key, value)
            self._counts["puts"] += 1
            self._keys.setdefault(str(real), set()).add(key)
            return value

    def invalidate(self, path: str | os.PathLike[str]) -> int:
        real = Path(path).expanduser().resolve()
        dropped = 0
        with self._lock:
            for key in self._keys.pop(str(real), set()):
                if key in self._memory.cache:
                    # SmartCache has no public delete; its own removal keeps its size accounting right
                    getattr(self._memory, "_remove_item")(key)
                    dropped += 1
            self._counts["invalidated"] += dropped
            if real.is_file():
                dropped += bool(self._with_home(lambda: self._storage.delete(real)))
            with quiet():
                dropped += bool(self._sidecars.delete(real))
        return dropped

    def stats(self) -> dict[str, int]:
        with self._lock:
            memory = self._memory.get_stats()
            held = int(memory.get("items", len(self._memory.cache)))
            # SmartCache does not count evictions: every entry put and no longer held was evicted or
            # expired, unless the adapter dropped it by invalidate()
            evictions = self._counts["puts"] - held - self._counts["invalidated"]
            return {"hits": self._counts["hits"], "misses": self._counts["misses"], "evictions": max(0, evictions),
                    "bytes": int(round(memory.get("size_mb", 0.0) * 1024 * 1024)), "entries": held,
                    "disk_hits": self._counts["disk_hits"], "memory_hits": int(memory.get("hits", 0))}

    def facts(self) -> dict[str, Any]:
        return {"memory": f"SmartCache(max_size_mb={MEMORY_MB}, ttl_seconds={MEMORY_TTL_SECONDS}): LRU by pickled "
                          "size, expiry after the last access",
                "fingerprint": "FingerprintStorage .25d files keyed by path + MD5 of the first MiB",
                "analysis": "SidecarManager <file>.25d next to the audio, valid while size and mtime match",
                "spectrum": "memory only", "waveform": "absent"}

    def close(self) -> None:
        with self._lock:
            self._memory.cache.clear()

    def __enter__(self) -> "AuralisAudioCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
