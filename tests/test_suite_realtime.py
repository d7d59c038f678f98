"""The real-time suite (RT-01..RT-20) on the reference engine at tiny sizes, its verdict logic and plots.

No timing assertions: the figures depend on the machine. What is asserted is that every check gets a
record of the right shape, and that the suite turns a fast path that changes the audio, or evidence that
master() does not use the fast path, into a failing check.
"""
from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest
import soundfile as sf

matplotlib.use("Agg")

from protocol_double import assert_protocols_only  # noqa: E402
from suite_support import assert_plots_draw, category_records  # noqa: E402

from auralis_perf.engines import Capability, Engine  # noqa: E402
from auralis_perf.results import STATUSES  # noqa: E402
from auralis_perf.suites import SuiteContext, groups  # noqa: E402
from auralis_perf.suites.common import audio as suite_audio
from auralis_perf.suites.realtime import groups as rt  # noqa: E402

RT_IDS = [f"RT-{i:02d}" for i in range(1, 21)]

#: Smoke sizes shrunk so the whole category runs in seconds (the real smoke sizes stay in the module).
TINY = {
    "rtf_seconds": (0.5, 1.0, 1.5), "rtf_runs": 5, "rtf_min_seconds": (0.0, 0.0, 0.0), "rtf_round_runs": 1, "stream_seconds": 1.0, "latency_repeats": 5,
    "playback_seconds": 1.0, "preset_switches": 3, "start_seconds": 1.0, "concurrent_seconds": 0.5,
    "concurrent_rounds": 5, "batch": (3, 0.5), "batch_repeats": 3, "memory_repeats": 2, "queue_jobs": 6,
    "queue_clip_seconds": 0.2, "queue_rounds": 5, "sustained_wall_seconds": 0.3, "envelope_seconds": 0.2,
    "eq_seconds": 0.3, "spectrum_seconds": 1.0, "chain_seconds": 0.3, "pair_rounds": 5,
}


@pytest.fixture(scope="module")
def tiny_sizes():
    saved = {k: dict(v) for k, v in rt.SIZES.items()}
    for key, value in TINY.items():
        rt.SIZES[key]["smoke"] = value
    yield
    for key, value in saved.items():
        rt.SIZES[key].clear()
        rt.SIZES[key].update(value)


@pytest.fixture(scope="module")
def records(tiny_sizes, strict_engine, tmp_path_factory):
    ctx = SuiteContext(engine=strict_engine, profile="smoke", workdir=tmp_path_factory.mktemp("rt"))
    return category_records(ctx, "realtime")


def test_the_suite_reaches_the_engine_only_through_its_protocols(records, strict_engine):
    assert_protocols_only(records, strict_engine)


def test_groups_match_the_catalogue():
    from auralis_perf.catalog import load_catalog

    catalog = load_catalog()
    for g in groups("realtime"):
        assert {catalog[i].group for i in g.ids} == {g.name}
    assert sorted(i for g in groups("realtime") for i in g.ids) == RT_IDS


def test_every_check_gets_a_well_formed_record(records):
    assert sorted(records) == RT_IDS
    for check_id, r in records.items():
        assert r.status in STATUSES, check_id
        if r.status in ("pass", "fail"):
            if r.value is None:  # only a violation may leave a judged check without a value
                assert r.violations, check_id
            else:
                assert np.isfinite(r.value), check_id
                assert r.samples, f"{check_id} has a value but no raw samples"
        else:
            assert r.reason, f"{check_id} is {r.status} without a reason"
        r.to_dict()  # JSON-able


def test_reference_engine_is_measured_where_it_has_the_capability(records, engine):
    errors = {i: r.reason for i, r in records.items() if r.status == "error"}
    assert not errors
    for check_id in ("RT-01", "RT-02", "RT-03", "RT-04", "RT-05", "RT-06", "RT-07", "RT-14", "RT-19", "RT-20"):
        assert records[check_id].status in ("pass", "fail"), check_id
    if engine.has(Capability.BATCH):
        assert all(records[i].value is not None for i in ("RT-11", "RT-12", "RT-13", "RT-15"))


def test_rtf_records_relate_as_the_catalogue_says(records):
    rtfs = {i: records[i].value for i in ("RT-01", "RT-02", "RT-03")}
    assert records["RT-04"].value == min(rtfs.values())
    assert len(records["RT-02"].samples) >= 5
    wall = np.array(records["RT-05"].samples)
    assert records["RT-05"].value == pytest.approx(100 * wall.std(ddof=1) / wall.mean())
    # the smoke profile scales the catalogue's 60 s and 600 s down and says so
    assert "scaled" in records["RT-03"].details


def test_chunk_times_are_judged_against_the_chunk_deadline(records):
    d = records["RT-07"].details
    assert d["chunks"] == len(records["RT-07"].samples) == len(d["chunk_ms"])
    assert d["median_ms"] <= d["p99_ms"] <= d["max_ms"]
    expected_p99 = np.percentile(records["RT-07"].samples, 99)
    assert records["RT-07"].value == pytest.approx(expected_p99)


def test_fast_paths_report_their_output_difference(records):
    for check_id in ("RT-16", "RT-17", "RT-18", "RT-19"):
        r = records[check_id]
        if r.status in ("pass", "fail"):
            assert "max_abs_diff" in r.details, check_id
            assert r.details["max_abs_diff"] <= r.details["tolerance"], check_id
    assert records["RT-20"].details["numba_blocked"] is True
    assert records["RT-20"].value <= rt.FALLBACK_TOLERANCE


