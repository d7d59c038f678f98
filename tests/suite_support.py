"""Shared plumbing for the category suite tests: shrink smoke sizes, run a category, check record shapes."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
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
        assert g.ids and all(catalog[i].group == g.name for i in g.ids)
    assert sorted(i for g in registered for i in g.ids) == ids


def assert_plots_draw(category: str, records: dict[str, Any], workdir: Path,
                      draws: Sequence[Callable[[Any], Any]]) -> None:
    """Each plot function draws from the category's records: data on its axes, and never the fallback
    "could not draw" figure that a plot shows when it raised (a missing `details` key, say)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from auralis_perf.notebook.helper import NotebookRun

    assert draws, "no plot function given"
    run = NotebookRun(category, profile="smoke", workdir=workdir, show=False)
    run.records.update(records)
    for draw in draws:
        fig = draw(run)
        try:
            texts = [t.get_text() for ax in fig.axes for t in ax.texts]
            assert not any("could not draw" in t for t in texts), (draw.__name__, texts)
            assert fig.axes and any(ax.has_data() for ax in fig.axes), f"{draw.__name__} drew no data"
        finally:
            plt.close(fig)


def assert_plot_test_catches_a_fallback(category: str, records: dict[str, Any], workdir: Path,
                                        draw: Callable[[Any], Any]) -> None:
    """`assert_plots_draw` can fail: records stripped of their details make `draw` fall back, and it says so."""
    import copy

    import pytest

    damaged = copy.deepcopy(records)
    for record in damaged.values():
        record.details = {}
    with pytest.raises(AssertionError, match="could not draw|drew no data"):
        assert_plots_draw(category, damaged, workdir, (draw,))
