"""Two kernels, one notebook, executed in lockstep: the candidate's and the baseline's sides of `--against`.

Both kernels stay alive for the whole notebook; nbclient executes it cell by cell, one side then the other
(the side that goes first alternates from cell to cell), never both at once, so neither measures while
the other works. A cell that runs one of the timing groups (`run.group('Name')` with Name in
`round_groups`) is first measured in rounds: round k runs `run.group_round('Name', k, rounds)` in one
kernel, then in the other, in the order A B, B A, B A, A B, ... (each pair of rounds is balanced, so a
load that rises or falls during the group hits both sides alike); the cell itself then merges the rounds
(notebook/rounds.py). A side whose kernel dies or times out stops there; the other goes on. With
`group_load`, the free cores are read before and after each group cell (both sides' turns; tagged with the
group's name), so the guards of regress/ see the load around each group, not only around the notebook.
With `round_process="interleaved"`, round k runs in both kernels at once, each in a fresh process, and the
two processes take turns sample by sample under a referee of this process (measure/turns.py), so the
candidate's and the baseline's samples of a pair lie one sample apart instead of a whole group apart.
"""
from __future__ import annotations

import asyncio
import copy
import math
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auralis_perf.measure.rounds import round_order

_GROUP_CALL = re.compile(r"""run\.group\(\s*(['"])(?P<name>[^'"]+)\1\s*\)""")


@dataclass
class Side:
    """One kernel's share: where its executed notebook goes and how its kernel is started."""

    label: str
    outcome: Any                          # run.pipeline.NotebookOutcome, updated in place
    parameters: dict[str, Any]
    cwd: Path
    env: dict[str, str]
    executable: str | None = None
    rounds_done: dict[str, int] = field(default_factory=dict)
    #: interleaved rounds: per round, whether this side's process took turns with the other's
    turns_taken: dict[str, list[bool]] = field(default_factory=dict)
    client: Any = None
    stopped: bool = False
    busy_s: float = 0.0


def group_of_cell(source: str) -> str | None:
    """The group a notebook cell runs (`x = run.group('Name')`), or None."""
    match = _GROUP_CALL.search(source)
    return match.group("name") if match else None


def _first_error(cell: Any) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def _client(side: Side, nb: Any, timeout: float, sockets: Path) -> Any:
    from nbclient import NotebookClient

    from auralis_perf.run.kernel import KERNEL_NAME, kernel_manager_for
    from auralis_perf.run.pipeline import KERNEL_START_TIMEOUT

    def remaining(_cell: Any) -> int:
        # The budget is per notebook and per side: the time this side's own cells took (the other side's
        # do not count). nbclient reads 0 as "no timeout at all".
        return max(1, math.ceil(timeout - side.busy_s))

    km = kernel_manager_for(side.env, side.outcome.log, executable=side.executable)(kernel_name=KERNEL_NAME)
    # IPC sockets default to a path relative to the current folder, which papermill makes the kernel's own
    # by chdir; two kernels in two folders need absolute (and short: at most ~100 characters) socket paths.
    km.ip = str(sockets / side.label)
    return NotebookClient(nb, km=km, kernel_name=KERNEL_NAME, allow_errors=True, timeout_func=remaining,
                          startup_timeout=KERNEL_START_TIMEOUT, resources={"metadata": {"path": str(side.cwd)}})


