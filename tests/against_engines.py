"""Test engines for `--against`: the reference engine doing a known share more CPU work in master() and in
each streamed chunk (a busy-wait on this thread's CPU clock after the real call: real work, same output).

    PYTHONPATH=tests run_report.py --engine against_engines:Slower15 --against reference

`Slower15`, `Slower10` and `Slower05` are the issue's done-when doubles; `Slower100` is the large fault the
end-to-end test judges (its verdict must not depend on how busy the machine is).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from auralis_perf.engines.reference import ReferenceEngine


def busy_for(cpu_seconds: float) -> None:
    """Spin until this thread has used `cpu_seconds` more CPU time (not wall time: load must not shorten it)."""
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


class _SlowedStream:
    """A stream whose every chunk costs `extra` more CPU time; everything else is the wrapped stream's."""

    def __init__(self, stream: Any, extra: float) -> None:
        self._stream, self._extra = stream, extra

    def __iter__(self) -> Iterator[np.ndarray]:
        chunks = iter(self._stream)
        while True:
            started = time.process_time()
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            busy_for(self._extra * (time.process_time() - started))
            yield chunk

    def __enter__(self) -> "_SlowedStream":
        self._stream.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class SlowerMaster(ReferenceEngine):
    """The reference engine with `extra` (a share) more CPU work in master() and in each streamed chunk."""

    extra = 0.15
    name = "slower-master"

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        started = time.process_time()
        out = super().master(audio, sample_rate, preset, optimized=optimized)
        busy_for(self.extra * (time.process_time() - started))
        return out

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default", optimized=True):
        return _SlowedStream(super().stream(source, sample_rate=sample_rate, chunk_size=chunk_size, preset=preset,
                                            optimized=optimized), self.extra)


class Slower05(SlowerMaster):
    extra, name = 0.05, "slower-05"


class Slower10(SlowerMaster):
    extra, name = 0.10, "slower-10"


class Slower15(SlowerMaster):
    extra, name = 0.15, "slower-15"


class Slower100(SlowerMaster):
    extra, name = 1.0, "slower-100"
