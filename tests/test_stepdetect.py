"""Step detection over a metric's history, and the trend plot that shows it (synthetic series, fixed seeds)."""
from __future__ import annotations

import numpy as np
import pytest
from history_support import noisy

from auralis_perf.regress.stepdetect import detect_steps, levels, segment
from auralis_perf.regress.trends import trend_png

RUNS = 30


def _series(seed: int, step_at: int | None = None, factor: float = 1.15, sigma: float = 0.05) -> np.ndarray:
    values = noisy(np.random.default_rng(seed), RUNS, scale=10.0, sigma=sigma)
    if step_at is not None:
        values[step_at:] *= factor
    return values


def test_an_injected_step_is_found_where_it_is() -> None:
    steps = detect_steps(_series(11, step_at=15))
    assert len(steps) == 1
    (step,) = steps
    assert abs(step.index - 15) <= 1 and 1.08 <= step.ratio <= 1.25


def test_a_flat_noisy_series_has_no_step() -> None:
    assert detect_steps(_series(12)) == []


def test_rates_over_many_series() -> None:
    """False steps on flat series stay rare; a 15 % step at 5 % noise is found (within 2 runs) nearly always."""
    flat = sum(bool(detect_steps(_series(100 + s))) for s in range(200))
    found = sum(any(abs(st.index - 15) <= 2 for st in detect_steps(_series(400 + s, step_at=15))) for s in range(200))
    assert flat <= 4, f"{flat} of 200 flat series showed a step"
    assert found >= 180, f"only {found} of 200 injected steps were found"


def test_one_wild_run_is_not_a_step() -> None:
    values = _series(13)
    values[20] *= 3
    assert detect_steps(values) == []


def test_a_slow_drift_becomes_visible_as_upward_steps() -> None:
    drift = _series(14) * np.linspace(1.0, 1.3, RUNS)  # 1 % per run: no neighbour differs by the 10 % floor
    steps = detect_steps(drift)
    assert steps and all(s.after > s.before for s in steps)


def test_relative_floor_and_small_or_odd_series() -> None:
    values = _series(15, step_at=15, factor=1.15, sigma=0.005)
    assert len(detect_steps(values)) == 1
    assert detect_steps(values, min_rel_step=0.2) == [], "a 15 % step is below a 20 % floor"
    assert detect_steps([5.0] * RUNS) == [] and detect_steps([1.0, 2.0]) == [] and detect_steps([]) == []
    counts = [0, 0, 1, 0, 0, 0, 0, 0, 5, 5, 6, 5, 5, 5, 5, 5]  # zeros: detected on the raw scale
    assert [s.index for s in detect_steps(counts)] == [8]
    with pytest.raises(ValueError, match="finite"):
        detect_steps([1.0, float("nan"), 2.0])


def test_segments_and_levels_cover_the_series() -> None:
    values = list(_series(16, step_at=10, factor=1.3))
    bounds = segment(values)
    assert bounds[0][0] == 0 and bounds[-1][1] == RUNS and all(a < b for a, b in bounds)
    steps = detect_steps(values)
    fitted = levels(values, steps)
    assert len(fitted) == RUNS and fitted[0] < fitted[-1]


def test_trend_png_is_a_png_with_the_steps_drawn() -> None:
    values = _series(17, step_at=15)
    series = [{"value": float(v)} for v in values] + [{"value": None}]
    png = trend_png(series, title="RT-06 first-chunk latency", unit="ms", direction="lower")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 5_000 < len(png) < 120_000
    assert trend_png([], title="empty").startswith(b"\x89PNG")
