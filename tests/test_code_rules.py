"""Rules of the code that ruff does not check: no private name of one module used from another.

Ruff's PLC2701 does not flag private imports inside the same top-level package, which is every import
here, so this test reads the sources itself. A module's `_name` is its own business; what another module
needs becomes a public name (a seam), so that changing one module's internals cannot break another.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "auralis_perf"
SOURCES = sorted([*(ROOT / PACKAGE).rglob("*.py"), *(ROOT / "tests").rglob("*.py")])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_uses(source: str, where: str = "<source>") -> list[str]:
    """Every use in `source` of a private name of an auralis_perf module: imports, aliases to a private
    name, `module._name` attributes and `setattr(module, "_name", ...)` / dotted strings in patches."""
    tree = ast.parse(source)
    problems: list[str] = []
    modules: dict[str, str] = {}  # local name -> auralis_perf module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    if any(_private(part) for part in alias.name.split(".")):
                        problems.append(f"{where}:{node.lineno}: import {alias.name}")
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            if any(_private(part) for part in node.module.split(".")):
                problems.append(f"{where}:{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    problems.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
                elif alias.asname and _private(alias.asname):
                    problems.append(f"{where}:{node.lineno}: {alias.name} imported as private {alias.asname}")
                if _is_module(f"{node.module}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and ast.unparse(node.value) in modules:
            problems.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("setattr", "setitem", "delattr"))
              and len(node.args) >= 2 and ast.unparse(node.args[0]) in modules
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value)):
            problems.append(f"{where}:{node.lineno}: {ast.unparse(node.func)} of {ast.unparse(node.args[0])}."
                            f"{node.args[1].value}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith(f"{PACKAGE}.") and " " not in node.value
              and any(_private(part) for part in node.value.replace(":", ".").split("."))):
            problems.append(f"{where}:{node.lineno}: {node.value!r}")
    return problems


def test_the_sources_were_found() -> None:
    assert len(SOURCES) > 100 and any(p.name == "pipeline.py" for p in SOURCES)


def test_no_private_name_crosses_modules() -> None:
    problems = [p for path in SOURCES for p in private_uses(path.read_text(encoding="utf-8"),
                                                             str(path.relative_to(ROOT)))]
    assert problems == [], "private names used across modules (make them public seams):\n" + "\n".join(problems)


@pytest.mark.parametrize("source", [
    "from auralis_perf.results import _hidden",
    "from auralis_perf.suites.common import audio as _audio",
    "from auralis_perf import engines\nengines._REGISTRY['x'] = 'y'",
    "from auralis_perf.run import pipeline\nmonkeypatch.setattr(pipeline, '_machine', None)",
    "import auralis_perf.results\nauralis_perf.results._x",
    "monkeypatch.setattr('auralis_perf.run.pipeline._machine', None)",
])
def test_the_rule_catches_each_form(source: str) -> None:
    assert private_uses(source), source


@pytest.mark.parametrize("source", [
    "from auralis_perf.results import to_jsonable",
    "from auralis_perf import engines\nengines.register('x', 'y')",
    "class A:\n    def _own(self):\n        return self._x",
    "from auralis_perf.results import CheckResult\nCheckResult.__dataclass_fields__",
])
def test_the_rule_allows_public_names_and_a_module_s_own_privates(source: str) -> None:
    assert private_uses(source) == []


def test_every_path_the_readme_names_exists() -> None:
    """The README's Layout section (and the rest) sends newcomers to files: each must be there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:auralis_perf|notebooks|tests|docs)/[^`\s:<*]*)`", text))
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == [], f"the README names files that do not exist: {missing}"
