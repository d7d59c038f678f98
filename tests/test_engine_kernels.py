"""Every fast path equals its plain path; the compiled kernels are what master() runs; the engine works
without Numba; the regression self-test switch really slows the envelope follower."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from auralis_perf.engines.reference import ReferenceEngine, chain
from auralis_perf.engines.reference.jit import NUMBA_AVAILABLE
from auralis_perf.signals import kernel_input, music

SR = 44100
SIZES = {"envelope": 8192, "eq": 8192, "spectrum_batched": 16384, "spectrum_parallel": 16384, "chain": 11025}


def test_every_documented_pair_is_offered(engine: ReferenceEngine) -> None:
    assert set(engine.kernels()) == set(SIZES)
    assert engine.kernels()["spectrum_parallel"].info["workers"] >= 1


@pytest.mark.parametrize("name", list(SIZES))
def test_fast_equals_plain(engine: ReferenceEngine, name: str) -> None:
    pair = engine.kernels()[name]
    data = kernel_input(pair, SIZES[name], SR)
    fast, plain = np.asarray(pair.fast(data)), np.asarray(pair.plain(data))
    assert fast.shape == plain.shape
    assert np.abs(fast - plain).max() <= pair.tolerance <= 1e-9


def test_eq_realisations_agree(engine: ReferenceEngine) -> None:
    pair = engine.kernels()["eq"]
    data = kernel_input(pair, 4096, SR)
    reference = pair.plain(data)
    for name, realise in pair.info["realisations"].items():
        if name.startswith("sos"):
            assert np.abs(realise(data) - reference).max() < 1e-9, name


@pytest.mark.skipif(not NUMBA_AVAILABLE, reason="needs Numba")
def test_evidence_shows_master_runs_the_compiled_kernels(engine: ReferenceEngine) -> None:
    pairs = engine.kernels()
    before = {name: pairs[name].evidence()["master_calls_compiled"] for name in ("envelope", "eq")}
    engine.master(music(1.0, SR), SR)
    for name in ("envelope", "eq"):
        evidence = pairs[name].evidence()
        assert evidence["master_calls_compiled"] > before[name]
        assert evidence["compiled_signatures"], name
    plain_before = pairs["envelope"].evidence()["master_calls_plain"]
    engine.master(music(0.2, SR), SR, optimized=False)
    assert pairs["envelope"].evidence()["master_calls_plain"] > plain_before


def test_slow_kernel_switch_does_extra_envelope_work(engine: ReferenceEngine, monkeypatch) -> None:
    calls = []
    fast = chain.kernel_set(True)

    def counting(*args):  # type: ignore[no-untyped-def]
        calls.append(1)
        return fast.envelope(*args)

    monkeypatch.setattr(chain, "FAST_KERNELS", dataclasses.replace(fast, envelope=counting))
    monkeypatch.setattr(chain, "PLAIN_KERNELS", dataclasses.replace(chain.PLAIN_KERNELS, envelope=counting))
    audio = music(0.5, SR)
    normal = engine.master(audio, SR)
    normal_calls = len(calls)
    calls.clear()
    monkeypatch.setenv(chain.SLOW_KERNEL_ENV, "envelope")
    slowed = engine.master(audio, SR)
    assert len(calls) == 3 * normal_calls
    assert np.array_equal(slowed, normal)  # slower, same sound
    calls.clear()
    monkeypatch.setenv(chain.SLOW_KERNEL_ENV, "envelope:7")  # a factor of its own
    assert np.array_equal(engine.master(audio, SR), normal) and len(calls) == 7 * normal_calls
    monkeypatch.setenv(chain.SLOW_KERNEL_ENV, "envelope:lots")
    with pytest.raises(ValueError, match="whole factor"):
        chain.slow_kernels()


_NO_NUMBA = textwrap.dedent("""
    import importlib.abc, json, sys
    class BlockNumba(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "numba" or name.startswith("numba."):
                raise ImportError("numba is blocked for this test")
            return None
    sys.meta_path.insert(0, BlockNumba())
    import numpy as np
    from auralis_perf.engines import get_engine
    from auralis_perf.signals import kernel_input
    engine = get_engine("reference")
    audio = np.load(sys.argv[1])
    out = engine.master(audio, 44100)
    np.save(sys.argv[2], out)
    with engine.stream(audio, sample_rate=44100, chunk_size=1024) as stream:
        streamed = np.concatenate([c.copy() for c in stream])
    pairs = engine.kernels()
    data = kernel_input(pairs["envelope"], 2048, 44100)
    spectrum = pairs["spectrum_batched"]
    frames = kernel_input(spectrum, 8192, 44100)
    print(json.dumps({"numba_loaded": "numba" in sys.modules, "describe": engine.describe()["compiled_kernels"],
                      "stream_diff": float(np.abs(streamed - out).max()),
                      "spectrum_agrees": bool(np.abs(spectrum.fast(frames) - spectrum.plain(frames)).max() < 1e-9),
                      "pair_diff": float(np.abs(pairs["envelope"].fast(data) - pairs["envelope"].plain(data)).max())}))
""")


def test_engine_works_without_numba(tmp_path) -> None:
    audio = music(0.75, SR, dtype=np.float64)
    source, target = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(source, audio)
    done = subprocess.run([sys.executable, "-c", _NO_NUMBA, str(source), str(target)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"numba_loaded": False, "describe": False, "stream_diff": 0.0, "spectrum_agrees": True,
                      "pair_diff": 0.0}
    assert np.abs(np.load(target) - ReferenceEngine().master(audio, SR)).max() <= 1e-9
