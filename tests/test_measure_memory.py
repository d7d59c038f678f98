"""Memory helpers: kinds and sane values, peak sampling, tracemalloc, leak slope verdicts, GC helper."""
import json
import random
import tracemalloc

import numpy as np
import pytest

from auralis_perf.measure import (
    MEMORY_KINDS,
    MemoryFigure,
    collect_garbage,
    current,
    is_leak,
    leak_slope,
    peak_rss_during,
    process_swap_mb,
    rss_mb,
    swap_activity_during,
    system_swap_counters,
    traced_allocations,
    uss_mb,
)


def test_rss_and_uss_are_positive_and_uss_not_above_rss():
    rss, uss = rss_mb(), uss_mb()
    assert rss > 1 and uss > 1
    assert uss <= rss * 1.05  # unique pages are a part of the resident ones (small slack: read at two moments)


@pytest.mark.parametrize("kind", ["rss", "uss", "swap"])
def test_current_figure_says_its_kind(kind):
    figure = current(kind)
    assert figure.kind == kind
    assert figure.value_mb >= 0 or np.isnan(figure.value_mb)
    assert json.loads(json.dumps(figure.to_dict()))["kind"] == kind


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown memory kind"):
        MemoryFigure(1.0, "heap")
    with pytest.raises(ValueError, match="reads kinds"):
        current("traced")
    assert set(MEMORY_KINDS) == {"rss", "uss", "peak_rss", "traced", "swap"}


def test_peak_rss_sees_a_touched_buffer():
    size_mb = 64

    def allocate_and_touch():
        buffer = np.ones(size_mb * 2**20 // 8)
        return float(buffer[::4096].sum())

    result, peak = peak_rss_during(allocate_and_touch, interval=0.001)
    assert result > 0
    assert peak.kind == "peak_rss" and peak.method in ("hwm", "sampled")
    assert peak.delta_mb > size_mb * 0.5  # the touched pages show in the peak
    assert len(peak.times_s) == len(peak.series_mb) >= 2
    assert peak.series_mb[0] == peak.baseline_mb
    assert json.loads(json.dumps(peak.to_dict()))["delta_mb"] == pytest.approx(peak.delta_mb)
    assert peak.figure().kind == "peak_rss"


def test_peak_rss_with_children_uses_sampling():
    _, peak = peak_rss_during(lambda: None, include_children=True)
    assert peak.method == "sampled" and peak.peak_mb >= peak.baseline_mb > 0


def test_traced_allocations_count_requested_bytes():
    kept = []
    _, traced = traced_allocations(lambda: kept.append(np.zeros(100_000)), calls=4)  # 800 kB each, kept alive
    assert traced.kind == "traced" and traced.calls == 4
    assert traced.net_bytes >= 4 * 800_000
    assert traced.per_call_bytes == pytest.approx(traced.net_bytes / 4)
    assert traced.peak_bytes >= traced.net_bytes
    assert not tracemalloc.is_tracing()  # left as found


def test_traced_allocations_keep_an_outer_trace_running():
    tracemalloc.start()
    try:
        _, traced = traced_allocations(lambda: np.zeros(1000))
        assert tracemalloc.is_tracing()
        assert traced.peak_bytes >= 8000
    finally:
        tracemalloc.stop()


def test_swap_helpers_report_numbers_or_none():
    counters = system_swap_counters()
    assert set(counters) == {"total_mb", "used_mb", "sin_bytes", "sout_bytes"}
    assert counters["total_mb"] >= 0
    swap = process_swap_mb()
    assert swap is None or swap >= 0
    result, activity = swap_activity_during(lambda: 42)
    assert result == 42
    assert activity["swap_in_bytes"] is None or activity["swap_in_bytes"] >= 0


def test_leak_slope_flags_a_synthetic_leak():
    rng = random.Random(7)
    x = list(range(30))
    y = [100.0 + 2.0 * i + rng.gauss(0, 1.0) for i in x]  # 2 MB per track, 1 MB noise
    fit = leak_slope(x, y)
    assert fit.slope == pytest.approx(2.0, abs=0.2)
    assert fit.ci_low < fit.slope < fit.ci_high
    assert is_leak(fit, tolerance_per_unit=1.0)


def test_leak_slope_passes_a_flat_noisy_series():
    rng = random.Random(11)
    x = list(range(30))
    y = [100.0 + rng.gauss(0, 3.0) for _ in x]
    fit = leak_slope(x, y)
    assert not is_leak(fit, tolerance_per_unit=0.1)
    assert fit.ci_low <= 0.1
    assert json.loads(json.dumps(fit.to_dict()))["n"] == 30


def test_leak_slope_on_an_exact_line_has_zero_error():
    fit = leak_slope([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0])
    assert fit.slope == pytest.approx(2.0) and fit.stderr == pytest.approx(0.0, abs=1e-12)
    assert is_leak(fit, 1.0) and not is_leak(fit, 3.0)


@pytest.mark.parametrize("x, y, message", [([1, 2], [1, 2], "at least 3"), ([1, 2, 3], [1, 2], "same length"),
                                           ([1, 1, 1], [1, 2, 3], "distinct")])
def test_leak_slope_rejects_unusable_series(x, y, message):
    with pytest.raises(ValueError, match=message):
        leak_slope(x, y)


def test_collect_garbage_frees_cycles():
    class Node:
        pass

    for _ in range(10):
        a, b = Node(), Node()
        a.other, b.other = b, a
    del a, b
    assert collect_garbage() >= 2


def test_nested_peak_keeps_the_outer_peak():
    size = 48 * 2**20 // 8

    def outer():
        buffer = np.ones(size)  # touched, then freed before the inner call resets the kernel's mark
        del buffer
        collect_garbage()
        return peak_rss_during(lambda: None)[1]

    _, outer_peak = peak_rss_during(outer)
    inner_peak = outer()
    assert outer_peak.delta_mb > 24  # the buffer before the nested reset still counts for the outer call
    assert inner_peak.peak_mb < outer_peak.peak_mb


def test_memory_profiler_sampler_agrees_on_kind_and_result():
    result, peak = peak_rss_during(lambda: np.ones(2**20).sum(), sampler="memory_profiler", interval=0.01)
    assert result == 2**20
    assert peak.kind == "peak_rss" and peak.peak_mb >= peak.baseline_mb > 0
    assert len(peak.series_mb) >= 2
    with pytest.raises(ValueError, match="unknown sampler"):
        peak_rss_during(lambda: None, sampler="guess")
