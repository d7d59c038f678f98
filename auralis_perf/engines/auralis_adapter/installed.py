"""Which `auralis` is installed, found without importing it.

`pip install auralis` from PyPI installs an unrelated text-to-speech package that owns the same import
name (AstraMind's XTTS-based "auralis", whose package exports `TTS` and `TTSRequest`). Importing it pulls in
a speech-model stack, and the adapter would fail much later with a confusing error; so the command line
asks here first and stops with the fix (exit code 3). Nothing here imports `auralis`: the package's folder
and its distribution's metadata are read as files.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from auralis_perf.engines.base import EngineError

#: A file every Auralis mastering version has had, relative to the package folder.
MASTERING_MARKER = Path("core") / "hybrid_processor.py"
#: Words in the text-to-speech package's distribution summary or `__init__.py`.
SPEECH_MARKERS = ("TTSRequest", "TTS models", "text-to-speech", "text to speech")

FIX = ("uninstall it (`pip uninstall auralis`) and install Auralis from its repository, as the README's "
       "'Another engine' section shows (github.com/matiaszanolli/Auralis)")


def package_folder() -> Path | None:
    """The folder of the importable `auralis` package, or None when there is none (or it is not a folder)."""
    try:
        spec = importlib.util.find_spec("auralis")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _distribution_summaries() -> list[str]:
    """Name and summary of each installed distribution that provides the top-level name `auralis`."""
    summaries = []
    for name in importlib.metadata.packages_distributions().get("auralis", []):
        try:
            meta = importlib.metadata.metadata(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        summaries.append(f"{name} {meta.get('Version', '?')}: {meta.get('Summary') or ''}")
    return summaries


def wrong_package() -> str | None:
    """Why the importable `auralis` is not the mastering engine, or None when it is (or none is installed)."""
    folder = package_folder()
    if folder is None or (folder / MASTERING_MARKER).is_file():
        return None
    init = folder / "__init__.py"
    text = init.read_text(errors="replace") if init.is_file() else ""
    evidence = [s for s in _distribution_summaries() if any(m.lower() in s.lower() for m in SPEECH_MARKERS)]
    if any(m in text for m in SPEECH_MARKERS):
        evidence.append(f"{init} exports a text-to-speech API")
    if not evidence:
        return None  # some other layout: the adapter's import-time discovery reports what is missing
    return (f"the installed 'auralis' package ({folder}) is an unrelated text-to-speech package, not the "
            f"Auralis mastering engine ({'; '.join(evidence)}); {FIX}")


def check_installed() -> None:
    """EngineError naming the fix when the wrong `auralis` is installed; nothing otherwise."""
    reason = wrong_package()
    if reason:
        raise EngineError(reason)
