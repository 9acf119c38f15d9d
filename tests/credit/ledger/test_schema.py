"""Schema and migrations on a fresh database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from credit.ledger import Ledger, sqlite_url
from credit.ledger.db import MIGRATIONS, alembic_config, head_revision
from credit.ledger.schema import metadata

TABLES = {
    "customers",
    "applications",
    "feature_schemas",
    "decisions",
    "actions",
    "proposals",
    "proposal_outcomes",
    "alembic_version",
}


def test_first_use_creates_the_sqlite_file_in_wal_mode_at_head(db_path: Path):
    assert not db_path.parent.exists()
    with Ledger.open(sqlite_url(db_path)) as ledger:
        assert ledger.revision() == head_revision() == "0002"
        assert set(ledger.counts().values()) == {0}
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names >= TABLES
    views = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"limit_events"}
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert triggers == {
        "decisions_no_update",
        "decisions_no_delete",
        "actions_no_update",
        "actions_no_delete",
        "proposals_no_update",
        "proposals_no_delete",
        "proposal_outcomes_no_update",
        "proposal_outcomes_no_delete",
    }
    con.close()


def test_reopening_is_a_no_op(db_path: Path):
    Ledger.open(sqlite_url(db_path)).close()
    with Ledger.open(sqlite_url(db_path), create=False) as ledger:
        assert ledger.revision() == head_revision()


def test_migration_matches_the_table_definitions(any_ledger: Ledger):
    """The migration and schema.py describe the same tables (no autogenerate diff)."""
    with any_ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_decisions_are_unique_per_application_and_bundle(any_ledger: Ledger):
    insp = sa.inspect(any_ledger.engine)
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("decisions")}
    assert ("application_id", "bundle_version") in uniques


def test_proposals_are_unique_per_customer_and_review_date_with_one_outcome(any_ledger: Ledger):
    insp = sa.inspect(any_ledger.engine)
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("proposals")}
    assert ("customer_id", "as_of", "source") in uniques
    outcomes = {tuple(u["column_names"]) for u in insp.get_unique_constraints("proposal_outcomes")}
    assert ("proposal_id",) in outcomes


def test_downgrade_to_the_first_migration_and_back(any_url: str):
    with Ledger.open(any_url, create=True) as ledger:
        with ledger.engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), "0001")
        tables = set(sa.inspect(ledger.engine).get_table_names())
        assert "proposals" not in tables and "decisions" in tables
    with Ledger.open(any_url, upgrade=True) as ledger:
        assert ledger.revision() == head_revision()


def test_migration_scripts_ship_inside_the_package():
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS / "versions" / "0002_proposals.py").is_file()
    assert "credit" in MIGRATIONS.parts


def test_revision_chain_read_from_the_scripts_equals_alembics(db_path: Path):
    from alembic.script import ScriptDirectory

    from credit.ledger.db import current_revision, known_revisions

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert head_revision() == scripts.get_current_head()
    assert known_revisions() == {s.revision for s in scripts.walk_revisions()}
    with Ledger.open(sqlite_url(db_path)) as ledger, ledger.engine.connect() as conn:
        assert current_revision(conn) == MigrationContext.configure(conn).get_current_revision()
        conn.exec_driver_sql("DELETE FROM alembic_version")
        assert current_revision(conn) is None
        conn.rollback()
