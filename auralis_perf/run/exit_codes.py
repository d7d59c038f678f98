"""The exit codes of a run, in one place: the pipeline, the regression step and the README use these."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a run's exit code says. When several apply, the first of USAGE, NOTEBOOK_FAILED, CRITICAL_MISS,
    REGRESSED wins (a run that could not measure something cannot claim a regression)."""

    OK = 0
    CRITICAL_MISS = 1
    NOTEBOOK_FAILED = 2
    USAGE = 3
    REGRESSED = 4

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "every critical threshold held",
    ExitCode.CRITICAL_MISS: "a critical threshold was missed",
    ExitCode.NOTEBOOK_FAILED: "a notebook failed or timed out, or a check could not be measured",
    ExitCode.USAGE: "bad usage or configuration",
    ExitCode.REGRESSED: "a critical check regressed",
}
