"""A small pool of NumPy buffers so steady-state streaming allocates (almost) nothing per chunk.

Two ways out of the pool:
- `acquire` / `release` for scratch buffers the engine owns;
- `lease` for output chunks handed to the caller: a leased buffer is reused only once nobody else holds
  a reference to it (checked with the reference count), so a caller who keeps chunks never sees them
  overwritten, and a caller who drops them gets the same memory back every chunk.
"""
from __future__ import annotations

import sys
import threading
from collections import defaultdict

import numpy as np

Key = tuple[tuple[int, ...], np.dtype]
# References held while the pool inspects a leased buffer: the pool's list and getrefcount's argument.
_POOL_ONLY_REFCOUNT = 2


class BufferPool:
    """Buffers keyed by (shape, dtype). Thread-safe; `max_leased` bounds how many output buffers it keeps."""

    def __init__(self, max_leased: int = 16) -> None:
        self._free: dict[Key, list[np.ndarray]] = defaultdict(list)
        self._leased: dict[Key, list[np.ndarray]] = defaultdict(list)
        self._max_leased = max_leased
        self._lock = threading.Lock()
        self.allocations = 0
        self.reuses = 0

    @staticmethod
    def _key(shape: tuple[int, ...], dtype: np.dtype | type) -> Key:
        # tuple() of a tuple and np.dtype() of a dtype return their argument: a lease in steady state
        # allocates only this key (numpy integers in a shape hash and compare equal to ints)
        return tuple(shape), np.dtype(dtype)

    def acquire(self, shape: tuple[int, ...], dtype: np.dtype | type = np.float64) -> np.ndarray:
        """A buffer of this shape and dtype (contents undefined); give it back with `release`."""
        key = self._key(shape, dtype)
        with self._lock:
            free = self._free[key]
            if free:
                self.reuses += 1
                return free.pop()
            self.allocations += 1
        return np.empty(key[0], dtype=key[1])

    def release(self, buffer: np.ndarray) -> None:
        key = self._key(buffer.shape, buffer.dtype)
        with self._lock:
            self._free[key].append(buffer)

    def lease(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """An output buffer that returns to the pool by itself once the caller drops every reference."""
        key = self._key(shape, dtype)
        with self._lock:
            leased = self._leased[key]
            for buffer in leased:
                # the list's reference, the loop variable's and getrefcount's argument: nobody else's
                if sys.getrefcount(buffer) == _POOL_ONLY_REFCOUNT + 1:
                    self.reuses += 1
                    return buffer
            self.allocations += 1
            buffer = np.empty(key[0], dtype=key[1])
            if len(leased) < self._max_leased:
                leased.append(buffer)
            return buffer

    def stats(self) -> dict[str, int]:
        with self._lock:
            held = sum(b.nbytes for bufs in self._free.values() for b in bufs)
            held += sum(b.nbytes for bufs in self._leased.values() for b in bufs)
            return {"allocations": self.allocations, "reuses": self.reuses, "bytes_held": held}

    def clear(self) -> None:
        """Drop every buffer the pool holds (leased ones stay valid for whoever still uses them)."""
        with self._lock:
            self._free.clear()
            self._leased.clear()
