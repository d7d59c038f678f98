"""What the installed Auralis offers: its public classes and functions, found by import, never assumed.

The names are those of Auralis at commit 087974e2 (November 2025). Later versions moved some of them,
so each part is looked up on its own; a part that is missing costs only the checks that need it, and the
reason (the import error) is kept for the skip records and the engine's description.
"""
from __future__ import annotations

import importlib
import types
from dataclasses import dataclass, field
from typing import Any

from auralis_perf.engines.auralis_adapter.installed import check_installed
from auralis_perf.engines.base import EngineError

#: part -> (module, attribute names) at commit 087974e2.
PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hybrid_processor": ("auralis.core.hybrid_processor", ("HybridProcessor",)),
    "unified_config": ("auralis.core.unified_config", ("UnifiedConfig",)),
    "envelope": ("auralis.dsp.dynamics.vectorized_envelope", ("VectorizedEnvelopeFollower",)),
    "eq_fast": ("auralis.dsp.eq.parallel_eq_processor", ("VectorizedEQProcessor",)),
    "eq_plain": ("auralis.dsp.eq.filters", ("apply_eq_gains",)),
    "eq_bands": ("auralis.dsp.eq.critical_bands", ("create_critical_bands", "create_frequency_mapping")),
    "spectrum_parallel": ("auralis.analysis.parallel_spectrum_analyzer",
                          ("ParallelSpectrumAnalyzer", "ParallelSpectrumSettings")),
    "spectrum_plain": ("auralis.analysis.spectrum_analyzer", ("SpectrumAnalyzer", "SpectrumSettings")),
    "library": ("auralis.library.manager", ("LibraryManager",)),
    "library_models": ("auralis.library.models", ("Track", "Album", "Artist", "Genre", "Playlist", "track_artist",
                                                  "track_genre", "track_playlist")),
    "query_cache": ("auralis.library.cache", ("QueryCache", "cached_query", "invalidate_cache", "get_cache_stats",
                                              "clear_cache")),
    "smart_cache": ("auralis.optimization.caching.smart_cache", ("SmartCache",)),
    "fingerprint_storage": ("auralis.analysis.fingerprint.fingerprint_storage", ("FingerprintStorage",)),
    "sidecar": ("auralis.library.sidecar_manager", ("SidecarManager",)),
    "fingerprint": ("auralis.analysis.fingerprint.audio_fingerprint_analyzer", ("AudioFingerprintAnalyzer",)),
    "loudness": ("auralis.analysis.loudness_meter", ("LoudnessMeter",)),
    "content": ("auralis.core.analysis.content_analyzer", ("ContentAnalyzer",)),
    "player": ("auralis.player.enhanced_audio_player", ("EnhancedAudioPlayer",)),
    "player_config": ("auralis.player.config", ("PlayerConfig",)),
    "memory_pool": ("auralis.optimization.memory.memory_pool", ("MemoryPool",)),
    "io": ("auralis.io", ("load", "save")),
    "resample": ("auralis.io.processing", ("resample_audio",)),
    "channels": ("auralis.dsp.utils.audio_info", ("mono_to_stereo",)),
}

#: capability -> the parts it needs (a capability is declared only when all of them were found).
CAPABILITY_PARTS: dict[str, tuple[str, ...]] = {
    "library": ("library", "library_models", "query_cache"),
    "analysis": ("spectrum_plain",),
    "audio_cache": ("smart_cache", "fingerprint_storage", "sidecar", "io", "fingerprint", "content"),
    "playback": ("player", "player_config", "io"),
    "buffer_pool": ("memory_pool",),
    "utilities": ("io", "resample"),
}


@dataclass
class AuralisAPI:
    """The parts found (part -> tuple of objects) and the ones missing (part -> why)."""

    module_file: str
    version: str | None
    found: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def has(self, *parts: str) -> bool:
        return all(p in self.found for p in parts)

    def get(self, part: str) -> tuple[Any, ...]:
        return self.found[part]

    def module_of(self, part: str) -> Any:
        """The module a part was found in (for module-level state such as the query cache)."""
        return importlib.import_module(PARTS[part][0])

    def why_missing(self, *parts: str) -> str:
        return "; ".join(f"{p}: {self.missing[p]}" for p in parts if p in self.missing)


def _look_up(module_name: str, names: tuple[str, ...]) -> tuple[Any, ...]:
    module = importlib.import_module(module_name)
    found = []
    for name in names:
        if not hasattr(module, name):
            raise AttributeError(f"{module_name} has no {name}")
        found.append(getattr(module, name))
    return tuple(found)


def _version(package: Any) -> str | None:
    """`auralis.__version__`, which at 087974e2 is shadowed by its submodule `auralis/__version__.py`."""
    value = getattr(package, "__version__", None)
    if value is None:
        try:
            value = importlib.import_module(f"{package.__name__}.__version__")
        except ImportError:
            return None
    if isinstance(value, types.ModuleType):
        value = getattr(value, "__version__", None)
    return str(value) if value is not None else None


def detect() -> AuralisAPI:
    """Import Auralis and find its parts; EngineError when the package or its mastering core is absent."""
    check_installed()  # PyPI's unrelated text-to-speech `auralis`: say so before importing it
    try:
        auralis = importlib.import_module("auralis")
    except Exception as exc:  # ImportError, or the package failing while it imports its own dependencies
        raise EngineError("the auralis package cannot be imported "
                          f"({type(exc).__name__}: {exc}); install Auralis yourself "
                          "(github.com/matiaszanolli/Auralis) in the environment that runs the report") from exc
    api = AuralisAPI(module_file=str(getattr(auralis, "__file__", "?")), version=_version(auralis))
    for part, (module_name, names) in PARTS.items():
        try:
            api.found[part] = _look_up(module_name, names)
        except Exception as exc:  # a moved or broken module: only that part is missing
            api.missing[part] = f"{type(exc).__name__}: {exc}"
    if not api.has("hybrid_processor", "unified_config"):
        raise EngineError("this Auralis has no mastering entry point the adapter knows "
                          f"({api.why_missing('hybrid_processor', 'unified_config')}); the adapter follows the "
                          "API of commit 087974e2")
    return api
