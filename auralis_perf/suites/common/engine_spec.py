"""How a check rebuilds the engine it measures in a fresh process (MEM-01, MEM-13, OPT-04, OPT-05, RT-15,
RT-20, CACHE-15, the instruction counts): the parent passes `engine_spec(engine)` and `engine_child_env(engine)`,
the child calls `engine_from_spec(spec)`.

An engine's `name` is what it calls itself, not how it is built: an adapter given as "package.module:Factory"
may call itself anything, so a child that did `get_engine(engine.name)` would fail (or build another engine).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from auralis_perf.engines import Engine, engine_target, get_engine


def _registered_as(engine: Engine) -> bool:
    """True when the registry entry under the engine's name builds this engine's class (or is a factory
    function, which is trusted): a double that borrows a registered name is not that engine."""
    target = engine_target(engine.name)
    if target is None:
        return False
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr, None)
    return factory is type(engine) or not isinstance(factory, type)


def engine_spec(engine: Engine) -> str:
    """How a fresh process builds the same engine: its registered name, else its class as module:Factory."""
    if _registered_as(engine):
        return engine.name
    return f"{type(engine).__module__}:{type(engine).__qualname__}"


def engine_child_env(engine: Engine) -> dict[str, str]:
    """Environment for a fresh process that builds `engine` by `engine_spec`: where its module imports from
    (an adapter or test double outside the installed packages), on PYTHONPATH."""
    module = sys.modules.get(type(engine).__module__)
    file = getattr(module, "__file__", None)
    if _registered_as(engine) or not file:
        return {}
    root = Path(file).resolve().parent
    for _ in range(type(engine).__module__.count(".")):
        root = root.parent
    paths = [str(root), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def engine_from_spec(spec: str) -> Engine:
    """The engine `engine_spec` names, built in this (fresh) process (get_engine takes module:Factory too)."""
    return get_engine(spec)
