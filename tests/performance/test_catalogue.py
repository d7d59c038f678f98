"""One test per catalogue ID (`test_check[RT-01]` ... `test_check[OPT-20]`), from catalog.toml.

Markers: `performance` on all, the category's (`realtime`, `memory`, `cache`, `database`, `optimization`),
and `benchmark` on the checks of groups that run for minutes at the full profile
(`auralis_perf.pytest_plugin.BENCHMARK_GROUPS`). Collection needs only the catalogue; the suites are
imported when a test runs.
"""
from __future__ import annotations

import pytest

from auralis_perf.pytest_plugin import catalogue_params, judge


@pytest.mark.parametrize("check_id", catalogue_params())
def test_check(check_id: str, perf_record, perf_tier: str, perf_runner, request) -> None:
    judgement = judge(perf_record, perf_tier, perf_runner.catalog)
    for note in judgement.notes:  # non-gating misses: the test passes, but says so (and in the summary)
        request.node.user_properties.append(("perf_note", note))  # junit XML; record_property warns on xunit2
        print(note)
    verdict = perf_runner.against.verdict(check_id) if perf_runner.against is not None else None
    if verdict is not None and verdict.verdict == "regressed":  # --perf-against: a paired (or unpaired) verdict
        pytest.fail(f"{check_id} regressed against the baseline engine: {verdict.note}")
    if not judgement.passed:  # value, unit, criterion and the missed tier or violation, without assert noise
        pytest.fail(judgement.message, pytrace=False)
