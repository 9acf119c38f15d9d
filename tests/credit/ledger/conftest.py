"""Ledger fixtures: a fresh SQLite ledger per test, and a throwaway PostgreSQL server.

PostgreSQL: the Debian server binaries (``/usr/lib/postgresql/<v>/bin``, installed by
``.ci/install-postgres``) start one server per test session (per xdist worker) on a free port,
in a temporary folder. initdb and the server refuse to run as root, so when we are root both run
as the ``postgres`` user through ``runuser``. Each test gets its own database from
pytest-postgresql's ``DatabaseJanitor``. The server requires a password over TCP, so the tests
also prove that ``$CREDITRISK_DB_PASSWORD`` reaches the connection. Without the binaries the
tests skip with a message; with ``$CI`` set they fail instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credit.ledger import Ledger, sqlite_url

PG_USER = "ledger"
PG_PASSWORD = "s3cret-pw"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger" / "ledger.db"


@pytest.fixture
def ledger(db_path: Path) -> Iterator[Ledger]:
    with Ledger.open(sqlite_url(db_path)) as led:
        yield led


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    bindir: Path

    def url(self, dbname: str, password: bool = False) -> str:
        pw = f":{self.password}" if password else ""
        return f"postgresql+psycopg://{self.user}{pw}@{self.host}:{self.port}/{dbname}"


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the PostgreSQL tests: run .ci/install-postgres)")
    pytest.skip(reason=message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if os.environ.get("PG_BINDIR"):
        found = [str(Path(os.environ["PG_BINDIR"]) / "pg_ctl")]
    found = [f for f in found if os.access(f, os.X_OK)]
    if not found:
        return None
    return Path(
        max(found, key=lambda f: int(Path(f).parts[-3]) if Path(f).parts[-3].isdigit() else 0)
    ).parent


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _pg_bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/<v>/bin/pg_ctl); "
            "install them with .ci/install-postgres"
        )
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    if os.geteuid() == 0:  # initdb and postgres refuse root: run them as 'postgres'
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            _unavailable("running as root and there is no 'postgres' user to run the server")
        if shutil.which("runuser") is None:
            shutil.rmtree(root)
            _unavailable("running as root and runuser (util-linux) is missing")
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    pwfile = root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        f"-c synchronous_commit=off -c full_page_writes=off"
    )
    started = subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        capture_output=True,
    )
    if started.returncode != 0:
        text = log.read_text() if log.exists() else started.stderr.decode()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {text[-2000:]}")
    try:
        yield PgServer("127.0.0.1", port, PG_USER, PG_PASSWORD, bindir)
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer, request, monkeypatch) -> Iterator[str]:
    """A fresh database on the test server; the URL has no password: it comes from the env."""
    from pytest_postgresql.janitor import DatabaseJanitor

    dbname = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    monkeypatch.setenv("CREDITRISK_DB_PASSWORD", pg_server.password)
    with DatabaseJanitor(
        user=pg_server.user,
        host=pg_server.host,
        port=pg_server.port,
        dbname=dbname,
        password=pg_server.password,
    ):
        yield pg_server.url(dbname)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_url(request, db_path: Path) -> str:
    """The same test on the embedded SQLite ledger and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(db_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_ledger(any_url: str) -> Iterator[Ledger]:
    with Ledger.open(any_url, create=True) as led:
        yield led
