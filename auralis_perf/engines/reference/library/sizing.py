"""Measuring what a cached value costs in memory: a deep size in bytes.

Objects are counted once per measured value (shared references inside it count once). Singletons that
exist anyway (None, True, False, small ints, the empty tuple) count zero. Subclasses of tuple, list,
set and dict (NamedTuple records among them) are walked like their base. For NumPy arrays the data buffer
is counted when the array owns it, and the base array's buffer otherwise.

An object costs the block the allocator gives it, not only sys.getsizeof: sizes are rounded up to
pymalloc's 16-byte alignment, and an instance of a tuple subclass carries the extra item slot that
PyType_GenericAlloc allocates. Without these the sum stayed ~5 % below what tracemalloc sees freed
when a cache of records is cleared, so a cache filled to its bound was over it.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

_FREE = (type(None), bool)
_getsizeof = sys.getsizeof
_ALIGN = 16
_ITEM = 8  # one pointer


def _block(size: int) -> int:
    """`size` rounded up to the allocator's alignment."""
    return (size + _ALIGN - 1) & -_ALIGN


def _slot_names(cls: type) -> tuple[str, ...]:
    cached = _SLOTS.get(cls)
    if cached is None:
        names: list[str] = []
        for klass in cls.__mro__:
            slots = klass.__dict__.get("__slots__", ())
            names += [slots] if isinstance(slots, str) else [s for s in slots if s not in ("__weakref__", "__dict__")]
        cached = _SLOTS[cls] = tuple(names)
    return cached


_SLOTS: dict[type, tuple[str, ...]] = {}


def deep_sizeof(obj: Any, shared: Any = ()) -> int:
    """Bytes held by `obj` and everything it references (each object once). Objects whose id is in
    `shared` are owned elsewhere (e.g. parameter names that are literals in the code) and count zero."""
    seen: set[int] = set(shared)
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, _FREE) or (type(item) is int and -5 <= item <= 256) or (type(item) is tuple and not item):
            continue
        ident = id(item)
        if ident in seen:
            continue
        seen.add(ident)
        kind = type(item)
        if kind in (str, int, float, bytes, complex):
            total += _block(_getsizeof(item))
            continue
        if isinstance(item, np.ndarray):
            total += _block(_getsizeof(item))
            if item.base is not None and isinstance(item.base, np.ndarray):
                stack.append(item.base)
            continue
        size = _getsizeof(item)
        if kind is not tuple and isinstance(item, tuple):
            size += _ITEM
        total += _block(size)
        # isinstance, not the exact type: NamedTuple records are tuples, and their fields are what
        # they hold (counting only the tuple undercounted a cached Track about tenfold)
        if isinstance(item, (tuple, list, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            slots = _slot_names(kind)
            if slots:
                stack.extend(getattr(item, name) for name in slots if hasattr(item, name))
            instance_dict = getattr(item, "__dict__", None)
            if instance_dict is not None:
                stack.append(instance_dict)
    return total
