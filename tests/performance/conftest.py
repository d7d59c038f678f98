"""Fixtures of the catalogue tests: a check's record, skipped or errored here, judged in the test body.

The options (--perf-profile, --perf-engine, --perf-tier, --perf-results, ...) and the session's group
runner come from the plugin `auralis_perf.pytest_plugin`, loaded by pyproject's addopts. These tests
measure, they don't verify: the project's own test command deselects them (`-m 'not performance'`);
run them on purpose with `pytest -m performance` (see the README, "Running the catalogue from pytest").
"""
from __future__ import annotations

import pytest

from auralis_perf.pytest_plugin import CheckError
from auralis_perf.results import CheckResult

PLUGIN = "auralis_perf.pytest_plugin"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        raise pytest.UsageError(f"tests/performance needs the plugin {PLUGIN}: pyproject's addopts loads it "
                                f"with -p {PLUGIN}; add that option if you override addopts")


@pytest.fixture
def perf_record(request: pytest.FixtureRequest, check_id: str, perf_runner) -> CheckResult:
    """The record of the test's check, from its group's run (once per session).

    A `skip` record skips the test with its reason; an `error` record raises here, so pytest reports the
    test as ERROR (it could not be measured), not as FAILED (it was measured and missed)."""
    record = perf_runner.record(check_id)
    for key in ("status", "value", "unit", "criterion", "reason"):
        request.node.user_properties.append((f"perf_{key}", getattr(record, key)))
    request.node.user_properties.append(("perf_tiers", dict(record.tiers)))
    if record.status == "skip":
        pytest.skip(f"{check_id}: {record.reason}")
    if record.status == "error":
        trace = record.details.get("traceback")
        raise CheckError(f"{check_id} {record.title}: could not be measured: {record.reason}"
                         + (f"\n{trace}" if trace else ""))
    return record
