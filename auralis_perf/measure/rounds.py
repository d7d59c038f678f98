"""Measuring in rounds: one share of a timing's samples per round, for `--against` (run/against.py).

With `--against`, the candidate's and the baseline's kernels run a timing group in alternating rounds
(A B B A ...), so that a change of the machine's load during the run hits both sides alike. One round
must cost a share of the group's usual work, not all of it: inside `measuring_round(index, rounds)`,
`measure_time` takes ceil(repeat / rounds) samples (at least one) and spends min_time / rounds, and only
the first round warms up (the kernel stays warm between rounds), unless each round runs in a fresh process
(`fresh=True`). Outside a round nothing changes.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Round:
    index: int      # 0-based
    rounds: int     # how many rounds the group is measured in
    fresh: bool = False  # measured in a process of its own (notebook/round_process.py): it warms up too


#: Groups measured in rounds: their figures come from `measure_time`, whose samples a round can share, so
#: the rounds cost about what one run of the group costs. Other groups time their own loops (chunks,
#: deadlines, worker pools) and would cost their whole run once per round: they run once per side.
ROUND_GROUPS = frozenset({"Real-time factor"})

#: `details["value_from_samples"]` of a record whose value is 100 x the coefficient of variation of its
#: samples (RT-05): merged from rounds (notebook/rounds.py), it is recomputed from all rounds' samples.
CV_PERCENT = "cv_percent"

_CURRENT: ContextVar[Round | None] = ContextVar("auralis_perf_round", default=None)


@contextmanager
def measuring_round(index: int, rounds: int, *, fresh: bool = False) -> Iterator[Round]:
    """Inside the block, `measure_time` measures round `index` of `rounds` (see the module's docstring);
    `fresh`: the round runs in a new process, so it warms up whatever its index."""
    if rounds < 1 or not 0 <= index < rounds:
        raise ValueError(f"round {index} of {rounds}: need rounds >= 1 and 0 <= index < rounds")
    token = _CURRENT.set(Round(index, rounds, fresh))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def current_round() -> Round | None:
    """The round being measured, or None outside `measuring_round`."""
    return _CURRENT.get()


def round_order(index: int) -> tuple[int, int]:
    """Which side goes first in round `index`: A B, B A, B A, A B, A B, B A, ... (0 = candidate); every
    four rounds each side goes first twice and second twice, so a steady drift of load hits both alike."""
    return (0, 1) if index % 4 in (0, 3) else (1, 0)


def round_share(repeat: int, warmup: int, min_time: float, max_time: float | None,
                min_share: int = 1) -> tuple[int, int, float, float | None]:
    """(repeat, warmup, min_time, max_time) for this round's share, at least `min_share` samples;
    unchanged outside a round."""
    now = _CURRENT.get()
    if now is None:
        return repeat, warmup, min_time, max_time
    share = max(min_share, math.ceil(repeat / now.rounds))
    return (share, warmup if now.index == 0 or now.fresh else 0, min_time / now.rounds,
            None if max_time is None else max_time / now.rounds)


__all__ = ["CV_PERCENT", "ROUND_GROUPS", "Round", "current_round", "measuring_round", "round_order", "round_share"]
