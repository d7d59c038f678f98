"""Instructions a call executes, counted by Valgrind: a figure that does not move with machine load.

    counts = count_instructions([Workload("my.module:make_call", args=(...,))])
    counts[0].per_call        # instructions of one call, start-up, imports and JIT compilation excluded

Each workload names a module-level factory; called with `args` in a fresh Python it does the set-up (an
engine, a clip) and returns the zero-argument call to count. The child runs every factory, calls the call
`warmup` times (JIT compilation, caches, lazy imports, CPython's specialisation of hot code), then `reps`
times, then `2 * reps` times, each stretch between two marks. Callgrind dumps its counters at every mark
(`--dump-before` a libc function the child calls, `getppid`, that nothing else in it calls), so one
Valgrind process serves all workloads, and a call costs (stretch of 2n - stretch of n) / n: the loop and
the marks themselves cancel.

Determinism: PYTHONHASHSEED is fixed, the garbage collector is off during the stretches (a collection
would fall into one stretch and not the other), numeric libraries use one thread, and Numba compiles for
a generic CPU (`NUMBA_CPU_NAME=generic`) so that its on-disk cache, filled by an ordinary run of the same
child first, is also valid under Valgrind (whose CPU identification differs from the real one's).
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auralis_perf.measure.isolated import SubprocessFailed, run_isolated

#: What the child runs under; cache and branch simulation off (only executed instructions are counted).
VALGRIND = "valgrind"
#: The libc function whose entry makes Callgrind dump its counters (os.getppid calls it).
MARK_FUNCTION = "getppid"
#: Environment for both the filling run and the counted run (see the module docstring).
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "NUMBA_CPU_NAME": "generic",
                     "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}
_CHILD = Path(__file__).with_name("_marked_child.py")
_SUMMARY = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Workload:
    """A call to count: `factory` is "package.module:function", called with `args` (JSON-able)."""

    name: str
    factory: str
    args: tuple[Any, ...] = ()
    reps: int = 1
    #: calls before the counted stretches; a short call needs several before it settles (CPython specialises
    #: code after a few runs, a database driver caches its statements)
    warmup: int = 1


@dataclass
class InstructionCount:
    name: str
    per_call: float
    #: instructions of the n-call and 2n-call stretches, and n
    stretch_n: int
    stretch_2n: int
    reps: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def linearity(self) -> float:
        """stretch_2n / (2 * stretch_n): 1.0 when the loop and marks cost nothing beside the calls."""
        return self.stretch_2n / (2 * self.stretch_n) if self.stretch_n else float("nan")


class InstructionCountError(RuntimeError):
    """Valgrind is missing or the counted child failed; the message says which."""


def valgrind_missing() -> str | None:
    """Why instruction counts cannot be taken here, or None when Valgrind is installed."""
    if shutil.which(VALGRIND) is None:
        return "Valgrind is not installed (apt-get install valgrind): instruction counts need it"
    return None


def count_instructions(workloads: Sequence[Workload], *, env: Mapping[str, str] | None = None,
                       timeout: float = 1800.0, fill_cache: bool = True) -> list[InstructionCount]:
    """Instructions per call of each workload, in one Valgrind (Callgrind) process.

    `fill_cache` first runs the same child without Valgrind, so that Numba's on-disk cache holds every
    kernel (compiling under Valgrind is slow; the counts exclude it either way). Raises
    `InstructionCountError` when Valgrind is missing or the child fails.
    """
    missing = valgrind_missing()
    if missing:
        raise InstructionCountError(missing)
    for workload in workloads:
        if workload.reps < 1 or workload.warmup < 1:
            raise ValueError(f"workload {workload.name!r}: reps and warmup must be at least 1, got {workload.reps} "
                             f"and {workload.warmup}")
    specs = [{"factory": w.factory, "args": list(w.args), "reps": w.reps, "warmup": w.warmup} for w in workloads]
    child_env = {**DETERMINISTIC_ENV, **(env or {})}
    code = _CHILD.read_text(encoding="utf-8") + f"\nresult = run_marked(json.loads({json.dumps(specs)!r}))\n"
    code = "import json\n" + code
    try:
        if fill_cache:
            run_isolated(code, env=child_env, timeout=timeout)
        with tempfile.TemporaryDirectory(prefix="auralis-perf-callgrind-") as folder:
            out = Path(folder, "callgrind.out")
            wrapper = [VALGRIND, "--tool=callgrind", "--cache-sim=no", "--branch-sim=no",
                       f"--dump-before={MARK_FUNCTION}", f"--callgrind-out-file={out}"]
            result = run_isolated(code, env=child_env, timeout=timeout, wrapper=wrapper)
            dumps = _read_dumps(out)
    except SubprocessFailed as error:
        raise InstructionCountError(f"{error}\n{error.child_traceback}".strip()) from error
    marks = result.result["marks"]
    if len(dumps) != marks:
        raise InstructionCountError(f"{len(dumps)} Callgrind dumps for {marks} marks: something else in the child "
                                    f"called {MARK_FUNCTION}()")
    counts = []
    for i, workload in enumerate(workloads):
        stretch_n, stretch_2n = dumps[3 * i + 1], dumps[3 * i + 2]
        counts.append(InstructionCount(workload.name, (stretch_2n - stretch_n) / workload.reps, stretch_n,
                                       stretch_2n, workload.reps))
    return counts


def _read_dumps(out: Path) -> list[int]:
    """Instructions of each dump, in order: files `out.1`, `out.2`, ... (the last file, `out`, is the rest)."""
    numbered = sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))
    totals = []
    for path in numbered:
        match = _SUMMARY.search(path.read_text(encoding="utf-8", errors="replace"))
        if match is None:
            raise InstructionCountError(f"no instruction total in Callgrind's dump {path.name}")
        totals.append(int(match.group(1)))
    return totals


__all__ = ["DETERMINISTIC_ENV", "InstructionCount", "InstructionCountError", "Workload", "count_instructions",
           "valgrind_missing"]
