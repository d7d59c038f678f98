"""Verdict rules per kind of figure, normalisation across machines, ordering and the report section."""
from __future__ import annotations

import numpy as np
import pytest
from history_support import CONTROL, check, control, noisy, results, timing

from auralis_perf.catalog import load_catalog
from auralis_perf.regress import compare, rule_for
from auralis_perf.regress.noise import CheckHistory, run_to_run_threshold
from auralis_perf.regress.normalise import NormalisationError, speed_ratio
from auralis_perf.regress.rules import samples_scaling, value_scaling
from auralis_perf.regress.section import changes_section_html

CATALOG = load_catalog()


def _pair(before: list[dict], after: list[dict], **kwargs) -> tuple[dict, dict]:
    return results("before", before, **kwargs.get("before_kw", {})), results("after", after, **kwargs.get("after_kw", {}))


def _one(before: dict, after: dict, **kwargs):
    comparison = compare(results("after", [after], **kwargs.pop("after_kw", {})),
                         results("before", [before], **kwargs.pop("before_kw", {})), CATALOG, **kwargs)
    assert len(comparison.verdicts) == 1, comparison
    return comparison.verdicts[0]


def test_what_follows_machine_speed() -> None:
    assert value_scaling(check("RT-06", 5, unit="ms", kind="time"), "lower") == 1
    assert value_scaling(check("RT-01", 30, unit="x", kind="rtf"), "higher") == -1
    assert value_scaling(check("OPT-01", 3, unit="Msamples/s", kind="throughput"), "higher") == -1
    cv = check("RT-05", 3, unit="%", kind="time")  # a CV of timings: dimensionless, not scaled
    assert value_scaling(cv, "lower") == 0 and samples_scaling(cv, "lower") == 0
    assert value_scaling(check("RT-17", 1.7, unit="x", kind="ratio"), "higher") == 0


def test_rule_selection() -> None:
    assert rule_for(check("DB-16", 3, unit="statements", kind=None)) == "exact"
    assert rule_for(check("CACHE-01", 90, unit="%", kind="count")) == "exact"
    assert rule_for(check("MEM-02", 30, unit="MB", kind=None)) == "memory"
    assert rule_for(check("MEM-06", 0.2, unit="MB/1000 cycles", kind=None)) == "memory"
    assert rule_for(check("MEM-16", 300, unit="KB/track", kind=None)) == "memory"
    assert rule_for(check("MEM-11", 2.5, samples=[2.5] * 5, unit="x input", kind="peak_rss")) == "samples"
    assert rule_for(check("RT-06", 5, samples=[5, 5], unit="ms")) == "samples"
    assert rule_for(check("RT-04", 25, unit="x", kind=None)) == "single"


def test_a_clear_slowdown_of_a_critical_timing_is_regressed() -> None:
    rng = np.random.default_rng(3)
    before = timing("RT-06", noisy(rng, 10, scale=20.0))
    after = timing("RT-06", noisy(rng, 10, scale=26.0))
    comparison = compare(results("now", [after]), results("then", [before]), CATALOG)
    (verdict,) = comparison.verdicts
    assert verdict.verdict == "regressed" and verdict.critical and verdict.rule == "samples"
    assert verdict.p_value < 0.01 and verdict.ratio == pytest.approx(after["value"] / before["value"])
    assert comparison.critical_regressions == [verdict] and not comparison.normalised


def test_small_changes_are_unchanged_and_noisy_ones_inconclusive() -> None:
    rng = np.random.default_rng(4)
    same = _one(timing("RT-06", noisy(rng, 10, scale=20.0)), timing("RT-06", noisy(rng, 10, scale=20.6)))
    assert same.verdict == "unchanged" and "floor" in same.note
    few = _one(timing("RT-06", [20, 21, 20]), timing("RT-06", [40, 41, 40]))
    assert few.verdict == "inconclusive" and "too few samples" in few.note
    one = _one(check("RT-20", 0.0, samples=[0.0], unit="max abs diff", kind="diff"),
               check("RT-20", 0.0, samples=[0.0], unit="max abs diff", kind="diff"))
    assert one.verdict == "unchanged", "a single sample per side that did not move is unchanged, not inconclusive"
    wild = [10, 30, 12, 45, 9, 25, 40, 11, 33, 20]
    spread = _one(timing("RT-06", wild), timing("RT-06", [2 * w for w in wild]))
    assert spread.verdict == "inconclusive" and "too much spread" in spread.note
    unsure = _one(timing("RT-06", [20, 21, 20, 22, 20, 21, 23]), timing("RT-06", [23.5, 20.5, 24, 20.8, 23.2, 24.5, 21.5]))
    assert unsure.verdict == "inconclusive" and "not significant" in unsure.note


