"""Ledger errors: one line each, never a password."""

from __future__ import annotations

from features.errors import DataError


class LedgerError(DataError):
    """The ledger cannot do what was asked (connection, lock, read-only, migration, input).

    The message is one line and names the database with its password masked.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
