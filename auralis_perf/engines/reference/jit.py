"""Optional Numba: `compiled(fn)` returns the compiled twin of a plain Python kernel, or None.

Every kernel is written once, as plain Python over NumPy arrays. With Numba present it is compiled with
`nogil=True, cache=True` (so batch threads run in parallel and the first compile is paid once per
machine); without Numba the engine runs the interpreted source itself, so both paths share one text.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:  # Numba is optional: the engine must work (slowly) without it.
    import numba as _numba
except ImportError:  # pragma: no cover - exercised in a subprocess test
    _numba = None

NUMBA_AVAILABLE: bool = _numba is not None
NUMBA_VERSION: str | None = getattr(_numba, "__version__", None)


def compiled(fn: Callable[..., Any]) -> Any:
    """The Numba dispatcher for `fn` (nogil, on-disk cache), or None when Numba is unavailable."""
    if _numba is None:
        return None
    return _numba.njit(nogil=True, cache=True, boundscheck=False)(fn)


def compiled_contract(fn: Callable[..., Any]) -> Any:
    """As `compiled`, also letting LLVM fuse multiply-adds (FMA) in long filter chains. Results differ
    from the interpreted source only in the last bits (far inside the 1e-9 tolerance)."""
    if _numba is None:
        return None
    return _numba.njit(nogil=True, cache=True, boundscheck=False, fastmath={"contract"})(fn)


def signatures(dispatcher: Any) -> list[str]:
    """The type signatures a dispatcher has compiled so far (empty without Numba)."""
    if dispatcher is None:
        return []
    return [str(sig) for sig in dispatcher.signatures]
