"""Engines for instruction-count runs by hand, e.g. `--instructions --engine instruction_engines:HeavierMaster`
with tests/ on PYTHONPATH (apart from tests/instruction_workloads.py, which must stay free of imports)."""
from auralis_perf.engines.reference import ReferenceEngine


class HeavierMaster(ReferenceEngine):
    """The reference engine with 2 % more real work in master(): it also masters the first 2 % of the clip."""

    name = "heavier-master"

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        extra = audio[: max(1, audio.shape[0] // 50)]
        super().master(extra, sample_rate, preset, optimized=optimized)
        return super().master(audio, sample_rate, preset, optimized=optimized)
