"""Timing statistics on known samples, calibration, Stopwatch and the real-time factor (no timing thresholds)."""
import json
import math

import pytest

from auralis_perf.measure import (
    Stopwatch,
    Timing,
    describe,
    measure_time,
    rtf,
    stability_warnings,
    throughput,
    time_once,
)


def test_describe_exact_on_known_list():
    stats = describe([5.0, 1.0, 3.0, 2.0, 4.0])
    assert stats.n == 5
    assert stats.median == 3.0
    assert stats.q1 == 2.0 and stats.q3 == 4.0 and stats.iqr == 2.0
    assert stats.mean == 3.0
    assert stats.stdev == pytest.approx(math.sqrt(2.5))          # sample stdev, n - 1
    assert stats.cv == pytest.approx(math.sqrt(2.5) / 3.0)
    assert (stats.min, stats.max) == (1.0, 5.0)


def test_describe_interpolates_quartiles_on_even_list():
    stats = describe([1.0, 2.0, 3.0, 4.0])
    assert stats.median == 2.5
    assert stats.q1 == pytest.approx(1.75) and stats.q3 == pytest.approx(3.25)
    assert stats.iqr == pytest.approx(1.5)


def test_describe_rejects_empty_and_non_finite():
    with pytest.raises(ValueError, match="empty"):
        describe([])
    with pytest.raises(ValueError, match="finite"):
        describe([1.0, float("nan")])


def test_stability_flags_spread_and_too_few_samples():
    steady = Timing([1.00, 1.01, 0.99, 1.00, 1.02])
    assert steady.stable and steady.warning is None
    noisy = Timing([1.0, 2.0, 1.0, 2.0, 1.0])
    assert not noisy.stable and "of the mean" in noisy.warning
    few = Timing([1.0, 1.0, 1.0])
    assert not few.stable and "only 3 sample" in few.warning
    assert stability_warnings(describe([1.0] * 5)) == []


def test_summary_is_json_able_and_complete():
    timing = Timing([0.2, 0.1, 0.3, 0.4, 0.5], loops=4)
    summary = json.loads(json.dumps(timing.summary()))
    for key in ("median", "q1", "q3", "iqr", "mean", "stdev", "cv", "min", "max", "n", "loops", "stable"):
        assert key in summary
    assert summary["median"] == 0.3 and summary["loops"] == 4 and summary["n"] == 5
    assert timing.samples == [0.2, 0.1, 0.3, 0.4, 0.5]  # raw order kept


def test_calibration_batches_a_trivially_fast_function():
    calls = []
    timing = measure_time(lambda: calls.append(1), repeat=5, min_time=0.0, sample_target=0.002)
    assert timing.loops > 1
    assert timing.n >= 5
    assert timing.samples and all(s > 0 for s in timing.samples)
    assert len(calls) >= timing.loops * timing.n  # every sample really made `loops` calls


def test_fixed_loops_warmup_and_setup_are_honoured():
    calls = []
    states = iter(range(100))
    timing = measure_time(lambda state: calls.append(state), warmup=2, repeat=6, min_time=0.0, inner_loops=3,
                          setup=lambda: next(states))
    assert timing.loops == 3 and timing.n == 6
    assert len(calls) == 2 + 6 * 3
    assert calls[2:5] == [2, 2, 2]  # one setup per sample, passed to every call of that sample


def test_max_time_stops_after_the_minimum_samples():
    timing = measure_time(lambda: None, repeat=5, min_time=60.0, max_time=0.001, inner_loops=1)
    assert timing.n >= 5


@pytest.mark.parametrize("bad", [{"repeat": 0}, {"warmup": -1}, {"inner_loops": 0}, {"max_time": 0}])
def test_bad_arguments_are_rejected(bad):
    with pytest.raises(ValueError):
        measure_time(lambda: None, **bad)


def test_stopwatch_collects_one_sample_per_block():
    watch = Stopwatch()
    for _ in range(5):
        with watch:
            sum(range(1000))
    assert len(watch.samples) == 5 and all(s > 0 for s in watch.samples)
    assert watch.elapsed == watch.samples[-1]
    assert watch.total == pytest.approx(sum(watch.samples))
    assert watch.timing().n == 5
    assert time_once(lambda: None) >= 0


def test_rtf_from_timing_and_from_list():
    median, per_sample = rtf(10.0, Timing([0.5, 0.25, 1.0, 0.5, 0.5]))
    assert per_sample == [20.0, 40.0, 10.0, 20.0, 20.0]
    assert median == 20.0
    assert rtf(6.0, [2.0, 3.0])[0] == pytest.approx(2.5)
    with pytest.raises(ValueError):
        rtf(0.0, [1.0])
    with pytest.raises(ValueError):
        rtf(1.0, [])


def test_slow_call_skips_calibration_after_warmup():
    calls = []
    measure_time(lambda: calls.append(1), warmup=1, repeat=5, min_time=0.0, sample_target=0.0)
    assert len(calls) == 1 + 5  # warm-up, then the samples: calibration reused the warm-up's time


def test_to_dict_round_trips_through_json():
    data = json.loads(json.dumps(Timing([0.1, 0.2, 0.3, 0.4, 0.5], loops=2, warmup=1).to_dict()))
    assert data["samples"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert data["loops"] == 2 and data["warmup"] == 1 and data["summary"]["median"] == 0.3
    assert data["warnings"]  # cv of this list is ~53 %


def test_throughput_counts_units_per_second():
    median, per_sample = throughput(48_000, [0.5, 1.0, 0.25])
    assert per_sample == [96_000.0, 48_000.0, 192_000.0] and median == 96_000.0
    with pytest.raises(ValueError, match="positive"):
        throughput(0, [1.0])
