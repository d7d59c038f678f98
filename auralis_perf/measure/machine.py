"""What machine a run happened on: enough to explain a figure and to refuse blind comparisons.

`describe_machine()` is cheap (well under 0.5 s) and never raises: a source that cannot be read gives
null for its field. Its `fingerprint` keys runs in the history store: two runs compare directly only
when CPU model, core counts, memory, OS, Python and the key numeric libraries all match.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

T = TypeVar("T")

#: Distributions whose versions every run records (as named on PyPI).
LIBRARIES = ("numpy", "scipy", "numba", "llvmlite", "pandas", "SQLAlchemy", "soundfile", "psutil",
             "papermill", "threadpoolctl", "memory-profiler", "pedalboard", "pyloudnorm", "matplotlib")
#: The libraries whose versions change numeric speed: part of the fingerprint.
FINGERPRINT_LIBRARIES = ("numpy", "scipy", "numba", "llvmlite")
#: Environment knobs that change how fast numeric code runs.
ENV_KNOBS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "MKL_ENABLE_INSTRUCTIONS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS", "NUMBA_DISABLE_JIT", "NUMBA_CACHE_DIR", "NUMBA_OPT", "NUMBA_CPU_NAME",
             "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "PYTHONHASHSEED", "PYTHONMALLOC",
             "PYTHONDONTWRITEBYTECODE", "MALLOC_ARENA_MAX")
#: CPU flags worth reporting: the SIMD extensions (x86 and ARM spellings).
_SIMD_PREFIXES = ("sse", "ssse", "avx", "fma", "f16c", "amx", "sve", "asimd", "neon", "vsx", "altivec")
_SIMD_EXACT = {"pni", "mmx", "vaes", "vpclmulqdq", "gfni", "sha_ni", "aes", "bmi1", "bmi2"}


def _safe(read: Callable[[], T]) -> T | None:
    """read(), or None when the source is missing, unreadable or malformed."""
    try:
        return read()
    except Exception:  # a description must never stop a run
        return None


def _cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as key -> value (empty off Linux)."""
    fields: dict[str, str] = {}
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def _cpu_model(info: dict[str, str]) -> str | None:
    for key in ("model name", "Model", "Hardware", "cpu model", "cpu"):
        if info.get(key):
            return info[key]
    return platform.processor() or None


def _simd_flags(info: dict[str, str]) -> list[str] | None:
    flags = info.get("flags") or info.get("Features")
    if flags is None:
        return None
    return sorted(f for f in flags.split() if f in _SIMD_EXACT or f.startswith(_SIMD_PREFIXES))


def _frequency(info: dict[str, str]) -> dict[str, float | None]:
    freq = _safe(psutil.cpu_freq)
    current = freq.current if freq and freq.current else _safe(lambda: float(info["cpu MHz"]))
    return {"current_mhz": current or None,
            "min_mhz": (freq.min or None) if freq else None,
            "max_mhz": (freq.max or None) if freq else None}


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def _cpu_quota() -> float | None:
    """CPUs the cgroup lets this process use (None: unlimited or unknown)."""
    text = _safe(lambda: _read_text("/sys/fs/cgroup/cpu.max"))
    if text:
        quota, _, period = text.partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100000)
    quota_us = _safe(lambda: int(_read_text("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")))
    period_us = _safe(lambda: int(_read_text("/sys/fs/cgroup/cpu/cpu.cfs_period_us")))
    if quota_us and quota_us > 0 and period_us:
        return quota_us / period_us
    return None


def _numpy_cpu_features() -> dict[str, Any]:
    """NumPy's CPU dispatch: baseline features compiled in, dispatch targets built, and those found."""
    try:
        module = importlib.import_module("numpy._core._multiarray_umath")  # NumPy >= 2
    except ImportError:
        module = importlib.import_module("numpy.core._multiarray_umath")  # NumPy 1.x
    features = getattr(module, "__cpu_features__", {})
    return {"baseline": list(getattr(module, "__cpu_baseline__", [])),
            "dispatch": list(getattr(module, "__cpu_dispatch__", [])),
            "detected": sorted(name for name, present in features.items() if present)}


