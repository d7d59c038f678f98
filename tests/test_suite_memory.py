"""The memory suite (MEM-01..MEM-20) on the reference engine at tiny sizes, its leak judge and plots.

No timing or size assertions on the reference engine: its figures depend on the machine. What is
asserted is the shape of every record, that the leak judge flags a synthetic leak and passes a flat
series, and that an engine which really leaks makes MEM-06 fail.
"""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from protocol_double import assert_protocols_only  # noqa: E402
from suite_support import (  # noqa: E402
    assert_groups_match_the_catalogue,
    assert_plots_draw,
    assert_records_well_formed,
    category_records,
    shrunk_smoke_sizes,
)

from auralis_perf.engines import Capability, Engine, get_engine  # noqa: E402
from auralis_perf.results import check_record  # noqa: E402
from auralis_perf.suites import SuiteContext  # noqa: E402
from auralis_perf.suites.common.growth import judge_growth  # noqa: E402
from auralis_perf.suites.memory import baseline as memory_baseline  # noqa: E402
from auralis_perf.suites.memory import efficiency as memory_efficiency  # noqa: E402
from auralis_perf.suites.memory import leaks as memory_leaks  # noqa: E402
from auralis_perf.suites.memory import peak as memory_peak  # noqa: E402

MEM_IDS = [f"MEM-{i:02d}" for i in range(1, 21)]
KINDS = {"rss", "uss", "peak_rss", "traced", "swap", "ratio"}

#: Smoke sizes shrunk further so the whole category runs in seconds (the real ones stay in the modules).
TINY = {
    memory_baseline: {"track_s": 2.0, "n_tracks": 3, "tracks_len_s": 1.0, "distinct_files": 2},
    memory_leaks: {"cycles": 24, "clip_s": 0.2, "checkpoints": 6, "batch_items": 2, "batch_s": 1.0,
                    "batch_repeats": 1, "sessions": 3, "cache_tracks": 300, "cache_bound": 20, "stream_s": 2.0},
    memory_peak: {"in_memory_s": 2.0, "concurrent_s": 0.5, "large_mb": (1, 3), "analysis_s": 3.0},
    memory_efficiency: {"library_tracks": 300, "loaded_tracks": 100, "zipf_requests": 600, "stream_s": 2.0,
                         "lazy_s": 2.0, "fragment_cycles": 8, "fragment_max_s": 0.5},
}


@pytest.fixture(scope="module")
def tiny_sizes():
    with shrunk_smoke_sizes(TINY):
        yield


@pytest.fixture(scope="module")
def records(tiny_sizes, strict_engine, tmp_path_factory):
    ctx = SuiteContext(engine=strict_engine, profile="smoke", workdir=tmp_path_factory.mktemp("memory"))
    return category_records(ctx, "memory")


def test_the_suite_reaches_the_engine_only_through_its_protocols(records, strict_engine):
    assert_protocols_only(records, strict_engine)


def test_groups_match_the_catalogue():
    assert_groups_match_the_catalogue("memory", ["Baseline", "Leaks", "Peak", "Efficiency"], MEM_IDS)


def test_every_check_has_a_record_of_the_right_shape(records):
    assert_records_well_formed(records, MEM_IDS, kinds=KINDS)


def test_the_reference_engine_measures_every_check(records):
    not_measured = {i: f"{r.status}: {r.reason}" for i, r in records.items() if r.status not in ("pass", "fail")}
    if "MEM-15" in not_measured and "no swap configured" in not_measured["MEM-15"]:
        del not_measured["MEM-15"]  # a machine without swap cannot measure swap use (it skips)
    assert not not_measured


def test_figures_say_what_they_are(records):
    assert records["MEM-01"].kind == "rss" and records["MEM-01"].details["uss_mb"]
    assert records["MEM-13"].kind == "peak_rss" and len(records["MEM-13"].details["runs"]) == 2
    assert records["MEM-10"].kind == "traced"
    assert records["MEM-15"].kind == "swap" or records["MEM-15"].status == "skip"
    assert "ci_per_1000_mb" in records["MEM-06"].details


SWAP_START = {"time": 0.0, "total_mb": 2048.0, "used_mb": 10.0, "sin_bytes": 0.0, "sout_bytes": 0.0}


def test_swap_skips_without_swap_configured(tmp_path):
    ctx = SuiteContext(engine=get_engine("reference"), profile="smoke", workdir=tmp_path)
    none = {"total_mb": 0.0, "used_mb": 0.0, "sin_bytes": 0.0, "sout_bytes": 0.0}
    r = memory_peak.judge_swap(ctx, {**none, "time": 0.0}, none, 0.0)
    assert r.status == "skip" and "no swap configured" in r.reason


