"""Auralis's music library (`auralis.library`) behind the harness's library protocols."""
from auralis_perf.engines.auralis_adapter.library.library import AuralisLibrary

__all__ = ["AuralisLibrary"]
