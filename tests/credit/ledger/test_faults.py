"""Faults and load: concurrent writers, a killed writer, locks, read-only, migrations, URLs."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from credit.ledger import Ledger, LedgerError, sqlite_url
from credit.ledger import db as ledger_db
from tests.credit.ledger._batches import make_batch, record_range, record_to_queue

CTX = mp.get_context("spawn")


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


def test_two_processes_recording_overlapping_batches_lose_and_duplicate_nothing(db_path):
    url = sqlite_url(db_path)
    Ledger.open(url).close()
    queue, barrier = CTX.Queue(), CTX.Barrier(2)
    # 0..5999 and 3000..8999: 3,000 applications in both batches
    procs = [
        CTX.Process(target=record_to_queue, args=(queue, url, start, 6000, 250, "1.0+abc", barrier))
        for start in (0, 3000)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(r.inserted for r in results) == 9000
    assert sum(r.skipped for r in results) == 3000
    con = sqlite3.connect(db_path)
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT application_id || '|' || bundle_version) FROM decisions"
    ).fetchone()
    assert total == distinct == 9000
    assert con.execute("SELECT count(*) FROM applications").fetchone()[0] == 9000
    con.close()


def test_a_killed_run_leaves_whole_chunks_and_a_rerun_completes_with_exact_counts(db_path):
    url = sqlite_url(db_path)
    Ledger.open(url).close()
    n, chunk = 60_000, 1_000
    proc = CTX.Process(target=record_range, args=(url, 0, n, chunk))
    proc.start()
    con = sqlite3.connect(db_path, timeout=30)
    deadline = time.monotonic() + 120
    done = 0
    while done < 3 * chunk and time.monotonic() < deadline and proc.is_alive():
        time.sleep(0.01)
        done = con.execute("SELECT count(*) FROM decisions").fetchone()[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    recorded = con.execute("SELECT count(*) FROM decisions").fetchone()[0]
    con.close()
    assert 0 < recorded < n, "the run should have been killed mid-batch"
    assert recorded % chunk == 0  # whole chunks only: each is one transaction
    with Ledger.open(url) as ledger:
        assert ledger.counts()["applications"] == recorded
        counts = ledger.record(*make_batch(n), chunk_size=chunk)
        assert (counts.inserted, counts.skipped) == (n - recorded, recorded)
        assert ledger.counts()["decisions"] == n


def test_a_locked_database_is_one_line_after_the_busy_timeout(db_path: Path):
    url = sqlite_url(db_path)
    Ledger.open(url).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with Ledger.open(url, busy_timeout=0.2) as ledger:
            start = time.monotonic()
            with pytest.raises(LedgerError) as err:
                ledger.record(*make_batch(5))
            assert time.monotonic() - start < 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "is locked" in _one_line(err) and "0.2 s busy timeout" in str(err.value)


def test_a_read_only_database_is_one_line(db_path: Path):
    Ledger.open(sqlite_url(db_path)).close()
    ro = f"sqlite:///file:{db_path}?mode=ro&uri=true"
    with Ledger.open(ro) as ledger:
        assert ledger.counts()["decisions"] == 0  # reading works
        with pytest.raises(LedgerError) as err:
            ledger.record(*make_batch(5))
    assert "is read-only" in _one_line(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_file_is_one_line(db_path: Path):
    Ledger.open(sqlite_url(db_path)).close()
    for p in db_path.parent.iterdir():
        p.chmod(0o444)
    db_path.parent.chmod(0o555)
    try:
        with pytest.raises(LedgerError) as err, Ledger.open(sqlite_url(db_path)) as ledger:
            ledger.record(*make_batch(5))
        assert "read-only" in _one_line(err) or "cannot" in str(err.value)
    finally:
        db_path.parent.chmod(0o755)


def test_a_database_without_the_schema_is_refused_unless_created(tmp_path: Path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(LedgerError) as err:
        Ledger.open(sqlite_url(path), create=False)
    assert "no ledger schema (migration missing)" in _one_line(err)
    with pytest.raises(LedgerError, match="no ledger database at"):
        Ledger.open(sqlite_url(tmp_path / "absent.db"), create=False)


def _at_first_migration(url: str) -> None:
    """A ledger created by the first release (migration 0001), with one decision in it."""
    engine = ledger_db.make_engine(ledger_db.parse_url(url))
    with engine.connect() as conn, conn.begin():
        ledger_db.upgrade(conn, "0001")
    engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_database_behind_the_code_is_refused_unless_upgraded(backend, db_path, request):
    url = sqlite_url(db_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    if backend == "sqlite":
        db_path.parent.mkdir(parents=True)
    _at_first_migration(url)
    with pytest.raises(LedgerError) as err:
        Ledger.open(url)
    assert "is at migration 0001, behind 0002" in _one_line(err)
    assert "upgrade=True" in str(err.value)
    with Ledger.open(url, upgrade=True) as ledger:  # 0001 -> 0002 keeps what is there
        assert ledger.revision() == "0002"
        ledger.record(*make_batch(4))
        assert ledger.counts()["proposals"] == 0


def test_a_database_ahead_of_the_code_is_refused(db_path):
    url = sqlite_url(db_path)
    Ledger.open(url).close()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match="0099, newer than this code"):
        Ledger.open(url, upgrade=True)


def test_a_foreign_database_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(LedgerError, match="not a ledger database"):
        Ledger.open(sqlite_url(path))


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "not a valid SQLAlchemy URL"),
        ("nosuchdb+nodriver://u:s3cret-pw@localhost/x", "no driver"),
        ("postgresql+psycopg://u:s3cret-pw@127.0.0.1:1/ledger", "cannot connect to ledger"),
    ],
)
def test_bad_urls_are_one_line_without_the_password(url, message):
    with pytest.raises(LedgerError) as err:
        Ledger.open(url)
    assert message in _one_line(err)
    assert "s3cret-pw" not in str(err.value)


def test_the_password_from_the_environment_is_used_and_never_shown(monkeypatch):
    monkeypatch.setenv("CREDITRISK_DB_PASSWORD", "env-s3cret")
    url = ledger_db.parse_url("postgresql+psycopg://u@127.0.0.1:1/ledger")
    assert url.password == "env-s3cret"
    assert "env-s3cret" not in ledger_db.masked(url)
    with pytest.raises(LedgerError) as err:
        Ledger.open("postgresql+psycopg://u@127.0.0.1:1/ledger")
    assert "env-s3cret" not in str(err.value) and "***" in str(err.value)
    assert ledger_db.parse_url("sqlite:///x.db").password is None


@pytest.mark.postgres
def test_postgresql_needs_the_password_from_the_environment(pg_url, monkeypatch):
    with Ledger.open(pg_url, create=True) as ledger:  # pg_url has no password: env has it
        assert ledger.revision() == ledger_db.head_revision()
    monkeypatch.setenv("CREDITRISK_DB_PASSWORD", "wrong-pw")
    with pytest.raises(LedgerError) as err:
        Ledger.open(pg_url)
    assert "cannot connect" in _one_line(err) and "wrong-pw" not in str(err.value)


@pytest.mark.postgres
def test_postgresql_without_the_schema_is_refused_unless_created(pg_url):
    with pytest.raises(LedgerError, match="no ledger schema"):
        Ledger.open(pg_url)
