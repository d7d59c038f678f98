"""The Auralis stand-in (see README.md here): put it on `sys.path` and build the adapter on it.

`engine()` is what the conformance kit takes (`--perf-engine auralis_standin:engine`, with `tests/` on
the path): the real adapter, `auralis_perf.engines.auralis_adapter.AuralisEngine`, over this stand-in.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The folder to put first on sys.path: `import auralis` then finds the stand-in.
STANDIN_PATH = Path(__file__).resolve().parent


def real_auralis_importable() -> bool:
    """True when another `auralis` (the real one) would be imported instead of the stand-in."""
    spec = importlib.util.find_spec("auralis") if "auralis" not in sys.modules else sys.modules["auralis"].__spec__
    return spec is not None and not str(spec.origin or "").startswith(str(STANDIN_PATH))


def activate() -> None:
    """Put the stand-in first on sys.path (idempotent)."""
    if str(STANDIN_PATH) not in sys.path:
        sys.path.insert(0, str(STANDIN_PATH))


def forget() -> None:
    """Drop the imported stand-in modules, so the next import starts fresh."""
    for name in [m for m in sys.modules if m == "auralis" or m.startswith("auralis.")]:
        del sys.modules[name]


def engine(**options: Any) -> Any:
    """The Auralis adapter built on the stand-in (for the conformance kit's engine spec list). Where a real
    Auralis is importable the stand-in would be shadowed: pytest skips (check that one with
    `--perf-engine auralis`)."""
    if real_auralis_importable():
        import pytest

        pytest.skip("a real auralis package is importable here; check it with --perf-engine auralis")
    activate()
    from auralis_perf.engines.auralis_adapter import AuralisEngine

    return AuralisEngine(**options)


@contextmanager
def in_use(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    """For a test's fixture: the stand-in first on sys.path (pytest skips when a real Auralis would shadow
    it), HOME and the Numba cache under `tmp_path` (to see where the adapter makes Auralis write)."""
    import pytest

    if real_auralis_importable():
        pytest.skip("a real auralis package is importable here; the stand-in would be shadowed")
    forget()
    monkeypatch.syspath_prepend(str(STANDIN_PATH))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    try:
        yield tmp_path
    finally:
        forget()
