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


#: The longest test files (2026-12-05: --durations on this 2-core machine) start first: `make test` runs
#: `-n auto --dist loadfile`, which hands out whole files in collection order, and a long file collected
#: last (test_wheel.py, alphabetically) left one worker running alone at the end of the run.
LONGEST_FILES_FIRST = ("test_wheel.py", "test_comparison.py", "test_measure_instructions.py",
                       "test_suite_cache.py", "test_against.py", "test_check_can_fail.py", "test_turns.py",
                       "test_suite_memory.py", "test_suite_optimization.py", "test_suite_realtime.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort: the rest keep their order