def test_rtf_with_durations_as_samples_points_the_right_way() -> None:
    """kind="time": samples are run times (lower is better) while the RTF value is higher-is-better."""
    rng = np.random.default_rng(5)
    times_before, times_after = noisy(rng, 10, scale=0.5), noisy(rng, 10, scale=0.65)
    before = check("RT-01", 10 / float(np.median(times_before)), samples=list(times_before), unit="x", kind="time")
    after = check("RT-01", 10 / float(np.median(times_after)), samples=list(times_after), unit="x", kind="time")
    verdict = _one(before, after)
    assert verdict.verdict == "regressed" and verdict.ratio < 1
    faster = _one(after, before)
    assert faster.verdict == "improved"
    confused = check("RT-01", after["value"], samples=list(times_after), unit="x", kind="ratio")
    assert _one(before | {"kind": "ratio"}, confused).verdict == "inconclusive"  # samples contradict the value


def test_memory_uses_its_tolerance_in_mb() -> None:
    assert _one(check("MEM-02", 30.0, unit="MB", kind="rss"), check("MEM-02", 33.0, unit="MB", kind="rss")).verdict == "unchanged"
    grown = _one(check("MEM-02", 30.0, unit="MB", kind="rss"), check("MEM-02", 42.0, unit="MB", kind="rss"))
    assert grown.verdict == "regressed" and grown.critical and "beyond the 5 MB tolerance and the 10% floor" in grown.note
    big = _one(check("MEM-12", 1134.0, unit="MB", kind="peak_rss"), check("MEM-12", 1162.0, unit="MB", kind="peak_rss"))
    assert big.verdict == "unchanged", "28 MB on a 1.1 GB peak is beyond 5 MB but within the 10 % floor"
    assert _one(check("MEM-02", 42.0, unit="MB"), check("MEM-02", 30.0, unit="MB")).verdict == "improved"
    # KB/track: +3000 KB is under 5 MB; +8000 KB is over it.
    assert _one(check("MEM-16", 300.0, unit="KB/track"), check("MEM-16", 3300.0, unit="KB/track")).verdict == "unchanged"
    assert _one(check("MEM-16", 300.0, unit="KB/track"), check("MEM-16", 8300.0, unit="KB/track")).verdict == "regressed"


def test_a_check_whose_unit_changed_is_not_compared() -> None:
    # RT-13 was jobs per second and is audio seconds per wall second now: 100 jobs/s of 0.5 s clips = 50x
    verdict = _one(check("RT-13", 100.0, unit="jobs/s", kind="throughput", samples=[100.0] * 5),
                   check("RT-13", 50.0, unit="x", kind="rtf", samples=[50.0] * 5))
    assert verdict.verdict == "inconclusive" and "unit changed (jobs/s in the baseline, x now)" in verdict.note


def test_counts_compare_exactly() -> None:
    more = _one(check("DB-16", 3, unit="statements", kind="count"), check("DB-16", 4, unit="statements", kind="count"))
    assert more.verdict == "regressed" and more.rule == "exact"
    assert _one(check("CACHE-03", 0, unit="stale reads"), check("CACHE-03", 0, unit="stale reads")).verdict == "unchanged"
    assert _one(check("CACHE-03", 2, unit="stale reads"), check("CACHE-03", 0, unit="stale reads")).verdict == "improved"


def test_single_values_are_never_called_regressed() -> None:
    assert _one(check("RT-04", 30.0, unit="x", kind=None), check("RT-04", 29.0, unit="x", kind=None)).verdict == "unchanged"
    dropped = _one(check("RT-04", 30.0, unit="x", kind=None), check("RT-04", 15.0, unit="x", kind=None))
    assert dropped.verdict == "inconclusive" and "one value per side" in dropped.note


