"""History store on SQLite: round trip, baselines, schema refusal, concurrent writers, a killed writer."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from history_support import check, kill_half_way_through_an_append, results, timing
from sqlalchemy import text

from auralis_perf.history import (
    SCHEMA_VERSION,
    BaselineError,
    HistoryError,
    HistorySchemaError,
    HistoryStore,
    resolve_baseline,
    resolve_history_url,
)
from auralis_perf.history.urls import display_url, parse_url

ROOT = Path(__file__).resolve().parents[1]


def _doc(uid: str, value: float = 10.0, **kwargs) -> dict:
    return results(uid, [timing("RT-06", [value, value * 1.01, value * 0.99, value, value]),
                         check("DB-16", 3, unit="statements", kind="count")], **kwargs)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'reports' / 'history.sqlite'}"


def test_round_trip_baselines_and_series(url: str) -> None:
    with HistoryStore(url) as store:
        first = store.append(_doc("run-1", 10.0, started_at="2025-01-01T00:00:00Z"))
        second = store.append(_doc("run-2", 12.0, started_at="2025-01-02T00:00:00Z"))
        assert store.append(_doc("run-1", 10.0)) == first, "appending the same run again must not duplicate it"
        store.save_baseline("release", first)
        assert store.baseline("release", "m-test", "reference", "smoke")["run"]["id"] == "run-1"
        assert store.baseline("latest", "m-test", "reference", "smoke")["run"]["id"] == "run-2"
        assert store.baseline("latest", "m-test", "reference", "smoke", exclude_run_id=second)["run"]["id"] == "run-1"
        assert store.baseline("latest", "m-other", "reference", "smoke") is None
        assert store.baseline("latest", "m-test", "reference", "full") is None
        series = store.series("RT-06", {"fingerprint": "m-test"}, "reference", "smoke")
        assert [p["value"] for p in series] == [10.0, 12.0]
        assert series[0]["samples"] == [10.0, 10.1, 9.9, 10.0, 10.0] and series[0]["n_samples"] == 5
        assert store.count_runs() == 2 and store.integrity_problems() == []
    assert Path(parse_url(url).database).is_file(), "the SQLite file is created with its folder"


def test_saving_a_name_again_moves_it(url: str) -> None:
    with HistoryStore(url) as store:
        a, b = store.append(_doc("a")), store.append(_doc("b", started_at="2025-02-01T00:00:00Z"))
        store.save_baseline("main", a)
        store.save_baseline("main", b)
        assert store.baseline("main", "m-test", "reference", "smoke")["history"]["run_id"] == b
        assert len(store.baseline_names()) == 1
        for bad in ("", "latest", "x.json"):
            with pytest.raises(HistoryError, match="baseline name"):
                store.save_baseline(bad, a)
        with pytest.raises(HistoryError, match="no run with id 999"):
            store.save_baseline("other", 999)


def test_invalid_documents_are_refused_with_the_reason(url: str) -> None:
    with HistoryStore(url) as store:
        with pytest.raises(HistoryError, match="lacks 'engine'"):
            broken = _doc("x")
            del broken["run"]["engine"]
            store.append(broken)
        twice = _doc("y")
        twice["checks"].append(twice["checks"][0])
        with pytest.raises(HistoryError, match="RT-06"):
            store.append(twice)
        bad_time = _doc("z", started_at="yesterday")
        with pytest.raises(HistoryError, match="not an ISO-8601"):
            store.append(bad_time)
        assert store.count_runs() == 0


def test_newer_schema_is_refused_clearly(url: str) -> None:
    HistoryStore(url).close()
    store = HistoryStore(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    store.close()
    with pytest.raises(HistorySchemaError, match=rf"schema version {SCHEMA_VERSION + 1}.*understands version "
                                                 rf"{SCHEMA_VERSION}.*Upgrade auralis-perf"):
        HistoryStore(url)


def test_foreign_or_damaged_layout_is_refused(tmp_path: Path) -> None:
    foreign = f"sqlite:///{tmp_path / 'foreign.sqlite'}"
    store = HistoryStore(foreign)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE schema_version"))
    store.close()
    with pytest.raises(HistorySchemaError, match="no schema_version row"):
        HistoryStore(foreign)
    damaged = f"sqlite:///{tmp_path / 'damaged.sqlite'}"
    store = HistoryStore(damaged)
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (1, 'x', 'y')"))
    store.close()
    with pytest.raises(HistorySchemaError, match="exactly one integer version"):
        HistoryStore(damaged)


def test_urls_env_default_and_masking(tmp_path: Path) -> None:
    assert resolve_history_url(None, reports_dir=tmp_path, environ={}) == f"sqlite:///{tmp_path}/history.sqlite"
    assert resolve_history_url(None, environ={"AURALIS_PERF_HISTORY_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert resolve_history_url("sqlite:///y.db", environ={"AURALIS_PERF_HISTORY_URL": "sqlite:///x.db"}) == "sqlite:///y.db"
    assert resolve_history_url(str(tmp_path / "h.sqlite"), environ={}).startswith("sqlite:////")
    assert parse_url("postgresql://u:secret@h/db").drivername == "postgresql+psycopg"
    assert "secret" not in display_url("postgresql://u:secret@h/db")
    with pytest.raises(HistoryError, match="not a SQLAlchemy URL"):
        HistoryStore("not a url at all")
    with pytest.raises(HistoryError, match="OperationalError"):
        HistoryStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_resolve_baseline_rules(url: str, tmp_path: Path) -> None:
    with HistoryStore(url) as store:
        current = _doc("now")
        assert not resolve_baseline(None, current, store).found, "the first run has nothing to compare with"
        run_id = store.append(_doc("earlier", machine="m-elsewhere"))
        store.save_baseline("release", run_id)
        assert not resolve_baseline("latest", current, store).found
        assert resolve_baseline("latest", current, store, cross_machine=True).cross_machine
        with pytest.raises(BaselineError, match="another machine.*--cross-machine"):
            resolve_baseline("release", current, store)
        assert resolve_baseline("release", current, store, cross_machine=True).run_id == run_id
        with pytest.raises(BaselineError, match="no baseline named 'nope'.*release"):
            resolve_baseline("nope", current, store)
    path = tmp_path / "old" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_doc("file-run", machine="m-elsewhere")))
    with pytest.raises(BaselineError, match="another machine"):
        resolve_baseline(str(path), current, None)
    assert resolve_baseline(str(path), current, None, cross_machine=True).results["run"]["id"] == "file-run"
    path.write_text(json.dumps(_doc("file-run", profile="full")))
    with pytest.raises(BaselineError, match="profiles use different sizes"):
        resolve_baseline(str(path), current, None)


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from auralis_perf.history import HistoryStore
    from history_support import check, kill_half_way_through_an_append, results, timing
    url, prefix, barrier = sys.argv[1], sys.argv[2], Path(sys.argv[5])
    with HistoryStore(url) as store:
        (barrier / prefix).touch()
        while not (barrier / "go").exists():  # start appending together with the other writers
            time.sleep(0.01)
        for i in range(int(sys.argv[4])):
            checks = [timing(f"RT-{k:02d}", [1.0 + k, 1.1 + k, 1.2 + k, 1.0 + k, 1.05 + k]) for k in range(1, 21)]
            store.append(results(f"{prefix}-{i}", checks, started_at=f"2025-01-01T00:{i:02d}:00Z"))
""")


