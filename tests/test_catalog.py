"""The check catalogue: the built-in file is complete, and every mistake in a thresholds file is reported
with the file, the line and the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from auralis_perf.catalog import DEFAULT_CATALOG, TIERS, ThresholdsError, load_catalog
from auralis_perf.categories import CATEGORIES

TEXT = DEFAULT_CATALOG.read_text(encoding="utf-8")


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first `needle` at or after the line holding `after`."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if after in l) if after else 0
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def thresholds_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_catalogue_has_every_check_in_groups_of_five():
    catalog = load_catalog()
    assert len(catalog.checks) == 100
    assert [c.name for c in CATEGORIES] == ["realtime", "memory", "cache", "database", "optimization"]
    for c in CATEGORIES:
        ids = catalog.ids(c.name)
        assert ids == [f"{c.prefix}-{n:02d}" for n in range(1, 21)]
        groups = [catalog[i].group for i in ids]
        assert len(set(groups)) == 4 and all(groups.count(g) == 5 for g in groups)
    assert all(catalog[i].title and catalog[i].criterion for i in catalog.ids())
    assert catalog["RT-01"].tiers["critical"].holds(25.0) and not catalog["RT-01"].tiers["critical"].holds(20.0)
    assert catalog["RT-01"].gating_tier == "critical"


def test_a_full_copy_loads_with_require_all(tmp_path):
    catalog = load_catalog(thresholds_file(tmp_path, TEXT), require_all=True)
    assert len(catalog.checks) == 100


def test_unknown_id_names_file_line_and_table(tmp_path):
    text = TEXT.replace('[checks."RT-07"]', '[checks."RT-99"]', 1)
    path = thresholds_file(tmp_path, text)
    with pytest.raises(ThresholdsError) as exc:
        load_catalog(path)
    message = str(exc.value)
    line = line_of(text, '[checks."RT-99"]')
    assert message.startswith(f"{path}:{line}:")
    assert "unknown check ID 'RT-99'" in message and "numbers run from 01 to 20" in message
    text = TEXT.replace('[checks."RT-07"]', '[checks."XX-07"]', 1)
    with pytest.raises(ThresholdsError, match=r"unknown check ID 'XX-07'"):
        load_catalog(thresholds_file(tmp_path, text))


def test_malformed_bound_names_file_line_and_key(tmp_path):
    text = TEXT.replace('critical = "< 100"', 'critical = "under 100"', 1)
    path = thresholds_file(tmp_path, text)
    with pytest.raises(ThresholdsError) as exc:
        load_catalog(path)
    line = line_of(text, 'critical = "under 100"')
    assert str(exc.value).startswith(f"{path}:{line}: [checks.RT-06] key 'critical' malformed bound 'under 100'")


def test_bound_that_is_not_a_string(tmp_path):
    text = TEXT.replace('target = "> 30"', "target = 30", 1)
    path = thresholds_file(tmp_path, text)
    with pytest.raises(ThresholdsError, match=rf"{path}:{line_of(text, 'target = 30')}: \[checks.RT-01\] key "
                                              r"'target' a bound must be a string"):
        load_catalog(path)


def test_bad_tier_name_names_file_line_and_key(tmp_path):
    text = TEXT.replace('stretch = "> 40"', 'strech = "> 40"', 1)
    path = thresholds_file(tmp_path, text)
    with pytest.raises(ThresholdsError) as exc:
        load_catalog(path)
    assert str(exc.value).startswith(f"{path}:{line_of(text, 'strech')}: [checks.RT-01] key 'strech' unknown key")
    assert all(tier in str(exc.value) for tier in TIERS)


@pytest.mark.parametrize("old, new, key, fragment", [
    ('direction = "lower"', 'direction = "down"', "direction", "direction must be one of"),
    ('category = "realtime"', 'category = "memory"', "category", "does not match the ID's prefix"),
    ('unit = "x"', "unit = 5", "unit", "must be a string"),
])
def test_other_bad_values(tmp_path, old, new, key, fragment):
    text = TEXT.replace(old, new, 1)
    path = thresholds_file(tmp_path, text)
    with pytest.raises(ThresholdsError) as exc:
        load_catalog(path)
    assert str(exc.value).startswith(f"{path}:{line_of(text, new)}:") and f"key {key!r}" in str(exc.value)
    assert fragment in str(exc.value)


def test_invalid_toml_and_unreadable_file(tmp_path):
    path = thresholds_file(tmp_path, '[checks."RT-01"\ncritical = "> 20"\n')
    with pytest.raises(ThresholdsError, match=rf"{path}: not valid TOML"):
        load_catalog(path)
    with pytest.raises(ThresholdsError, match="cannot read thresholds file"):
        load_catalog(tmp_path / "missing.toml")


def test_incomplete_file_is_refused_when_every_check_is_required(tmp_path):
    kept = TEXT[:TEXT.index('[checks."RT-03"]')]  # defaults, RT-01 and RT-02 only
    path = thresholds_file(tmp_path, kept)
    assert list(load_catalog(path).checks) == ["RT-01", "RT-02"]
    with pytest.raises(ThresholdsError, match=rf"{path}: is missing checks: .*\bMEM-01, .*\bRT-03, RT-04"):
        load_catalog(path, require_all=True)
