"""Auralis's library query cache (`auralis.library.cache`) behind the protocol's `LibraryCaches`.

At 087974e2 it is one module-level `QueryCache(max_size=256, default_ttl=300)` behind every
`@cached_query` method of `LibraryManager`: shared by the whole process, keyed by an MD5 of the JSON of
the function's name and arguments (the manager's printed form included), entries evicted oldest-inserted
first when 256 are held (a hit does not move an entry: FIFO, although its docstring says LRU), each
entry expiring after its method's TTL (checked on read), and invalidated by function name after writes.
It counts hits and misses, not evictions nor bytes.

Because it is process-wide, the adapter empties it whenever a library opens or closes, and reports its
counts as differences from when this library opened. Evictions (and expiries, which the protocol counts
with them) are counted by the adapter around the cache's own `set` and `get` (`EvictionCounter`), which
it wraps without changing what they do.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from auralis_perf.engines.auralis_adapter.library.repository import CACHED_READS

NAME = "query"

#: The TTL of each @cached_query method of LibraryManager at 087974e2 (seconds).
METHOD_TTLS = {"search_tracks": 60, "get_tracks_by_genre": 300, "get_tracks_by_artist": 300,
               "get_recent_tracks": 180, "get_popular_tracks": 120, "get_favorite_tracks": 180,
               "get_all_tracks": 300}


class EvictionCounter:
    """Counts the entries Auralis's QueryCache drops by itself: on `set` when full (its eviction) and on
    `get` of an expired entry. Installed once per cache instance, as instance attributes over its methods."""

    def __init__(self, cache: Any) -> None:
        self.count = 0
        self._cache = cache
        self._set, self._get = cache.set, cache.get
        cache.set, cache.get = self.set, self.get

    def _held(self) -> dict[str, Any]:
        return getattr(self._cache, "_cache")  # its entry dict: read, never changed here

    def set(self, key: str, value: Any, ttl: Optional[int] = None, metadata: Optional[dict[str, Any]] = None) -> None:
        held = self._held()
        before, new = len(held), key not in held
        self._set(key, value, ttl=ttl, metadata=metadata)
        if new:
            self.count += max(0, before + 1 - len(held))

    def get(self, key: str) -> Any:
        held = self._held()
        was_held = key in held
        value = self._get(key)
        if was_held and key not in held:
            self.count += 1  # expired: dropped by the read
        return value


_counters: dict[int, EvictionCounter] = {}


def eviction_counter(cache: Any) -> EvictionCounter:
    """The counter of this QueryCache instance (installed on first use)."""
    if id(cache) not in _counters:
        _counters[id(cache)] = EvictionCounter(cache)
    return _counters[id(cache)]


class AuralisQueryCache:
    """The module-level QueryCache; `get`/`put`/`keys` drive it directly (the eviction-order check)."""

    name = NAME

    def __init__(self, cache_module: Any) -> None:
        # The instance behind @cached_query: the module has no public accessor for it, and the checks must
        # measure that very cache (its entries, its order), not a copy.
        self._cache = getattr(cache_module, "_global_cache")
        self._clear_all = cache_module.clear_cache
        self._evictions = eviction_counter(self._cache)
        stats = self._cache.get_stats()
        self._base = (stats["hits"], stats["misses"], self._evictions.count)

    def bound(self, entries: int) -> int:
        """Set the cache's entry bound (its public `max_size`); returns the previous one."""
        if not isinstance(entries, int) or entries < 1:
            raise ValueError(f"cache_entries must be a positive int, not {entries!r}")
        previous, self._cache.max_size = self._cache.max_size, entries
        return previous

    def stats(self) -> dict[str, Any]:
        s = self._cache.get_stats()
        return {"hits": s["hits"] - self._base[0], "misses": s["misses"] - self._base[1],
                "evictions": self._evictions.count - self._base[2],  # counted by the adapter (see EvictionCounter)
                "entries": s["size"], "bytes": None, "max_entries": s["max_size"], "max_bytes": None}

    def clear(self) -> None:
        self._clear_all()

    def get(self, key: Any, default: Any = None) -> Any:
        value = self._cache.get(str(key))
        return default if value is None else value

    def put(self, key: Any, value: Any) -> None:
        self._cache.set(str(key), value)

    def keys(self) -> list[Any]:
        """Held keys, next to be evicted first: the insertion order of its dict, which its eviction follows."""
        return list(getattr(self._cache, "_cache"))

    def facts(self) -> dict[str, Any]:
        return {"policy": "fifo", "ttl_seconds": self._cache.default_ttl, "ttl_by_method": dict(METHOD_TTLS),
                "max_entries": self._cache.max_size, "max_bytes": None, "scope": "process",
                "module": "auralis.library.cache (_global_cache behind @cached_query)",
                "key": "MD5 of the JSON of (function name, arguments incl. the LibraryManager's repr, keyword "
                       "arguments)",
                "eviction": "oldest inserted entry when full; reads do not refresh an entry",
                "expiry": "per entry at its method's TTL, checked when read",
                "invalidation": "by function name (LibraryManager's writes name the functions they affect)",
                "counts": "hits and misses by Auralis; evictions and expiries by the adapter around its set/get; "
                          "no byte counts"}


class AuralisLibraryCaches:
    """The library's one cache, named "query"."""

    def __init__(self, cache: AuralisQueryCache) -> None:
        self._cache = cache

    def names(self) -> Sequence[str]:
        return [NAME]

    def __getitem__(self, name: str) -> AuralisQueryCache:
        if name != NAME:
            raise KeyError(name)
        return self._cache

    def cache_for(self, read: str) -> Optional[str]:
        return NAME if read in CACHED_READS else None

    def stats(self) -> Mapping[str, Mapping[str, Any]]:
        return {NAME: self._cache.stats()}

    def facts(self) -> Mapping[str, Mapping[str, Any]]:
        return {NAME: self._cache.facts()}

    def clear(self) -> None:
        self._cache.clear()
