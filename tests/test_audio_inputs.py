"""--audio files are probed before anything runs: bad ones are named, left out of a folder, or stop the run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.report.render import render_report
from auralis_perf.results import check_record
from auralis_perf.run import pipeline
from auralis_perf.run.audio_inputs import audio_problem, choose_audio
from auralis_perf.run.cli import parse_config


def good(path: Path) -> Path:
    sf.write(path, 0.1 * np.ones((2000, 2), dtype=np.float32), 44100)
    return path


def corrupt(path: Path) -> Path:
    """A FLAC whose header reads but whose audio frames are garbage: only decoding finds it out."""
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32), 44100,
             format="FLAC")
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)  # zero the second half of the frames
    path.write_bytes(bytes(data))
    return path


def test_probe_names_what_is_wrong(tmp_path):
    assert audio_problem(good(tmp_path / "ok.wav")) is None
    (tmp_path / "text.wav").write_text("not audio at all")
    assert "cannot decode" in audio_problem(tmp_path / "text.wav")
    assert audio_problem(corrupt(tmp_path / "broken.flac")) is not None
    sf.write(tmp_path / "six.wav", np.zeros((100, 6), dtype=np.float32), 44100)
    assert "6 channels" in audio_problem(tmp_path / "six.wav")


def test_folder_with_one_bad_file_runs_on_the_good_ones_and_names_the_bad(tmp_path, capsys):
    good(tmp_path / "a.wav")
    bad = corrupt(tmp_path / "b.flac")
    config = parse_config(["--audio", str(tmp_path), "--profile", "smoke"])
    assert [p.name for p in config.audio] == ["a.wav"]
    assert [p for p, _ in config.audio_skipped] == [bad.resolve()]


def test_report_shows_the_files_left_out(tmp_path):
    doc = {"run": {"id": "r", "engine": "reference", "profile": "smoke", "machine": {}, "versions": {},
                   "parameters": {"audio": ["/m/a.wav"], "audio_skipped": ["/m/b.flac: cannot decode: bad"]},
                   "notebooks": []},
           "checks": [check_record("RT-01", 45.0, samples=[45.0]).to_dict()]}
    html = render_report([(doc, tmp_path)])
    assert "Audio files left out" in html and "/m/b.flac: cannot decode: bad" in html


def test_folder_with_no_good_file_exits_3_naming_them(tmp_path, capsys):
    corrupt(tmp_path / "b.flac")
    (tmp_path / "c.wav").write_text("nope")
    assert pipeline.main(["--audio", str(tmp_path), "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "b.flac" in err and "c.wav" in err and not (tmp_path / "out").exists()


def test_an_explicit_bad_file_exits_3_even_beside_good_ones(tmp_path, capsys):
    ok = good(tmp_path / "a.wav")
    bad = corrupt(tmp_path / "b.flac")
    assert pipeline.main(["--audio", str(ok), str(bad), "--out", str(tmp_path / "out")]) == 3
    assert "b.flac" in capsys.readouterr().err
    with pytest.raises(ValueError, match="b.flac"):
        choose_audio([bad], [])


def test_an_unreadable_input_is_an_error_of_the_check_never_a_fail(tmp_path):
    from auralis_perf.engines.reference import ReferenceEngine
    from auralis_perf.suites import SuiteContext
    from auralis_perf.suites.common.checks import run_checks
    from auralis_perf.suites.realtime.latency import check_buffer_wait, check_preset_switch
    from auralis_perf.suites.realtime.optimizations import check_without_numba

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all")
    ctx = SuiteContext(engine=ReferenceEngine(), profile="smoke", workdir=tmp_path / "work", audio_files=[bad])
    records = run_checks(ctx, [("RT-20", check_without_numba), ("RT-08", check_buffer_wait),
                               ("RT-09", check_preset_switch)])
    for r in records:
        assert r.status == "error", (r.id, r.status, r.reason)
        assert "bad.wav" in r.reason, (r.id, r.reason)
        assert "LibsndfileError" not in r.reason, (r.id, r.reason)
