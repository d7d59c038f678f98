"""Stand-in query cache: insertion-order eviction at `max_size`, a TTL per entry, invalidation by name."""
import time
from functools import wraps


class QueryCache:
    def __init__(self, max_size=128, default_ttl=300):
        self.max_size, self.default_ttl = max_size, default_ttl
        self._cache = {}
        self._hits = self._misses = 0

    def _make_key(self, func_name, args, kwargs):
        # any deterministic key does for the stand-in: the adapter never builds keys itself
        return repr((func_name, args, tuple(sorted(kwargs.items()))))

    def get(self, key):
        entry = self._cache.get(key)
        if entry is None or (entry[1] and time.time() > entry[1]):
            self._cache.pop(key, None)
            self._misses += 1
            return None
        self._hits += 1
        return entry[0]

    def set(self, key, value, ttl=None, metadata=None):
        ttl = self.default_ttl if ttl is None else ttl
        if len(self._cache) >= self.max_size and key not in self._cache:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = (value, time.time() + ttl if ttl > 0 else None, metadata or {})

    def invalidate(self, *patterns):
        if not patterns:
            self._cache.clear()
            return
        for key in [k for k, v in self._cache.items() if v[2].get("func") in patterns]:
            del self._cache[key]

    def get_stats(self):
        total = self._hits + self._misses
        return {"size": len(self._cache), "max_size": self.max_size, "hits": self._hits, "misses": self._misses,
                "hit_rate": f"{(100 * self._hits / total if total else 0):.1f}%", "total_requests": total}


_global_cache = QueryCache(max_size=256, default_ttl=300)


def cached_query(ttl=None):
    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            key = _global_cache._make_key(func.__name__, args, kwargs)
            found = _global_cache.get(key)
            if found is not None:
                return found
            result = func(*args, **kwargs)
            _global_cache.set(key, result, ttl=ttl, metadata={"func": func.__name__})
            return result
        return wrapper
    return decorator


def invalidate_cache(*patterns):
    _global_cache.invalidate(*patterns)


def get_cache_stats():
    return _global_cache.get_stats()


def clear_cache():
    _global_cache.invalidate()
