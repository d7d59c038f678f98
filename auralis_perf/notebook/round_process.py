"""One round of a timing group measured in a process of its own (`--against`, `--round-process fresh`).

A process carries a speed of its own for its whole life: where its buffers landed, which of them got
transparent huge pages, how its allocator's arenas grew. Two kernels measured against each other in
alternating rounds cancel the machine's drift, but not that: an A/A run here once read the candidate's
kernel 1.7-4 % faster on all three of RT-01..03 for the whole run. Measuring every round in a fresh
process turns that per-process offset into per-round noise, which the paired test then weighs like any
other (as pyperf spreads its samples over many worker processes). Each round warms up again
(`measure.rounds`: `fresh=True`); the records go back to the kernel, which merges the rounds as usual.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from auralis_perf import suites
from auralis_perf.catalog import load_catalog
from auralis_perf.measure.rounds import measuring_round
from auralis_perf.measure.turns import taking_turns
from auralis_perf.results import CheckResult
from auralis_perf.suites.access import SuiteSession


@dataclass(frozen=True)
class RoundRequest:
    """What a fresh process needs to measure one round of one group as the kernel would."""

    engine: str                 # engine name or module:Factory (the kernel's environment is inherited)
    profile: str
    category: str
    group: str
    ids: tuple[str, ...]
    index: int
    rounds: int
    workdir: str
    audio: tuple[str, ...] = ()
    thresholds: str | None = None
    #: the referee's socket and this side (0 candidate, 1 baseline) when the two sides' processes take
    #: turns sample by sample (measure/turns.py); None: this process measures alone
    turns: str | None = None
    side: int = 0


def measure_round(request: RoundRequest) -> list[CheckResult]:
    """The group's records for this round, measured in this (new) process."""
    with taking_turns(request.turns, request.side):  # before the engine loads: loading is part of a turn
        suites.apply_suite_overrides()
        session = SuiteSession(request.engine, profile=request.profile, workdir=Path(request.workdir),
                               audio_files=list(request.audio), catalog=load_catalog(request.thresholds))
        try:
            with measuring_round(request.index, request.rounds, fresh=True):
                _, records, _ = session.run(lambda: session.group_named(request.category, request.group),
                                            list(request.ids))
        finally:
            if session.engine is not None:
                session.engine.close()
    return records


def measure_round_in_fresh_process(request: RoundRequest) -> list[CheckResult]:
    """`measure_round` in a newly spawned process (spawned, not forked: a fork would inherit the kernel's
    memory layout, which is what this is meant to vary)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure_round, request).result()


def round_request(*, engine: str, profile: str, category: str, group: str, ids: Sequence[str], index: int,
                  rounds: int, workdir: Path, audio: Sequence[Path], thresholds: str | None,
                  turns: tuple[str, int] | None = None) -> RoundRequest:
    """A RoundRequest from the kernel's own settings (paths made absolute: the child may start elsewhere);
    `turns`: (referee socket, side) to take turns with the other side's process."""
    return RoundRequest(engine=engine, profile=profile, category=category, group=group, ids=tuple(ids),
                        index=index, rounds=rounds, workdir=str(Path(workdir).resolve()),
                        audio=tuple(str(Path(a).resolve()) for a in audio),
                        thresholds=str(Path(thresholds).resolve()) if thresholds else None,
                        turns=turns[0] if turns else None, side=turns[1] if turns else 0)


__all__ = ["RoundRequest", "measure_round", "measure_round_in_fresh_process", "round_request"]
