import threading
from collections import deque

import numpy as np


class MemoryPool:
    """Stand-in: buffers by shape, at most 10 kept per shape, new ones while the byte budget lasts."""

    def __init__(self, pool_size_mb=64):
        self.pool_size_bytes = pool_size_mb * 1024 * 1024
        self.available_buffers, self.allocated_buffers = {}, set()
        self.total_allocated = 0
        self.lock = threading.RLock()

    def get_buffer(self, shape, dtype=np.float32):
        with self.lock:
            if self.available_buffers.get(shape):
                buffer = self.available_buffers[shape].popleft()
                self.allocated_buffers.add(id(buffer))
                return buffer
            size = int(np.prod(shape)) * np.dtype(dtype).itemsize
            if self.total_allocated + size <= self.pool_size_bytes:
                buffer = np.zeros(shape, dtype=dtype)
                self.allocated_buffers.add(id(buffer))
                self.total_allocated += size
                return buffer
            return np.zeros(shape, dtype=dtype)

    def return_buffer(self, buffer):
        with self.lock:
            if id(buffer) in self.allocated_buffers:
                self.allocated_buffers.remove(id(buffer))
                buffer.fill(0)
                queue = self.available_buffers.setdefault(buffer.shape, deque(maxlen=10))
                if len(queue) < 10:
                    queue.append(buffer)

    def get_stats(self):
        with self.lock:
            return {"total_allocated_mb": self.total_allocated / 2 ** 20, "active_buffers": len(self.allocated_buffers),
                    "available_buffer_types": len(self.available_buffers)}
