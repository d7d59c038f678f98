"""Runs inside the Valgrind-counted child started by `instructions.count_instructions`; not imported.

Passed as source (like `_child_bootstrap.py`) so that the child imports nothing of auralis_perf beyond the
workloads themselves. `run_marked(workloads)` sets up, warms and runs each workload between marks: a
mark is a call of libc's getppid(), where Callgrind dumps its counters.
"""
import gc
import importlib
import os


def _load_factory(spec):
    module, _, qualname = spec.partition(":")
    if not module or not qualname:
        raise ValueError(f"workload factory {spec!r} must be 'package.module:function'")
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def run_marked(workloads):
    """Returns how many marks were made (the parent checks it against Callgrind's dumps)."""
    marks = 0

    def mark():
        nonlocal marks
        os.getppid()
        marks += 1

    for workload in workloads:
        call = _load_factory(workload["factory"])(*workload["args"])
        for _ in range(workload["warmup"]):
            call()  # compile, fill caches, import lazily: none of it belongs to the call
        gc.collect()
        gc.disable()  # a collection would fall into one stretch and not the other
        try:
            mark()
            for _ in range(workload["reps"]):
                call()
            mark()
            for _ in range(2 * workload["reps"]):
                call()
            mark()
        finally:
            gc.enable()
    return {"marks": marks}
