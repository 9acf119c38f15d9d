"""Params section ``ledger``: where the decision ledger lives and who may approve what.

``url`` empty means the embedded SQLite file ``data/ledger/ledger.db`` of the project; any
SQLAlchemy URL works otherwise (``postgresql+psycopg://ledger@db-host:5432/ledger``). A
password never comes from params: it is read from ``$CREDITRISK_DB_PASSWORD`` when the ledger
is opened, and a URL written with one is refused here.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from credit.ledger.authority import AuthorityConfig
from features.config import settings

DEFAULT_AUTHORITY: dict[str, Any] = {
    "roles": [
        {"name": "analyst", "max_limit": 50_000},
        {"name": "credit_manager", "max_limit": 500_000},
        {"name": "committee", "max_limit": None},
    ],
    "knockout_override_role": "committee",
}


@settings
class LedgerSettings:
    """Section ``ledger``."""

    url: str = ""
    authority: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_AUTHORITY))
    busy_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.url:
            import sqlalchemy as sa

            try:
                parsed = sa.engine.make_url(self.url)
            except (sa.exc.ArgumentError, ValueError, TypeError):
                raise ValueError(
                    "url must be empty (the default SQLite file) or a SQLAlchemy URL such as "
                    "postgresql+psycopg://user@host:5432/db"
                ) from None
            if parsed.password is not None:
                raise ValueError(
                    "url: remove the password from params; set $CREDITRISK_DB_PASSWORD instead"
                )
        if not self.busy_timeout > 0:
            raise ValueError(f"busy_timeout must be > 0 seconds; got {self.busy_timeout}")
        self.authority_config()  # refused now, with the key named, rather than on first use

    def authority_config(self) -> AuthorityConfig:
        return AuthorityConfig.from_mapping(self.authority)