async def _execute(side: Side, cell: Any, index: int, timeout: float) -> None:
    """Execute one cell on one side; a timeout or a dead kernel stops that side."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if side.stopped:
        return
    started = time.monotonic()
    try:
        await side.client.async_execute_cell(cell, index)
    except CellTimeoutError as exc:
        side.outcome.status, side.stopped = "timeout", True
        side.outcome.error = f"the notebook exceeded its budget of {timeout:g} s ({_line(exc)})"
    except DeadKernelError as exc:
        side.outcome.status, side.stopped = "failed", True
        side.outcome.error = f"the kernel died (out of memory or a crash in native code?): {_line(exc)}"
    except Exception as exc:  # anything else nbclient raises ends this side, not the other
        side.outcome.status, side.stopped = "failed", True
        side.outcome.error = f"{type(exc).__name__}: {_line(exc)}"
    finally:
        side.busy_s += time.monotonic() - started
    error = _first_error(cell)
    if error and side.outcome.status == "ok":
        side.outcome.status = "failed"
        side.outcome.error = f"cell {cell.get('execution_count')}: {error}"


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _rounds(sides: Sequence[Side], group: str, index: int, rounds: int, timeout: float,
                  round_process: str, sockets: Path) -> None:
    """Measure `group` in `rounds` alternating rounds (each in a fresh process of its side's kernel unless
    `round_process` is "kernel"; both sides at once, taking turns, when "interleaved"); a side whose round
    fails stops taking rounds."""
    where = "" if round_process == "kernel" else ", fresh_process=True"
    import nbformat

    def round_cell(k: int, turns: tuple[str, int] | None = None) -> Any:
        extra = f", turns={turns!r}" if turns else ""
        return nbformat.v4.new_code_cell(f"run.group_round({group!r}, {k}, {rounds}{where}{extra})")

    for k in range(rounds):
        taking = [i for i in round_order(k) if not sides[i].stopped and sides[i].rounds_done.get(group, 0) >= k]
        if round_process == "interleaved" and len(taking) == 2:
            await _interleaved_round(sides, group, k, index, timeout, sockets, round_cell)
            continue
        for i in taking:
            cell = round_cell(k)
            await _execute_round(sides[i], cell, index, timeout)
            if _first_error(cell) is None and not sides[i].stopped:
                sides[i].rounds_done[group] = k + 1


async def _interleaved_round(sides: Sequence[Side], group: str, k: int, index: int, timeout: float,
                             sockets: Path, round_cell: Any) -> None:
    """Round `k` in both kernels at once; their fresh processes take turns under one referee."""
    from auralis_perf.measure.turns import TurnReferee

    path = sockets / f"turns-{k}"
    with TurnReferee(path, first=round_order(k)[0]) as referee:
        async def one_side(i: int) -> None:
            cell = round_cell(k, (str(path), i))
            try:
                await _execute_round(sides[i], cell, index, timeout)
            finally:
                referee.retire(i)  # its process is done (or failed): the other side goes on alone
            if _first_error(cell) is None and not sides[i].stopped:
                sides[i].rounds_done[group] = k + 1

        await asyncio.gather(one_side(0), one_side(1))
    for i, side in enumerate(sides):
        side.turns_taken.setdefault(group, []).append(i in referee.connected and len(set(referee.grants)) == 2)


async def _execute_round(side: Side, cell: Any, index: int, timeout: float) -> None:
    status, error = side.outcome.status, side.outcome.error
    await _execute(side, cell, index, timeout)
    if not side.stopped:  # a round that raised (an older helper, say) is no notebook failure: the cell runs
        side.outcome.status, side.outcome.error = status, error


async def _run(source: Path, sides: Sequence[Side], rounds: int, round_groups: frozenset[str],
               timeout: float, group_load: list[dict[str, Any]] | None, round_process: str) -> None:
    import nbformat
    from papermill.iorw import load_notebook_node  # papermill's reading: cell metadata filled in
    from papermill.parameterize import parameterize_notebook

    from auralis_perf.measure.capacity import free_cores
    from auralis_perf.run.kernel import KERNEL_NAME

    template = load_notebook_node(str(source))
    notebooks = []
    sockets = Path(tempfile.mkdtemp(prefix="ap-ipc-"))
    for side in sides:
        side.cwd.mkdir(parents=True, exist_ok=True)
        side.outcome.notebook.parent.mkdir(parents=True, exist_ok=True)
        nb = parameterize_notebook(copy.deepcopy(template), side.parameters, kernel_name=KERNEL_NAME,
                                   language="python")
        notebooks.append(nb)
        side.client = _client(side, nb, timeout, sockets)
    try:
        async with AsyncExitStack() as stack:
            for side in sides:
                try:
                    await stack.enter_async_context(side.client.async_setup_kernel())
                except Exception as exc:  # a kernel that cannot start: that side's notebook failed
                    side.outcome.status, side.stopped = "failed", True
                    side.outcome.error = f"the kernel did not start: {type(exc).__name__}: {_line(exc)}"
            for index, cell in enumerate(notebooks[0].cells):
                if cell.cell_type != "code":
                    continue
                group = group_of_cell(cell.source)
                cells = [nb.cells[index] for nb in notebooks]
                if group is not None and group_load is not None:
                    group_load.append({**free_cores(), "group": group})
                if group in round_groups and rounds > 1:
                    await _rounds(sides, group, index, rounds, timeout, round_process, sockets)
                    for nb, original in zip(notebooks, cells):  # nbclient stored each round in the cell's place
                        nb.cells[index] = original
                order = (0, 1) if index % 2 == 0 else (1, 0)
                for i in order:
                    await _execute(sides[i], cells[i], index, timeout)
                if group is not None and group_load is not None:
                    group_load.append({**free_cores(), "group": group})
    finally:
        for side, nb in zip(sides, notebooks):
            nbformat.write(nb, str(side.outcome.notebook))
            side.outcome.duration_s = side.busy_s
        shutil.rmtree(sockets, ignore_errors=True)


def run_lockstep(source: Path, sides: Sequence[Side], *, rounds: int, round_groups: frozenset[str],
                 timeout: float, group_load: list[dict[str, Any]] | None = None,
                 round_process: str = "kernel") -> None:
    """Execute `source` on both sides in lockstep (see the module's docstring); updates each side's outcome
    and appends the free-core readings around each group cell to `group_load` when given. `round_process`:
    "kernel" measures each round in the side's kernel; "fresh" in a new process started by the side's
    kernel (notebook/round_process.py); "interleaved" in fresh processes of both sides at once, taking turns
    sample by sample (measure/turns.py)."""
    if len(sides) != 2:
        raise ValueError(f"lockstep needs exactly two sides, got {len(sides)}")
    if round_process not in ("kernel", "fresh", "interleaved"):
        raise ValueError(f"unknown round process {round_process!r}; choose kernel, fresh or interleaved")
    try:
        asyncio.run(_run(source, sides, rounds, round_groups, timeout, group_load, round_process))
    except Exception as exc:  # an unreadable notebook, say: both sides' notebook failed, the run goes on
        for side in sides:
            if side.outcome.status == "ok":
                side.outcome.status, side.outcome.error = "failed", f"{type(exc).__name__}: {_line(exc)}"


__all__ = ["Side", "group_of_cell", "run_lockstep"]