class _ChangedEnvelopeEngine(Engine):
    """The reference engine, except that its compiled envelope returns slightly different audio."""

    name = "reference"

    def __init__(self, inner: Engine, *, offset: float = 0.0, evidence: dict | None = None) -> None:
        self.inner, self.offset, self.evidence = inner, offset, evidence
        self.capabilities = inner.capabilities
        self.presets = inner.presets

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        return self.inner.master(audio, sample_rate, preset, optimized=optimized)

    def stream(self, source, **options):
        return self.inner.stream(source, **options)

    def kernels(self):
        pair = self.inner.kernels()["envelope"]
        changes = {}
        if self.offset:
            changes["fast"] = lambda data: pair.fast(data) + self.offset
        if self.evidence is not None:
            changes["evidence"] = lambda: self.evidence
        return {"envelope": dataclasses.replace(pair, **changes)}


def test_a_fast_path_that_changes_the_output_fails_however_fast(tiny_sizes, engine, tmp_path):
    ctx = SuiteContext(engine=_ChangedEnvelopeEngine(engine, offset=1e-3), profile="smoke", workdir=tmp_path)
    r = rt.check_envelope(ctx)
    assert r.status == "fail"
    assert r.details["max_abs_diff"] == pytest.approx(1e-3)
    assert any("changed the output" in v for v in r.violations)


def test_evidence_that_master_runs_the_plain_path_is_a_violation(tiny_sizes, engine, tmp_path):
    counters = {"master_calls_compiled": 0, "master_calls_plain": 0}

    class PlainCounting(_ChangedEnvelopeEngine):
        def master(self, audio, sample_rate, preset="default", *, optimized=True):
            counters["master_calls_plain"] += 1  # as if master fell back to the plain envelope
            return super().master(audio, sample_rate, preset, optimized=optimized)

        def kernels(self):
            pair = self.inner.kernels()["envelope"]
            return {"envelope": dataclasses.replace(pair, evidence=lambda: dict(counters))}

    ctx = SuiteContext(engine=PlainCounting(engine), profile="smoke", workdir=tmp_path)
    r = rt.check_envelope(ctx)
    assert r.status == "fail"
    assert any("plain envelope path" in v for v in r.violations)


def test_evidence_rules():
    assert rt.judge_evidence("eq", None, None)[1] == []
    verdict, violations = rt.judge_evidence("eq", {"master_calls_compiled": 1, "master_calls_plain": 0},
                                            {"master_calls_compiled": 2, "master_calls_plain": 0})
    assert verdict.startswith("in use") and violations == []
    assert rt.judge_evidence("eq", {}, {"used_by_master": False, "reason": "Numba missing"})[1]
    assert rt.judge_evidence("eq", {"master_calls_compiled": 3, "master_calls_plain": 1},
                             {"master_calls_compiled": 3, "master_calls_plain": 2})[1]


def test_the_reference_engine_proves_master_uses_its_compiled_envelope(records):
    assert records["RT-16"].details["evidence"]["verdict"].startswith("in use")


def test_user_files_are_used_wherever_generated_audio_is(engine, tmp_path):
    sr = 22050
    t = np.arange(sr) / sr
    tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "mine.wav"
    sf.write(path, np.stack([tone, tone], axis=1), sr)
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "w", audio_files=[path])
    audio, rate = suite_audio.test_audio(ctx, 2.5)
    assert rate == sr and audio.shape == (int(2.5 * sr), 2)
    np.testing.assert_allclose(audio[sr:2 * sr, 0], tone, atol=1e-4)  # looped material
    assert suite_audio.audio_file(ctx, 30.0) == path
    assert suite_audio.describe_source(ctx)["audio_files"] == ["mine.wav"]


def test_a_corrupt_user_file_is_named_in_the_error(engine, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00not really a wave file")
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path / "w", audio_files=[bad])
    with pytest.raises(ValueError, match="broken.wav"):
        suite_audio.test_audio(ctx, 1.0)


def test_plots_draw_from_the_records(records, tmp_path):
    from auralis_perf.notebook.plots import realtime as plots

    assert_plots_draw("realtime", records, tmp_path, (plots.plot_rtf, plots.plot_chunk_times, plots.plot_latency,
                                                       plots.plot_throughput, plots.plot_speedups))


def test_plots_name_checks_that_did_not_run(tmp_path):
    from auralis_perf.notebook.helper import NotebookRun
    from auralis_perf.notebook.plots import realtime as plots
    from auralis_perf.results import skipped

    run = NotebookRun("realtime", profile="smoke", workdir=tmp_path, show=False)
    run.records["RT-07"] = skipped(run.catalog["RT-07"], "engine has no capability 'stream'")
    fig = plots.plot_chunk_times(run)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("RT-07: skip" in t for t in texts)
    matplotlib.pyplot.close(fig)


def test_a_plot_that_cannot_draw_says_why_instead_of_raising(tmp_path):
    from auralis_perf.notebook.helper import NotebookRun
    from auralis_perf.notebook.plots import realtime as plots
    from auralis_perf.results import check_record

    run = NotebookRun("realtime", profile="smoke", workdir=tmp_path, show=False)
    run.records["RT-07"] = check_record("RT-07", 5.0, samples=[5.0], details={})  # no deadline recorded
    fig = plots.plot_chunk_times(run)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("could not draw" in t and "KeyError" in t for t in texts)
    matplotlib.pyplot.close(fig)
