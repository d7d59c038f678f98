"""The Auralis adapter: the real Auralis (github.com/matiaszanolli/Auralis), installed by the user.

No Auralis code is in this repository; the adapter calls its public API at run time, as of commit
087974e2 (November 2025), and declares only the capabilities that the installed version offers. Without
the package, `get_engine("auralis")` raises EngineError saying how to install it.
"""
from auralis_perf.engines.auralis_adapter.engine import PRESET_NAMES, AuralisEngine

__all__ = ["AuralisEngine", "PRESET_NAMES"]
