"""The harness's peak meters: true peak over blocks equals one oversampling of the whole signal."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from auralis_perf.measure import peaks
from auralis_perf.measure.peaks import sample_peak_dbfs, true_peak_dbtp


def test_true_peak_in_blocks_equals_the_whole_signal_oversampled(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    audio = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal((20_000, 2)), axis=0) * 0.05
    audio[12_345, 1] = 0.9  # a spike next to a block boundary below
    whole = 20 * np.log10(np.abs(signal.resample_poly(audio, 4, 1, axis=0)).max())
    monkeypatch.setattr(peaks, "BLOCK_FRAMES", 4096)  # five blocks, boundaries inside the signal
    assert true_peak_dbtp(audio) == pytest.approx(whole, abs=1e-12)
    assert true_peak_dbtp(audio[:, 1]) == pytest.approx(20 * np.log10(np.abs(
        signal.resample_poly(audio[:, 1], 4, 1)).max()), abs=1e-12)


def test_true_peak_sees_what_the_samples_miss() -> None:
    # a sine at a quarter of the sample rate sampled 45 degrees off its crests: samples at -3 dB
    sine = np.sin(np.pi / 2 * np.arange(8000) + np.pi / 4)
    assert sample_peak_dbfs(sine) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(sine, skip=100) == pytest.approx(0.0, abs=0.05)
    assert true_peak_dbtp(np.zeros((100, 2))) == sample_peak_dbfs(np.zeros(0)) == float("-inf")