def test_swap_judges_this_process_trees_own_swap_not_the_systems(tmp_path):
    ctx = SuiteContext(engine=get_engine("reference"), profile="smoke", workdir=tmp_path)
    busy_system = {**SWAP_START, "sin_bytes": 500.0 * 2**20}  # other programs swapped 500 MB in
    quiet = memory_peak.judge_swap(ctx, SWAP_START, busy_system, 0.0)
    assert quiet.status == "pass" and quiet.value == 0.0 and quiet.details["system_swap_in_mb"] == 500.0
    swapped = memory_peak.judge_swap(ctx, SWAP_START, SWAP_START, 12.5)  # our pages went to swap
    assert swapped.status == "fail" and swapped.value == 12.5
    hidden = memory_peak.judge_swap(ctx, SWAP_START, SWAP_START, None)
    assert hidden.status == "skip" and "VmSwap" in hidden.reason


def test_leak_judge_flags_a_synthetic_leak():
    rng = np.random.default_rng(1)
    cycles = np.arange(0, 1001, 50)
    leaking = 300.0 + 0.004 * cycles + rng.normal(0.0, 0.3, cycles.size)  # 4 MB per 1000 cycles, noisy
    growth = judge_growth(cycles, leaking, per=1000, tolerance=1.0)
    assert growth["leak_beyond_doubt"]
    assert growth["ci"][0] > 1.0
    assert check_record("MEM-06", growth["value"]).status == "fail"


def test_leak_judge_passes_a_flat_series():
    rng = np.random.default_rng(2)
    cycles = np.arange(0, 1001, 50)
    flat = 300.0 + rng.normal(0.0, 0.3, cycles.size)
    growth = judge_growth(cycles, flat, per=1000, tolerance=1.0)
    assert not growth["leak_beyond_doubt"]
    assert check_record("MEM-06", growth["value"]).status == "pass"


def test_leak_judge_handles_a_series_of_equal_readings():
    growth = judge_growth([0, 10, 20, 30], [250.0] * 4, per=1000, tolerance=1.0)
    assert growth["value"] == 0.0 and growth["ci"] == [0.0, 0.0] and not growth["leak_beyond_doubt"]


class LeakyEngine(Engine):
    """Masters by copying, and keeps 256 KiB of every call forever: a leak MEM-06 must catch."""

    name = "leaky"
    capabilities = frozenset({Capability.MASTER, Capability.STREAM})

    def __init__(self) -> None:
        self.kept: list[np.ndarray] = []

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        self.kept.append(np.ones(32 * 1024))  # touched pages: they count in RSS
        return np.array(audio, copy=True)

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default"):
        raise NotImplementedError


def test_a_leaking_engine_fails_mem06(tiny_sizes, tmp_path):
    ctx = SuiteContext(engine=LeakyEngine(), profile="smoke", workdir=tmp_path)
    r = memory_leaks.mem06_cycles(ctx)
    assert r.status == "fail"
    assert r.value > 100  # 256 KiB per cycle is 250 MB per 1000 cycles
    assert r.details["leak_beyond_doubt"]


def test_zipf_requests_are_skewed_and_lru_gains_with_size():
    requests = memory_efficiency.zipf_requests(1000, 5000, seed=0)
    counts = np.bincount(requests, minlength=1001)
    top = np.sort(counts)[::-1]
    assert top[:100].sum() > 0.5 * len(requests)  # a tenth of the items takes most requests
    rates = [memory_efficiency.lru_hit_rate(requests, c) for c in (10, 100, 500)]
    assert rates[0] < rates[1] < rates[2] <= 1.0


def test_deep_sizeof_counts_tuple_subclasses_and_shared_objects_once():
    from typing import NamedTuple

    class Row(NamedTuple):
        title: str
        tags: tuple

    shared = "x" * 1000
    one = memory_leaks.deep_sizeof(Row(shared, ("a",)))
    two = memory_leaks.deep_sizeof([Row(shared, ("a",)), Row(shared, ("b",))])
    assert one > 1000  # the string inside the named tuple is counted
    assert two < 2 * one  # the shared string is counted once


def test_plots_draw_from_the_records(records, tmp_path):
    from auralis_perf.notebook.plots import memory as mem_plots

    assert_plots_draw("memory", records, tmp_path, (mem_plots.plot_baseline, mem_plots.plot_leaks, mem_plots.plot_peak,
                                                     mem_plots.plot_efficiency))
