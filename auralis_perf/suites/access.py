"""Reaching a category's suite and engine for a notebook run or a single-check run, or saying why not.

Both callers turn `SuiteUnavailable` into error records of the checks concerned, so one broken suite or
engine never stops the others.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auralis_perf import suites
from auralis_perf.catalog import Catalog
from auralis_perf.engines import get_engine


class SuiteUnavailable(Exception):
    """Why a group cannot run at all (no suite, no engine); becomes the reason of its checks' error records."""


def registered_groups(category: str) -> list[suites.Group]:
    """The groups the category's suite module registers; SuiteUnavailable if it cannot be imported."""
    module = suites.CATEGORY_MODULES[category]
    try:
        return suites.groups(category)
    except ImportError as exc:
        raise SuiteUnavailable(f"the {category} suite ({module}) is not available: {exc}") from exc
    except Exception as exc:  # a suite that fails at import must not stop the other categories
        raise SuiteUnavailable(f"the {category} suite ({module}) failed to import: "
                               f"{type(exc).__name__}: {exc}") from exc


def open_suite_context(engine_name: str, *, profile: str, workdir: Path, audio_files: Sequence[Path],
                       catalog: Catalog) -> suites.SuiteContext:
    """A suite context on a freshly built engine; SuiteUnavailable naming the engine if it cannot be built."""
    try:
        engine = get_engine(engine_name)
    except Exception as exc:  # EngineError, or an adapter's import failing in any way
        raise SuiteUnavailable(f"engine {engine_name!r} is unavailable: {type(exc).__name__}: {exc}") from exc
    return suites.SuiteContext(engine=engine, profile=profile, workdir=workdir, audio_files=list(audio_files),
                               catalog=catalog)
