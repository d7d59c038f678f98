"""Shared plumbing for the category suite tests: shrink smoke sizes, run a category, check record shapes."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from auralis_perf.catalog import load_catalog
from auralis_perf.results import STATUSES
from auralis_perf.suites import SuiteContext, groups, run_category


@contextmanager
def shrunk_smoke_sizes(overrides: dict[ModuleType, dict[str, Any]]) -> Iterator[None]:
    """Update each module's SIZES["smoke"] with its overrides, and put the originals back afterwards."""
    saved = {module: dict(module.SIZES["smoke"]) for module in overrides}
    for module, sizes in overrides.items():
        module.SIZES["smoke"].update(sizes)
    try:
        yield
    finally:
        for module, smoke in saved.items():
            module.SIZES["smoke"].clear()
            module.SIZES["smoke"].update(smoke)


def category_records(ctx: SuiteContext, category: str) -> dict[str, Any]:
    """Every record of the category's groups, by check id."""
    return {r.id: r for r in run_category(ctx, category)}


def assert_records_well_formed(records: dict[str, Any], expected_ids: list[str], *,
                               kinds: set[str] | None = None) -> None:
    """Every expected check has a record; judged ones carry a finite value and samples (and, if `kinds` is
    given, one of those kinds), the others a reason; the lot is strict JSON, as in results.json."""
    assert sorted(records) == expected_ids
    for check_id, r in records.items():
        assert r.status in STATUSES, check_id
        if r.status in ("pass", "fail"):
            assert r.value is not None and np.isfinite(r.value), check_id
            assert r.samples, f"{check_id} has no samples"
            if kinds is not None:
                assert r.kind in kinds, f"{check_id} says no memory kind: {r.kind!r}"
        else:
            assert r.reason, f"{check_id} is {r.status} without a reason"
    json.dumps([r.to_dict() for r in records.values()], allow_nan=False)


def assert_groups_match_the_catalogue(category: str, names: list[str], ids: list[str]) -> None:
    """The category registers exactly `names`, in order; each group answers only its catalogue group's
    checks, and together they answer exactly `ids`."""
    catalog = load_catalog()
    registered = groups(category)
    assert [g.name for g in registered] == names
    for g in registered:
        assert all(catalog[i].group == g.name for i in g.ids)
    assert sorted(i for g in registered for i in g.ids) == ids
