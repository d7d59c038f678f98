"""`--against SPEC`: which baseline engine runs beside the candidate, and in which interpreter.

    SPEC = ENGINE [@python=INTERPRETER] [@path=SOURCE_TREE]

ENGINE is a registered engine name or an adapter's `package.module:Factory`. `@python=` runs the baseline's
kernel on another Python (say the venv of the main branch, /ci/main-venv/bin/python); `@path=` puts a
source tree first on the baseline kernel's PYTHONPATH (say a checkout of the main branch of the engine's
package), so that two versions of one package are compared, each in a kernel of its own. Mistakes are
`ValueError`s saying what to write instead; the command line turns them into exit code 3.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPTIONS = ("python", "path")
#: Rounds of each timing group per side (8 is the fewest whose doubled one-sided p can go below 0.01).
#: 12, not 8: with 8 rounds one round reversed by a burst of load (or by one fresh process's own speed)
#: lifts p over alpha 0.01 even for a clear 5 % (seen on quiet runs here: p 0.098 and 0.012); with 12,
#: one reversed round leaves the sign test at 11 of 12 (p 0.003, doubled 0.006), and two or three small
#: ones leave the Wilcoxon p below 0.005.
DEFAULT_ROUNDS = 12
#: Where a round is measured (notebook/round_process.py): a fresh process per round, or the side's kernel,
#: or fresh processes of both sides at once taking turns sample by sample on one CPU (measure/turns.py).
#: Interleaved is the default: with a CPU-bound loop on each core, `fresh` read a 10 % slower master()
#: `regressed` in 4-5 of 6 runs, interleaved in every run (README, "A merge gate without history").
ROUND_PROCESSES = ("fresh", "kernel", "interleaved")
DEFAULT_ROUND_PROCESS = "interleaved"
_PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class AgainstSpec:
    engine: str
    python: Path | None = None
    path: Path | None = None
    text: str = ""

    @property
    def label(self) -> str:
        """How the report names the baseline side."""
        return self.text or self.engine


def parse_against(raw: str) -> AgainstSpec:
    """Parse SPEC (see the module's docstring); ValueError naming the problem. Nothing is probed here."""
    text = raw.strip()
    if not text:
        raise ValueError("--against needs an engine, e.g. --against reference or --against auralis@path=/src/auralis")
    engine, *options = text.split("@")
    engine = engine.strip()
    if not engine:
        raise ValueError(f"--against {raw!r}: the engine name is missing before '@'")
    if "," in engine:
        raise ValueError(f"--against {raw!r}: one baseline engine only (a comma list is for --engine)")
    found: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in OPTIONS:
            raise ValueError(f"--against {raw!r}: unknown option {option!r}; write ENGINE@python=/path/to/python "
                             "or ENGINE@path=/source/tree")
        if not value:
            raise ValueError(f"--against {raw!r}: @{key}= needs a path")
        if key in found:
            raise ValueError(f"--against {raw!r}: @{key}= given twice")
        found[key] = value
    python = Path(found["python"]).expanduser() if "python" in found else None
    path = Path(found["path"]).expanduser().resolve() if "path" in found else None
    return AgainstSpec(engine=engine, python=python, path=path, text=text)


def check_against(spec: AgainstSpec) -> None:
    """Check that the baseline's interpreter and source tree are usable; ValueError saying why not.

    An interpreter of its own must run a kernel (ipykernel) and import the harness's dependencies; one
    short child process asks it, so a broken venv fails now and not after the candidate's first notebook."""
    if spec.path is not None and not spec.path.is_dir():
        raise ValueError(f"--against {spec.text}: @path={spec.path} is not a folder")
    if spec.python is None:
        return
    if not spec.python.is_file() or not os.access(spec.python, os.X_OK):
        raise ValueError(f"--against {spec.text}: @python={spec.python} is not an executable file")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in kernel_pythonpath(spec)))
    probe = "import ipykernel, numpy, nbformat, auralis_perf.notebook.helper"
    try:
        done = subprocess.run([str(spec.python), "-c", probe], env=env, capture_output=True, text=True,
                              timeout=_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValueError(f"--against {spec.text}: @python={spec.python} could not be run: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ValueError(f"--against {spec.text}: @python={spec.python} cannot run the notebooks' kernel ({last}); "
                         "install this project's dependencies and ipykernel into that environment")


def kernel_pythonpath(spec: AgainstSpec) -> list[Path]:
    """What the baseline's kernel gets first on PYTHONPATH: the source tree, then (for another interpreter)
    this harness, so both sides are measured by the same code and only the engine differs."""
    harness = Path(__file__).resolve().parents[2]
    entries = [spec.path] if spec.path is not None else []
    if spec.python is not None and (harness / "pyproject.toml").is_file():  # a checkout, not site-packages
        entries.append(harness)
    return [p for p in entries if p is not None]


__all__ = ["DEFAULT_ROUND_PROCESS", "DEFAULT_ROUNDS", "ROUND_PROCESSES", "OPTIONS", "AgainstSpec", "check_against", "kernel_pythonpath", "parse_against"]
