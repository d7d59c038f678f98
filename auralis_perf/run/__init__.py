"""The run: command line, the papermill pipeline, kernels, progress, side files and mail."""
from __future__ import annotations

import os
from pathlib import Path


def kernel_env(work: Path) -> dict[str, str]:
    """Environment a run's kernels (and the pytest front end's process) get on top of the inherited one.

    Compiled kernels are cached inside the run, so compile times are those of a cold start and nothing is
    written next to the sources; later notebooks of the run reuse the cache. A NUMBA_CACHE_DIR the user set
    wins. Relative PYTHONPATH entries (`PYTHONPATH=tests`) are made absolute from this process's folder,
    because kernels start in the run's work folder, where they would point nowhere.
    """
    env = {}
    if "NUMBA_CACHE_DIR" not in os.environ:
        env["NUMBA_CACHE_DIR"] = str(Path(work) / "numba-cache")
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(entry).resolve()) for entry in os.environ["PYTHONPATH"].split(os.pathsep) if entry)
    return env


__all__ = ["kernel_env"]
