"""Descriptive statistics of raw samples: the numbers every timing figure is summarised by.

Quartiles use linear interpolation between order statistics (NumPy's default `linear` method, the same
as `statistics.quantiles(method="inclusive")`), so results are exact and reproducible on known lists.
The standard deviation is the sample one (n - 1): samples are a draw, not the population.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

#: Below this many samples a figure is flagged unstable (the issue asks for at least 5).
MIN_STABLE_SAMPLES = 5
#: Coefficient of variation at or above which a figure is flagged unstable (pyperf's rule: std >= 10 % mean).
UNSTABLE_CV = 0.10


@dataclass(frozen=True)
class SampleStats:
    n: int
    median: float
    q1: float
    q3: float
    iqr: float
    mean: float
    stdev: float
    cv: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of already sorted values, interpolating linearly between order statistics."""
    if not sorted_values:
        raise ValueError("quantile of an empty sample")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile level must be within [0, 1], got {q!r}")
    position = (len(sorted_values) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def describe(samples: Sequence[float]) -> SampleStats:
    """Median, quartiles, IQR, mean, sample standard deviation, CV, min and max of `samples`."""
    values = [float(v) for v in samples]
    if not values:
        raise ValueError("cannot describe an empty list of samples")
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ValueError(f"samples must be finite numbers, got {bad[:3]}")
    values.sort()
    n = len(values)
    mean = math.fsum(values) / n
    stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    q1, median, q3 = (quantile(values, q) for q in (0.25, 0.5, 0.75))
    cv = stdev / mean if mean != 0 else (0.0 if stdev == 0 else math.inf)
    return SampleStats(n=n, median=median, q1=q1, q3=q3, iqr=q3 - q1, mean=mean, stdev=stdev, cv=cv,
                       min=values[0], max=values[-1])


def stability_warnings(stats: SampleStats, *, min_samples: int = MIN_STABLE_SAMPLES,
                       max_cv: float = UNSTABLE_CV) -> list[str]:
    """Reasons, in words, why a set of samples should not be trusted (empty when it looks stable)."""
    warnings: list[str] = []
    if stats.n < min_samples:
        warnings.append(f"only {stats.n} sample(s); at least {min_samples} are needed for a stable figure")
    if stats.n > 1 and stats.cv >= max_cv:
        warnings.append(f"the standard deviation is {stats.cv:.0%} of the mean (>= {max_cv:.0%}): "
                        "the machine was busy or the workload varies; treat the figure as noisy")
    return warnings
