"""Measure something in a fresh Python process: idle footprint, cold compile time, Numba unavailable.

    run_in_subprocess("import numpy; emit({'ok': 1})")                   # code: emit(value) or `result = ...`
    run_in_subprocess(my_module.measure_idle, args=("reference",))     # an importable module-level function
    run_in_subprocess("import numba", block_numba=True)                 # raises SubprocessFailed(ImportError)

The child imports nothing of auralis_perf before the measured code (see `_child_bootstrap.py`). Its
result comes back through a JSON file, so the code may print freely.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BOOTSTRAP = Path(__file__).with_name("_child_bootstrap.py")
_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the auralis_perf package
#: The packages `block_numba` hides (llvmlite stays importable: only Numba's absence is the scenario).
NUMBA_PACKAGES = ("numba",)


class SubprocessFailed(RuntimeError):
    """The child raised, timed out, crashed or returned something that is not JSON."""

    def __init__(self, message: str, *, error_type: str | None = None, child_traceback: str = "",
                 stderr: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.child_traceback = child_traceback
        self.stderr = stderr


@dataclass
class IsolatedRun:
    """What a child process returned and what it cost."""

    result: Any
    wall_s: float           # time the measured code took inside the child
    process_s: float        # the child's whole life seen from the parent (interpreter start included)
    peak_rss_mb: float | None  # the child's lifetime high-water RSS (kind "peak_rss"), None if unknown
    end_rss_mb: float | None   # the child's RSS when the measured code had finished (kind "rss")
    stdout: str
    stderr: str


def _target_spec(target: str | Callable[..., Any]) -> dict[str, Any]:
    if isinstance(target, str):
        return {"code": target, "module": None, "qualname": None}
    if not callable(target):
        raise TypeError(f"run_in_subprocess needs code (str) or a function, got {type(target).__name__}")
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        raise ValueError(f"{target!r} cannot be imported in a child process: pass a module-level function "
                         "of an importable module (not a lambda, closure or __main__ function), or code")
    return {"code": None, "module": module, "qualname": qualname}


def _child_env(env: Mapping[str, str] | None, inherit: bool = True) -> dict[str, str]:
    child = dict(os.environ) if inherit else {}
    child.update(env or {})
    # the project must be importable even from a fresh clone that was never pip-installed
    paths = [str(_PROJECT_ROOT)] + [p for p in child.get("PYTHONPATH", "").split(os.pathsep) if p]
    child["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return child


def run_isolated(target: str | Callable[..., Any], *, args: Sequence[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, block_numba: bool = False,
                 block_modules: Sequence[str] = (), env: Mapping[str, str] | None = None,
                 timeout: float = 300.0, python: str | None = None, cwd: str | os.PathLike[str] | None = None,
                 wrapper: Sequence[str] = (), inherit_env: bool = True) -> IsolatedRun:
    """Run `target` in a fresh interpreter and return its JSON result with the child's costs.

    `target` is Python source (its result is the last `emit(value)` call, else the variable `result`,
    else None) or an importable module-level function called with `args`/`kwargs` (JSON-able).
    `block_numba` (or any `block_modules`) makes those packages raise ModuleNotFoundError on import.
    `env` entries are added to this process's environment. `wrapper` is a command the interpreter runs
    under (e.g. Valgrind's, see `instructions`). With `inherit_env` False the child gets `env` (and the
    project on PYTHONPATH) but nothing else of this process's environment. Raises `SubprocessFailed` on
    any failure.
    """
    blocked = list(dict.fromkeys([*(NUMBA_PACKAGES if block_numba else ()), *block_modules]))
    with tempfile.TemporaryDirectory(prefix="auralis-perf-child-") as workdir:
        spec_path, output_path = Path(workdir, "spec.json"), Path(workdir, "output.json")
        spec = {**_target_spec(target), "args": list(args), "kwargs": dict(kwargs or {}),
                "blocked": blocked, "output": str(output_path)}
        try:
            spec_path.write_text(json.dumps(spec), encoding="utf-8")
        except TypeError as error:
            raise TypeError(f"run_in_subprocess arguments must be JSON-serialisable: {error}") from None
        command = [*wrapper, python or sys.executable, "-c", _BOOTSTRAP.read_text(encoding="utf-8"), str(spec_path)]
        started = time.perf_counter()
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                       env=_child_env(env, inherit_env), cwd=cwd, check=False)
        except subprocess.TimeoutExpired as error:
            stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else error.stderr
            raise SubprocessFailed(f"child process timed out after {timeout} s", error_type="TimeoutExpired",
                                   stderr=stderr or "") from None
        process_s = time.perf_counter() - started
        if not output_path.exists():
            raise SubprocessFailed(f"child process exited with code {completed.returncode} without a result; "
                                   f"stderr ends: {completed.stderr[-2000:]}", stderr=completed.stderr)
        outcome = json.loads(output_path.read_text(encoding="utf-8"))
    if not outcome["ok"]:
        raise SubprocessFailed(f"child process raised {outcome['error_type']}: {outcome['error']}",
                               error_type=outcome["error_type"], child_traceback=outcome["traceback"],
                               stderr=completed.stderr)
    return IsolatedRun(result=outcome["result"], wall_s=outcome["wall_s"], process_s=process_s,
                       peak_rss_mb=outcome.get("peak_rss_mb"), end_rss_mb=outcome.get("end_rss_mb"),
                       stdout=completed.stdout, stderr=completed.stderr)


def run_in_subprocess(target: str | Callable[..., Any], **options: Any) -> Any:
    """`run_isolated(target, **options).result`: just the child's JSON result."""
    return run_isolated(target, **options).result


__all__ = ["IsolatedRun", "NUMBA_PACKAGES", "SubprocessFailed", "run_in_subprocess", "run_isolated"]
