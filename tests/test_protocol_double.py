"""The strict double that proves the suites reach an engine only through the typed protocols.

The realtime, memory and optimization suite tests (tests/test_suite_*.py) run their category at tiny
sizes on `StrictEngine(reference)`, which exposes nothing but the protocols of `auralis_perf.engines`
(tests/protocol_double.py): every other attribute, on the engine or on what it hands out, raises and is
logged; each of those files asserts that no check errored on a refused name and nothing was refused.
This file checks that the double itself refuses what it should.
"""
from __future__ import annotations

import numpy as np
import pytest
from protocol_double import Refused, StrictEngine, protocol_members

from auralis_perf.engines import Engine, PlaybackSession, Stream, get_engine


def test_the_double_refuses_what_the_protocols_do_not_name():
    inner = get_engine("reference")
    engine = StrictEngine(inner)
    try:
        assert engine.name == "reference" and engine.has("stream")
        with pytest.raises(Refused):
            engine.open_library_internals  # noqa: B018 - the access is the test
        audio = np.zeros((4096, 2), dtype=np.float32)
        with engine.stream(audio, sample_rate=44100, chunk_size=1024) as stream:
            assert sum(chunk.shape[0] for chunk in stream) == 4096
            with pytest.raises(Refused):
                stream.preset_switches  # noqa: B018 - the reference stream has it, the protocol does not
        assert engine.blocked == ["Engine.open_library_internals", "Stream.preset_switches"]
    finally:
        inner.close()
    assert {"set_preset", "pool_stats", "__iter__", "sample_rate", "close"} <= protocol_members(Stream)
    assert {"load", "start", "pull", "finished", "set_preset"} <= protocol_members(PlaybackSession)
    assert "open_playback" in protocol_members(Engine) and "_process_pools" not in protocol_members(Engine)
