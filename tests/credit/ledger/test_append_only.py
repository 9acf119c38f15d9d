"""Decisions, actions, proposals and their outcomes are append-only in the database itself: raw
SQL cannot change them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
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
    "UPDATE proposals SET proposed_limit = 999999",
    "UPDATE proposals SET required_role = 'analyst'",
    "DELETE FROM proposals",
    "UPDATE proposal_outcomes SET outcome = 'reject', action_id = NULL",
    "UPDATE proposal_outcomes SET reason = 'x'",
    "DELETE FROM proposal_outcomes",
]


def _with_an_action(ledger: Ledger) -> None:
    """An approval, and two review proposals: one approved (an override), one pending."""
    ledger.record(*make_batch(8), decided_at="2026-01-01")
    ledger.approve("A0000002", "ann", "analyst", "documents checked", limit=10_000)
    now = ledger.effective_limits("2026-01-31").set_index("customer_id")
    reviews = pd.DataFrame(
        {
            "customer_id": ["A0000001", "A0000004"],
            "credit_limit": now.loc[["A0000001", "A0000004"], "credit_limit"].to_numpy(),
            "payment_terms_days": 30,
            "security": "none",
            "recommended_limit": [40_000.0, 45_000.0],
            "recommended_terms_days": 45,
            "recommended_security": "none",
            "why": "scheduled",
            "limit_rule": "customer's need",
            "terms_reason": "lengthen",
            "security_reason": "keep",
            "approver": "credit_manager",
        }
    )
    done = ledger.propose(reviews, "2026-01-31", "1.0+abc", proposed_at="2026-02-01")
    assert done.recorded == 2
    ledger.approve_proposal(done.ids[0], "bob", "credit_manager", "grows with us")


@pytest.mark.parametrize("statement", STATEMENTS)
def test_sqlite_refuses_updates_and_deletes(db_path: Path, statement: str):
    with Ledger.open(sqlite_url(db_path)) as ledger:
        _with_an_action(ledger)
        before = ledger.show("A0000002")
        proposals_before = ledger.list_proposals()
    con = sqlite3.connect(db_path)  # no ledger code involved: the triggers refuse
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement)
    con.close()
    with Ledger.open(sqlite_url(db_path)) as ledger:
        after = ledger.show("A0000002")
        proposals_after = ledger.list_proposals()
    assert after["current"] == before["current"]
    assert after["decisions"].equals(before["decisions"])
    assert proposals_after.equals(proposals_before)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        *STATEMENTS,
        "TRUNCATE decisions CASCADE",
        "TRUNCATE proposals CASCADE",
        "TRUNCATE proposal_outcomes",
    ],
)
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
