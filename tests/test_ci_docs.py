"""docs/ci.md: its YAML blocks parse, and every command of this project they run exists with those options."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from auralis_perf.dashboard.build import build_parser as dashboard_parser
from auralis_perf.run.cli import UsageError, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
OURS = re.compile(r"(?:^|/)(auralis-perf|run_report\.py)$")


def yaml_blocks() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [yaml.safe_load(b) for b in blocks]


def shell_lines(node) -> list[str]:
    """Every shell command in a workflow: GitHub `run:` values and GitLab script lists."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "before_script", "after_script"):
                found += value if isinstance(value, list) else [value]
            else:
                found += shell_lines(value)
    elif isinstance(node, list):
        for item in node:
            found += shell_lines(item)
    return found


def commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line (split at && ; |), CI variables replaced by a plain word."""
    line = re.sub(r"\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "x", line.replace("\\\n", " "))
    parts = re.split(r"&&|;|\|\|?|\n", line)
    return [shlex.split(p) for p in parts if p.strip()]


def check_command(words: list[str]) -> str | None:
    """What is wrong with one of this project's commands, or None. Other programs are not ours to check."""
    if words[:1] == ["make"]:
        targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        unknown = [t for t in targets if t not in MAKE_TARGETS]
        return f"make target(s) {unknown} do not exist" if unknown else None
    if words[:3] in (["python", "-m", "auralis_perf"], [".venv/bin/python", "-m", "auralis_perf"]):
        args = words[3:]
    elif words and OURS.search(words[0]):
        args = words[1:]
    else:
        return None
    try:
        if args[:1] == ["dashboard"]:
            dashboard_parser().parse_args(args[1:])
        else:
            build_parser().parse_args(args)
    except (UsageError, SystemExit) as exc:
        return f"{' '.join(words)}: {exc}"
    return None


def test_yaml_blocks_parse_into_a_github_workflow_and_a_gitlab_pipeline():
    github, gitlab = yaml_blocks()
    triggers = github.get("on", github.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "schedule", "workflow_dispatch"}
    assert set(github["jobs"]) == {"smoke", "nightly", "dashboard"}
    assert set(gitlab["stages"]) == {"perf", "publish"}
    assert gitlab["perf-smoke"]["artifacts"]["reports"]["junit"] == "reports/mr/junit.xml"
    assert gitlab["pages"]["artifacts"]["paths"] == ["public"]
    for pipeline in (github, gitlab):
        text = yaml.safe_dump(pipeline)
        assert ".venv" in text and ".numba-cache" in text  # both caches


def test_every_command_of_ours_exists_with_its_options():
    ours, problems = [], []
    for block in yaml_blocks():
        for line in shell_lines(block):
            for words in commands(line):
                problem = check_command(words)
                if problem:
                    problems.append(problem)
                elif words[:1] == ["make"] or OURS.search(words[0]):
                    ours.append(" ".join(words))
    assert problems == []
    # the smoke run (with JUnit and the summary), the nightly standard run, and the dashboard are all there
    assert any("--profile smoke" in c and "--junit" in c and "--summary-to" in c for c in ours)
    assert any("--profile standard" in c for c in ours)
    assert any(c.split()[1:2] == ["dashboard"] for c in ours)


@pytest.mark.parametrize("words, fragment", [
    (["auralis-perf", "--profile", "smoke", "--versus", "main"], "unrecognized arguments: --versus"),
    (["make", "publish"], "do not exist"),
    ([".venv/bin/auralis-perf", "dashboard", "--history-url", "x"], "2"),  # --out is required
])
def test_the_checker_catches_what_does_not_exist(words, fragment):
    problem = check_command(words)
    assert problem is not None and fragment in problem
