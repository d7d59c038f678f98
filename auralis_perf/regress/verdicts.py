"""Verdicts per check against a baseline: improved, regressed, unchanged or inconclusive.

The rule for a timing (anything with raw samples): the change must be beyond the check's floor (default
10 %) AND a one-sided Mann-Whitney U test on the raw samples, in the direction of the change, must give
p < alpha (0.01). Too few samples or too much spread give `inconclusive`, never `regressed`: on a shared
machine a red mark has to be earned. Memory figures use their own tolerance in MB, counts compare exactly
(see `rules`). Ratios are after / before of the values as shown; "worse by 12 %" is always in the
direction that is bad for the check.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.regress.load_guard import guard_parallel
from auralis_perf.regress.noise import MIN_HISTORY, RUN_TO_RUN_Z, CheckHistory
from auralis_perf.regress.normalise import NormalisationError, category_state_bounds, speed_ratio
from auralis_perf.regress.rules import (
    INSTRUCTIONS_FLOOR,
    is_spread_figure,
    memory_unit_to_mb,
    rule_for,
    samples_direction,
    samples_scaling,
    spread_draws,
    value_scaling,
)

VERDICTS = ("regressed", "improved", "inconclusive", "unchanged")
#: Fewer samples than this on either side: no test (5 vs 5 is the smallest pair whose exact one-sided
#: Mann-Whitney p can go below 0.01).
MIN_SAMPLES = 5
#: Interquartile range above this fraction of the median on either side: too noisy for any verdict.
MAX_SPREAD = 0.25



@dataclass
class Verdict:
    id: str
    title: str
    unit: str
    verdict: str
    before: float | None
    after: float | None
    ratio: float | None
    p_value: float | None
    rule: str
    note: str
    critical: bool = False
    normalised: bool = False
    #: Paired mode (--against, regress/paired_compare.py): rounds compared and the ratio's confidence interval.
    rounds: int | None = None
    ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """All verdicts of one run against one baseline."""

    verdicts: list[Verdict]
    normalised: bool
    baseline_id: str | None
    baseline_label: str = ""
    #: current / baseline control-workload time (set when normalised and available).
    speed_ratio: float | None = None
    #: Checks without a value on either side, or present in only one run: listed, not judged.
    not_compared: list[str] = field(default_factory=list)
    note: str = ""
    #: "history" (a stored baseline run) or "paired" (--against: both engines in one interleaved session).
    mode: str = "history"

    def of(self, verdict: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == verdict]

    def counts(self) -> dict[str, int]:
        return {name: len(self.of(name)) for name in VERDICTS}

    @property
    def critical_regressions(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == "regressed" and v.critical]

    def ordered(self) -> list[Verdict]:
        """Regressions first, then improvements, inconclusive, unchanged (catalogue order within each)."""
        return [v for name in VERDICTS for v in self.of(name)]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.ordered()]

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "baseline_id": self.baseline_id, "baseline_label": self.baseline_label,
                "normalised": self.normalised,
                "speed_ratio": self.speed_ratio, "counts": self.counts(), "not_compared": list(self.not_compared),
                "note": self.note, "verdicts": self.to_dicts()}

    def summary_line(self) -> str:
        counts = self.counts()
        text = ", ".join(f"{counts[name]} {name}" for name in VERDICTS)
        return f"{text} vs {self.baseline_label or self.baseline_id}" + (" (normalised)" if self.normalised else "")


@dataclass(frozen=True)
class _Policy:
    direction: str
    floor: float
    memory_tolerance_mb: float
    alpha: float
    min_samples: int
    max_spread: float


def _rel_spread(samples: np.ndarray) -> float:
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return math.inf if median == 0 else float((q3 - q1) / abs(median))


def _one_sided_p(after: np.ndarray, before: np.ndarray, after_is_worse: bool, samples_lower_better: bool) -> float:
    """p of "after is worse than before" (or "better", when after_is_worse is False) on raw samples."""
    after_higher = after_is_worse == samples_lower_better
    p = mannwhitneyu(after, before, alternative="greater" if after_higher else "less").pvalue
    return 1.0 if not math.isfinite(p) else float(p)


def _worse_factor(before: float, after: float, direction: str) -> float:
    """> 1 when after is worse than before: after/before for lower-is-better, before/after otherwise."""
    return after / before if direction == "lower" else before / after


def _pct(before: float, after: float, worse: float) -> str:
    """The change of the value as shown, e.g. "-53 % (worse)" for a throughput that halved."""
    return f"{after / before - 1:+.0%} ({'worse' if worse > 1 else 'better'})"


def _samples_verdict(before_s: np.ndarray, after_s: np.ndarray, before: float, after: float,
                     policy: _Policy, samples_lower_better: bool) -> tuple[str, float | None, str]:
    """(verdict, p, note) for figures with raw samples."""
    n_b, n_a = len(before_s), len(after_s)
    if min(n_b, n_a) < policy.min_samples:  # no test possible: at most "unchanged", never a red verdict
        return _single_verdict(before, after, policy, untestable=(
            f"too few samples to test ({n_b} before, {n_a} after; {policy.min_samples} each are needed)"))
    spread_b, spread_a = _rel_spread(before_s), _rel_spread(after_s)
    if max(spread_b, spread_a) > policy.max_spread:
        return "inconclusive", None, (f"too much spread (IQR {spread_b:.0%} of the median before, {spread_a:.0%} "
                                      f"after; limit {policy.max_spread:.0%})")
    if before <= 0 or after <= 0:
        return "inconclusive", None, "a ratio is undefined for values <= 0"
    worse = _worse_factor(before, after, policy.direction)
    samples_worse = _worse_factor(float(np.median(before_s)), float(np.median(after_s)),
                                  "lower" if samples_lower_better else "higher")
    half_floor = math.log1p(policy.floor) / 2
    if (worse - 1) * (samples_worse - 1) < 0 and min(abs(math.log(worse)), abs(math.log(samples_worse))) > half_floor:
        return "inconclusive", None, "the value and its raw samples moved in opposite directions"
    p = _one_sided_p(after_s, before_s, worse > 1, samples_lower_better)
    bound = 1 + policy.floor
    significance = f"one-sided Mann-Whitney U p = {p:.2g} ({n_b} vs {n_a} samples; alpha {policy.alpha:g})"
    if worse >= bound or worse <= 1 / bound:
        if p < policy.alpha:
            return ("regressed" if worse > 1 else "improved"), p, f"{_pct(before, after, worse)}; {significance}"
        return "inconclusive", p, f"{_pct(before, after, worse)} but not significant: {significance}"
    return "unchanged", p, f"{_pct(before, after, worse)}, within the {policy.floor:.0%} floor"


def _memory_verdict(before_s: np.ndarray, after_s: np.ndarray, before: float, after: float, unit: str,
                    policy: _Policy) -> tuple[str, float | None, str]:
    mb_per_unit = memory_unit_to_mb(unit) or 1.0
    delta_mb = (after - before) * mb_per_unit
    worse_mb = delta_mb if policy.direction == "lower" else -delta_mb
    tolerance = policy.memory_tolerance_mb
    p = None
    if min(len(before_s), len(after_s)) >= policy.min_samples and worse_mb != 0:
        p = _one_sided_p(after_s, before_s, worse_mb > 0, policy.direction == "lower")
    relative = abs(after - before) / abs(before) if before else math.inf
    what = (f"{abs(delta_mb):.3g} MB {'more' if delta_mb > 0 else 'less'} ({after / before - 1:+.0%})" if before
            else f"{abs(delta_mb):.3g} MB {'more' if delta_mb > 0 else 'less'}")
    if abs(worse_mb) <= tolerance or relative <= policy.floor:
        # Both must be exceeded: 5 MB on a 1 GB peak is jitter, 10 % of 2 MB is nothing.
        return "unchanged", p, f"{what}; within the {tolerance:g} MB tolerance or the {policy.floor:.0%} floor"
    what += f"; beyond the {tolerance:g} MB tolerance and the {policy.floor:.0%} floor"
    if p is not None and p >= policy.alpha:
        return "inconclusive", p, f"{what}, but not significant (Mann-Whitney U p = {p:.2g})"
    return ("regressed" if worse_mb > 0 else "improved"), p, what


def _exact_verdict(before: float, after: float, direction: str) -> tuple[str, None, str]:
    if before == after:
        return "unchanged", None, f"exactly the same ({after:g})"
    worse = after > before if direction == "lower" else after < before
    return ("regressed" if worse else "improved"), None, f"counts compare exactly: {before:g} -> {after:g}"


def _instructions_verdict(before: float, after: float, direction: str,
                          floor: float = INSTRUCTIONS_FLOOR) -> tuple[str, None, str]:
    """Instruction counts repeat to well under the floor, so a change beyond it is the code's. `floor`: the
    figure's own (a record's details["instruction_floor"], for counts that move with the memory layout)."""
    if before <= 0 or after <= 0:
        return "inconclusive", None, "a ratio is undefined for counts <= 0"
    worse = _worse_factor(before, after, direction)
    if 1 / (1 + floor) < worse < 1 + floor:
        return "unchanged", None, f"{_pct_fine(before, after)}, within the {floor:.0%} instruction floor"
    return (("regressed" if worse > 1 else "improved"), None,
            f"{_pct_fine(before, after)} instructions ({before:.4g} -> {after:.4g}; counts are deterministic)")


def _instruction_floor(record: dict[str, Any]) -> float:
    """The instruction floor of a record: its own when its figure declares a larger one, else the default."""
    own = (record.get("details") or {}).get("instruction_floor")
    return max(INSTRUCTIONS_FLOOR, float(own)) if isinstance(own, (int, float)) else INSTRUCTIONS_FLOOR


def _pct_fine(before: float, after: float) -> str:
    return f"{after / before - 1:+.2%}"


def _single_verdict(before: float, after: float, policy: _Policy, *,
                    untestable: str = "one value per side cannot be tested for significance") -> tuple[str, None, str]:
    """Without a test: unchanged within the floor, otherwise inconclusive (never a red verdict)."""
    if before == after:
        return "unchanged", None, "the same value"
    if before <= 0 or after <= 0:
        return "inconclusive", None, f"a ratio is undefined for values <= 0, and {untestable}"
    worse = _worse_factor(before, after, policy.direction)
    if 1 / (1 + policy.floor) < worse < 1 + policy.floor:
        return "unchanged", None, f"{_pct(before, after, worse)}, within the {policy.floor:.0%} floor"
    return "inconclusive", None, f"{_pct(before, after, worse)}, but {untestable}"


def _figure(record: dict[str, Any]) -> tuple[np.ndarray, float | None]:
    samples = np.asarray([float(s) for s in record.get("samples") or [] if s is not None], dtype=float)
    samples = samples[np.isfinite(samples)]
    value = record.get("value")
    if value is None and samples.size:
        value = float(np.median(samples))
    return samples, value


def _judge(check_id: str, before_rec: dict[str, Any], after_rec: dict[str, Any], policy: _Policy,
           critical: bool, title: str, unit: str, factor: float | None, normalised: bool,
           factor_problem: str | None, history: CheckHistory | None = None,
           state: tuple[float, float] | None = None, history_known: bool = False) -> Verdict:
    rule = rule_for(after_rec)
    follows_machine = bool(value_scaling(after_rec, policy.direction)) or (after_rec.get("kind") or "") == "time"
    value_scale = samples_scale = 0
    if normalised and rule in ("samples", "single"):
        value_scale = value_scaling(after_rec, policy.direction)
        samples_scale = samples_scaling(after_rec, policy.direction)
    note_prefix = ""
    if normalised and (value_scale or samples_scale) and factor is None:
        return Verdict(check_id, title, unit, "inconclusive", before_rec.get("value"), after_rec.get("value"), None,
                       None, rule, f"cannot normalise across machines: {factor_problem}", critical, False)
    if normalised and rule in ("samples", "single") and not (value_scale or samples_scale):
        note_prefix = "compared as is (not a duration or rate); "
    before_s, before = _figure(before_rec)
    after_s, after = _figure(after_rec)
    if value_scale and before is not None:
        before = before * factor ** value_scale
    if samples_scale and before_s.size:
        before_s = before_s * factor ** samples_scale
    ratio = after / before if before not in (None, 0) and after is not None else None
    if rule == "samples" and is_spread_figure(after_rec):
        # distances from the median are skewed by nature (IQR about their median): no spread limit on them
        verdict, p, note = _samples_verdict(spread_draws(before_s), spread_draws(after_s), before, after,
                                            replace(policy, max_spread=math.inf), True)
        note = f"{note} (samples: each run's distance from the runs' median)"
    elif rule == "samples":
        lower_better = samples_direction(after_rec, policy.direction) == "lower"
        verdict, p, note = _samples_verdict(before_s, after_s, before, after, policy, lower_better)
    elif rule == "memory":
        verdict, p, note = _memory_verdict(before_s, after_s, before, after, unit, policy)
    elif rule == "exact":
        verdict, p, note = _exact_verdict(before, after, policy.direction)
    elif rule == "instructions":
        verdict, p, note = _instructions_verdict(before, after, policy.direction, _instruction_floor(after_rec))
    else:
        verdict, p, note = _single_verdict(before, after, policy)
    if verdict in ("regressed", "improved") and rule not in ("exact", "instructions") and before > 0 and after > 0:
        worse = _worse_factor(before, after, policy.direction)
        doubt = _doubt(worse, after, policy, history, state if follows_machine and rule != "memory" else None,
                       history_known)
        if doubt:
            verdict, note = "inconclusive", f"{note}; but {doubt}"
    return Verdict(check_id, title, unit, verdict, before, after, ratio, p, rule, note_prefix + note, critical,
                   bool(value_scale or samples_scale))


def _doubt(worse: float, after: float, policy: _Policy, history: CheckHistory | None,
           state: tuple[float, float] | None, history_known: bool = False) -> str | None:
    """Why a change beyond the floor may still not be the code's doing, or None.

    - `history`: this check's earlier runs here; with `history_known` and fewer than MIN_HISTORY of them
      its run-to-run noise is unknown and nothing is credited; otherwise the change must exceed
      RUN_TO_RUN_Z x that noise, against the baseline run and against the median of the last runs;
    - `state`: (lowest, highest) ratio of the machine's control-workload time around this category's
      notebook now to the baseline's. A slowdown must stay beyond the floor after dividing by the highest
      (the most the machine's own slowness can explain); an improvement, after dividing by the lowest.
    """
    if history_known and (history is None or not history.known):
        return (f"this check has fewer than {MIN_HISTORY} earlier runs here, so how much it moves from one run "
                "to the next on this machine is not known yet")
    if history is not None and history.known:
        threshold = history.threshold or 0.0
        if abs(math.log(worse)) < threshold:
            return (f"earlier runs of this check already differ by up to {math.expm1(threshold):.0%} from one run "
                    f"to the next ({RUN_TO_RUN_Z:g} x their robust spread)")
        usual = _worse_factor(history.level, after, policy.direction)
        needed = max(math.log1p(policy.floor), threshold)
        if (usual - 1) * (worse - 1) <= 0 or abs(math.log(usual)) < needed:
            change = usual - 1 if policy.direction == "lower" else 1 / usual - 1
            return (f"against this check's usual level (median {history.level:.4g} of its last runs) the value "
                    f"moved {change:+.0%}, not beyond the {math.expm1(needed):.0%} it needs: the baseline run "
                    "itself was unusual")
    if state is None:
        return None
    low, high = state
    bound = 1 + policy.floor
    if worse > 1 and high > 1 and worse / high < bound:
        return (f"the machine ran the control workload up to {_pct_state(high)} around this notebook than at the "
                "baseline, which could explain it (load, not code)")
    if worse < 1 and low < 1 and worse / low > 1 / bound:
        return (f"the machine ran the control workload up to {_pct_state(low)} around this notebook than at the "
                "baseline, which could explain it")
    return None


def _pct_state(state: float) -> str:
    return f"{abs(state - 1):.0%} {'slower' if state > 1 else 'faster'}"


def _missing_value_note(record: dict[str, Any], side: str) -> str:
    reason = record.get("reason") or "no value"
    return f"no value {side} ({record.get('status')}: {reason})"


def compare(current: dict[str, Any], baseline: dict[str, Any], catalog: Catalog | None = None, *,
            normalise: bool | None = None, min_samples: int = MIN_SAMPLES, max_spread: float = MAX_SPREAD,
            baseline_label: str = "", history: Mapping[str, CheckHistory] | None = None) -> Comparison:
    """Judge every check of `current` against `baseline` (two results documents).

    `normalise=None` normalises exactly when the runs come from different machines (fingerprints differ);
    times and rates are then scaled by the control workload's speed ratio. On one machine, a timing change
    that the machine's own state can explain (its control workload ran slower, or faster, around the
    category's notebook than at the baseline) is inconclusive. `history` maps check ids to their earlier
    values on this machine, engine and profile (see `noise`): a check with too short a history (or none
    in the map) gets no regressed/improved verdict, and a change must stand out from its run-to-run
    noise. Without `history` at all, verdicts rest on the samples alone.
    """
    from auralis_perf.history.store import machine_fingerprint  # lazily: history imports SQLAlchemy

    catalog = catalog or load_catalog()
    if normalise is None:
        normalise = (machine_fingerprint(current["run"]["machine"]) != machine_fingerprint(baseline["run"]["machine"]))
    factor, factor_problem = None, None
    if normalise:
        try:
            factor = speed_ratio(current, baseline)
        except NormalisationError as exc:
            factor_problem = str(exc)
    before_by_id = {c["id"]: c for c in baseline.get("checks", [])}
    verdicts: list[Verdict] = []
    not_compared: list[str] = []
    for record in current.get("checks", []):
        check_id = record["id"]
        before_rec = before_by_id.get(check_id)
        spec = catalog.checks.get(check_id)
        title, unit = record.get("title") or (spec.title if spec else ""), record.get("unit") or (spec.unit if spec else "")
        critical = bool(spec and spec.tiers.get("critical") is not None)
        if before_rec is None or (record.get("value") is None and before_rec.get("value") is None
                                  and not record.get("samples") and not before_rec.get("samples")):
            not_compared.append(check_id)
            continue
        _, after_value = _figure(record)
        _, before_value = _figure(before_rec)
        if (before_rec.get("unit") or unit) != unit:  # the check was redefined between the two runs
            verdicts.append(Verdict(check_id, title, unit, "inconclusive", before_value, after_value, None, None,
                                    rule_for(record), f"the unit changed ({before_rec.get('unit')} in the baseline, "
                                    f"{unit} now): the check measures something else now, the values do not "
                                    "compare", critical, False))
            continue
        if after_value is None or before_value is None:
            side, rec = ("now", record) if after_value is None else ("in the baseline", before_rec)
            verdicts.append(Verdict(check_id, title, unit, "inconclusive", before_value, after_value, None, None,
                                    rule_for(record), _missing_value_note(rec, side), critical, False))
            continue
        policy = _Policy(direction=(spec.direction if spec else record.get("direction", "higher")),
                         floor=spec.floor if spec else 0.10,
                         memory_tolerance_mb=spec.memory_tolerance_mb if spec else 5.0,
                         alpha=catalog.alpha, min_samples=min_samples, max_spread=max_spread)
        state = None if normalise else category_state_bounds(current, baseline, record.get("category", ""))
        verdict = _judge(check_id, before_rec, record, policy, critical, title, unit, factor, normalise,
                         factor_problem, (history or {}).get(check_id), state, history is not None)
        verdicts.append(guard_parallel(verdict, spec, record.get("category", ""), current, baseline))
    not_compared += [c for c in before_by_id if c not in {r["id"] for r in current.get("checks", [])}]
    history = baseline.get("history") or {}
    baseline_id = str(history.get("run_id") or baseline["run"].get("id"))
    note = ""
    if normalise:
        note = (f"normalised: this machine's control workload takes {factor:.2f}x the baseline's" if factor
                else f"normalisation impossible: {factor_problem}")
    return Comparison(verdicts, bool(normalise), baseline_id, baseline_label, factor, not_compared, note)


def judge_samples(before: Sequence[float], after: Sequence[float], *, direction: str = "lower",
                  floor: float = 0.10, alpha: float = 0.01, min_samples: int = MIN_SAMPLES,
                  max_spread: float = MAX_SPREAD) -> tuple[str, float | None, str]:
    """The timing rule on two lists of raw samples (values = their medians): (verdict, p, note)."""
    policy = _Policy(direction, floor, 0.0, alpha, min_samples, max_spread)
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return _samples_verdict(b, a, statistics.median(b), statistics.median(a), policy, direction == "lower")
