"""History store on a real PostgreSQL server (psycopg 3).

The server: $AURALIS_PERF_TEST_PG_URL if set (a database the tests may create databases beside), else a
throw-away cluster started here from /usr/lib/postgresql/*/bin (the `postgresql` Debian package, which
.ci/run installs), listening on a Unix socket in a temporary folder. PostgreSQL refuses to run as root,
so under root the cluster runs as the `postgres` user. Without any of this the tests skip, saying why.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from history_support import check, kill_half_way_through_an_append, results, timing
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from team_support import CATALOG, fill_store

from auralis_perf.dashboard import build_dashboard
from auralis_perf.history import SCHEMA_VERSION, HistorySchemaError, HistoryStore, resolve_baseline

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A URL of a server database on which CREATE DATABASE works."""
    preset = os.environ.get("AURALIS_PERF_TEST_PG_URL")
    if preset:
        yield preset
        return
    bindir = _bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server: no initdb under /usr/lib/postgresql/*/bin (install the 'postgresql' "
                    "package, as .ci/run does) and AURALIS_PERF_TEST_PG_URL is not set")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="auralis-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if owner is None or runuser is None:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root, and PostgreSQL refuses root: no 'postgres' user or no runuser to drop to")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = [runuser, "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "auralis", "-A", "trust", "-E", "UTF8", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
            f"-k {base} -p {port} -c listen_addresses='' -c fsync=off", "start")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server from {bindir}: {exc}")
    try:
        yield f"postgresql+psycopg://auralis@/postgres?host={base}&port={port}"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database per test."""
    name = f"auralis_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _doc(uid: str, value: float, **kwargs) -> dict:
    return results(uid, [timing("RT-06", [value, value * 1.02, value * 0.98, value, value * 1.01]),
                         check("DB-16", 3, unit="statements", kind="count")], **kwargs)


def test_postgres_round_trip(pg_url: str) -> None:
    with HistoryStore(pg_url) as store:
        assert store.is_postgresql
        first = store.append(_doc("pg-1", 10.0, started_at="2025-03-01T10:00:00+02:00"))
        second = store.append(_doc("pg-2", 11.0, started_at="2025-03-02T10:00:00Z"))
        assert store.append(_doc("pg-1", 10.0)) == first
        store.save_baseline("release", first)
        assert store.baseline("release", "m-test", "reference", "smoke")["run"]["id"] == "pg-1"
        assert resolve_baseline(None, _doc("pg-3", 1.0), store).run_id == second
        assert [p["value"] for p in store.series("RT-06", "m-test", "reference", "smoke")] == [10.0, 11.0]
        assert store.series("DB-16", "m-test", "reference", "smoke")[0]["kind"] == "count"
        assert store.integrity_problems() == []
    with HistoryStore(pg_url) as again:  # reopening finds the schema and the data
        assert again.count_runs() == 2


def test_postgres_newer_schema_is_refused(pg_url: str) -> None:
    store = HistoryStore(pg_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 5})
    store.close()
    with pytest.raises(HistorySchemaError, match=rf"schema version {SCHEMA_VERSION + 5}"):
        HistoryStore(pg_url)


_PG_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from auralis_perf.history import HistoryStore
    from history_support import results, timing
    with HistoryStore(sys.argv[1]) as store:
        for i in range(6):
            checks = [timing(f"RT-{k:02d}", [1.0, 1.1, 1.2, 1.0, 1.05]) for k in range(1, 11)]
            store.append(results(f"{sys.argv[2]}-{i}", checks, started_at=f"2025-01-01T00:{i:02d}:00Z"))
""")


def test_postgres_concurrent_writers_and_table_creation(pg_url: str) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _PG_WRITER, pg_url, f"w{w}", str(Path(__file__).parent)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True) for w in range(3)]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert outcomes and all(code == 0 for code, _ in outcomes), outcomes
    with HistoryStore(pg_url) as store:
        assert store.count_runs() == 18
        with store.engine.connect() as conn:
            counts = conn.execute(text("SELECT COUNT(*) FROM check_samples GROUP BY run_id")).scalars().all()
        assert counts == [10] * 18 and store.integrity_problems() == []


def test_postgres_killed_append_leaves_nothing(pg_url: str, tmp_path: Path) -> None:
    HistoryStore(pg_url).close()
    kill_half_way_through_an_append(pg_url, tmp_path / "marker")  # the same half-way-killed writer as for SQLite
    with HistoryStore(pg_url) as store:
        assert store.count_runs() == 0 and store.integrity_problems() == []
        store.append(_doc("after", 1.0))
        assert store.count_runs() == 1


def test_postgres_dashboard_reads_the_whole_shared_store(pg_url: str, tmp_path: Path) -> None:
    with HistoryStore(pg_url) as store:
        docs = fill_store(store, machines=3, engines=("reference",), profiles=("smoke",), runs_per_key=2)
    built = build_dashboard(pg_url, tmp_path / "site")
    html = built.path.read_text(encoding="utf-8")
    assert built.runs == len(docs) == 6
    assert all(f'id="chart-{check_id}-reference-smoke"' in html for check_id in CATALOG.ids())
    assert html.count('<tr id="run-') == 6 and html.count("[fp-m") >= 3
