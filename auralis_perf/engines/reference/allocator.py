"""Large buffers go back to the system when freed: a fixed mmap threshold for glibc's malloc.

glibc serves allocations above its mmap threshold with mmap and unmaps them on free, but the threshold
is dynamic: the first such buffer freed raises it to that buffer's size (up to 32 MiB), and from then
on track-sized arrays come from the heap of the arena of the thread that made them. A batch on
threads leaves that freed memory at the top of the threads' arenas, which malloc_trim does not hand
back (it trims only the main arena's top): 5-12 MB stayed resident after a batch of six 10 s tracks
(MEM-07). A fixed threshold keeps every buffer of LARGE_BUFFER_BYTES or more on its own mapping.

The price is paid in page faults when such a buffer is first written. At 1 MiB it was within a few %
of the chain's CPU time on the development machine (a loaded one, so indicative: 10 s of audio 121x real
time against 124-126x, 60 s 370x against 378-382x); a 256 KiB threshold cost about 20 % on 10 s.
"""
from __future__ import annotations

import ctypes

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
M_MMAP_THRESHOLD = -3
LARGE_BUFFER_BYTES = 1 << 20


def return_large_buffers_to_the_system(threshold: int = LARGE_BUFFER_BYTES) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes (process-wide); False where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False
