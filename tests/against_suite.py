"""A tiny realtime suite for the `--against` end-to-end test, selected with AURALIS_PERF_SUITES in the kernels.

Its "Real-time factor" group is the real one (RT-01..RT-05 on the engine's master()) on clips of 0.5-1 s;
the other realtime groups skip, so the test pays only for what it judges.
"""
from auralis_perf.results import skipped
from auralis_perf.suites import group
from auralis_perf.suites.realtime.common import SIZES
from auralis_perf.suites.realtime.rtf import real_time_factor_checks

SIZES["rtf_seconds"]["smoke"] = (0.5, 0.5, 1.0)
SIZES["rtf_runs"]["smoke"] = 8
SIZES["rtf_min_seconds"]["smoke"] = (0.0, 0.0, 0.0)  # one call per round and clip: the tests count them
CATEGORY = "realtime"
group("Real-time factor", category=CATEGORY, ids=["RT-01", "RT-02", "RT-03", "RT-04", "RT-05"])(
    real_time_factor_checks)


def _skipping(ids):
    def run(ctx):
        return [skipped(ctx.catalog[i], "not part of the --against end-to-end test") for i in ids]
    return run


for _name, _first in (("Latency", 6), ("Throughput", 11), ("Optimization effectiveness", 16)):
    _ids = [f"RT-{n:02d}" for n in range(_first, _first + 5)]
    group(_name, category=CATEGORY, ids=_ids)(_skipping(_ids))
