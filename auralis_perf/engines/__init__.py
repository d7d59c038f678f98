"""Engines the report can measure, found by name: `get_engine("reference")`."""
from __future__ import annotations

import importlib
from collections.abc import Callable

from auralis_perf.engines.base import (
    AudioFileError,
    AudioInputError,
    Capability,
    Engine,
    EngineError,
    KernelPair,
    NotSupported,
    Stream,
)
from auralis_perf.engines.protocols.audio import (
    ANALYSIS_KINDS,
    CACHE_KINDS,
    EXECUTORS,
    Analysis,
    AnalysisResult,
    AudioCache,
    AudioUtilities,
    Batch,
    BufferPool,
    JobQueue,
    Playback,
    PlaybackChunk,
    PlaybackSession,
    PresetSwitch,
)
from auralis_perf.engines.protocols.library import (
    DatabaseHandle,
    KeyValueCache,
    LibraryCaches,
    LibraryFeature,
    LibraryRepository,
    MusicLibrary,
    NewTrack,
    QueryCache,
)

__all__ = ["AudioFileError", "AudioInputError", "Capability", "Engine", "EngineError", "KernelPair",
           "NotSupported", "Stream", "get_engine", "engine_names", "register", "register_engine_path",
           "unregister", "check_installed", "DEFAULT_ENGINE",
           # the typed capability protocols (engines/protocols/audio.py)
           "ANALYSIS_KINDS", "CACHE_KINDS", "EXECUTORS", "Analysis", "AnalysisResult", "AudioCache",
           "AudioUtilities", "Batch", "BufferPool", "JobQueue", "Playback", "PlaybackChunk", "PlaybackSession",
           "PresetSwitch",
           # engines/protocols/library.py
           "DatabaseHandle", "KeyValueCache", "LibraryCaches", "LibraryFeature", "LibraryRepository",
           "MusicLibrary", "NewTrack", "QueryCache"]

DEFAULT_ENGINE = "reference"

# name -> "module:factory". Adapters are imported only when asked for, so a missing optional package
# (pedalboard, auralis) costs nothing unless that engine is chosen.
_REGISTRY: dict[str, str] = {
    "reference": "auralis_perf.engines.reference:ReferenceEngine",
    "pedalboard": "auralis_perf.engines.pedalboard_peer:PedalboardEngine",
    "auralis": "auralis_perf.engines.auralis_adapter:AuralisEngine",
}


# name -> "module:function" that says, without building the engine, whether what is installed for it is
# unusable in a way only the user can fix (raises EngineError with the fix; the command line exits 3).
_INSTALL_CHECKS: dict[str, str] = {
    "auralis": "auralis_perf.engines.auralis_adapter.installed:check_installed",
}


def register(name: str, target: str) -> None:
    """Register an engine factory as "package.module:callable" (for third-party adapters)."""
    _REGISTRY[name] = target


def register_engine_path(name: str) -> None:
    """Let `name` = "package.module:Factory" name an engine that no registry lists (an adapter of your own)."""
    if ":" in name and name not in _REGISTRY:
        _REGISTRY[name] = name


def unregister(name: str) -> None:
    """Forget a registered engine (tests that register a fake one clean up with this)."""
    _REGISTRY.pop(name, None)


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def get_engine(name: str = DEFAULT_ENGINE, **options: object) -> Engine:
    """Build the engine called `name`: a registered name, or an adapter's import path "package.module:Factory"
    (so a fresh process can rebuild an engine that only the parent registered). Unknown names and missing
    optional packages raise EngineError."""
    target = _REGISTRY.get(name) or (name if ":" in name else None)
    if target is None:
        raise EngineError(f"unknown engine {name!r}; known engines: {', '.join(engine_names())}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineError(f"engine {name!r} is unavailable: {exc}") from exc
    factory: Callable[..., Engine] | None = getattr(module, attr, None)
    if factory is None:
        raise EngineError(f"engine {name!r} is unavailable: {module_name} has no {attr!r}")
    return factory(**options)


def check_installed(name: str) -> None:
    """EngineError when engine `name`'s installed package is the wrong one (e.g. PyPI's unrelated `auralis`)."""
    target = _INSTALL_CHECKS.get(name)
    if target is None:
        return
    module_name, _, attr = target.partition(":")
    getattr(importlib.import_module(module_name), attr)()
