"""The playback session: background decoding into a ring drained by a simulated callback; clean close."""
from __future__ import annotations

import gc
import math
import threading
import weakref

import psutil
import pytest

from auralis_perf.engines import AudioInputError
from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.signals import write_music

SR = 44100


@pytest.fixture(scope="module")
def engine() -> ReferenceEngine:
    return ReferenceEngine()


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> str:
    return write_music(tmp_path_factory.mktemp("playback") / "track.flac", 1.5, SR)


def _session_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("auralis-playback")]


def test_fast_playback_plays_everything_and_records_a_timeline(engine: ReferenceEngine, track: str) -> None:
    with engine.open_playback(track, chunk_size=2048, realtime=False) as session:
        session.start()
        assert session.wait(60)
        timeline = session.timeline()
    assert timeline["chunks"] == math.ceil(1.5 * SR / 2048)
    assert timeline["opened"] <= timeline["first_chunk"] <= timeline["playback_start"] <= timeline["finished"]
    assert len(timeline["buffer_waits"]) == timeline["chunks"] == len(timeline["chunk_times"])
    assert all(w >= 0 for w in timeline["buffer_waits"]) and timeline["missed_deadlines"] == 0


def test_realtime_playback_is_paced_and_switches_presets(engine: ReferenceEngine, track: str) -> None:
    with engine.open_playback(track, chunk_size=4096, realtime=True) as session:
        session.start()
        while session.timeline()["chunks"] < 3:
            assert not session.wait(0.05)
        session.set_preset("warm")
        assert session.wait(30)
        timeline = session.timeline()
    played = timeline["finished"] - timeline["playback_start"]
    assert played >= 0.9 * (timeline["chunks"] - 1) * 4096 / SR  # the callback kept real-time pace
    [(requested, applied)] = timeline["preset_switches"]
    assert applied >= requested


def test_close_leaves_no_thread_file_or_buffer(engine: ReferenceEngine, track: str) -> None:
    before = {t.ident for t in threading.enumerate()}
    session = engine.open_playback(track, chunk_size=1024, realtime=True)
    session.start()
    session.wait(0.1)  # close mid-playback
    stream = weakref.ref(session._stream)
    session.close()
    assert not _session_threads()
    assert {t.ident for t in threading.enumerate()} <= before
    assert all(f.path != track for f in psutil.Process().open_files())
    assert session._slots == [] and session._device.size == 0
    del session
    gc.collect()
    assert stream() is None


def test_errors_in_the_producer_reach_wait(engine: ReferenceEngine, track: str, monkeypatch) -> None:
    session = engine.open_playback(track, realtime=False)

    def broken() -> None:
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(session._stream, "_chunks", broken)
    session.start()
    with pytest.raises(RuntimeError, match="decoder exploded"):
        session.wait(10)
    session.close()
    assert not _session_threads()


def test_buffer_chunks_must_leave_room(engine: ReferenceEngine, track: str) -> None:
    with pytest.raises(AudioInputError, match="buffer_chunks"):
        engine.open_playback(track, buffer_chunks=1)
    assert all(f.path != track for f in psutil.Process().open_files())
