"""SIMD: what NumPy dispatches to on this CPU, and whether compiled kernels hold packed vector code.

NumPy is built for a baseline instruction set and carries extra code paths ("dispatch targets") that it
picks at run time when the CPU has them. A Numba kernel's machine code can be read back with
`dispatcher.inspect_asm(signature)`; packed instructions (`vmulpd`, `vaddps`, `vfmadd231pd` ...) on
xmm/ymm/zmm registers mean the loop was vectorized, scalar ones (`vmulsd`, `addss`) mean it was not. A
recursive filter (each output needs the previous one, like an envelope follower) cannot be vectorized
along time, so a scalar listing there is the honest expected answer, not a defect.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

# packed (vector) floating-point arithmetic: ps = packed single, pd = packed double
_PACKED = re.compile(r"^\s*(v?(?:add|sub|mul|div|max|min|sqrt|fmadd\d*|fmsub\d*|fnmadd\d*|fnmsub\d*)p[sd])\s+(.*)$",
                     re.MULTILINE)
# scalar floating-point arithmetic: ss = scalar single, sd = scalar double
_SCALAR = re.compile(r"^\s*(v?(?:add|sub|mul|div|max|min|sqrt|fmadd\d*|fmsub\d*|fnmadd\d*|fnmsub\d*)s[sd])\s",
                     re.MULTILINE)
_REGISTER = re.compile(r"%?\b([xyz]mm)\d+")
# CPU features that are SIMD instruction sets (others in NumPy's list: POPCNT, LAHF, BMI ... are not)
_SIMD_PREFIXES = ("SSE", "SSSE", "AVX", "FMA", "F16C", "NEON", "ASIMD", "SVE", "VSX", "VX", "RVV", "LSX")


def _numpy_cpu_module() -> Any:
    try:  # NumPy 2
        from numpy._core import _multiarray_umath as module
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as module  # type: ignore[no-redef]
    return module


def numpy_simd() -> dict[str, Any]:
    """NumPy's SIMD picture on this CPU: baseline, dispatch targets in use, and the CPU's SIMD sets."""
    module = _numpy_cpu_module()
    features: dict[str, bool] = dict(getattr(module, "__cpu_features__", {}))
    baseline = list(getattr(module, "__cpu_baseline__", []))
    dispatch = list(getattr(module, "__cpu_dispatch__", []))
    dispatched = [t for t in dispatch if features.get(t)]
    cpu_simd = [f for f, on in features.items() if on and f.startswith(_SIMD_PREFIXES)]
    widest = _widest_vector(cpu_simd)
    return {"numpy_version": np.__version__, "baseline": baseline, "dispatch_targets": dispatch,
            "dispatched_on_this_cpu": dispatched, "in_use": baseline + dispatched,
            "cpu_simd_extensions": cpu_simd, "cpu_widest_vector_bits": widest,
            "not_dispatched": [t for t in dispatch if not features.get(t)]}


def _widest_vector(extensions: list[str]) -> int:
    names = " ".join(extensions)
    if "AVX512" in names or "SVE" in names:
        return 512
    if "AVX" in names:
        return 256
    return 128 if extensions else 0


def instruction_profile(asm: str) -> dict[str, Any]:
    """Count packed and scalar floating-point instructions in an assembly listing, and register widths."""
    packed = Counter(m.group(1) for m in _PACKED.finditer(asm))
    scalar = Counter(m.group(1) for m in _SCALAR.finditer(asm))
    widths: Counter[str] = Counter()
    for m in _PACKED.finditer(asm):
        regs = _REGISTER.findall(m.group(2))
        if regs:
            widths[max(regs)] += 1  # "zmm" > "ymm" > "xmm" alphabetically, as in width
    total = sum(packed.values()) + sum(scalar.values())
    return {"packed": sum(packed.values()), "scalar": sum(scalar.values()),
            "packed_share": (sum(packed.values()) / total) if total else 0.0,
            "packed_by_register": {"xmm (128-bit)": widths["xmm"], "ymm (256-bit)": widths["ymm"],
                                   "zmm (512-bit)": widths["zmm"]},
            "top_packed": dict(packed.most_common(6)), "top_scalar": dict(scalar.most_common(6))}


def numba_dispatchers(obj: Any) -> list[Any]:
    """Numba dispatchers reachable from a kernel's callable or info value (a dispatcher, list or dict)."""
    found: list[Any] = []

    def visit(value: Any) -> None:
        if hasattr(value, "inspect_asm") and hasattr(value, "signatures"):
            if all(value is not f for f in found):
                found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)

    visit(obj)
    return found


def inspect_dispatcher(dispatcher: Any) -> list[dict[str, Any]]:
    """Instruction profile of every compiled signature of a Numba dispatcher."""
    rows = []
    for signature in list(dispatcher.signatures):
        asm = dispatcher.inspect_asm(signature)
        rows.append({"function": getattr(dispatcher, "__qualname__", getattr(dispatcher, "__name__", "?")),
                     "signature": str(signature), **instruction_profile(asm)})
    return rows


def control_kernel_profile() -> dict[str, Any] | None:
    """Compile a plainly vectorizable loop (a gain stage) to show what this CPU and Numba emit for it.

    This is a control, not the engine's code: it tells whether packed code is possible here at all, so
    that a scalar listing of an engine kernel is read against the right expectation. None without Numba.
    """
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False, fastmath=False)
    def gain_stage(x, gain, out):  # pragma: no cover - compiled
        for i in range(x.shape[0]):
            out[i] = x[i] * gain + 0.5 * x[i]

    x = np.ones(64)
    gain_stage(x, 0.5, np.empty_like(x))
    return {"function": "control: out[i] = x[i]*g + 0.5*x[i] (float64)",
            **instruction_profile(gain_stage.inspect_asm(gain_stage.signatures[0]))}


__all__ = ["control_kernel_profile", "inspect_dispatcher", "instruction_profile", "numba_dispatchers",
           "numpy_simd"]
