"""A thread-safe, tagged LRU cache bounded by entries and by measured bytes.

* True LRU: a hit moves the entry to the most-recent end; eviction takes the least recently used.
* Each entry carries tags; `invalidate(tags)` drops exactly the entries carrying any of them.
* Sizes are measured (sizing.deep_sizeof of key, value and tags, plus the bookkeeping of the entry).
* A computation that started before an invalidation is not stored when it finishes (it may have read the
  data before the write), so a reader racing a writer can never plant a stale entry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np

from auralis_perf.engines.reference.library.sizing import deep_sizeof

#: Bytes of bookkeeping per entry (OrderedDict node and slot, the entry tuple) and per tag reference
#: (a slot in the tag's key set and in the entry's tag tuple), from sys.getsizeof on CPython 3.11,
#: rounded up. Each distinct tag's string and key set are counted once for the whole cache.
ENTRY_OVERHEAD = 200
TAG_REFERENCE = 40
TAG_OVERHEAD = sys.getsizeof(set()) + 100  # the set, its dict slot, growth slack

#: Query and parameter names seen by make_key: literals of the calling code, shared by every key, so
#: they are not charged to each entry. Bounded, and held strongly so their ids cannot be reused.
_KEY_NAMES: dict[int, str] = {}
_KEY_NAMES_LIMIT = 4096


def _register_name(name: str) -> None:
    if id(name) not in _KEY_NAMES and len(_KEY_NAMES) < _KEY_NAMES_LIMIT:
        _KEY_NAMES[id(name)] = name


def _normalise(value: Any) -> Hashable:
    """A hashable, content-based form of a key part; no object ids, no repr of arrays."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.blake2b(data.view(np.uint8).reshape(-1), digest_size=16).hexdigest()
        return ("ndarray", data.dtype.str, data.shape, digest)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_normalise(v) for v in value), key=repr)))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), _normalise(v)) for k, v in value.items())))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,) + tuple(_normalise(getattr(value, f.name))
                                               for f in dataclasses.fields(value))
    raise TypeError(f"cannot build a cache key from a {type(value).__name__}; use plain values, "
                    f"sequences, mappings, dataclasses or arrays")


class TaggedLRUCache:
    """LRU cache with tag-based invalidation; see the module docstring."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 8 * 2**20, name: str = "query") -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError(f"cache {name!r}: max_entries and max_bytes must be positive")
        self.name = name
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self._lock = threading.RLock()
        self._entries: OrderedDict[Hashable, tuple[Any, tuple[str, ...], int]] = OrderedDict()
        self._by_tag: dict[str, set[Hashable]] = {}
        self._tag_strings: dict[str, str] = {}
        self._bytes = 0
        self._generation = 0
        self.reset_stats()

    # -- keys --------------------------------------------------------------------------------------
    @staticmethod
    def make_key(name: str, params: Mapping[str, Any] | None = None) -> Hashable:
        """The key of query `name` with `params`: a flat tuple (name, param, value, param, value, ...)
        sorted by parameter name, None-valued parameters dropped, values normalised."""
        _register_name(name)
        if not params:
            return (name,)
        key: list[Any] = [name]
        for param in sorted(params):
            value = params[param]
            if value is not None:
                _register_name(param)
                key += (param, _normalise(value))
        return tuple(key)

    # -- reads -------------------------------------------------------------------------------------
    def lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return False, None
            self._entries.move_to_end(key)
            self._hits += 1
            return True, entry[0]

    def lookup_many(self, keys: Iterable[Hashable], default: Any = None) -> list[Any]:
        """The values of many keys (`default` for a miss) under one lock acquisition; hits move to
        most-recent in the order given."""
        values: list[Any] = []
        append = values.append
        with self._lock:
            get, touch = self._entries.get, self._entries.move_to_end
            hits = 0
            for key in keys:
                entry = get(key)
                if entry is None:
                    append(default)
                else:
                    touch(key)
                    append(entry[0])
                    hits += 1
            self._hits += hits
            self._misses += len(values) - hits
        return values

    def get(self, key: Hashable, default: Any = None) -> Any:
        hit, value = self.lookup(key)
        return value if hit else default

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any],
                       tags_of: Callable[[Any], Iterable[str]]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return entry[0]
            self._misses += 1
            generation = self._generation
        value = compute()
        self._store(key, value, tuple(tags_of(value)), generation)
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._entries)

    # -- writes ------------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Bumped by every invalidation; pass it to put() to refuse values computed before one."""
        return self._generation

    def put(self, key: Hashable, value: Any, tags: Iterable[str] = (), *, generation: int | None = None) -> None:
        """Store `value`; with `generation`, only if nothing was invalidated since it was read."""
        self._store(key, value, tuple(tags), generation)

    def _store(self, key: Hashable, value: Any, tags: tuple[str, ...], generation: int | None) -> None:
        tags = tuple(dict.fromkeys(tags))
        size = deep_sizeof((key, value), _KEY_NAMES) + ENTRY_OVERHEAD + TAG_REFERENCE * len(tags)
        with self._lock:
            if generation is not None and generation != self._generation:
                self._stale_skips += 1
                return
            if key in self._entries:
                self._remove(key)
            if size > self.max_bytes:
                self._rejected += 1
                return
            tags = tuple(self._canonical_tag(tag) for tag in tags)
            self._entries[key] = (value, tags, size)
            self._bytes += size
            for tag in tags:
                self._by_tag[tag].add(key)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._remove(oldest)
                self._evictions += 1

    def _canonical_tag(self, tag: str) -> str:
        """The cache's one copy of `tag` (entries share it); its string and set are charged once."""
        canonical = self._tag_strings.get(tag)
        if canonical is None:
            canonical = self._tag_strings[tag] = tag
            self._by_tag[tag] = set()
            self._bytes += sys.getsizeof(tag) + TAG_OVERHEAD
        return canonical

    def _remove(self, key: Hashable) -> None:
        _, tags, size = self._entries.pop(key)
        self._bytes -= size
        for tag in tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
                    del self._tag_strings[tag]
                    self._bytes -= sys.getsizeof(tag) + TAG_OVERHEAD

    def discard(self, key: Hashable) -> bool:
        with self._lock:
            if key not in self._entries:
                return False
            self._remove(key)
            return True

    def invalidate(self, tags: Iterable[str]) -> int:
        """Drop every entry carrying any of `tags`; returns how many were dropped."""
        dropped = 0
        with self._lock:
            self._generation += 1
            for tag in tags:
                for key in list(self._by_tag.get(tag, ())):
                    self._remove(key)
                    dropped += 1
            self._invalidations += dropped
        return dropped

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._by_tag.clear()
            self._tag_strings.clear()
            self._bytes = 0

    # -- figures -----------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._lock:
            self._hits = self._misses = self._evictions = self._invalidations = 0
            self._rejected = self._stale_skips = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def stats(self) -> dict[str, Any]:
        with self._lock:
            lookups = self._hits + self._misses
            return {
                "hits": self._hits, "misses": self._misses, "evictions": self._evictions,
                "invalidations": self._invalidations, "entries": len(self._entries), "bytes": self._bytes,
                "max_entries": self.max_entries, "max_bytes": self.max_bytes,
                "hit_rate": self._hits / lookups if lookups else 0.0,
                "rejected": self._rejected, "stale_skips": self._stale_skips,
            }

    def tags(self) -> dict[str, int]:
        """Tag -> number of entries carrying it (for tests and diagnostics)."""
        with self._lock:
            return {tag: len(keys) for tag, keys in self._by_tag.items()}


QueryCache = TaggedLRUCache
