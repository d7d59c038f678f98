"""Instructions a call executes, counted by Valgrind: a figure that does not move with machine load.

    counts = count_instructions([Workload("my.module:make_call", args=(...,))])
    counts[0].per_call        # instructions of one call, start-up, imports and JIT compilation excluded

Each workload names a module-level factory; called with `args` in a fresh Python it does the set-up (an
engine, a clip) and returns the zero-argument call to count. One Valgrind (Callgrind) process imports the
workloads' modules and runs their shared set-ups (`Workload.prepare`, e.g. a generated library file), then
forks a process per workload, one per core at a time: each workload is counted from the same state,
whatever else is counted, and the forked processes run in parallel. A forked process runs the factory,
calls the call `warmup` times (JIT compilation, caches, lazy imports, CPython's specialisation of hot
code), then `reps` times, then `2 * reps` times, each stretch between two marks. Callgrind dumps its
counters at every mark (`--dump-before` a libc function the child calls, `getppid`, that nothing else in
it calls), and a call costs (stretch of 2n - stretch of n) / n: the loop and the marks themselves cancel.
On x86-64 Callgrind instruments only the stretches (a client request turns it on and off): imports,
set-up and warm-up run uninstrumented, several times faster; the counts are the same either way.

Determinism: PYTHONHASHSEED and the child's entropy are fixed (`_marked_child.fix_entropy`: a library that
draws unseeded random numbers at import, as scipy.stats does for its docstrings, would otherwise change the
memory layout, and with it CPython's method-cache hits, in every process), the garbage collector is off during the stretches (a collection
would fall into one stretch and not the other), numeric libraries use one thread, and Numba compiles for
a generic CPU (`NUMBA_CPU_NAME=generic`) so that its on-disk cache, filled by an ordinary run of the same
set-ups and warm-ups first, is also valid under Valgrind (whose CPU identification differs from the real
one's).
"""
from __future__ import annotations

import json
import os
import platform
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
_TOTALS = re.compile(r"^totals:\s*(\d+)", re.MULTILINE)
#: Environment variables (and prefixes) the counted child inherits; see `_kept_environment`.
_KEPT_VARIABLES = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV"})
_KEPT_PREFIXES = ("NUMBA_", "AURALIS")
#: Workloads counted at once (each in a forked Valgrind process of its own): one per core, at most this.
MAX_PARALLEL = 2


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
    #: a shared set-up ("package.module:function", called with `prepare_args`) run once before the workloads
    #: are forked, e.g. a library file each copies: its result must be kept by its module, not returned
    prepare: str | None = None
    prepare_args: tuple[Any, ...] = ()


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
                       timeout: float = 1800.0, fill_cache: bool = True,
                       parallel: int | None = None) -> list[InstructionCount]:
    """Instructions per call of each workload, each counted in a process of its own (see the module
    docstring), `parallel` at a time (default: one per core, at most MAX_PARALLEL).

    `fill_cache` first runs the same set-ups and warm-ups without Valgrind, so that Numba's on-disk cache
    holds every kernel (compiling under Valgrind is slow; the counts exclude it either way). Raises
    `InstructionCountError` when Valgrind is missing or a workload fails.
    """
    missing = valgrind_missing()
    if missing:
        raise InstructionCountError(missing)
    for workload in workloads:
        if workload.reps < 1 or workload.warmup < 1:
            raise ValueError(f"workload {workload.name!r}: reps and warmup must be at least 1, got {workload.reps} "
                             f"and {workload.warmup}")
    if not workloads:
        return []
    parallel = parallel or max(1, min(MAX_PARALLEL, os.cpu_count() or 1))
    specs = [{"factory": w.factory, "args": list(w.args), "reps": w.reps, "warmup": w.warmup} for w in workloads]
    prepares = list(dict.fromkeys((w.prepare, tuple(w.prepare_args)) for w in workloads if w.prepare))
    with tempfile.TemporaryDirectory(prefix="auralis-perf-callgrind-") as folder:
        child_env = {**_kept_environment(), **DETERMINISTIC_ENV, **(env or {})}
        try:
            if fill_cache:
                _run_child(specs, prepares, parallel, Path(folder, "fill"), child_env, timeout, warm_only=True)
            out = Path(folder, "count")
            # %p: a file per process; the forked ones hold the dumps of their marks
            wrapper = [*_without_aslr(), VALGRIND, "--tool=callgrind", "--cache-sim=no", "--branch-sim=no",
                       f"--instr-atstart={'no' if _requests_work() else 'yes'}",
                       f"--dump-before={MARK_FUNCTION}", f"--callgrind-out-file={out}/callgrind.out.%p"]
            outcomes = _run_child(specs, prepares, parallel, out, child_env, timeout, wrapper=wrapper)
            counts = []
            for workload, outcome in zip(workloads, outcomes):
                dumps = _read_dumps(out / f"callgrind.out.{outcome['pid']}")
                if len(dumps) != outcome["marks"]:
                    raise InstructionCountError(f"{workload.name}: {len(dumps)} Callgrind dumps for {outcome['marks']} "
                                                f"marks: something else in the child called {MARK_FUNCTION}()")
                stretch_n, stretch_2n = dumps[1], dumps[2]
                counts.append(InstructionCount(workload.name, (stretch_2n - stretch_n) / workload.reps, stretch_n,
                                               stretch_2n, workload.reps,
                                               {"process_s": round(outcome["wall_s"], 1),
                                                **{k: round(v, 1) for k, v in outcome["phases"].items()}}))
        except SubprocessFailed as error:
            raise InstructionCountError(f"{error}\n{error.child_traceback}".strip()) from error
    return counts


