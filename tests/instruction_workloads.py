"""Tiny workloads for tests/test_measure_instructions.py, imported by name in a child process."""
from collections.abc import Callable


def summing(n: int) -> Callable[[], int]:
    """A call that adds up `n` squares in pure Python: its work grows with `n` (real work, no sleep)."""
    def call() -> int:
        return sum(i * i for i in range(n))
    return call


from auralis_perf.engines.reference import ReferenceEngine  # noqa: E402 - after the tiny workloads on purpose


class HeavierMaster(ReferenceEngine):
    """The reference engine with 2 % more real work in master(): it also masters the first 2 % of the clip."""

    name = "heavier-master"

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        extra = audio[: max(1, audio.shape[0] // 50)]
        super().master(extra, sample_rate, preset, optimized=optimized)
        return super().master(audio, sample_rate, preset, optimized=optimized)
