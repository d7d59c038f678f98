"""Fixtures many test modules share. A module that needs another engine defines its own `engine`."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import auralis_standin
import pytest
from protocol_double import StrictEngine

from auralis_perf.engines import get_engine
from auralis_perf.engines.reference import ReferenceEngine


@pytest.fixture(scope="module")
def engine() -> Iterator[ReferenceEngine]:
    """The reference engine, one per test module (building it loads compiled kernels), closed after."""
    built = get_engine("reference")
    assert isinstance(built, ReferenceEngine)
    yield built
    built.close()


@pytest.fixture(scope="module")
def strict_engine(engine: ReferenceEngine) -> StrictEngine:
    """The engine as a suite must see it: its typed protocols and nothing else (tests/protocol_double.py)."""
    return StrictEngine(engine)


@pytest.fixture
def auralis_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The Auralis stand-in (tests/auralis_standin) imported as `auralis` for one test; HOME and the Numba
    cache under the folder it yields (pytest skips where a real Auralis would shadow the stand-in)."""
    with auralis_standin.in_use(tmp_path, monkeypatch) as folder:
        yield folder


@pytest.fixture
def auralis_engine(auralis_stand_in: Path) -> Iterator[object]:
    """The Auralis adapter on the stand-in, fresh for each test (the stand-in records every call)."""
    built = get_engine("auralis", home=auralis_stand_in / "run-home")
    yield built
    built.close()
