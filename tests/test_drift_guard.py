"""--against's drift guard: a group run once per side, compared unpaired on the clock, is not judged when the
machine was saturated (regress/drift_guard.py); paired and CPU-judged checks still catch a real slowdown."""
from __future__ import annotations

import numpy as np

from auralis_perf.catalog import load_catalog
from auralis_perf.regress.drift_guard import is_clock_timing
from auralis_perf.regress.paired_compare import compare_paired
from auralis_perf.results import check_record

CATALOG = load_catalog()


def doc(records: list[dict], free: float) -> dict:
    """A results document whose realtime notebook saw `free` of 2 cores free (before and after)."""
    reading = {"cores": 2, "free_cores": free, "seconds": 0.2}
    return {"run": {"id": "x", "machine": {}, "free_cores_by_category": {"realtime": [reading, reading]}},
            "checks": records}


def sustained(level: float, seed: int) -> dict:
    """RT-14 as the sustained stream records it: last-tenth / first-tenth RTF ratios, tight around `level`."""
    rng = np.random.default_rng(seed)
    ratios = list(level * np.exp(rng.normal(0.0, 0.01, 10)))
    return check_record("RT-14", ratios[-1], catalog=CATALOG, samples=ratios, kind="ratio").to_dict()


def rounds_record(check_id: str, cpu: list[float]) -> dict:
    """A check measured in rounds with wall-clock RTFs all over the place and CPU time per round."""
    wall = [30.0 * (1 + 0.3 * np.sin(i)) for i in range(len(cpu))]
    rounds = [{"value": w, "wall": 1.0, "cpu": c, "value_is_sample_median": True} for w, c in zip(wall, cpu)]
    return check_record(check_id, float(np.median(wall)), catalog=CATALOG, samples=wall, kind="rtf",
                        details={"rounds": rounds}).to_dict()


def test_an_aa_pair_whose_candidate_ran_under_load_is_not_regressed():
    """The coordinator's A/A at load 9: the baseline's stream ran quieter, the candidate's read 12 % lower.
    Unpaired and on a saturated machine: inconclusive, saying why; never regressed."""
    candidate, baseline = doc([sustained(0.88, 1)], free=0.25), doc([sustained(1.0, 2)], free=0.25)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == "inconclusive", verdict.note
    assert "saturated" in verdict.note and "once per side" in verdict.note
    assert "unpaired" in verdict.rule


def test_either_sides_saturated_reading_holds_the_verdict_back():
    candidate, baseline = doc([sustained(0.88, 1)], free=1.9), doc([sustained(1.0, 2)], free=0.6)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == "inconclusive", verdict.note


def test_the_same_change_on_a_free_machine_is_still_regressed():
    candidate, baseline = doc([sustained(0.5, 1)], free=1.95), doc([sustained(1.0, 2)], free=1.95)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == "regressed", verdict.note


def test_an_unchanged_timing_on_a_saturated_machine_stays_unchanged_with_the_reason():
    candidate, baseline = doc([sustained(1.0, 1)], free=0.25), doc([sustained(1.0, 2)], free=0.25)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == "unchanged" and "saturated" in verdict.note


def test_a_2x_slowdown_judged_by_cpu_in_rounds_is_still_regressed_on_a_saturated_machine():
    cpu = [0.1 * (1 + 0.01 * np.cos(i)) for i in range(8)]
    candidate = doc([rounds_record("RT-01", [2 * c for c in cpu])], free=0.25)
    baseline = doc([rounds_record("RT-01", cpu)], free=0.25)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == "regressed" and verdict.rule == "paired (cpu)", verdict.note
    assert 1.9 < verdict.ratio < 2.1


def test_figures_the_clock_does_not_make_keep_their_verdicts():
    """Memory is not a clock timing: a doubled peak is regressed on a saturated machine too."""
    memory = [check_record("RT-15", v, catalog=CATALOG, samples=[v] * 5, kind="peak_rss").to_dict()
              for v in (200.0, 100.0)]
    assert not is_clock_timing(memory[0])
    (verdict,) = compare_paired(doc([memory[0]], free=0.25), doc([memory[1]], free=0.25), CATALOG).verdicts
    assert verdict.verdict == "regressed", verdict.note
    accuracy = check_record("RT-20", 1e-3, catalog=CATALOG, samples=[1e-3] * 5, kind="diff").to_dict()
    assert not is_clock_timing(accuracy) and is_clock_timing(sustained(1.0, 3))
