"""The conformance kit fails an engine that breaks its protocols, and runs from outside this repository.

A fresh pytest process, started in an empty folder, runs `pytest --perf-engine broken_engine:BrokenEngine
-m conformance`: the reference engine with three faults (NaN accepted, a stream that differs from
master(), analysis not declared yet answered). Exactly the tests about those faults must fail.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

BROKEN_ENGINE = '''
import numpy as np

from auralis_perf.engines import Capability
from auralis_perf.engines.reference import ReferenceEngine


class _LoudStream:
    def __init__(self, inner):
        self.inner = inner
        self.sample_rate, self.channels, self.chunk_size = inner.sample_rate, inner.channels, inner.chunk_size

    def __iter__(self):
        return (chunk * 1.01 for chunk in self.inner)  # fault: streamed audio is 1 % louder than master()

    def set_preset(self, preset):
        self.inner.set_preset(preset)

    def pool_stats(self):
        return self.inner.pool_stats()

    def close(self):
        self.inner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BrokenEngine(ReferenceEngine):
    name = "broken"
    # fault: analysis is not declared, yet analyze() answers instead of raising NotSupported
    capabilities = ReferenceEngine.capabilities - {Capability.ANALYSIS}

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        if isinstance(audio, np.ndarray) and audio.dtype.kind == "f":
            audio = np.where(np.isnan(audio), 0, audio).astype(audio.dtype)  # fault: NaN silently accepted
        return super().master(audio, sample_rate, preset, optimized=optimized)

    def stream(self, source, **options):
        return _LoudStream(super().stream(source, **options))
'''


def test_the_kit_fails_exactly_the_broken_promises(tmp_path: Path) -> None:
    (tmp_path / "broken_engine.py").write_text(textwrap.dedent(BROKEN_ENGINE))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "pytest", "--perf-engine", "broken_engine:BrokenEngine",
                          "-m", "conformance", "-q", "-rf", "-p", "no:cacheprovider", "-k",
                          "bad_input or stream_equals or not_declared or master_keeps"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    failed = set(re.findall(r"^FAILED \S+::(test_\w+\[[^\]]*\])", run.stdout, flags=re.MULTILINE))
    names = {re.sub(r"\[broken_engine:BrokenEngine-?", "[", name).replace("[]", "") for name in failed}
    assert names == {
        "test_bad_input_is_refused_clearly[NaN sample]",
        "test_stream_equals_whole_within_tolerance[1024]",
        "test_stream_equals_whole_within_tolerance[1000]",
        "test_what_is_not_declared_raises_not_supported",
    }, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", run.stdout), run.stdout[-2000:]  # the promises it keeps still pass
