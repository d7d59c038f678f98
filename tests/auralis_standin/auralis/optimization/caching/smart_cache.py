import pickle
import threading
import time
from collections import OrderedDict


class SmartCache:
    """Stand-in: LRU by pickled size, with a TTL since the last access."""

    def __init__(self, max_size_mb=128, ttl_seconds=300):
        self.max_size_bytes = max_size_mb * 1024 * 1024
        self.ttl_seconds = ttl_seconds
        self.cache, self.access_times, self.sizes = OrderedDict(), {}, {}
        self.current_size = self.hits = self.misses = 0
        self.lock = threading.RLock()

    def get(self, key):
        with self.lock:
            if key in self.cache and time.time() - self.access_times[key] <= self.ttl_seconds:
                self.cache.move_to_end(key)
                self.access_times[key] = time.time()
                self.hits += 1
                return self.cache[key]
            self._remove_item(key)
            self.misses += 1
            return None

    def put(self, key, value):
        with self.lock:
            size = len(pickle.dumps(value))
            self._remove_item(key)
            while self.cache and self.current_size + size > self.max_size_bytes:
                self._remove_item(next(iter(self.cache)))
            if size <= self.max_size_bytes:
                self.cache[key], self.access_times[key], self.sizes[key] = value, time.time(), size
                self.current_size += size

    def _remove_item(self, key):
        if key in self.cache:
            del self.cache[key], self.access_times[key]
            self.current_size -= self.sizes.pop(key)

    def get_stats(self):
        with self.lock:
            return {"hits": self.hits, "misses": self.misses, "items": len(self.cache),
                    "size_mb": self.current_size / 2 ** 20, "max_size_mb": self.max_size_bytes / 2 ** 20}
