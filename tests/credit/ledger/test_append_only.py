"""Decisions and actions are append-only in the database itself: raw SQL cannot change them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from credit.ledger import Ledger, sqlite_url
from tests.credit.ledger._batches import make_batch

STATEMENTS = [
    "UPDATE decisions SET credit_limit = 999999 WHERE application_id = 'A0000002'",
    "DELETE FROM decisions WHERE application_id = 'A0000002'",
    "UPDATE actions SET credit_limit = 999999",
    "DELETE FROM actions",
]


def _with_an_action(ledger: Ledger) -> None:
    ledger.record(*make_batch(8))
    ledger.approve("A0000002", "ann", "analyst", "documents checked", limit=10_000)


@pytest.mark.parametrize("statement", STATEMENTS)
def test_sqlite_refuses_updates_and_deletes(db_path: Path, statement: str):
    with Ledger.open(sqlite_url(db_path)) as ledger:
        _with_an_action(ledger)
        before = ledger.show("A0000002")
    con = sqlite3.connect(db_path)  # no ledger code involved: the triggers refuse
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement)
    con.close()
    with Ledger.open(sqlite_url(db_path)) as ledger:
        after = ledger.show("A0000002")
    assert after["current"] == before["current"]
    assert after["decisions"].equals(before["decisions"])


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [*STATEMENTS, "TRUNCATE decisions CASCADE"])
def test_postgresql_refuses_updates_deletes_and_truncate(pg_url: str, pg_server, statement):
    with Ledger.open(pg_url, create=True) as ledger:
        _with_an_action(ledger)
        before = ledger.counts()
    dbname = sa.engine.make_url(pg_url).database
    con = psycopg.connect(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        password=pg_server.password,
        dbname=dbname,
    )
    with con, pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        con.execute(statement)
    with Ledger.open(pg_url) as ledger:
        assert ledger.counts() == before
