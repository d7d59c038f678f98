"""The results.json contract: validation, round trip, and atomic writes that a kill cannot tear."""
from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from auralis_perf import results as results_module
from auralis_perf.catalog import load_catalog
from auralis_perf.results import (
    check_record,
    errored,
    read_results,
    results_frame,
    skipped,
    validate_results,
    write_results,
)

CATALOG = load_catalog()
RUN = {"id": "r", "started_at": "2025-01-01T00:00:00+00:00", "finished_at": "2025-01-01T00:01:00+00:00",
       "engine": "reference", "profile": "smoke", "machine": {}, "versions": {}, "parameters": {}}


def test_records_of_every_status_conform():
    checks = [check_record("RT-01", 45.0, samples=[44.0, 46.0]), check_record("RT-06", 150.0),
              skipped(CATALOG["DB-01"], "no library"), errored(CATALOG["MEM-01"], ValueError("bad"))]
    doc = {"run": RUN, "checks": [c.to_dict() for c in checks]}
    assert validate_results(doc) == []
    assert [c["status"] for c in doc["checks"]] == ["pass", "fail", "skip", "error"]
    assert doc["checks"][1]["tiers"]["critical"] is False
    assert doc["checks"][3]["reason"] == "ValueError: bad"


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d["run"].pop("machine"), "run lacks 'machine'"),
    (lambda d: d["checks"][0].pop("unit"), "lacks 'unit'"),
    (lambda d: d["checks"][0].update(status="passed"), "has status 'passed'"),
    (lambda d: d["checks"][0].update(status="skip", reason=None), "is skip without a reason"),
    (lambda d: d["checks"][0].update(value="fast"), "value is not a number"),
    (lambda d: d["checks"][0].update(value=True), "value is not a number"),
    (lambda d: d["checks"][0].update(samples=3), "samples is not a list"),
    (lambda d: d["checks"][0].update(tiers={"critical": "yes"}), "tiers malformed"),
    (lambda d: d["checks"][0].update(tiers={"urgent": True}), "tiers malformed"),
])
def test_each_breach_of_the_contract_is_named(mutate, problem):
    doc = {"run": dict(RUN), "checks": [check_record("RT-01", 45.0).to_dict()]}
    mutate(doc)
    problems = validate_results(doc)
    assert any(problem in p for p in problems), problems


def test_not_an_object_at_all():
    assert validate_results([]) == ["expected an object with 'run' (object) and 'checks' (list)"]


def test_round_trip_keeps_strict_json(tmp_path):
    record = check_record("RT-01", 45.0, samples=[1.0, float("nan")], details={"curve": [math.inf, 2.0]})
    path = write_results(tmp_path / "results.json", RUN, [record])
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = read_results(path)
    assert data["checks"][0]["samples"] == [1.0, None]
    assert data["schema"] == results_module.SCHEMA_VERSION
    frame = results_frame(data)
    assert list(frame["id"]) == ["RT-01"] and bool(frame["tier_critical"][0]) is True


def test_read_results_names_the_file(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text('{"run": {}, "checks": [')
    with pytest.raises(ValueError, match=rf"{bad}: cannot read results"):
        read_results(bad)
    bad.write_text(json.dumps({"run": {}, "checks": []}))
    with pytest.raises(ValueError, match=rf"{bad}: not a valid results file: run lacks 'id'"):
        read_results(bad)


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_results(tmp_path / "results.json", RUN, [check_record("RT-01", 45.0)])
    before = path.read_bytes()

    def torn_dump(obj, fh, **kwargs):
        fh.write('{"run": {"id": "half')  # what a crash mid-write would leave in the file being written
        raise OSError("disk full")

    monkeypatch.setattr(results_module.json, "dump", torn_dump)
    with pytest.raises(OSError, match="disk full"):
        write_results(path, RUN, [check_record("RT-01", 50.0)])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


WRITER = textwrap.dedent("""
    import sys
    from auralis_perf.results import check_record, write_results
    path = sys.argv[1]
    samples = [float(i) for i in range(400_000)]          # a few MB of JSON: each write takes a while
    for n in range(1, 10_000):
        run = {"id": str(n), "started_at": "", "finished_at": "", "engine": "e", "profile": "smoke",
               "machine": {}, "versions": {}, "parameters": {}}
        write_results(path, run, [check_record("RT-01", 45.0, samples=samples if n > 1 else [])])
""")


def _size(path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place between the listing and the stat
        return 0


def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path):
    path = tmp_path / "results.json"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            # Kill while a later version is being written into its temporary file, a whole one in place.
            if path.exists() and any(_size(p) > 0 for p in tmp_path.glob(".results.json.*.tmp")):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    data = read_results(path)  # whole and valid, never a torn file
    assert int(data["run"]["id"]) >= 1
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "results.json"]
    assert all(name.startswith(".results.json.") and name.endswith(".tmp") for name in leftovers)
