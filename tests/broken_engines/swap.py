"""Swap for the one check about swap (MEM-15), and a way to put a process's own pages there.

MEM-15 reads the VmSwap of the run's processes. A machine without swap can never show any, and filling
the RAM of a shared machine until the kernel swaps is no way to test. So the test turns on a small swap
file of its own for the duration (root only; `swapon` is refused elsewhere), and the double puts its cold
buffers there with madvise(MADV_PAGEOUT) (Linux 5.4+), which is what memory pressure does to pages
nobody touches: the kernel writes them to swap and frees the RAM.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MADV_PAGEOUT = getattr(mmap, "MADV_PAGEOUT", 21)  # Python knows the name only if its build headers did
_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def private_block(data: bytes | memoryview) -> mmap.mmap:
    """A private anonymous mapping holding a copy of data (private: shared mappings are not VmSwap)."""
    block = mmap.mmap(-1, max(mmap.PAGESIZE, len(data)), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    block[:len(data)] = data
    return block


def page_out(block: mmap.mmap) -> None:
    """Ask the kernel to write the block's pages to swap now; OSError if it refuses."""
    address = ctypes.addressof(ctypes.c_char.from_buffer(block))
    if _libc.madvise(address, len(block), MADV_PAGEOUT) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"madvise(MADV_PAGEOUT): {os.strerror(errno)}")


def own_swap_kb() -> int:
    """This process's VmSwap in kB (0 where the line is missing)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSwap:"):
            return int(line.split()[1])
    return 0


def _swap_total_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("SwapTotal:"):
            return int(line.split()[1])
    return 0


def _pageout_works() -> str | None:
    """None if a page of this process really lands in swap, else why not."""
    block = private_block(b"\x01" * (1 << 20))
    try:
        before = own_swap_kb()
        page_out(block)
        if own_swap_kb() <= before:
            return "madvise(MADV_PAGEOUT) put nothing in swap on this kernel"
        return None
    except OSError as error:
        return str(error)
    finally:
        block.close()


@contextmanager
def swap_enabled(folder: Path, size_mb: int = 128) -> Iterator[str | None]:
    """Swap on for the block: yields None when pages can be put in swap, else the reason they cannot.

    Uses the machine's swap if it has some; otherwise a swap file in `folder`, turned off again at the end.
    """
    swap_file = None
    try:
        if _swap_total_kb() == 0:
            if os.geteuid() != 0 or not shutil.which("swapon") or not shutil.which("mkswap"):
                yield "no swap configured, and turning a swap file on needs root with swapon and mkswap"
                return
            swap_file = folder / "mem15.swap"
            with open(swap_file, "wb") as out:  # written, not fallocated: some filesystems refuse holes
                for _ in range(size_mb):
                    out.write(b"\0" * (1 << 20))
            swap_file.chmod(0o600)
            for command in (["mkswap", "-q", str(swap_file)], ["swapon", str(swap_file)]):
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    swap_file.unlink()
                    swap_file = None
                    yield f"could not turn a swap file on ({' '.join(command[:1])}: {done.stderr.strip()})"
                    return
        yield _pageout_works()
    finally:
        if swap_file is not None:
            subprocess.run(["swapoff", str(swap_file)], capture_output=True)
            swap_file.unlink(missing_ok=True)
