"""Paired verdicts: candidate and baseline measured in alternating rounds of one session (`--against`).

Round k of the candidate and round k of the baseline ran next to each other (A B B A ...), so whatever
the machine did at that moment hit both. The figure judged is the per-round log ratio
d_k = log(candidate_k / baseline_k), turned so that d > 0 means "candidate worse":

- the estimate is exp(median d), the candidate's figure as a multiple of the baseline's (worse factor);
- its confidence interval is a percentile bootstrap of the median of d (scipy.stats.bootstrap, seeded);
- significance is the one-sided Wilcoxon signed-rank test on d (scipy.stats.wilcoxon) and the one-sided
  sign test (scipy.stats.binomtest on the rounds that point the estimate's way), the smaller p doubled
  (Bonferroni, so the pair of tests keeps the false-alarm rate at alpha). Why two: on a shared machine a
  burst sometimes slows one side for a whole round. Wilcoxon gives that reversed round its full rank, and
  measured here one reversed round of 12, the largest difference, lifted p to 0.013 on a 10 % slowdown
  that the other 11 rounds showed plainly; the sign test counts it as one round (11 of 12: p 0.003).
  Where small differences point the other way, the Wilcoxon test is the stronger of the two;
- `regressed`/`improved` need the estimate beyond the check's floor AND p < alpha; `unchanged` when the
  whole interval lies within the floor; anything else, and fewer than MIN_ROUNDS rounds, is
  `inconclusive` (with 8 rounds the smallest exact one-sided p of either test is 1/256, doubled 1/128,
  the first below 0.01).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap, wilcoxon

#: Fewer paired rounds than this: no verdict but `inconclusive`.
MIN_ROUNDS = 8
CONFIDENCE = 0.95
_BOOTSTRAP_RESAMPLES = 2000
_SEED = 14


@dataclass(frozen=True)
class PairedResult:
    verdict: str                 # regressed | improved | unchanged | inconclusive
    rounds: int
    ratio: float | None          # median per-round candidate / baseline of the judged figure
    ci: tuple[float, float] | None   # CONFIDENCE interval of that ratio
    p_value: float | None
    note: str


def _log_ratios(candidate: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    if len(candidate) != len(baseline):
        raise ValueError(f"paired rounds differ in number: {len(candidate)} candidate, {len(baseline)} baseline")
    c, b = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    keep = np.isfinite(c) & np.isfinite(b) & (c > 0) & (b > 0)
    return np.log(c[keep]) - np.log(b[keep])


def _median_ci(d: np.ndarray) -> tuple[float, float]:
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    res = bootstrap((d,), np.median, confidence_level=CONFIDENCE, n_resamples=_BOOTSTRAP_RESAMPLES,
                    method="percentile", random_state=np.random.default_rng(_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _one_sided_p(worse: np.ndarray, greater: bool) -> float:
    """Wilcoxon signed-rank and sign test in the direction `greater` (of `worse`), the smaller p doubled."""
    if not np.any(worse != 0):
        return 1.0
    rank_p = wilcoxon(worse, alternative="greater" if greater else "less").pvalue
    moved = worse[worse != 0]                   # the sign test leaves out rounds without a difference
    agree = int(np.sum(moved > 0) if greater else np.sum(moved < 0))
    sign_p = binomtest(agree, moved.size, 0.5, alternative="greater").pvalue
    p = min(1.0, 2.0 * min(rank_p, sign_p))
    return float(p) if math.isfinite(p) else 1.0


def judge_paired(candidate: Sequence[float], baseline: Sequence[float], *, lower_is_better: bool,
                 floor: float = 0.10, alpha: float = 0.01, min_rounds: int = MIN_ROUNDS) -> PairedResult:
    """The paired verdict of per-round figures (see the module's docstring); `lower_is_better` says which
    way the figures point (True for times)."""
    d = _log_ratios(candidate, baseline)
    n = int(d.size)
    if n < min_rounds:
        return PairedResult("inconclusive", n, None, None, None,
                            f"{n} paired rounds; at least {min_rounds} are needed for a paired test")
    worse = d if lower_is_better else -d            # > 0: the candidate is worse in that round
    estimate = float(np.median(worse))
    low, high = _median_ci(worse)
    p = _one_sided_p(worse, greater=estimate >= 0)
    # Reported as candidate / baseline of the figure itself (a time 1.15 = 15 % slower; an RTF 0.87).
    sign = 1.0 if lower_is_better else -1.0
    ratio = math.exp(sign * estimate)
    ci = tuple(sorted((math.exp(sign * low), math.exp(sign * high))))
    bound = math.log1p(floor)
    shown = (f"{n} rounds, ratio {ratio:.3f} ({CONFIDENCE:.0%} CI {ci[0]:.3f}-{ci[1]:.3f}), "
             f"one-sided p = {p:.2g} (Wilcoxon signed-rank or sign test, Bonferroni; alpha {alpha:g}), "
             f"floor {floor:.0%}")
    if abs(estimate) >= bound:
        if p < alpha:
            return PairedResult("regressed" if estimate > 0 else "improved", n, ratio, ci, p, shown)
        return PairedResult("inconclusive", n, ratio, ci, p, f"beyond the floor but not significant: {shown}")
    if -bound < low and high < bound:
        return PairedResult("unchanged", n, ratio, ci, p, f"within the floor: {shown}")
    return PairedResult("inconclusive", n, ratio, ci, p, f"the interval reaches beyond the floor: {shown}")


__all__ = ["CONFIDENCE", "MIN_ROUNDS", "PairedResult", "judge_paired"]
