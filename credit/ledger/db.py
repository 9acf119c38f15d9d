"""Engines, migrations and error translation: each database failure is one LedgerError line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from credit.ledger.errors import LedgerError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PASSWORD_ENV = "CREDITRISK_DB_PASSWORD"
DEFAULT_BUSY_TIMEOUT = 30.0


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """SQLAlchemy URL of a SQLite file (absolute path)."""
    return f"sqlite:///{Path(path).resolve()}"


def parse_url(url: str | URL) -> URL:
    """The URL, with the password from ``$CREDITRISK_DB_PASSWORD`` when it has none."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise LedgerError(
            "ledger URL is not a valid SQLAlchemy URL (expected "
            "dialect+driver://user@host:port/database or sqlite:///path)"
        ) from None
    if (
        parsed.get_backend_name() != "sqlite"
        and parsed.password is None
        and os.environ.get(PASSWORD_ENV)
    ):
        parsed = parsed.set(password=os.environ[PASSWORD_ENV])
    return parsed


def masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for in-memory or URI-style databases."""
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database or ""
    if db in ("", ":memory:") or db.startswith("file:") or url.query.get("uri"):
        return None
    return Path(db)


def make_engine(url: URL, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Engine:
    """An engine; for SQLite: busy timeout, foreign keys, synchronous=NORMAL, and transactions
    that begin IMMEDIATE when a connection asks for ``execution_options(immediate=True)``."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})
            _sqlite_events(engine, busy_timeout)
        else:
            args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
            engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)
    except (sa.exc.NoSuchModuleError, ImportError, sa.exc.ArgumentError) as exc:
        raise LedgerError(
            f"ledger database {masked(url)}: no driver for this URL ({_first_line(exc, url)})"
        ) from None
    return engine


def _sqlite_events(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("immediate") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _first_line(exc: BaseException, url: URL | None = None) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return text


def _kind(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).lower()
    if re.search(r"database is locked|database table is locked|database is busy", text):
        return "locked"
    if re.search(r"readonly database|read-only|read only", text):
        return "readonly"
    if re.search(r"append-only", text):
        return "append-only"
    if re.search(
        r"unable to open database|connection refused|could not connect|"
        r"connection failed|could not translate host|timeout expired|"
        r"password authentication failed|no such host|"
        r"name or service not known|server closed the connection",
        text,
    ):
        return "connect"
    return "other"


@contextmanager
def translated(url: URL, busy_timeout: float, connecting: bool = False) -> Iterator[None]:
    """Turn database errors into one-line LedgerErrors (password masked)."""
    try:
        yield
    except LedgerError:
        raise
    except sa.exc.DBAPIError as exc:
        raise _translate(exc, url, busy_timeout, connecting) from None


def _translate(
    exc: sa.exc.DBAPIError, url: URL, busy_timeout: float, connecting: bool
) -> LedgerError:
    where = f"ledger database {masked(url)}"
    kind = _kind(exc)
    line = _first_line(exc, url)
    if kind == "locked":
        return LedgerError(
            f"{where} is locked: another process held it longer than the "
            f"{busy_timeout:g} s busy timeout; retry when it finishes"
        )
    if kind == "readonly":
        return LedgerError(f"{where} is read-only: {line}")
    if kind == "append-only":
        return LedgerError(f"{where}: {line}")
    if connecting or kind == "connect" or exc.connection_invalidated:
        return LedgerError(f"cannot connect to {where}: {line}")
    return LedgerError(f"{where}: {line}")


def alembic_config(conn: Connection):
    """Alembic configuration built in code; scripts ship inside the package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(None|['\"]([^'\"]+)['\"])", re.M)


def _chain() -> dict[str, str | None]:
    """revision -> down_revision, read from the migration scripts' text.

    Opening a ledger only compares revision ids; reading them without importing Alembic keeps
    a one-decision command (``decisions replay``) about 0.1 s faster. A test checks this equals
    Alembic's own ``ScriptDirectory``."""
    chain: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = {m[0]: m[2] or None for m in _REVISION.findall(path.read_text(encoding="utf-8"))}
        if "revision" in found:
            chain[found["revision"]] = found.get("down_revision")
    return chain


def head_revision() -> str:
    chain = _chain()
    heads = set(chain) - set(chain.values())
    if len(heads) != 1:
        raise LedgerError(f"ledger migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def known_revisions() -> set[str]:
    return set(_chain())


def current_revision(conn: Connection) -> str | None:
    """The revision recorded in the database (Alembic's ``alembic_version`` table), or None."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(rows) > 1:
        raise LedgerError(f"the ledger records {len(rows)} migration heads: {sorted(rows)}")
    return rows[0] if rows else None


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``conn`` (inside its transaction)."""
    from alembic import command

    command.upgrade(alembic_config(conn), revision)
