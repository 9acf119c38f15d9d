"""Decision ledger: an append-only record of credit decisions, overrides and approvals.

SQLAlchemy 2 Core tables with Alembic migrations shipped in the package; any SQLAlchemy URL
works (embedded SQLite in WAL mode by default, PostgreSQL tested against a real server)::

    from credit.ledger import Ledger, sqlite_url

    with Ledger.open(sqlite_url("data/ledger/ledger.db")) as ledger:   # created on first use
        counts = ledger.record(scores, features, registry_version="3")  # idempotent
        ledger.approve("A0000002", who="ann", role="analyst", reason="...", limit=20_000)
        ledger.effective_limits("2026-06-30")
        done = ledger.propose(book.reviews, "2025-06-30", bundle_version="3")  # idempotent
        ledger.approve_proposal(done.ids[0], who="bob", role="credit_manager", reason="...")
        inputs = ledger.replay_inputs("A0000002")  # bundle version, feature row, outputs

PostgreSQL: ``Ledger.open("postgresql+psycopg://ledger@db-host:5432/ledger", create=True)``
creates the schema in an empty database (a server database is never created implicitly). The
password comes from ``$CREDITRISK_DB_PASSWORD`` when the URL has none; messages show URLs with
the password masked. A database behind the code's migration is refused unless opened with
``upgrade=True``. Every failure is a ``LedgerError`` (a ``features.errors.DataError``): one
line, for the CLI to print.
"""

from credit.ledger.authority import AuthorityConfig, AuthorityError, Role, check
from credit.ledger.errors import LedgerError
from credit.ledger.features import canonical_json, decode_features, feature_hash
from credit.ledger.ledger import (
    Action,
    Counts,
    EffectiveLimit,
    Ledger,
    ProposalOutcome,
    Proposed,
    ReplayInputs,
    diff_outputs,
    sqlite_url,
)

__all__ = [
    "Action",
    "AuthorityConfig",
    "AuthorityError",
    "Counts",
    "EffectiveLimit",
    "Ledger",
    "LedgerError",
    "ProposalOutcome",
    "Proposed",
    "ReplayInputs",
    "Role",
    "canonical_json",
    "check",
    "decode_features",
    "diff_outputs",
    "feature_hash",
    "sqlite_url",
]
