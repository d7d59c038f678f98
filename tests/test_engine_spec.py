"""Checks that rebuild the engine in a fresh process (suites/common/engine_spec) build the engine under test,
also when it is an adapter given as module:Factory whose `name` is not a registered engine."""
from __future__ import annotations

import numpy as np
import soundfile as sf
from renamed_engine import NameBorrower, RenamedEngine

from auralis_perf.engines import get_engine
from auralis_perf.measure.isolated import run_isolated
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.engine_spec import (
    child_env,
    child_spec,
    engine_child_env,
    engine_from_spec,
    engine_spec,
)
from auralis_perf.suites.memory.baseline import mem01_idle_footprint
from auralis_perf.suites.memory.peak import stream_peaks


def built_name(spec: str) -> dict[str, str]:
    """Runs in a fresh process: which engine (name and class) the spec builds there."""
    engine = engine_from_spec(spec)
    return {"name": engine.name, "class": type(engine).__qualname__}


def test_a_registered_engine_is_named_by_its_name():
    assert engine_spec(get_engine("reference")) == "reference"
    assert engine_child_env(get_engine("reference")) == {}


def test_an_adapter_whose_name_is_not_registered_is_named_by_its_class():
    assert engine_spec(RenamedEngine()) == "renamed_engine:RenamedEngine"


def test_the_spec_the_run_built_the_engine_from_wins_over_its_name(tmp_path):
    # an adapter of one's own that calls itself "pedalboard": the run knows it was built from its module
    ctx = SuiteContext(engine=NameBorrower(), profile="smoke", workdir=tmp_path,
                       engine_spec="renamed_engine:NameBorrower")
    assert child_spec(ctx) == "renamed_engine:NameBorrower"
    run = run_isolated(built_name, args=(child_spec(ctx),), env=child_env(ctx), timeout=120)
    assert run.result == {"name": "pedalboard", "class": "NameBorrower"}


def test_a_suite_session_remembers_the_spec_it_built_the_engine_from(tmp_path):
    from auralis_perf.catalog import load_catalog
    from auralis_perf.suites.access import open_suite_context

    ctx = open_suite_context("renamed_engine:RenamedEngine", profile="smoke", workdir=tmp_path, audio_files=[],
                             catalog=load_catalog())
    assert ctx.engine.name == "renamed-double" and ctx.engine_spec == "renamed_engine:RenamedEngine"


def test_a_fresh_process_builds_the_same_engine_from_the_spec():
    engine = RenamedEngine()
    run = run_isolated(built_name, args=(engine_spec(engine),), env=engine_child_env(engine), timeout=120)
    assert run.result == {"name": "renamed-double", "class": "RenamedEngine"}


def test_mem01_measures_a_renamed_adapter_in_its_fresh_processes(tmp_path):
    ctx = SuiteContext(engine=RenamedEngine(), profile="smoke", workdir=tmp_path)
    record = mem01_idle_footprint(ctx)  # get_engine(engine.name) in the child raised "unknown engine"
    assert record.status in ("pass", "fail"), record.reason
    assert record.value is not None and record.details["total_rss_mb"] > 0


def test_mem13_child_streams_through_a_renamed_adapter(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, (0.1 * np.sin(np.arange(44100 * 2) / 20.0)).astype(np.float32), 44100)
    engine = RenamedEngine()
    run = run_isolated(stream_peaks, args=(engine_spec(engine), [str(path)], 4096), env=engine_child_env(engine),
                       timeout=300)
    assert run.result["runs"][0]["frames"] == 44100 * 2
