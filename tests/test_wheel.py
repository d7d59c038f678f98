"""The installable package and the real real-time notebook, on one smoke run.

A wheel built from this checkout, installed into a fresh virtual environment, runs the report from an
unrelated folder with nothing but its own files (notebooks, templates, catalogue). That run is the real
smoke profile of the real-time category through the real notebook, so it also serves the end-to-end check
that every RT ID gets a status (one run of several minutes of CPU for both, instead of two).

The fresh venv gets its dependencies from uv's cache (`--offline` first: no network needed once `make venv`
ran), so the install takes seconds.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from auralis_perf.report.check import external_references
from auralis_perf.results import read_results

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")


def _uv(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """uv offline (its cache holds what `make venv` installed), else online; fails with uv's output."""
    for extra in (["--offline"], []):
        done = subprocess.run([str(UV), *args, *extra], cwd=cwd, capture_output=True, text=True, timeout=timeout)
        if done.returncode == 0:
            return done
    pytest.fail(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class InstalledRun:
    wheel_names: list[str]     # the files in the built wheel
    venv: Path                 # the fresh venv it was installed into
    version: str               # auralis_perf.__version__ as the installed package says
    done: subprocess.CompletedProcess[str]  # `auralis-perf --profile smoke --categories realtime` there
    run_dir: Path              # the run's folder under ./reports of the folder it ran in


@pytest.fixture(scope="module")
def installed_run(tmp_path_factory: pytest.TempPathFactory) -> InstalledRun:
    """Build the wheel, install it into a fresh venv, run the smoke report of one category from elsewhere."""
    assert UV.is_file(), f"{UV} missing: `make venv` installs uv into the venv"
    tmp_path = tmp_path_factory.mktemp("wheel")
    # Build from a copy of what the package needs, so the checkout gets no build/ folder.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "auralis_perf", source / "auralis_perf",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    _uv("build", "--wheel", "--python", sys.executable, "--out-dir", str(tmp_path / "dist"), str(source))
    (wheel,) = (tmp_path / "dist").glob("auralis_perf-*.whl")

    venv = tmp_path / "venv"
    _uv("venv", "--python", sys.executable, str(venv))
    _uv("pip", "install", "--python", str(venv / "bin" / "python"), str(wheel))
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import auralis_perf; print(auralis_perf.__version__)"],
                             capture_output=True, text=True, check=True, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AURALIS_PERF_SUITES", "NUMBA_CACHE_DIR")}
    # --explain none: the budget is the notebook's; the explain step has its own tests (test_explain.py)
    done = subprocess.run([str(venv / "bin" / "auralis-perf"), "--profile", "smoke", "--categories", "realtime",
                           "--no-progress", "--explain", "none"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1, 2, 4), f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    (run_dir,) = (elsewhere / "reports").glob("*-reference-smoke")  # ./reports is the default output
    return InstalledRun(zipfile.ZipFile(wheel).namelist(), venv, version.stdout.strip(), done, run_dir)


@pytest.mark.slow
def test_wheel_installs_and_runs_the_report_from_any_folder(installed_run: InstalledRun) -> None:
    for packaged in ("auralis_perf/catalog.toml", "auralis_perf/report/templates/report.html.j2",
                     "auralis_perf/notebook/notebooks/01_realtime.ipynb"):
        assert packaged in installed_run.wheel_names, f"{packaged} is not in the wheel"
    assert installed_run.version and installed_run.version[0].isdigit()
    run_dir = installed_run.run_dir
    assert (run_dir / "report.html").stat().st_size > 10_000
    results = json.loads((run_dir / "results.json").read_text())
    assert [n["status"] for n in results["run"]["notebooks"]] == ["ok"], results["run"]["notebooks"]
    ids = [c["id"] for c in results["checks"]]
    assert ids == [f"RT-{i:02d}" for i in range(1, 21)]
    # The notebook ran in a kernel of the fresh venv, on the installed package.
    assert results["run"]["notebooks"][0]["kernel_executable"].startswith(str(installed_run.venv))
    assert results["run"]["versions"]["auralis-perf"] == installed_run.version


@pytest.mark.slow
def test_real_realtime_notebook_smoke(installed_run: InstalledRun) -> None:
    """The real suite (whatever state it is in) through the real notebook: every RT ID gets a status."""
    result = installed_run.done
    assert result.returncode in (0, 1, 2), result.stderr
    data = read_results(installed_run.run_dir / "results.json")
    assert [c["id"] for c in data["checks"]] == [f"RT-{i:02d}" for i in range(1, 21)]
    for c in data["checks"]:
        assert c["status"] in ("pass", "fail", "skip", "error")
        if c["status"] in ("pass", "fail"):
            assert c["value"] is not None or c.get("violations")
    html = (installed_run.run_dir / "report.html").read_text()
    assert external_references(html) == []  # self-contained
    assert all(f"RT-{i:02d}" in html for i in range(1, 21))
    assert f"exit code {result.returncode}" in result.stdout
