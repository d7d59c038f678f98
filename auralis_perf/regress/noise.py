"""What a check's earlier runs say about its noise from one run to the next, on this machine.

On a shared machine whole runs can be 2-3x slower than the previous one while the samples inside each
run stay tight: no test on one run's samples can see that. The history can. A change is credited only
when the check has at least `MIN_HISTORY` earlier runs here, when it exceeds `RUN_TO_RUN_Z` times the
robust spread of the check's successive run-to-run changes, and when it also holds against the median
of the last runs (so a single unusually good baseline run does not make the next ordinary run look bad).
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Fewest earlier values of a check before its run-to-run spread is estimated.
MIN_HISTORY = 4
#: A change must exceed this many times a check's run-to-run spread to be credited.
RUN_TO_RUN_Z = 3.0
#: How many of the latest earlier runs make the check's usual level.
LEVEL_RUNS = 5


def run_to_run_threshold(values: Sequence[float | None], *, z: float = RUN_TO_RUN_Z,
                         min_history: int = MIN_HISTORY) -> float | None:
    """The |log ratio| a new value must move by to stand out from a check's earlier values (oldest first).

    z times the robust spread of successive run-to-run changes (1.4826 x median |diff of log values|):
    successive differences ignore a past step in the series, the median ignores the odd burst. None with
    fewer than `min_history` positive values.
    """
    logs = np.log([v for v in values if v is not None and v > 0])
    if logs.size < min_history:
        return None
    return float(z * 1.4826 * np.median(np.abs(np.diff(logs))))


@dataclass(frozen=True)
class CheckHistory:
    """The earlier values of one check (oldest first) on this machine, engine and profile."""

    values: tuple[float, ...]

    @classmethod
    def from_values(cls, values: Sequence[float | None]) -> "CheckHistory":
        return cls(tuple(float(v) for v in values if v is not None and v > 0))

    @property
    def known(self) -> bool:
        return len(self.values) >= MIN_HISTORY

    @property
    def threshold(self) -> float | None:
        """See `run_to_run_threshold`."""
        return run_to_run_threshold(self.values)

    @property
    def level(self) -> float | None:
        """Median of the last `LEVEL_RUNS` values, once the history is long enough to be trusted."""
        return statistics.median(self.values[-LEVEL_RUNS:]) if self.known else None
