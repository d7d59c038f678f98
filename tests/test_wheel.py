"""The installable package: a wheel built from this checkout, installed into a fresh virtual environment,
runs the report from an unrelated folder with nothing but its own files (notebooks, templates, catalogue).

The fresh venv gets its dependencies from uv's cache (`--offline` first: no network needed once `make venv`
ran), so the install takes seconds; the run itself is the real smoke profile of one category.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")


def _uv(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """uv offline (its cache holds what `make venv` installed), else online; fails with uv's output."""
    for extra in (["--offline"], []):
        done = subprocess.run([str(UV), *args, *extra], cwd=cwd, capture_output=True, text=True, timeout=timeout)
        if done.returncode == 0:
            return done
    pytest.fail(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@pytest.mark.slow
def test_wheel_installs_and_runs_the_report_from_any_folder(tmp_path: Path) -> None:
    assert UV.is_file(), f"{UV} missing: `make venv` installs uv into the venv"
    # Build from a copy of what the package needs, so the checkout gets no build/ folder.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "auralis_perf", source / "auralis_perf",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    _uv("build", "--wheel", "--python", sys.executable, "--out-dir", str(tmp_path / "dist"), str(source))
    (wheel,) = (tmp_path / "dist").glob("auralis_perf-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in ("auralis_perf/catalog.toml", "auralis_perf/report/templates/report.html.j2",
                     "auralis_perf/notebook/notebooks/01_realtime.ipynb"):
        assert packaged in names, f"{packaged} is not in {wheel.name}"

    venv = tmp_path / "venv"
    _uv("venv", "--python", sys.executable, str(venv))
    _uv("pip", "install", "--python", str(venv / "bin" / "python"), str(wheel))
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import auralis_perf; print(auralis_perf.__version__)"],
                             capture_output=True, text=True, check=True, cwd=tmp_path)
    assert version.stdout.strip() and version.stdout.strip()[0].isdigit()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AURALIS_PERF_SUITES", "NUMBA_CACHE_DIR")}
    done = subprocess.run([str(venv / "bin" / "auralis-perf"), "--profile", "smoke", "--categories", "realtime",
                           "--no-progress"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1, 2, 4), f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    (run_dir,) = (elsewhere / "reports").glob("*-reference-smoke")  # ./reports is the default output
    assert (run_dir / "report.html").stat().st_size > 10_000
    results = json.loads((run_dir / "results.json").read_text())
    assert [n["status"] for n in results["run"]["notebooks"]] == ["ok"], results["run"]["notebooks"]
    ids = [c["id"] for c in results["checks"]]
    assert ids == [f"RT-{i:02d}" for i in range(1, 21)]
    # The notebook ran in a kernel of the fresh venv, on the installed package.
    assert results["run"]["notebooks"][0]["kernel_executable"].startswith(str(venv))
    assert results["run"]["versions"]["auralis-perf"] == version.stdout.strip()
