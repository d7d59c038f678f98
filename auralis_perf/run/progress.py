"""Progress of a run: a tqdm bar over every check, fed by polling each notebook's side file.

A notebook runs in its own kernel and rewrites its side file after every group, so a background thread
that reads that file is all the pipeline needs to follow it; no hook into the kernel. Without a terminal
(CI logs) the bar is replaced by one line per finished group and per notebook.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

from auralis_perf.report.formatting import format_duration
from auralis_perf.run.sidefile import read_side_file

POLL_SECONDS = 0.5


class Progress:
    def __init__(self, total_checks: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total_checks, unit="check", file=self.stream, dynamic_ncols=True)
        self._done_before = 0    # checks of the notebooks that have finished
        self._shown = 0          # what the bar shows
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._label = ""
        self._groups_seen: list[str] = []

    def start_notebook(self, engine: str, category: str, side_file: Path, n_checks: int) -> None:
        self._label = f"{engine} · {category}"
        self._groups_seen = []
        self._n_checks = n_checks
        self._side_file = side_file
        if self.bar is not None:
            self.bar.set_description(self._label)
        else:
            self._line(f"{self._label}: started ({n_checks} checks)")
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="progress-poll", daemon=True)
        self._thread.start()

    def finish_notebook(self, status: str, duration_s: float, error: str | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._refresh()
        self._done_before += self._n_checks
        self._show(self._done_before)
        message = f"{self._label}: {status} in {format_duration(duration_s)}" + (f" — {error}" if error else "")
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            self._line(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    # -- internals ---------------------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._refresh()

    def _refresh(self) -> None:
        try:
            side = read_side_file(self._side_file)
        except ValueError:
            return  # the pipeline reports a malformed side file when it merges; the bar just waits
        if side is None:
            return
        reported = min(len(side["checks"]), self._n_checks)
        self._show(self._done_before + reported)
        for name in side.get("groups_done", []):
            if name not in self._groups_seen:
                self._groups_seen.append(name)
                if self.bar is not None:
                    self.bar.set_postfix_str(name, refresh=True)
                else:
                    self._line(f"{self._label}: group {name!r} done ({reported}/{self._n_checks} checks)")

    def _show(self, n: int) -> None:
        if n > self._shown:
            if self.bar is not None:
                self.bar.update(n - self._shown)
            self._shown = n

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
