"""Decision ledger: an append-only record of credit decisions, overrides and approvals.

SQLAlchemy 2 Core tables with Alembic migrations shipped in the package; any SQLAlchemy URL
works (embedded SQLite in WAL mode by default, PostgreSQL tested against a real server).
"""

from credit.ledger.authority import AuthorityConfig, AuthorityError, Role, check
from credit.ledger.errors import LedgerError
from credit.ledger.features import canonical_json, decode_features, feature_hash
from credit.ledger.ledger import (
    Action,
    Counts,
    EffectiveLimit,
    Ledger,
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
    "ReplayInputs",
    "Role",
    "canonical_json",
    "check",
    "decode_features",
    "diff_outputs",
    "feature_hash",
    "sqlite_url",
]
