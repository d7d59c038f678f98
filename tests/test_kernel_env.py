"""The environment a run's kernels get: they start in the run's work folder, so a relative PYTHONPATH entry
given on the command line (`PYTHONPATH=tests run_report.py --engine mod:Factory`) must reach them absolute."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from auralis_perf.run import kernel_env


def test_relative_pythonpath_entries_reach_kernels_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["tests", "/opt/adapters", ""]))
    env = kernel_env(tmp_path / "work")
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "tests"), "/opt/adapters"]


def test_no_pythonpath_adds_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert kernel_env(tmp_path) == {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
