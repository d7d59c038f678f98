"""A cache of analysis results of audio files (waveform, spectrum, fingerprint, mastering analysis).

* Two tiers: an LRU in memory (bounded by entries and measured bytes) and one file per (file, kind) on
  disk, so that results survive a restart.
* Keyed by the file's identity: real path, size, mtime (ns) and a hash of the first 64 KiB. Any change
  of the file gives a new identity, so its old results are never returned: they are recomputed.
* On disk each entry is a NumPy ``.npz`` (no pickle: ``allow_pickle=False``) holding the arrays of the
  result and a JSON description of its structure and of the identity it belongs to. A file that cannot
  be read, does not parse, or belongs to another identity is deleted and the result recomputed.
* A rescan's report drops the entries of the files it found changed or removed (``apply_scan``).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import soundfile as sf

from auralis_perf.engines.base import AudioFileError, AudioInputError, EngineError
from auralis_perf.engines.reference.library.sizing import deep_sizeof

KINDS = ("waveform", "spectrum", "fingerprint", "analysis")
HEAD_BYTES = 64 * 1024
FORMAT_VERSION = 1
#: Result classes rebuilt from disk must be dataclasses defined in these packages (never arbitrary code).
TRUSTED_MODULES = ("auralis_perf.",)

Analyzer = Callable[[np.ndarray, int], Any]


class AudioCacheError(EngineError):
    """Misuse of the audio cache: unknown kind, unusable directory, closed cache, unstorable result."""


class UnknownKindError(AudioCacheError, AudioInputError):
    """A request for a kind the cache has no analyzer for: bad input, as the AudioCache protocol says."""


class FileIdentity(NamedTuple):
    path: str
    size: int
    mtime_ns: int
    head: str

    @classmethod
    def of(cls, path: str) -> "FileIdentity":
        try:
            stat = os.stat(path)
            with open(path, "rb") as handle:
                head = handle.read(HEAD_BYTES)
        except FileNotFoundError:
            raise AudioFileError(f"audio file not found: {path}") from None
        except OSError as exc:
            raise AudioFileError(f"cannot read audio file {path}: {exc.strerror or exc}") from exc
        digest = hashlib.blake2b(head, digest_size=16).hexdigest()
        return cls(path, stat.st_size, stat.st_mtime_ns, digest)


# -- results <-> (JSON structure, arrays) ---------------------------------------------------------------

def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise AudioCacheError("cannot store an object array")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"$array": name}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise AudioCacheError("cannot store a mapping whose keys are not all str")
        return {"$dict": {k: _encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"$tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"$list": [_encode(v, arrays) for v in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {"$dataclass": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}}
    raise AudioCacheError(f"cannot store a result of type {type(value).__name__}")


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if not isinstance(node, dict):
        if isinstance(node, list):
            raise ValueError("bare list in a stored structure")
        return node
    if "$array" in node:
        return arrays[node["$array"]]
    if "$bytes" in node:
        return base64.b64decode(node["$bytes"])
    if "$dict" in node:
        return {k: _decode(v, arrays) for k, v in node["$dict"].items()}
    if "$tuple" in node:
        return tuple(_decode(v, arrays) for v in node["$tuple"])
    if "$list" in node:
        return [_decode(v, arrays) for v in node["$list"]]
    if "$dataclass" in node:
        module_name, _, qualname = node["$dataclass"].partition(":")
        if not module_name.startswith(TRUSTED_MODULES):
            raise ValueError(f"untrusted result class {node['$dataclass']}")
        cls: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"{node['$dataclass']} is not a dataclass")
        return cls(**{k: _decode(v, arrays) for k, v in node["fields"].items()})
    raise ValueError(f"unknown node {sorted(node)[:3]}")


class AudioCache:
    """get(path, kind) -> result, computed once per file version; see the module docstring."""

    def __init__(self, directory: str | os.PathLike[str], analyzers: Mapping[str, Analyzer], *,
                 max_entries: int = 256, max_bytes: int = 256 * 2**20) -> None:
        unknown = set(analyzers) - set(KINDS)
        if unknown:
            raise AudioCacheError(f"unknown analysis kind(s) {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
        self.directory = Path(os.fspath(directory)).expanduser().absolute()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.directory, prefix=".probe-"):
                pass
        except OSError as exc:
            raise AudioCacheError(f"audio cache folder {self.directory} is not writable: "
                                  f"{exc.strerror or exc}") from exc
        self.analyzers = dict(analyzers)
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self._memory: OrderedDict[tuple[str, str], tuple[FileIdentity, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.RLock()
        self._closed = False
        self._counts = dict.fromkeys(("hits", "memory_hits", "disk_hits", "misses", "evictions",
                                      "stale", "corrupt", "invalidations"), 0)

    # -- the one read ------------------------------------------------------------------------------
    def get(self, path: str | os.PathLike[str], kind: str) -> Any:
        """The `kind` result of the audio file at `path`: from memory, from disk, or computed."""
        if self._closed:
            raise AudioCacheError(f"audio cache {self.directory} is closed")
        analyzer = self.analyzers.get(kind)
        if analyzer is None:
            raise UnknownKindError(f"no analyzer for kind {kind!r}; this cache has: {', '.join(self.analyzers)}")
        real = os.path.realpath(os.fspath(path))
        identity = FileIdentity.of(real)
        slot = (real, kind)
        with self._lock:
            entry = self._memory.get(slot)
            if entry is not None:
                if entry[0] == identity:
                    self._memory.move_to_end(slot)
                    self._counts["hits"] += 1
                    self._counts["memory_hits"] += 1
                    return entry[1]
                self._forget(slot)
                self._counts["stale"] += 1
        value = self._load(identity, kind)
        if value is not None:
            with self._lock:
                self._counts["hits"] += 1
                self._counts["disk_hits"] += 1
            self._remember(slot, identity, value)
            return value[0]
        with self._lock:
            self._counts["misses"] += 1
        result = analyzer(*self._decode_audio(real))
        self._store(identity, kind, result)
        self._remember(slot, identity, (result,))
        return result

    def contains(self, path: str | os.PathLike[str], kind: str) -> bool:
        """True when a valid result for the file as it is now exists in memory or on disk."""
        real = os.path.realpath(os.fspath(path))
        identity = FileIdentity.of(real)
        with self._lock:
            entry = self._memory.get((real, kind))
            if entry is not None and entry[0] == identity:
                return True
        file = self._file(real, kind)
        if not file.exists():
            return False
        try:
            meta, _ = self._read(file)
        except Exception:  # noqa: BLE001 - an unreadable file is simply not a valid entry
            return False
        return meta.get("identity") == list(identity)

    @staticmethod
    def _decode_audio(path: str) -> tuple[np.ndarray, int]:
        try:
            audio, sample_rate = sf.read(path, dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - libsndfile raises several types for bad files
            raise AudioFileError(f"cannot decode audio file {path}: {exc}") from exc
        return audio, int(sample_rate)

    # -- memory tier ---------------------------------------------------------------------------------
    def _remember(self, slot: tuple[str, str], identity: FileIdentity, value: tuple[Any]) -> None:
        size = deep_sizeof(value[0]) + 200
        with self._lock:
            if slot in self._memory:
                self._forget(slot)
            if size > self.max_bytes:
                return
            self._memory[slot] = (identity, value[0], size)
            self._bytes += size
            while len(self._memory) > self.max_entries or self._bytes > self.max_bytes:
                self._forget(next(iter(self._memory)))
                self._counts["evictions"] += 1

    def _forget(self, slot: tuple[str, str]) -> None:
        _, _, size = self._memory.pop(slot)
        self._bytes -= size

    # -- disk tier -----------------------------------------------------------------------------------
    def _file(self, real_path: str, kind: str) -> Path:
        digest = hashlib.blake2b(real_path.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return self.directory / digest[:2] / f"{digest}.{kind}.npz"

    @staticmethod
    def _read(file: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        with np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            raise ValueError("not an audio cache entry of this format")
        return meta, arrays

    def _load(self, identity: FileIdentity, kind: str) -> tuple[Any] | None:
        """(result,) from disk, or None when absent, stale or corrupt (then the file is removed)."""
        file = self._file(identity.path, kind)
        if not file.exists():
            return None
        try:
            meta, arrays = self._read(file)
            if meta.get("kind") != kind or meta.get("identity") != list(identity):
                with self._lock:
                    self._counts["stale"] += 1
                file.unlink(missing_ok=True)
                return None
            return (_decode(meta["value"], arrays),)
        except Exception:  # noqa: BLE001 - never trust a damaged entry, never crash on one
            with self._lock:
                self._counts["corrupt"] += 1
            file.unlink(missing_ok=True)
            return None

    def _store(self, identity: FileIdentity, kind: str, value: Any) -> None:
        arrays: dict[str, np.ndarray] = {}
        meta = {"format": FORMAT_VERSION, "kind": kind, "identity": list(identity),
                "value": _encode(value, arrays)}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        file = self._file(identity.path, kind)
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temp, file)  # atomic: a reader sees the old entry or the new one, never half
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    # -- invalidation --------------------------------------------------------------------------------
    def invalidate(self, path: str | os.PathLike[str]) -> int:
        """Drop every result of the file at `path` (memory and disk); returns how many were dropped."""
        real = os.path.realpath(os.fspath(path))
        dropped = 0
        with self._lock:
            for kind in KINDS:
                if (real, kind) in self._memory:
                    self._forget((real, kind))
                    dropped += 1
        for kind in KINDS:
            file = self._file(real, kind)
            if file.exists():
                file.unlink(missing_ok=True)
                dropped += 1
        with self._lock:
            self._counts["invalidations"] += dropped
        return dropped

    def drop(self, paths: Iterable[str | os.PathLike[str]]) -> int:
        return sum(self.invalidate(path) for path in paths)

    def apply_scan(self, report: Any) -> int:
        """Drop the entries of the files a library rescan found changed or removed."""
        return self.drop([*report.changed, *report.removed])

    def clear_memory(self) -> None:
        """Empty the memory tier only (the disk tier stays): what a restart looks like."""
        with self._lock:
            self._memory.clear()
            self._bytes = 0

    # -- figures and life cycle ------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        disk_entries = disk_bytes = 0
        for file in self.directory.glob("*/*.npz"):
            try:
                disk_bytes += file.stat().st_size
                disk_entries += 1
            except OSError:
                continue
        with self._lock:
            return {**self._counts, "bytes": self._bytes, "entries": len(self._memory),
                    "disk_entries": disk_entries, "disk_bytes": disk_bytes,
                    "max_entries": self.max_entries, "max_bytes": self.max_bytes}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._memory.clear()
            self._bytes = 0

    def __enter__(self) -> "AudioCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
