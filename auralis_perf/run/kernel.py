"""The kernel that runs the category notebooks: always this interpreter, over IPC, with a run's environment.

A kernelspec looked up by name ("python3") can point anywhere: a user's own `~/.local/share/jupyter`
entry or a system one wins over the virtual environment's. The pipeline therefore never asks the
kernelspec registry: its kernel manager builds the spec from `sys.executable` itself, so the notebooks run
in the same Python as the pipeline, on a fresh clone where no kernelspec was ever installed by hand.
IPC transport also avoids ipykernel's warning about unencrypted TCP.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

KERNEL_NAME = "python3"
# Plots must render inline even when the user's shell sets MPLBACKEND=Agg for scripts.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class InterpreterKernelManager(AsyncKernelManager):
    """An ipykernel on `sys.executable` (or `executable`, for --against's @python=); subclasses set
    `extra_env`, `log_path` and `executable` (see `kernel_manager_for`)."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    extra_env: dict[str, str] = {}
    log_path: Path | None = None
    executable: str | None = None

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            python = self.executable or sys.executable
            self._kernel_spec = KernelSpec(
                argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python ({python})",
                language="python",
                env={"MPLBACKEND": INLINE_BACKEND, **self.extra_env},
                resource_dir="")
        return self._kernel_spec

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        log: IO[bytes] | None = None
        if self.log_path is not None:
            # The kernel's own stdout/stderr (warnings, native libraries' chatter) go to a log file so
            # that they neither garble the progress bar nor vanish.
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps its own copy of the fd
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
        try:
            await super().start_kernel(**kw)
        finally:
            if log is not None:
                log.close()


def kernel_manager_for(env: dict[str, str] | None = None,
                       log_path: str | os.PathLike[str] | None = None, *,
                       executable: str | os.PathLike[str] | None = None) -> type[InterpreterKernelManager]:
    """A kernel manager class (nbclient instantiates it) whose kernels get `env`, log to `log_path` and run on
    `executable` (default: this interpreter)."""
    return type("RunKernelManager", (InterpreterKernelManager,),
                {"extra_env": dict(env or {}), "log_path": Path(log_path) if log_path else None,
                 "executable": str(executable) if executable else None})