def _kept_environment() -> dict[str, str]:
    """The part of this process's environment the counted child keeps (where programs, packages and an
    engine's own settings are found): the rest, e.g. a test runner's PYTEST_CURRENT_TEST, would change the
    child's memory layout from one run to the next, and with it CPython's method-cache hits (see
    `_without_aslr`)."""
    return {key: value for key, value in os.environ.items()
            if key in _KEPT_VARIABLES or key.startswith(_KEPT_PREFIXES)}


def _without_aslr() -> list[str]:
    """The command that starts Valgrind with address-space randomisation off (util-linux's setarch -R),
    or nothing when it is missing. CPython's method cache is indexed by the addresses of attribute names:
    with randomised addresses its hits and misses, hence a library query's count, moved by up to 0.7 %
    from one run to the next (the same in every process of one run)."""
    setarch = shutil.which("setarch")
    return [setarch, platform.machine(), "-R"] if setarch else []


def _requests_work() -> bool:
    """Whether the child can turn Callgrind's instrumentation on and off itself (x86-64 only, see
    `_marked_child._client_request`); elsewhere Callgrind instruments the whole child."""
    return platform.machine().lower() in ("x86_64", "amd64")


def _run_child(specs: list[dict[str, Any]], prepares: list[tuple[str, tuple[Any, ...]]], parallel: int, out: Path,
               env: Mapping[str, str], timeout: float, *, wrapper: Sequence[str] = (),
               warm_only: bool = False) -> list[dict[str, Any]]:
    """Run `_marked_child.run_forked` in a fresh Python (under `wrapper`); each workload's outcome, or
    InstructionCountError naming the first workload that failed."""
    out.mkdir(parents=True, exist_ok=True)
    arguments = json.dumps([specs, [list(p) for p in prepares], parallel, str(out), warm_only])
    code = (_CHILD.read_text(encoding="utf-8") +
            f"\nresult = run_forked(*json.loads({arguments!r}))\n")
    # a fixed environment and working folder: their sizes and listings shift the child's memory layout
    workdir, scratch = out / "cwd", out / "tmp"
    workdir.mkdir()  # empty: Python lists its working folder (sys.path[0]) on the first import
    scratch.mkdir()  # the workloads' scratch files (a library per forked process) go with the folder
    outcomes = run_isolated(code, env={**env, "TMPDIR": str(scratch)}, timeout=timeout, wrapper=wrapper,
                            inherit_env=False, cwd=workdir).result
    for spec, outcome in zip(specs, outcomes):
        if not outcome["ok"]:
            where = "warming up" if warm_only else "counting"
            raise InstructionCountError(f"{where} {spec['factory']}{tuple(spec['args'])} failed: "
                                        f"{outcome['error']}\n{outcome.get('traceback', '')}".strip())
    return outcomes


def _read_dumps(out: Path) -> list[int]:
    """Instructions of each dump, in order: files `out.1`, `out.2`, ... (the last file, `out`, is the rest)."""
    numbered = sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))
    totals = []
    for path in numbered:
        match = _TOTALS.search(path.read_text(encoding="utf-8", errors="replace"))
        if match is None:
            raise InstructionCountError(f"no instruction total in Callgrind's dump {path.name}")
        totals.append(int(match.group(1)))
    return totals


__all__ = ["DETERMINISTIC_ENV", "InstructionCount", "InstructionCountError", "Workload", "count_instructions",
           "valgrind_missing"]
