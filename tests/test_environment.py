"""environment.yml (conda) lists exactly the packages of pyproject.toml, with the same version bounds."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"soundfile": "pysoundfile", "memory-profiler": "memory_profiler"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    parsed = {}
    for requirement in requirements:
        m = _REQUIREMENT.match(requirement)
        assert m, f"pyproject.toml: cannot parse requirement {requirement!r}"
        name = normalise(m.group(1))
        parsed[normalise(CONDA_NAMES.get(name, name))] = m.group(2).replace(" ", "")
    return parsed


def environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    parsed = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):  # the pip section installs this project itself
            assert item == {"pip": ["-e ."]}
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*(.*)$", item)
        assert m, f"environment.yml: cannot parse {item!r}"
        parsed[normalise(m.group(1))] = m.group(2).replace(" ", "")
    return parsed


def test_environment_yml_lists_the_same_packages_as_pyproject():
    conda = environment_requirements()
    python = conda.pop("python")
    conda.pop("pip")
    pypi = pyproject_requirements()
    assert sorted(set(pypi) - set(conda)) == [], "add these to environment.yml (conda-forge names)"
    assert sorted(set(conda) - set(pypi)) == [], "environment.yml lists packages pyproject.toml does not"
    assert {n: conda[n] for n in pypi if conda[n] != pypi[n]} == {}, "version bounds differ"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python == requires