def test_missing_values() -> None:
    now = results("now", [check("RT-06", None, status="error", reason="boom"), check("RT-07", None, status="skip",
                                                                                    reason="n/a"),
                          timing("RT-08", [1, 1, 1, 1, 1])])
    then = results("then", [timing("RT-06", [1, 1, 1, 1, 1]), check("RT-07", None, status="skip", reason="n/a"),
                            timing("RT-09", [1, 1, 1, 1, 1])])
    comparison = compare(now, then, CATALOG)
    (verdict,) = comparison.verdicts
    assert verdict.id == "RT-06" and verdict.verdict == "inconclusive" and "boom" in verdict.note
    assert sorted(comparison.not_compared) == ["RT-07", "RT-08", "RT-09"]


def test_cross_machine_comparisons_are_normalised_by_the_control_workload() -> None:
    rng = np.random.default_rng(6)
    slow_control = {"version": 1, "cpu": {"median_s": 0.020}, "memory": {"median_s": 0.040}}
    base = results("then", [timing("RT-06", noisy(rng, 10, scale=10.0)),
                            check("MEM-02", 30.0, unit="MB", kind="rss")], machine="m-fast")
    now = results("now", [timing("RT-06", noisy(rng, 10, scale=20.0)),
                          check("MEM-02", 30.0, unit="MB", kind="rss")], machine="m-slow", control=slow_control)
    comparison = compare(now, base, CATALOG)
    assert comparison.normalised and comparison.speed_ratio == pytest.approx(2.0)
    by_id = {v.id: v for v in comparison.verdicts}
    assert by_id["RT-06"].verdict == "unchanged" and by_id["RT-06"].normalised
    assert by_id["MEM-02"].verdict == "unchanged" and not by_id["MEM-02"].normalised
    assert compare(now, base, CATALOG, normalise=False).verdicts[0].verdict == "regressed"
    no_control = results("now", now["checks"], machine="m-slow", control=None)
    blind = compare(no_control, base, CATALOG)
    assert blind.normalised and blind.verdicts[0].verdict == "inconclusive"
    assert "no control workload" in blind.verdicts[0].note
    with pytest.raises(NormalisationError, match="versions differ"):
        speed_ratio(results("a", [], control=CONTROL | {"version": 2}), results("b", []))


def test_order_and_dicts_and_section() -> None:
    rng = np.random.default_rng(8)
    before = [timing("RT-06", noisy(rng, 10, scale=10.0)), check("DB-16", 5, unit="statements", kind="count"),
              check("RT-04", 30.0, unit="x", kind=None), timing("RT-08", noisy(rng, 10, scale=10.0))]
    after = [timing("RT-06", noisy(rng, 10, scale=10.0)), check("DB-16", 3, unit="statements", kind="count"),
             check("RT-04", 10.0, unit="x", kind=None), timing("RT-08", noisy(rng, 10, scale=13.0))]
    after[0]["title"] = "<script>alert(1)</script>"
    comparison = compare(results("now", after), results("then", before), CATALOG, baseline_label="run <b>")
    assert [d["verdict"] for d in comparison.to_dicts()] == ["regressed", "improved", "inconclusive", "unchanged"]
    assert set(comparison.to_dicts()[0]) >= {"id", "title", "unit", "verdict", "before", "after", "ratio", "p_value",
                                            "rule", "note"}
    assert comparison.counts() == {"regressed": 1, "improved": 1, "inconclusive": 1, "unchanged": 1}
    html = changes_section_html(comparison)
    assert "Changes since baseline" in html and "<script>" not in html and "run &lt;b&gt;" in html
    assert html.index("RT-08") < html.index("DB-16") < html.index("RT-04")
    assert "RT-06" not in html.split("<table>")[1], "unchanged checks are counted, not listed"


def test_a_busier_machine_is_not_blamed_on_the_code() -> None:
    """Same machine: a slowdown must stay beyond the floor after allowing for the machine's own slowness
    (the control workload around that notebook, slowest now vs fastest then)."""
    rng = np.random.default_rng(9)
    before_checks = [timing("RT-06", noisy(rng, 10, scale=20.0))]
    after_checks = [timing("RT-06", noisy(rng, 10, scale=30.0))]  # 50 % slower
    calm = {"realtime": [control(1.0), control(1.0)]}
    base = results("then", before_checks, control_by_category=calm)

    def verdict_when(controls):
        return compare(results("now", after_checks, control_by_category=controls), base, CATALOG).verdicts[0]

    assert verdict_when(calm).verdict == "regressed"
    assert verdict_when({"realtime": [control(1.0), control(1.2)]}).verdict == "regressed", "1.5 / 1.2 > 1.1"
    doubted = verdict_when({"realtime": [control(1.45), control(1.1)]})
    assert doubted.verdict == "inconclusive" and "up to 45% slower" in doubted.note
    assert verdict_when({"realtime": [control(0.7), control(0.8)]}).verdict == "regressed", "a fast machine excuses nothing"
    # An improvement while the machine ran faster is doubted the same way.
    improved = compare(results("now", before_checks, control_by_category={"realtime": [control(0.7), control(0.8)]}),
                       results("then", after_checks, control_by_category=calm), CATALOG).verdicts[0]
    assert improved.verdict == "inconclusive" and "faster" in improved.note
    # Another category's controls, or none at all, do not count.
    assert verdict_when({"database": [control(2.0)]}).verdict == "regressed"


