"""SIMD: what NumPy dispatches to on this CPU, and whether compiled kernels hold packed vector code.

NumPy is built for a baseline instruction set and carries extra code paths ("dispatch targets") that it
picks at run time when the CPU has them. A Numba kernel's machine code can be read back with
`dispatcher.inspect_asm(signature)`; packed instructions (`vmulpd`, `vaddps`, `vfmadd231pd` ...) on
xmm/ymm/zmm registers mean the loop was vectorized, scalar ones (`vmulsd`, `addss`) mean it was not. A
recursive filter (each output needs the previous one, like an envelope follower) cannot be vectorized
along time, so a scalar listing there is the honest expected answer, not a defect.
"""
from __future__ import annotations

import functools
import re
import types
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
        from numpy.core import _multiarray_umath as module  # type: ignore[no-redef]  # noqa: PLC2701
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


def _is_dispatcher(value: Any) -> bool:
    return hasattr(value, "inspect_asm") and hasattr(value, "signatures") and hasattr(value, "py_func")


def numba_dispatchers(obj: Any, depth: int = 3) -> list[Any]:
    """Numba dispatchers reachable from a kernel's callable or its info (a dispatcher, list or dict).

    A plain Python function is looked into: the values its closure holds and the globals (and attributes
    of global modules) its code names, `depth` calls deep; a class, through the functions it defines. This finds the compiled kernel behind a
    wrapper like `lambda data: run(FAST_KERNEL, data)` without the engine having to expose it.
    """
    found: list[Any] = []
    seen: set[int] = set()

    def visit(value: Any, level: int) -> None:
        if id(value) in seen or level < 0:
            return
        seen.add(id(value))
        if _is_dispatcher(value):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v, level)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v, level)
        elif isinstance(value, type) and value.__module__ != "builtins":
            # a class the kernel builds (e.g. `lambda data: Follower(...).process(data)`): its own methods
            for member in vars(value).values():
                visit(getattr(member, "__func__", member), level - 1)
        elif isinstance(value, types.FunctionType):
            for cell in value.__closure__ or ():
                try:
                    visit(cell.cell_contents, level - 1)
                except ValueError:  # an empty cell
                    pass
            names = value.__code__.co_names
            for name in names:
                target = value.__globals__.get(name)
                if isinstance(target, types.ModuleType):
                    for attribute in names:
                        visit(getattr(target, attribute, None), level - 1)
                elif target is not None:
                    visit(target, level - 1)

    visit(obj, depth)
    return found


def _uncached_twin(dispatcher: Any) -> Any:
    """The same Python function compiled with the same options but without the on-disk cache.

    Numba keeps no assembly for code it loaded from its cache (inspect_asm then returns nothing useful),
    so the listing is taken from a twin compiled here for the same signatures: same source, same
    options, same compiler, hence the same machine code.
    """
    import numba

    options = {k: v for k, v in dict(getattr(dispatcher, "targetoptions", {})).items() if k != "cache"}
    return numba.jit(**options)(dispatcher.py_func)


def inspect_dispatcher(dispatcher: Any, max_signatures: int = 1) -> list[dict[str, Any]]:
    """Instruction profile of the first `max_signatures` compiled signatures of a Numba dispatcher.

    Signatures of one kernel differ in argument types (float32 or float64 input, read-only or not), not
    in their loops, so one listing tells whether the loop vectorized; each costs a compilation.
    """
    twin = _uncached_twin(dispatcher)
    name = getattr(dispatcher.py_func, "__qualname__", "?")
    rows = []
    for signature in list(dispatcher.signatures)[:max_signatures]:
        twin.compile(signature)
        asm = twin.inspect_asm(signature)
        rows.append({"function": name, "signature": str(signature), "asm_lines": asm.count("\n"),
                     **instruction_profile(asm)})
    return rows


@functools.lru_cache(maxsize=1)
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
