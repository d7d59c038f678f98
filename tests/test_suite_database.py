"""The database suite (DB-01..20) on the reference engine at the smoke profile, and its helpers.
No timing assertions: statuses of timed checks may be pass or fail on a loaded machine."""
from __future__ import annotations

import numpy as np
import pytest
from suite_support import assert_plot_test_catches_a_fallback, assert_plots_draw, category_records

from auralis_perf.catalog import load_catalog
from auralis_perf.engines import get_engine
from auralis_perf.results import STATUSES
from auralis_perf.suites import SuiteContext, groups
from auralis_perf.suites.library_workload.queries import loglog_slope, per_round_slopes
from auralis_perf.suites.library_workload.workload import release_libraries, zipf_index

DB_IDS = load_catalog().ids("database")


@pytest.fixture(scope="module")
def db_records(tmp_path_factory):
    engine = get_engine("reference")
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path_factory.mktemp("database-suite"))
    try:
        records = category_records(ctx, "database")
    finally:
        release_libraries(ctx)
        engine.close()
    return records


def test_group_names_match_the_catalogue():
    catalog = load_catalog()
    for g in groups("database"):
        assert {catalog[i].group for i in g.ids} == {g.name}


def test_every_database_check_has_a_record(db_records):
    assert sorted(db_records) == sorted(DB_IDS)
    for record in db_records.values():
        assert record.status in STATUSES
        if record.status in ("pass", "fail"):
            assert record.value is not None, record.id
            assert record.samples, record.id
    broken = {i: (r.status, r.reason) for i, r in db_records.items() if r.status in ("skip", "error")}
    assert not broken


def test_index_checks_show_plans_with_and_without_the_index(db_records):
    for check_id in ("DB-06", "DB-07", "DB-08", "DB-09"):
        for case in db_records[check_id].details["cases"]:
            assert case["index_used"], (check_id, case["plan"])
            assert case["same_result"]
            assert case["plan"] and case["plan_without"]
            assert case["index"] in " ".join(row["plan"] for row in case["plan"])


def test_no_repository_query_scans_tracks(db_records):
    record = db_records["DB-10"]
    assert record.value == 0, record.details["full_scans_of_tracks"]
    assert record.details["statements"] > 20


def test_eager_listing_avoids_n_plus_one(db_records):
    statements = db_records["DB-16"].details["statements"]
    assert max(statements["default"]) <= 3
    assert min(statements["lazy"]) > 100  # the N+1 pattern, for comparison
    db17 = db_records["DB-17"]
    assert db17.violations == []  # the listing and selectin list the same tracks, with fewer statements
    assert db17.details["statements"]["default"] <= db17.details["statements"]["selectin"]


def test_keyset_and_offset_pages_agree(db_records):
    assert db_records["DB-14"].details["depths"] and all(row["same_page"] for row in db_records["DB-14"].details["depths"])


def test_scaling_covers_three_sizes(db_records):
    details = db_records["DB-13"].details
    assert len(details["sizes"]) == 3 and details["sizes"] == sorted(details["sizes"])
    assert set(details["slopes"]) >= {"get_by_id", "keyset_middle", "aggregations"}


def test_pool_leaves_no_connection_checked_out(db_records):
    record = db_records["DB-20"]
    assert record.value == 0
    assert record.details["rounds"] and all(r["reads"] > 0 and not r["errors"] for r in record.details["rounds"])
    # the bound is observed (no private attribute read): more readers than it, and never more checked out
    bound = record.details["pool_bound"]
    assert bound >= 1 and record.details["threads"] == bound + 2
    assert all(r["peak_checked_out"] <= bound for r in record.details["rounds"])


def test_loglog_slope():
    xs = [10.0, 100.0, 1000.0]
    assert loglog_slope(xs, [x ** 0.5 for x in xs]) == pytest.approx(0.5)
    assert loglog_slope(xs, [3.0, 3.0, 3.0]) == pytest.approx(0.0, abs=1e-12)
    rounds = per_round_slopes(xs, [[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    assert rounds == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="two or more"):
        loglog_slope([1.0], [1.0])


def test_zipf_index_is_skewed_and_in_range():
    rng = np.random.default_rng(0)
    draws = [zipf_index(rng, 50, 1.1) for _ in range(2000)]
    assert min(draws) >= 0 and max(draws) < 50
    assert draws.count(0) > draws.count(10) > 0


def test_plots_and_tables_draw_from_the_records(db_records, tmp_path):
    from auralis_perf.notebook.helper import NotebookRun
    from auralis_perf.notebook.plots import database as plots

    assert_plots_draw("database", db_records, tmp_path, (plots.plot_query_times, plots.plot_index_effect,
                                                         plots.plot_scaling, plots.plot_sizes, plots.plot_optimization))
    run = NotebookRun("database", profile="smoke", workdir=tmp_path, show=False)
    run.records.update(db_records)
    assert "<td style='text-align:left;vertical-align:top'>DB-06</td>" in plots.index_plans_html(run)
    assert "DB-10 has no plans" not in plots.repository_plans_html(run) and "<tbody><tr>" in plots.repository_plans_html(run)
    assert "DB-20 has no pool figures" not in plots.pool_table_html(run) and "<tbody><tr>" in plots.pool_table_html(run)


def test_a_plot_that_falls_back_fails_the_plot_test(db_records, tmp_path):
    """The plot test catches what it is for: a record without its details makes the figure fall back."""
    from auralis_perf.notebook.plots import database as plots

    assert_plot_test_catches_a_fallback("database", db_records, tmp_path, plots.plot_scaling)


def test_db06_judges_the_substring_search_of_a_library_without_a_title_prefix_lookup():
    from types import SimpleNamespace

    from auralis_perf.suites.database.groups import index_cases

    model = SimpleNamespace(added_range=(0.0, 1.0), years=[2000], genres=["Rock"], prefixes=["abc"],
                            features=frozenset(), word=lambda rng: "love")
    [(what, columns, call)] = index_cases(SimpleNamespace(model=model))["DB-06"]
    asked = []
    call(SimpleNamespace(search=lambda text, limit: asked.append(("search", text)),
                         find_by_title=lambda prefix, limit: asked.append(("prefix", prefix))))
    assert columns == ("title",) and asked == [("search", "love")] and "substring" in what
