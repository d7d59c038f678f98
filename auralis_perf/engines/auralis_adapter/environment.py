"""Where Auralis writes, and what it prints, while the adapter runs it.

- Auralis keeps its own files under `~/.auralis` (preferences at start-up, fingerprints, artwork) and has
  no setting for that folder, so the adapter points `HOME` at a run-local folder while the engine lives,
  and puts the previous value back on `close()`.
- Numba (Auralis's envelope follower, and librosa under its analysis) caches compiled code in
  `NUMBA_CACHE_DIR`. The report's pipeline sets it to the run's scratch folder; when nothing set it and
  Numba is not imported yet, the adapter sets it inside the run-local folder. Either way the engine's
  description says where the cache is, so a cold start is a cold start.
- Auralis prints several lines per mastering call; they are kept out of the notebooks (counted, not shown).
"""
from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOME_ENV = "AURALIS_PERF_AURALIS_HOME"


def run_local_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The folder Auralis may write to: `home`, else $AURALIS_PERF_AURALIS_HOME, else ./auralis-home."""
    return Path(home or os.environ.get(HOME_ENV) or Path.cwd() / "auralis-home").resolve()


class RedirectedHome:
    """`HOME` (and the Numba cache, when still possible) pointed at a run-local folder until `restore()`."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._created = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        self._previous = {name: os.environ.get(name) for name in ("HOME", "NUMBA_CACHE_DIR")}
        os.environ["HOME"] = str(home)
        self.numba_cache_dir = self._numba_cache(home)

    @staticmethod
    def _numba_cache(home: Path) -> str:
        if os.environ.get("NUMBA_CACHE_DIR"):
            return os.environ["NUMBA_CACHE_DIR"]
        if "numba" in sys.modules:  # too late to move it: say where it is
            from numba.core import config

            return config.CACHE_DIR or "next to each module's sources (__pycache__)"
        os.environ["NUMBA_CACHE_DIR"] = str(home / "numba-cache")
        return os.environ["NUMBA_CACHE_DIR"]

    def restore(self, *, remove_if_unused: bool = False) -> None:
        """Put the environment back; with `remove_if_unused`, drop the folder if this made it and it is empty."""
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if remove_if_unused and self._created and not any(self.home.iterdir()):
            self.home.rmdir()


class _Sink(io.TextIOBase):
    """Swallows text, counting the lines (what Auralis printed)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_stdout = None
SINK = _Sink()


@contextmanager
def quiet() -> Iterator[None]:
    """Auralis's prints go nowhere while any thread is inside; nested and concurrent use is safe."""
    global _quiet_depth, _saved_stdout
    with _quiet_lock:
        if _quiet_depth == 0:
            _saved_stdout, sys.stdout = sys.stdout, SINK
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                sys.stdout = _saved_stdout