def test_a_change_must_stand_out_from_the_checks_own_history() -> None:
    rng = np.random.default_rng(10)
    steady = [20.0 * f for f in (1.0, 1.02, 0.99, 1.01, 1.0, 0.98)]
    jumpy = [20.0 * f for f in (1.0, 1.5, 0.8, 1.4, 0.9, 1.3)]
    assert run_to_run_threshold(steady[:3]) is None and not CheckHistory.from_values(steady[:3]).known
    assert run_to_run_threshold(steady) < np.log(1.10) < run_to_run_threshold(jumpy)
    stepped = steady + [26.0 * f for f in (1.0, 1.02, 0.99, 1.01)]
    assert run_to_run_threshold(stepped) < np.log(1.10), "a past step does not make the check look noisy"
    before, after = timing("RT-06", noisy(rng, 10, scale=20.0)), timing("RT-06", noisy(rng, 10, scale=27.0))
    now, then = results("now", [after]), results("then", [before])

    def verdict(values):
        return compare(now, then, CATALOG, history={"RT-06": CheckHistory.from_values(values)}).verdicts[0]

    assert verdict(steady).verdict == "regressed"
    assert compare(now, then, CATALOG).verdicts[0].verdict == "regressed", "without history: the samples alone"
    young = compare(now, then, CATALOG, history={}).verdicts[0]
    assert young.verdict == "inconclusive" and "fewer than 4 earlier runs" in young.note
    assert "earlier runs of this check" in verdict(jumpy).note and verdict(jumpy).verdict == "inconclusive"
    # The baseline run was unusually fast: against the check's usual level (~27) the new value is ordinary.
    usual = verdict([27.0, 27.5, 26.8, 27.2, 20.0])
    assert usual.verdict == "inconclusive" and "usual level" in usual.note
    grown = compare(results("now", [check("MEM-12", 400.0, unit="MB", kind="peak_rss")]),
                    results("then", [check("MEM-12", 300.0, unit="MB", kind="peak_rss")]), CATALOG,
                    history={"MEM-12": CheckHistory.from_values([300.0, 420.0, 280.0, 390.0, 310.0])}).verdicts[0]
    assert grown.verdict == "inconclusive" and "earlier runs" in grown.note


def _cv_record(run_seconds: np.ndarray) -> dict:
    """RT-05 as the suite records it: the CV of RT-02's runs in %, their wall seconds as samples."""
    record = check("RT-05", float(100 * np.std(run_seconds, ddof=1) / np.mean(run_seconds)),
                   samples=[float(s) for s in run_seconds], unit="%", kind="time")
    record["details"] = {"value_from_samples": "cv_percent"}
    return record


def test_a_spread_figure_is_judged_by_its_spread_not_by_how_fast_its_runs_were() -> None:
    """A 10 % slower engine with the same spread is no RT-05 regression (its run times are all longer);
    runs scattered eight times as widely are (a rank test on 12 distances a side catches 8x in about 92 %
    of seeds, 4x in 65 %: a spread needs a large change to be called)."""
    rng = np.random.default_rng(5)
    steady = 0.15 * np.exp(rng.normal(0.0, 0.01, 12))
    slower_but_steady = 0.165 * np.exp(rng.normal(0.0, 0.01, 12))
    verdict = _one(_cv_record(steady), _cv_record(slower_but_steady))
    assert verdict.verdict != "regressed", verdict.note
    assert "distance from the runs' median" in verdict.note
    scattered = 0.15 * np.exp(rng.normal(0.0, 0.08, 12))
    verdict = _one(_cv_record(steady), _cv_record(scattered))
    assert verdict.verdict == "regressed" and verdict.p_value < 0.01, verdict.note
