"""Runs inside the fresh Python process started by `isolated.run_isolated`; not imported by the package.

It is passed to `python -c` as source so that nothing of auralis_perf is imported before the measured
code runs (an idle-footprint or compile-time figure would otherwise include the harness). argv[1] is a
JSON spec file; the outcome is written as JSON to the spec's `output` path.
"""
import dataclasses
import importlib
import json
import sys
import time
import traceback

try:
    import resource
except ImportError:  # not on Windows
    resource = None


class _BlockedModuleFinder:
    """A meta-path finder that makes chosen top-level packages look uninstalled."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked for this measurement)",
                                      name=fullname)
        return None


def _status_mb(field):
    """A memory line of /proc/self/status (e.g. VmHWM, VmRSS) in MiB, None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb():
    """This process's RSS high-water mark in MiB. Linux: VmHWM, which (unlike ru_maxrss) is not inherited
    from the parent across exec."""
    peak = _status_mb("VmHWM")
    if peak is not None or resource is None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _jsonable(value):
    """numpy scalars and arrays, dataclasses and sets, in plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"result of type {type(value).__name__} is not JSON-serialisable")


def _main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    sys.argv[:] = ["-c"]
    if spec["blocked"]:
        for name in spec["blocked"]:
            sys.modules.pop(name, None)
        sys.meta_path.insert(0, _BlockedModuleFinder(spec["blocked"]))
    emitted = []
    started = time.perf_counter()
    try:
        if spec["code"] is not None:
            namespace = {"__name__": "__main__", "emit": emitted.append}
            exec(compile(spec["code"], "<run_in_subprocess>", "exec"), namespace)
            result = emitted[-1] if emitted else namespace.get("result")
        else:
            target = importlib.import_module(spec["module"])
            for part in spec["qualname"].split("."):
                target = getattr(target, part)
            result = target(*spec["args"], **spec["kwargs"])
        outcome = {"ok": True, "result": result}
    except BaseException as error:  # report everything, even SystemExit, to the parent
        outcome = {"ok": False, "error_type": type(error).__name__, "error": str(error),
                   "traceback": traceback.format_exc()}
    outcome["wall_s"] = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    outcome["peak_rss_mb"] = _peak_rss_mb()
    outcome["end_rss_mb"] = _status_mb("VmRSS")
    try:
        text = json.dumps(outcome, default=_jsonable)
    except (TypeError, ValueError) as error:
        text = json.dumps({"ok": False, "error_type": type(error).__name__, "error": str(error),
                           "traceback": "", "wall_s": outcome["wall_s"], "peak_rss_mb": outcome["peak_rss_mb"]})
    with open(spec["output"], "w", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":  # `python -c` runs it as __main__; importing it does nothing
    _main()
