"""Tiny workloads for tests/test_measure_instructions.py, imported by name in a child process under Valgrind.

This module imports nothing: everything it imports is run (and counted) under Valgrind at about 50 times
its normal cost, so an import of the reference engine here (numpy, scipy, numba) cost that test about
50 s of CPU time per count. Engines for instruction runs live in tests/instruction_engines.py.
"""
from collections.abc import Callable


def summing(n: int) -> Callable[[], int]:
    """A call that adds up `n` squares in pure Python: its work grows with `n` (real work, no sleep)."""
    def call() -> int:
        return sum(i * i for i in range(n))
    return call


_PREPARED: list[int] = []


def prepare_summing(n: int) -> None:
    """A shared set-up (`Workload.prepare`): run once before the workloads are forked, seen by each of them."""
    _PREPARED.append(n)


def prepared_summing() -> Callable[[], int]:
    """`summing` of the `n` the shared set-up left; fails when the set-up did not run first."""
    if not _PREPARED:
        raise RuntimeError("prepare_summing did not run before the workload")
    return summing(_PREPARED[-1])