def test_concurrent_writers_do_not_corrupt_the_store(url: str, tmp_path: Path) -> None:
    writers, per_writer = 4, 8
    tests_dir = str(Path(__file__).parent)  # the writers also race to create the tables
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, url, f"w{w}", tests_dir, str(per_writer), str(tmp_path)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True) for w in range(writers)]
    deadline = time.monotonic() + 90
    while sum((tmp_path / f"w{w}").exists() for w in range(writers)) < writers and time.monotonic() < deadline:
        assert all(p.poll() in (None, 0) for p in procs), [p.stderr.read() for p in procs if p.poll()]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    errors = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert errors and all(code == 0 for code, _ in errors), errors
    with HistoryStore(url) as store:
        assert store.count_runs() == writers * per_writer
        assert store.integrity_problems() == []
        with store.engine.connect() as conn:
            per_run = conn.execute(text("SELECT run_id, COUNT(*) FROM check_samples GROUP BY run_id")).all()
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert len(per_run) == writers * per_writer and {n for _, n in per_run} == {20}


def test_a_killed_append_leaves_nothing(url: str, tmp_path: Path) -> None:
    HistoryStore(url).close()
    kill_half_way_through_an_append(url, tmp_path / "marker")
    with HistoryStore(url) as store:
        assert store.count_runs() == 0
        assert store.series("RT-06", "m-test", "reference", "smoke") == []
        assert store.integrity_problems() == []
        store.append(_doc("after"))  # the dead writer's lock is gone
        assert store.count_runs() == 1
