"""Step detection over a metric's history: where did its level change, and by how much?

In the manner of asv, a piecewise-constant level is fitted to the series; here by binary segmentation:
1. in a stretch of runs, a step is tested with Pettitt's rank statistic (the standardised Mann-Whitney
   rank sum of the runs before vs after each possible split, maximised over the splits); its p-value
   comes from the same maximum over a fixed set of shuffles of the ranks, so having looked at every split
   is paid for, and a flat noisy series shows a false step in about alpha of cases;
2. a significant step is placed where the sum of absolute deviations from each side's median is least
   (an L1 cost: one wild run barely moves a median); both sides need at least `min_size` runs;
3. both sides are searched again, recursively;
4. finally, adjacent levels closer than the relative floor `min_rel_step` are merged.

Working on the logarithm of positive series makes noise and steps relative. A slow drift over many runs
shows up as a staircase of steps even when no single run differs from the previous by the floor.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

#: Smallest relative change in level reported as a step (history averages many runs, so this can sit
#: below the 10 % floor that a single comparison needs).
MIN_REL_STEP = 0.05
#: Fewest runs on each side of a step: one odd run is never a step.
MIN_SIZE = 3
#: Significance a split needs, after the Bonferroni correction.
ALPHA = 0.01
#: Shuffles used to calibrate a split's p-value.
PERMUTATIONS = 999
#: Longest series handled (the newest points are kept).
MAX_POINTS = 400
_SEED = 20_240_601


@dataclass(frozen=True)
class Step:
    """A change of level: the new level starts at `index` of the series."""

    index: int
    before: float
    after: float

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else math.inf

    @property
    def relative(self) -> float:
        """Signed relative size: +0.12 is 12 % up."""
        return self.ratio - 1


def _transformed(values: Sequence[float]) -> np.ndarray:
    y = np.asarray([float(v) for v in values], dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("step detection needs finite values (drop runs without a value first)")
    return np.log(y) if y.size and np.all(y > 0) else y


def _rank_cusum(ranks: np.ndarray, min_size: int) -> np.ndarray:
    """Standardised Mann-Whitney statistic of every split (rows: permutations; columns: split positions)."""
    n = ranks.shape[-1]
    k = np.arange(min_size, n - min_size + 1)
    sums = np.cumsum(ranks, axis=-1)[..., k - 1]
    expected = k * (n + 1) / 2
    scale = np.sqrt(k * (n - k) * (n + 1) / 12)
    return np.abs(sums - expected) / scale


def _split_p(y: np.ndarray, min_size: int, permutations: int) -> float | None:
    """p-value of the most likely split of y, or None when y is too short or constant (where the split lies
    is `_l1_split`'s job, asked only when the p-value is significant: most series have no step).

    The split maximises the standardised rank-sum statistic (Pettitt's change-point test); its p-value
    comes from the same maximum over `permutations` shuffles of the ranks (a fixed seed keeps it
    reproducible), which accounts for having looked at every possible split.
    """
    if y.size < 2 * min_size or np.ptp(y) == 0:
        return None
    ranks = rankdata(y)
    observed = _rank_cusum(ranks, min_size)
    best = int(np.argmax(observed))
    rng = np.random.default_rng(_SEED)
    shuffled = rng.permuted(np.broadcast_to(ranks, (permutations, ranks.size)), axis=1)
    null_max = _rank_cusum(shuffled, min_size).max(axis=1)
    return (1 + int(np.sum(null_max >= observed[best] - 1e-12))) / (permutations + 1)


def _l1(part: np.ndarray) -> float:
    return float(np.abs(part - np.median(part)).sum())


def _l1_split(y: np.ndarray, min_size: int) -> int:
    """Where the step is: the split minimising the absolute deviations from each side's median."""
    return min(range(min_size, y.size - min_size + 1), key=lambda k: _l1(y[:k]) + _l1(y[k:]))


def segment(values: Sequence[float], *, min_size: int = MIN_SIZE, alpha: float = ALPHA,
            permutations: int = PERMUTATIONS) -> list[tuple[int, int]]:
    """Half-open (start, end) index pairs of the levels found by binary segmentation, in order."""
    y = _transformed(values)
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size}")
    cuts: list[int] = []
    stack = [(0, y.size)]
    while stack:
        lo, hi = stack.pop()
        p = _split_p(y[lo:hi], min_size, permutations)
        if p is None or p >= alpha:
            continue
        cut = lo + _l1_split(y[lo:hi], min_size)
        cuts.append(cut)
        stack += [(lo, cut), (cut, hi)]
    edges = [0, *sorted(cuts), y.size]
    return [(edges[k], edges[k + 1]) for k in range(len(edges) - 1)] if y.size else []


def detect_steps(values: Sequence[float], *, min_rel_step: float = MIN_REL_STEP, min_size: int = MIN_SIZE,
                 alpha: float = ALPHA) -> list[Step]:
    """Steps in a series (oldest first) that are significant and at least `min_rel_step` in relative size.

    Adjacent levels whose medians differ by less than the floor are merged, smallest difference first,
    until every step left is at least that large.
    """
    raw = np.asarray([float(v) for v in values], dtype=float)[-MAX_POINTS:]
    bounds = segment(raw, min_size=min_size, alpha=alpha)
    while len(bounds) > 1:
        medians = [float(np.median(raw[a:b])) for a, b in bounds]
        sizes = [_relative_change(medians[k], medians[k + 1]) for k in range(len(medians) - 1)]
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= min_rel_step:
            break
        bounds[smallest] = (bounds[smallest][0], bounds[smallest + 1][1])
        del bounds[smallest + 1]
    offset = len(values) - raw.size
    medians = [float(np.median(raw[a:b])) for a, b in bounds]
    return [Step(offset + bounds[k + 1][0], medians[k], medians[k + 1]) for k in range(len(bounds) - 1)]


def _relative_change(a: float, b: float) -> float:
    """|b - a| relative to the smaller magnitude (a 10 % rise and its reverse count the same)."""
    low = min(abs(a), abs(b))
    if low == 0:
        return 0.0 if a == b else math.inf
    return abs(b - a) / low


def levels(values: Sequence[float], steps: Sequence[Step]) -> list[float]:
    """The fitted level at every point of the series, for drawing."""
    out, start = [], 0
    bounds = [s.index for s in steps] + [len(values)]
    for end in bounds:
        level = float(np.median(np.asarray(values[start:end], dtype=float))) if end > start else math.nan
        out.extend([level] * (end - start))
        start = end
    return out