def _blas() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded now (threadpoolctl), with their threads and CPU architecture."""
    import numpy  # noqa: F401  - loads NumPy's BLAS so that it is listed
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")
    return [{key: entry.get(key) for key in keys} for entry in threadpool_info()]


def _libsndfile_version() -> str | None:
    import soundfile

    return soundfile.__libsndfile_version__


def _library_versions() -> dict[str, str | None]:
    return {name: _safe(lambda name=name: importlib.metadata.version(name)) for name in LIBRARIES}


def _hashed_hostname() -> str | None:
    name = socket.gethostname()
    return hashlib.sha256(name.encode()).hexdigest()[:12] if name else None


def fingerprint(description: dict[str, Any]) -> str:
    """A stable key for "the same machine and stack", computed from a `describe_machine()` dict."""
    cpu, memory, system = description.get("cpu") or {}, description.get("memory") or {}, description.get("os") or {}
    python, versions = description.get("python") or {}, description.get("versions") or {}
    total_mb = memory.get("total_mb")
    basis = {
        "cpu_model": cpu.get("model"),
        "logical_cores": cpu.get("logical_cores"),
        "physical_cores": cpu.get("physical_cores"),
        "memory_gib": round(total_mb / 1024) if total_mb else None,  # small reporting jitter is ignored
        "os": [system.get("system"), system.get("release"), system.get("machine")],
        "python": [python.get("implementation"), python.get("version")],
        "libraries": {name: versions.get(name) for name in FINGERPRINT_LIBRARIES},
    }
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
    return f"m-{digest[:16]}"


def describe_machine() -> dict[str, Any]:
    """CPU, memory, OS, Python, library versions, BLAS, load and tuning knobs, JSON-able; never raises."""
    info = _safe(_cpuinfo) or {}
    affinity = _safe(lambda: len(os.sched_getaffinity(0)))
    vm = _safe(psutil.virtual_memory)
    description: dict[str, Any] = {
        "hostname_hash": _safe(_hashed_hostname),
        "cpu": {
            "model": _safe(lambda: _cpu_model(info)),
            "architecture": _safe(platform.machine),
            "logical_cores": _safe(lambda: psutil.cpu_count(logical=True)),
            "physical_cores": _safe(lambda: psutil.cpu_count(logical=False)),
            "usable_cores": affinity,
            "cgroup_cpu_quota": _safe(_cpu_quota),
            "frequency": _safe(lambda: _frequency(info)),
            "governor": _safe(lambda: _read_text("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")),
            "simd_flags": _safe(lambda: _simd_flags(info)),
        },
        "numpy_cpu_features": _safe(_numpy_cpu_features),
        "blas": _safe(_blas),
        "memory": {
            "total_mb": vm.total / 2**20 if vm else None,
            "available_mb_at_start": vm.available / 2**20 if vm else None,
            "swap_total_mb": _safe(lambda: psutil.swap_memory().total / 2**20),
        },
        "os": {
            "system": _safe(platform.system),
            "release": _safe(platform.release),
            "machine": _safe(platform.machine),
            "platform": _safe(platform.platform),
        },
        "python": {
            "implementation": _safe(platform.python_implementation),
            "version": _safe(platform.python_version),
            "executable": sys.executable,
            "gil_enabled": _safe(lambda: sys._is_gil_enabled()) if hasattr(sys, "_is_gil_enabled") else True,
        },
        "versions": {**_library_versions(), "libsndfile": _safe(_libsndfile_version)},
        "load_average_at_start": _safe(lambda: list(os.getloadavg())),
        "env": {name: os.environ.get(name) for name in ENV_KNOBS},
    }
    description["fingerprint"] = fingerprint(description)
    return description


#: Distributions whose versions a run's `versions` block names, beside those of `describe_machine()`.
KEY_PACKAGES = ("numpy", "scipy", "numba", "llvmlite", "pandas", "matplotlib", "SQLAlchemy", "soundfile",
                "psutil", "papermill", "nbclient", "nbconvert", "ipykernel", "pedalboard", "pyloudnorm")


def package_versions(machine: dict[str, Any]) -> dict[str, str | None]:
    """The run's `versions` block: Python, auralis-perf, KEY_PACKAGES, then what `machine` (a
    `describe_machine()` dict) found; a package that is not installed is None."""
    def installed(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    versions = {"python": sys.version.split()[0], "auralis-perf": installed("auralis-perf")}
    versions.update({name: installed(name) for name in KEY_PACKAGES})
    versions.update({k: v for k, v in (machine.get("versions") or {}).items() if v is not None})
    return versions


__all__ = ["ENV_KNOBS", "FINGERPRINT_LIBRARIES", "KEY_PACKAGES", "LIBRARIES", "describe_machine", "fingerprint",
           "package_versions"]
