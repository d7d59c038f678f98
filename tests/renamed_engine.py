"""Test doubles for engines built as "module:Factory" whose `name` is not how they are built: one calls itself
something no registry lists, one borrows the name of a registered engine it is not."""
from __future__ import annotations

from auralis_perf.engines.reference import ReferenceEngine


class RenamedEngine(ReferenceEngine):
    """The reference engine under a name that is registered nowhere."""

    name = "renamed-double"


class NameBorrower(ReferenceEngine):
    """Calls itself "pedalboard" (a registered engine) without being it."""

    name = "pedalboard"
