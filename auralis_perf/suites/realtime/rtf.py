"""RT-01..RT-05: real-time factor of `master()` on short, medium and long audio, warm, >= 5 runs each."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auralis_perf.measure import Timing, measure_time
from auralis_perf.measure.peaks import sample_peak_dbfs, true_peak_dbtp
from auralis_perf.measure.rounds import CV_PERCENT, current_round
from auralis_perf.measure.stats import describe
from auralis_perf.results import CheckResult
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common import audio as suite_audio
from auralis_perf.suites.common.checks import record, run_checks, scaled
from auralis_perf.suites.realtime.common import SEED_SIZES, channels, size


def _measure_rtf(ctx: SuiteContext, seconds: float, runs: int, min_seconds: float) -> dict[str, Any]:
    """Warm `master()` on `seconds` of audio, at least `runs` timed calls and `min_seconds` of them (in an
    --against round, its share and at least `rtf_round_runs` calls): RTF per run and its median."""
    audio, sr = suite_audio.test_audio(ctx, seconds)
    engine = ctx.engine
    timing = measure_time(lambda: engine.master(audio, sr), warmup=1, repeat=runs,
                          min_time=min_seconds, inner_loops=1,
                          round_repeat=size(ctx, "rtf_round_runs"))
    audio_s = audio.shape[0] / sr
    per_run = [audio_s / s for s in timing.samples]
    now = current_round()
    if now is None or now.index == now.rounds - 1:  # a merged record keeps the last round's details
        out = engine.master(audio, sr)  # once more, untimed: what the master sounds like, beside its speed
        levels = {"true_peak_dbtp": true_peak_dbtp(out), "sample_peak_dbfs": sample_peak_dbfs(out)}
        del out
    else:
        levels = {}
    return {"timing": timing, "rtf": describe(per_run).median, "rtf_samples": per_run, "audio_seconds": audio_s,
            "sample_rate": sr, "channels": channels(audio), "levels": levels}


def _rtf_record(ctx: SuiteContext, check_id: str, m: dict[str, Any], extra: dict[str, Any]) -> CheckResult:
    timing: Timing = m["timing"]
    details = {"audio_seconds": m["audio_seconds"], "sample_rate": m["sample_rate"], "channels": m["channels"],
               "runs": timing.n, "warmup_runs": timing.warmup, "wall_seconds_median": timing.median,
               "stability_warning": timing.warning, **m["levels"], **suite_audio.describe_source(ctx), **extra}
    return record(ctx, check_id, m["rtf"], samples=m["rtf_samples"], kind="rtf", summary=timing.summary(),
                  details=details)


def real_time_factor_checks(ctx: SuiteContext) -> list[CheckResult]:
    durations = size(ctx, "rtf_seconds")
    runs = size(ctx, "rtf_runs")
    min_seconds = size(ctx, "rtf_min_seconds")
    measured: dict[str, dict[str, Any]] = {}

    def by_duration(check_id: str, index: int) -> Callable[[SuiteContext], CheckResult]:
        def check(ctx: SuiteContext) -> CheckResult:
            measured[check_id] = _measure_rtf(ctx, durations[index], runs, min_seconds[index])
            seed = SEED_SIZES["rtf_seconds"][index]
            extra = scaled(ctx.profile, "audio length (s)", seed, durations[index])
            return _rtf_record(ctx, check_id, measured[check_id], extra)
        return check

    def lowest(ctx: SuiteContext) -> CheckResult:
        if not measured:
            raise RuntimeError("none of RT-01..RT-03 produced a real-time factor")
        worst = min(measured, key=lambda i: measured[i]["rtf"])
        m = measured[worst]
        rtf_by_check = {i: measured[i]["rtf"] for i in measured}
        missing = sorted({"RT-01", "RT-02", "RT-03"} - set(measured))
        return record(ctx, "RT-04", m["rtf"], samples=m["rtf_samples"], kind="rtf", summary=m["timing"].summary(),
                      details={"lowest_of": worst, "rtf_by_check": rtf_by_check, **m["levels"],
                               "audio_seconds": m["audio_seconds"], "not_measured": missing})

    def consistency(ctx: SuiteContext) -> CheckResult:
        if "RT-02" not in measured:
            raise RuntimeError("RT-02 was not measured, so its runs' consistency cannot be judged")
        timing: Timing = measured["RT-02"]["timing"]
        cv_percent = 100.0 * timing.cv
        return record(ctx, "RT-05", cv_percent, samples=timing.samples, kind="time", summary=timing.summary(),
                      details={"runs_of": "RT-02", "runs": timing.n, "wall_seconds": timing.samples,
                               "audio_seconds": measured["RT-02"]["audio_seconds"],
                               "note": "samples are the wall seconds of RT-02's timed runs; value = their CV",
                               # how the value follows from the samples, for merging rounds (notebook/rounds.py)
                               "value_from_samples": CV_PERCENT})

    return run_checks(ctx, [("RT-01", by_duration("RT-01", 0)), ("RT-02", by_duration("RT-02", 1)),
                            ("RT-03", by_duration("RT-03", 2)), ("RT-04", lowest), ("RT-05", consistency)])
