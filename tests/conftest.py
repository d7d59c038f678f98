"""Fixtures many test modules share. A module that needs another engine defines its own `engine`."""
from __future__ import annotations

from collections.abc import Iterator

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
