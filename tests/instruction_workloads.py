"""Tiny workloads for tests/test_measure_instructions.py, imported by name in a child process."""
from collections.abc import Callable


def summing(n: int) -> Callable[[], int]:
    """A call that adds up `n` squares in pure Python: its work grows with `n` (real work, no sleep)."""
    def call() -> int:
        return sum(i * i for i in range(n))
    return call
