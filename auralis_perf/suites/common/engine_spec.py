"""How a check rebuilds the engine it measures in a fresh process (MEM-01, MEM-13, OPT-04, OPT-05, RT-15,
RT-20, CACHE-15, the instruction counts): the parent passes `child_spec(ctx)` and `child_env(ctx)` (or
`engine_spec(engine)` and `engine_child_env(engine)` outside a suite), the child calls `engine_from_spec(spec)`.

An engine's `name` is what it calls itself, not how it is built: an adapter given as "package.module:Factory"
may call itself anything, so a child that did `get_engine(engine.name)` would fail (or build another engine).
The spec the run built the engine from (`SuiteContext.engine_spec`, the --engine given) is used when known;
otherwise the engine's name if it is registered, else its class as module:Factory.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from auralis_perf.engines import Engine, engine_names, get_engine
from auralis_perf.suites import SuiteContext


def engine_spec(engine: Engine, *, built_from: str | None = None) -> str:
    """How a fresh process builds the same engine: `built_from` when known, else its registered name, else
    its class as module:Factory."""
    if built_from:
        return built_from
    if engine.name in engine_names():
        return engine.name
    return f"{type(engine).__module__}:{type(engine).__qualname__}"


def engine_child_env(engine: Engine, *, built_from: str | None = None) -> dict[str, str]:
    """Environment for a fresh process that builds `engine` by `engine_spec`: where its module imports from
    (an adapter or test double outside the installed packages), on PYTHONPATH."""
    spec = engine_spec(engine, built_from=built_from)
    module_name = spec.partition(":")[0] if ":" in spec else type(engine).__module__
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if spec in engine_names() or not file:
        return {}
    root = Path(file).resolve().parent
    for _ in range(module_name.count(".") + (Path(file).name == "__init__.py")):
        root = root.parent
    paths = [str(root), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def child_spec(ctx: SuiteContext) -> str:
    """`engine_spec` of the context's engine (the spec it was built from, when the context knows it)."""
    return engine_spec(ctx.engine, built_from=ctx.engine_spec)


def child_env(ctx: SuiteContext) -> dict[str, str]:
    """`engine_child_env` of the context's engine."""
    return engine_child_env(ctx.engine, built_from=ctx.engine_spec)


def engine_from_spec(spec: str) -> Engine:
    """The engine `engine_spec` names, built in this (fresh) process (get_engine takes module:Factory too)."""
    return get_engine(spec)
