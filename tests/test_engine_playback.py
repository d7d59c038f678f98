"""The reference player on the pull protocol, and the harness's device (PacedPlayback) that plays it."""
from __future__ import annotations

import gc
import math
import threading
import weakref

import psutil
import pytest

from auralis_perf.engines import AudioFileError, AudioInputError, PlaybackChunk
from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.engines.reference.stream import ReferenceStream
from auralis_perf.signals import write_music
from auralis_perf.suites.common.playback import PacedPlayback

SR = 44100


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> str:
    return write_music(tmp_path_factory.mktemp("playback") / "track.flac", 1.5, SR)


def _session_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("auralis-playback", "harness-audio"))]


def test_pulled_chunks_cover_the_track_in_order(engine: ReferenceEngine, track: str) -> None:
    with engine.open_playback(chunk_size=2048) as session:
        session.load(track)
        assert (session.sample_rate, session.channels) == (SR, 2)
        session.start()
        chunks: list[PlaybackChunk] = []
        while (chunk := session.pull(10.0)) is not None:
            chunks.append(PlaybackChunk(chunk.audio.copy(), chunk.ready_at, chunk.preset))
        assert session.finished
    assert sum(c.audio.shape[0] for c in chunks) == round(1.5 * SR)
    assert all(c.audio.shape[1] == 2 and c.preset == "default" for c in chunks)
    assert len(chunks) > 1 and all(a.ready_at <= b.ready_at for a, b in zip(chunks, chunks[1:]))


def test_fast_playback_plays_everything_and_records_a_timeline(engine: ReferenceEngine, track: str) -> None:
    with PacedPlayback(engine, track, chunk_size=2048, realtime=False) as player:
        player.start()
        assert player.wait(60)
        timeline = player.timeline()
    assert timeline["chunks"] == math.ceil(1.5 * SR / 2048)
    assert timeline["opened"] <= timeline["first_chunk"] <= timeline["playback_start"] <= timeline["finished"]
    assert len(timeline["buffer_waits"]) == len(timeline["pull_times"]) == timeline["chunks"]  # aligned
    assert all(w >= 0 for w in timeline["buffer_waits"]) and timeline["missed_deadlines"] == 0


def test_realtime_playback_is_paced_and_switches_presets(engine: ReferenceEngine, track: str) -> None:
    with PacedPlayback(engine, track, chunk_size=4096, realtime=True) as player:
        player.start()
        while player.timeline()["chunks"] < 3:
            assert not player.wait(0.05)
        player.set_preset("warm")
        assert player.wait(30)
        timeline = player.timeline()
    played = timeline["finished"] - timeline["playback_start"]
    assert played >= 0.9 * (timeline["chunks"] - 1) * 4096 / SR  # the device kept real-time pace
    [(requested, heard)] = timeline["preset_switches"]
    assert heard is not None and heard >= requested


def test_an_engine_too_slow_for_the_device_misses_deadlines(engine: ReferenceEngine, track: str) -> None:
    """A player whose chunks come late: the device counts missed deadlines instead of waiting quietly."""
    import time

    class Late:
        def __init__(self, inner):  # wraps the reference session, sleeping two periods per chunk
            self.inner = inner
            self.sample_rate, self.channels, self.chunk_size = inner.sample_rate, inner.channels, inner.chunk_size

        def pull(self, timeout=None):
            time.sleep(2 * self.chunk_size / self.sample_rate)
            return self.inner.pull(timeout)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    with PacedPlayback(engine, track, chunk_size=4096, realtime=True) as player:
        player.session = Late(player.session)
        player.start()
        assert player.wait(30)
        timeline = player.timeline()
    assert timeline["missed_deadlines"] >= timeline["chunks"] - 2


def test_close_leaves_no_thread_file_or_buffer(engine: ReferenceEngine, track: str) -> None:
    before = {t.ident for t in threading.enumerate()}
    player = PacedPlayback(engine, track, chunk_size=1024, realtime=True)
    player.start()
    player.wait(0.1)  # close mid-playback
    session = weakref.ref(player.session)
    player.close()
    assert not _session_threads()
    assert {t.ident for t in threading.enumerate()} <= before
    assert all(f.path != track for f in psutil.Process().open_files())
    del player
    gc.collect()
    assert session() is None


def test_errors_in_the_producer_reach_the_device(engine: ReferenceEngine, track: str, monkeypatch) -> None:
    player = PacedPlayback(engine, track, realtime=False)

    def broken(self):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(ReferenceStream, "__iter__", broken)
    player.start()
    with pytest.raises(RuntimeError, match="decoder exploded"):
        player.wait(10)
    player.close()
    assert not _session_threads()


def test_bad_arguments(engine: ReferenceEngine, track: str, tmp_path) -> None:
    with pytest.raises(AudioInputError, match="buffer_chunks"):
        engine.open_playback(buffer_chunks=1)
    with pytest.raises(AudioInputError, match="unknown preset"):
        engine.open_playback(preset="loud")
    with engine.open_playback() as session:
        with pytest.raises(RuntimeError, match="load"):
            session.start()
        with pytest.raises(AudioFileError, match="missing.wav"):
            session.load(tmp_path / "missing.wav")
    assert all(f.path != track for f in psutil.Process().open_files())
