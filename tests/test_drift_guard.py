"""--against's drift guard: a group run once per side, compared unpaired on the clock, is not judged when the
machine was saturated (regress/drift_guard.py); paired and CPU-judged checks still catch a real slowdown;
RT-14 records its ratio by CPU time too and is judged by it when both sides have it."""
from __future__ import annotations

import time

import numpy as np
import pytest

from auralis_perf.catalog import load_catalog
from auralis_perf.engines import Capability, Engine
from auralis_perf.regress.drift_guard import is_clock_timing
from auralis_perf.regress.paired_compare import compare_paired
from auralis_perf.results import check_record
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import run_checks
from auralis_perf.suites.realtime import groups as rt
from auralis_perf.suites.realtime import throughput
from auralis_perf.suites.realtime.latency import chunk_costs

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


def efficiency(level: float, seed: int) -> dict:
    """RT-18 (parallel spectrum efficiency, a figure that needs every core), tight around `level`."""
    rng = np.random.default_rng(seed)
    samples = list(level * np.exp(rng.normal(0.0, 0.01, 6)))
    return check_record("RT-18", float(np.median(samples)), catalog=CATALOG, samples=samples,
                        kind="ratio").to_dict()


@pytest.mark.parametrize(("after", "expected"), [(0.83, "inconclusive"), (0.3, "regressed")])
def test_a_parallel_figure_compared_unpaired_needs_a_change_beyond_half(after, expected):
    """A quiet A/A read RT-18 0.63 -> 0.83 on identical engines (one virtual CPU slower than the other at
    times): within the 50 % parallel floor that is inconclusive; an efficiency that halves is regressed."""
    candidate, baseline = doc([efficiency(after, 1)], free=1.95), doc([efficiency(0.63, 2)], free=1.95)
    (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
    assert verdict.verdict == expected, verdict.note
    if expected == "inconclusive":
        assert "needs every core" in verdict.note


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


# -- RT-14 by CPU time ------------------------------------------------------------------------------------
def burn(cpu_seconds: float) -> None:
    """Busy-wait until this process has used `cpu_seconds` more CPU time (exact under any load)."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_chunk_costs_tell_cpu_from_waiting():
    def chunks():
        for i in range(6):
            if i % 2 == 0:
                burn(0.01)
            else:
                time.sleep(0.01)
            yield np.zeros((64, 2), dtype=np.float32)

    times, cpu, frames = chunk_costs(chunks())
    assert len(times) == len(cpu) == 6 and frames == [64] * 6
    assert all(c >= 0.01 for c in cpu[0::2]), cpu
    assert all(c < 0.005 for c in cpu[1::2]) and all(t >= 0.01 for t in times[1::2]), (cpu, times)


class _LaterChunksWait:
    """Each chunk burns 2 ms of CPU; in the second half of the stream each also waits `wait` s (a neighbour
    holding the core) or burns `extra` s more (the engine itself slowing down)."""

    def __init__(self, audio, wait: float, extra: float):
        self.audio, self.wait, self.extra, self.sample_rate, self.chunk_size = audio, wait, extra, 48000, 1024

    def __iter__(self):
        starts = range(0, self.audio.shape[0], self.chunk_size)
        for i, start in enumerate(starts):
            burn(0.002 + (self.extra if i >= len(starts) // 2 else 0.0))
            if i >= len(starts) // 2:
                time.sleep(self.wait)
            yield self.audio[start:start + self.chunk_size]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class _WaitingEngine(Engine):
    name = "waiting"
    capabilities = frozenset({Capability.STREAM})
    wait, extra = 0.0, 0.0

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        return np.array(audio, copy=True)

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default"):
        return _LaterChunksWait(np.asarray(source), self.wait, self.extra)


@pytest.mark.parametrize(("wait", "extra", "cpu_drops"), [(0.01, 0.0, False), (0.0, 0.006, True)])
def test_rt14_records_its_ratio_by_cpu_time(tmp_path, monkeypatch, wait, extra, cpu_drops):
    """Waiting in the later chunks lowers the wall-clock ratio, not the CPU one; burning more CPU lowers both."""
    monkeypatch.setitem(rt.SIZES["sustained_wall_seconds"], "smoke", 0.4)
    monkeypatch.setitem(rt.SIZES["stream_seconds"], "smoke", 1.0)
    engine = _WaitingEngine()
    engine.wait, engine.extra = wait, extra
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "work")
    (r,) = run_checks(ctx, [("RT-14", throughput.check_sustained)])
    assert r.value < 0.7, (r.status, r.reason, r.value)
    cpu_last = r.details["cpu_samples"][-1]
    assert len(r.details["cpu_samples"]) == 10 and r.details["cpu_samples"][0] == 1.0
    assert (cpu_last < 0.6) if cpu_drops else (cpu_last > 0.85), r.details["cpu_samples"]


def test_an_aa_stream_judged_by_cpu_time_is_not_regressed_and_a_cpu_slowdown_is():
    """Both sides recorded RT-14 by CPU time: the candidate's wall ratio fell 12 % under load while its CPU
    ratio did not (judged by CPU: not regressed, the wall verdict quoted); a stream that burns twice the
    CPU by its end is regressed though the machine was saturated."""
    def with_cpu(level: float, cpu_level: float, seed: int) -> dict:
        rec = sustained(level, seed)
        rng = np.random.default_rng(seed + 10)
        rec["details"]["cpu_samples"] = list(cpu_level * np.exp(rng.normal(0.0, 0.01, 10)))
        return rec

    base = doc([with_cpu(1.0, 1.0, 2)], free=0.25)
    (aa,) = compare_paired(doc([with_cpu(0.88, 1.0, 1)], free=0.25), base, CATALOG).verdicts
    assert aa.verdict == "unchanged" and "CPU time" in aa.rule and "by wall time: regressed" in aa.note, aa.note
    (slow,) = compare_paired(doc([with_cpu(0.5, 0.5, 1)], free=0.25), base, CATALOG).verdicts
    assert slow.verdict == "regressed" and "CPU time" in slow.rule, slow.note
    (one_side,) = compare_paired(doc([sustained(0.88, 1)], free=0.25), base, CATALOG).verdicts
    assert one_side.verdict == "inconclusive" and "CPU" not in one_side.rule  # CPU on one side only: the guard


# -- the pytest front end reads the free cores around each group ------------------------------------------
class _FakeSession:
    """What PairedGroups uses of a SuiteSession: one group whose RT-14 reads `level`."""

    def __init__(self, name: str, level: float, seed: int):
        self.engine_name, self.level, self.seed, self.catalog, self.records = name, level, seed, CATALOG, {}

    def group_named(self, category: str, name: str):
        return None

    def run(self, find, ids):
        rec = check_record("RT-14", self.level, catalog=CATALOG, kind="ratio",
                           samples=list(self.level * np.exp(np.random.default_rng(self.seed).normal(0, 0.01, 10))))
        self.records[rec.id] = rec
        return None, [rec], None


@pytest.mark.parametrize(("free", "expected"), [(0.25, "inconclusive"), (1.95, "regressed")])
def test_perf_against_guards_unpaired_timings_by_the_free_cores_around_the_group(monkeypatch, free, expected):
    from auralis_perf.pytest_plugin import against

    monkeypatch.setattr(against, "free_cores", lambda: {"cores": 2, "free_cores": free, "seconds": 0.2})
    paired = against.PairedGroups(baseline=_FakeSession("base", 1.0, 2))
    paired.run_group(_FakeSession("cand", 0.5, 1), "realtime", "Throughput", ["RT-14"])
    verdict = paired.verdict("RT-14")
    assert verdict is not None and verdict.verdict == expected, verdict.note


def test_readings_around_another_group_do_not_hold_a_check_back():
    """--against reads the free cores around each group cell too (tagged with the group): a saturated
    reading around another group leaves RT-14 judged; one around its own group ('Throughput') holds it back."""
    def tagged(free_elsewhere: float, free_here: float) -> dict:
        rec = {"cores": 2, "free_cores": 1.95}
        return {"run": {"id": "x", "machine": {}, "free_cores_by_category": {"realtime": [
            rec, {**rec, "free_cores": free_elsewhere, "group": "Latency"},
            {**rec, "free_cores": free_here, "group": "Throughput"}, rec]}}, "checks": []}

    for elsewhere, here, expected in ((0.2, 1.9, "regressed"), (1.9, 0.2, "inconclusive")):
        candidate, baseline = tagged(elsewhere, here), tagged(1.9, 1.9)
        candidate["checks"], baseline["checks"] = [sustained(0.5, 1)], [sustained(1.0, 2)]
        (verdict,) = compare_paired(candidate, baseline, CATALOG).verdicts
        assert verdict.verdict == expected, verdict.note
    assert "around its group 'Throughput'" in verdict.note
