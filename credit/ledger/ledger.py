"""The ``Ledger``: record decisions idempotently, approve/decline/override them within authority,
record review proposals and approve or reject them within authority, list and show them,
effective limits as of a date, and the inputs to replay a decision."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from credit.ledger import db
from credit.ledger import features as fx
from credit.ledger.authority import DEFAULT_AUTHORITY, AuthorityConfig, AuthorityError, check
from credit.ledger.db import sqlite_url
from credit.ledger.errors import LedgerError
from credit.ledger.proposals import (
    SKIPPED,
    ProposalOutcome,
    Proposed,
    differs_from,
    money,
    review_rows,
    security_or_none,
)
from credit.ledger.schema import (
    PROPOSAL_SOURCE,
    SECURITY,
    actions,
    applications,
    customers,
    decisions,
    feature_schemas,
    limit_events,
    proposal_outcomes,
    proposals,
)

__all__ = [
    "Action",
    "Counts",
    "EffectiveLimit",
    "Ledger",
    "ProposalOutcome",
    "Proposed",
    "ReplayInputs",
    "diff_outputs",
    "sqlite_url",
]

ID_COLUMNS = ("applicant_id", "customer_id")
OUTPUT_FIELDS = (
    "pd",
    "score",
    "grade",
    "decision",
    "knockout_rule",
    "credit_limit",
    "limit_rule",
    "payment_terms_days",
    "security",
)
DEFAULT_CHUNK = 20_000
SQLITE_PAGE_SIZE = 65536
_SQLITE_DT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format


@dataclass(frozen=True)
class Counts:
    """What one ``record`` call did: ``inserted + skipped == rows``."""

    rows: int
    inserted: int
    skipped: int

    def __post_init__(self) -> None:
        if self.inserted + self.skipped != self.rows:
            raise AssertionError(f"counts do not add up: {self}")


@dataclass(frozen=True)
class Action:
    """One approval, decline or override as recorded."""

    id: int
    decision_id: int
    application_id: str
    kind: str
    who: str
    role: str
    decision: str
    credit_limit: float
    payment_terms_days: int
    security: str | None
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class EffectiveLimit:
    """A customer's limit and terms as of a date, and the event that set them."""

    customer_id: str
    application_id: str
    decision: str
    credit_limit: float
    payment_terms_days: int
    security: str | None
    source: str  # 'decision' or the action kind
    source_id: int
    at: dt.datetime


EFFECTIVE_FIELDS = [f.name for f in EffectiveLimit.__dataclass_fields__.values()]
IN_CHUNK = 5_000  # ids per IN (...) list


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


@dataclass(frozen=True)
class ReplayInputs:
    """What a replay needs: the bundle to load, the stored feature row, the recorded outputs."""

    application_id: str
    bundle_version: str
    registry_version: str | None
    features: pd.DataFrame  # one row, original dtypes, plus applicant_id
    recorded: dict[str, Any]  # the score() output fields as recorded
    feature_hash: str


def _utc_naive(value: dt.datetime | dt.date | str | pd.Timestamp | None) -> dt.datetime:
    """Timestamps are stored as naive UTC."""
    if value is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _decision_times(
    decided_at: dt.datetime | dt.date | str | pd.Series | Sequence | None, n: int
) -> list[dt.datetime]:
    """One naive-UTC time per row: ``decided_at`` is one time for all rows, or one per row."""
    if isinstance(decided_at, pd.Series | np.ndarray | list | tuple | pd.Index):
        if len(decided_at) != n:
            raise LedgerError(
                f"decided_at: one time per decision is needed; got {len(decided_at):,} "
                f"for {n:,} decisions"
            )
        times = pd.to_datetime(pd.Series(list(decided_at)), utc=True)
        if times.isna().any():
            raise LedgerError("decided_at has missing values")
        return [t.to_pydatetime() for t in times.dt.tz_localize(None)]
    return [_utc_naive(decided_at)] * n


def _day(value: dt.date | dt.datetime | str, name: str) -> dt.date:
    """A calendar date (YYYY-MM-DD, a date, or a timestamp's date)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise LedgerError(f"{name} must be a date YYYY-MM-DD; got {value!r}") from None
    if pd.isna(ts):
        raise LedgerError(f"{name} must be a date YYYY-MM-DD; got {value!r}")
    return ts.date()


def _proposal_id(value: Any) -> int:
    try:
        pid = int(value)
    except (TypeError, ValueError):
        pid = -1
    if isinstance(value, bool) or pid < 1 or (isinstance(value, float) and pid != value):
        raise LedgerError(f"a proposal id is a whole number >= 1; got {value!r}")
    return pid


def _require_who_and_reason(what: str, who: Any, reason: Any) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise LedgerError(f"{what}: a reason is required")
    if not isinstance(who, str) or not who.strip():
        raise LedgerError(f"{what}: who acts is required")


def _end_of(as_of: dt.date | dt.datetime | str) -> dt.datetime:
    """Events up to and including ``as_of`` (a date means the whole day)."""
    if (
        isinstance(as_of, str)
        and len(as_of) == 10
        or isinstance(as_of, dt.date)
        and not isinstance(as_of, dt.datetime)
    ):
        day = pd.Timestamp(as_of).date()
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) - dt.timedelta(
            microseconds=1
        )
    return _utc_naive(as_of)


def _encode_chunk(frame: pd.DataFrame) -> tuple[list[bytes], list[str]]:
    """Canonical JSON and SHA-256 of each feature row."""
    texts = fx.encode_rows(frame)
    return texts, [fx.feature_hash(t) for t in texts]


def _days(values: pd.Series) -> list[str]:
    """ISO dates (YYYY-MM-DD) of a datetime column: the SQLite storage form of sa.Date."""
    return np.datetime_as_string(values.to_numpy().astype("datetime64[D]")).tolist()


def _objects(series: pd.Series) -> list:
    """Python values with every missing value as None."""
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if _missing(value) else value


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return a == b


def diff_outputs(
    recorded: Mapping[str, Any], recomputed: Mapping[str, Any], fields: Sequence[str] | None = None
) -> list[tuple[str, Any, Any]]:
    """(field, recorded, recomputed) for every field that differs; [] when identical.

    Floats must be exactly equal; missing values (None, NaN, pd.NA) are equal to each other;
    a field absent from ``recomputed`` counts as missing there.
    """
    out = []
    for name in fields if fields is not None else list(recorded):
        a, b = _plain(recorded.get(name)), _plain(recomputed.get(name))
        if not _same(a, b):
            out.append((name, a, b))
    return out


class Ledger:
    """A decision ledger on one database URL. Open with ``Ledger.open(url)``."""

    def __init__(
        self, engine: Engine, url: URL, authority: AuthorityConfig, busy_timeout: float
    ) -> None:
        self.engine = engine
        self.url = url
        self.authority = authority
        self.busy_timeout = busy_timeout

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | URL,
        *,
        create: bool | None = None,
        upgrade: bool = False,
        authority: AuthorityConfig = DEFAULT_AUTHORITY,
        busy_timeout: float = db.DEFAULT_BUSY_TIMEOUT,
    ) -> Ledger:
        """Open the ledger at ``url``.

        ``create`` (default: True for a SQLite file, False for a server) creates the schema in
        an empty database (and the SQLite file and its folder). A database whose migration is
        behind is refused unless ``upgrade=True``. Every failure is one ``LedgerError`` line.
        """
        parsed = db.parse_url(url)
        path = db.sqlite_path(parsed)
        if create is None:
            create = path is not None
        if path is not None:
            if not path.exists():
                if not create:
                    raise LedgerError(
                        f"no ledger database at {db.masked(parsed)} "
                        f"(open it with create=True to create it)"
                    )
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise LedgerError(
                        f"cannot create ledger database {db.masked(parsed)}: {exc.strerror or exc}"
                    ) from None
            elif path.is_dir():
                raise LedgerError(f"ledger database {db.masked(parsed)} is a directory")
        engine = db.make_engine(parsed, busy_timeout)
        ledger = cls(engine, parsed, authority, busy_timeout)
        try:
            ledger._prepare(create=create, upgrade=upgrade, wal=path is not None)
        except BaseException:
            engine.dispose()
            raise
        return ledger

    def _prepare(self, create: bool, upgrade: bool, wal: bool) -> None:
        where = f"ledger database {db.masked(self.url)}"
        head = db.head_revision()
        with db.translated(self.url, self.busy_timeout, connecting=True):
            conn = self.engine.connect()
        with db.translated(self.url, self.busy_timeout), conn:
            current = db.current_revision(conn)
            conn.rollback()
            if current == head:
                return
            tables = set(sa.inspect(conn).get_table_names())
            conn.rollback()
            if current is None and tables:
                raise LedgerError(
                    f"{where} has tables but no ledger migration record: not a ledger database"
                )
            if current is not None and current not in db.known_revisions():
                raise LedgerError(
                    f"{where} is at migration {current}, newer than this code "
                    f"(head {head}): update the software"
                )
            if current is None and not create:
                raise LedgerError(
                    f"{where} has no ledger schema (migration missing): open it "
                    f"with create=True to create it"
                )
            if current is not None and not upgrade:
                raise LedgerError(
                    f"{where} is at migration {current}, behind {head}: migrate it "
                    f"(`creditrisk decisions migrate`, or Ledger.open(..., upgrade=True))"
                )
            if wal:  # both persistent in the file; set before the first table, outside a
                # transaction. 64 KiB pages: a decision row with its ~2.7 KB feature JSON fills
                # most of a 4 KiB page; large pages write 1M of them about 4x faster.
                raw = conn.connection.dbapi_connection
                raw.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
                raw.execute("PRAGMA journal_mode=WAL")
            with self._write(conn):
                if self.url.get_backend_name() == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7408201)")
                if db.current_revision(conn) != head:  # another process may have done it
                    db.upgrade(conn)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({db.masked(self.url)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def revision(self) -> str | None:
        """The database's migration revision."""
        with self._read() as conn:
            return db.current_revision(conn)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with db.translated(self.url, self.busy_timeout), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self, conn: Connection | None = None) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite: writers queue on the busy
        timeout instead of failing on a lock upgrade)."""
        with db.translated(self.url, self.busy_timeout):
            if conn is not None:
                conn = conn.execution_options(immediate=True)
                with conn.begin():
                    yield conn
                return
            with self.engine.connect() as c:
                c = c.execution_options(immediate=True)
                with c.begin():
                    yield c

    # -- recording ---------------------------------------------------------------------------

    def record(
        self,
        decisions_frame: pd.DataFrame,
        features: pd.DataFrame,
        bundle_version: str | None = None,
        registry_version: str | None = None,
        decided_at: dt.datetime | str | pd.Series | Sequence | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> Counts:
        """Record scored decisions with their feature rows; idempotent per
        (application, bundle version).

        ``decisions_frame`` has the ``ScoringModel.score`` columns plus ``applicant_id``;
        ``features`` has ``applicant_id``, ``application_date``, optional ``customer_id``
        (default: the applicant id), optional ``requested_limit``/``requested_terms_days``, and
        the feature columns. ``decided_at`` (default: now) is one time for the batch, or one
        per row of ``decisions_frame`` (e.g. back-dated to each application date). Each chunk
        is one transaction: a run killed mid-way leaves whole chunks, and running it again
        records the rest (its counts say how many were skipped).
        """
        n = len(decisions_frame)
        bundle = self._bundle(decisions_frame, bundle_version)
        ids = self._ids(decisions_frame, "decisions")
        feats = features.copy()
        feats.index = self._ids(features, "features")
        missing = ids.difference(feats.index)
        if len(missing):
            raise LedgerError(
                f"features lack {len(missing):,} applicant(s) of the decisions, e.g. {missing[0]!r}"
            )
        if "application_date" not in feats.columns:
            raise LedgerError("features: column application_date is required")
        feats = feats.loc[ids]
        missing_cols = [
            c
            for c in ("grade", "decision", "credit_limit", "payment_terms_days")
            if c not in decisions_frame.columns
        ]
        if missing_cols:
            raise LedgerError(f"decisions: missing column(s) {missing_cols}")
        customer = (
            feats["customer_id"].astype(str)
            if "customer_id" in feats.columns
            else pd.Series(ids, index=ids)
        )
        app_date = pd.to_datetime(feats["application_date"])
        if app_date.isna().any():
            raise LedgerError("features: application_date has missing values")
        row_frame = feats.drop(columns=[c for c in ID_COLUMNS if c in feats.columns])
        schema = fx.feature_schema(row_frame)
        schema_text = fx.dumps(schema)
        schema_hash = fx.feature_hash(schema_text)
        at = _decision_times(decided_at, n)
        out = self._outputs(decisions_frame)
        apps = pd.DataFrame(
            {
                "application_id": ids.to_numpy(),
                "customer_id": customer.to_numpy(),
                "application_date": app_date.to_numpy().astype("datetime64[D]"),
                "requested_limit": _objects(feats["requested_limit"].astype("float64"))
                if "requested_limit" in feats.columns
                else None,
                "requested_terms_days": [
                    None if v is None else int(v) for v in _objects(feats["requested_terms_days"])
                ]
                if "requested_terms_days" in feats.columns
                else None,
            }
        )
        app_ids = apps["application_id"].to_numpy()

        inserted = 0
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            # Rows already recorded are not encoded again (a rerun after a crash is cheap);
            # ON CONFLICT DO NOTHING still decides, inside the transaction, what is new.
            chunk_ids = app_ids[start:stop].tolist()
            known = self._existing(bundle, chunk_ids)
            todo = np.arange(start, stop)
            if known:
                todo = todo[np.fromiter((a not in known for a in chunk_ids), bool, len(todo))]
                if len(todo) == 0:
                    continue
            texts, hashes = _encode_chunk(row_frame.iloc[todo])
            with self._write() as conn:
                conn.execute(
                    self._insert(feature_schemas, ["schema_hash"]),
                    [{"schema_hash": schema_hash, "schema": schema_text}],
                )
                inserted += self._insert_chunk(
                    conn,
                    apps.iloc[todo],
                    [out[i] for i in todo],
                    texts,
                    hashes,
                    bundle,
                    registry_version,
                    [at[i] for i in todo],
                    schema_hash,
                )
        return Counts(rows=n, inserted=inserted, skipped=n - inserted)

    def _existing(self, bundle: str, ids: list[str]) -> set[str]:
        """Which of ``ids`` already have a decision of ``bundle``."""
        with self._read() as conn:
            if self.is_sqlite:
                rows = conn.exec_driver_sql(
                    "SELECT d.application_id FROM json_each(?) AS j CROSS JOIN decisions AS d "
                    "ON d.application_id = j.value AND d.bundle_version = ?",
                    (orjson.dumps(ids).decode(), bundle),
                )
            else:
                rows = conn.execute(
                    sa.select(decisions.c.application_id).where(
                        decisions.c.bundle_version == bundle,
                        decisions.c.application_id.in_(ids),
                    )
                )
            return {r[0] for r in rows}

    @staticmethod
    def _bundle(frame: pd.DataFrame, bundle_version: str | None) -> str:
        column = (
            frame["bundle_version"].dropna().astype(str).unique()
            if "bundle_version" in frame.columns
            else np.array([])
        )
        if bundle_version is None:
            if len(column) != 1:
                raise LedgerError(
                    "decisions: give bundle_version (the frame has "
                    f"{len(column)} distinct bundle_version values)"
                )
            return str(column[0])
        if len(column) and set(column) != {bundle_version}:
            raise LedgerError(
                f"decisions: bundle_version column {sorted(column)[:3]} does not "
                f"match bundle_version {bundle_version!r}"
            )
        return str(bundle_version)

    @staticmethod
    def _ids(frame: pd.DataFrame, what: str) -> pd.Index:
        if "applicant_id" not in frame.columns:
            raise LedgerError(f"{what}: column applicant_id is required")
        ids = frame["applicant_id"]
        if ids.isna().any():
            raise LedgerError(f"{what}: applicant_id has missing values")
        ids = pd.Index(ids.astype(str).to_numpy(dtype=object), name="applicant_id")
        if ids.has_duplicates:
            raise LedgerError(
                f"{what}: applicant_id {ids[ids.duplicated()][0]!r} appears more than once"
            )
        return ids

    @staticmethod
    def _outputs(frame: pd.DataFrame) -> list[tuple]:
        """Per row: pd, points, grade, decision, knockout, limit, limit rule, terms, security,
        reasons JSON."""
        n = len(frame)

        def col(name: str) -> list:
            return _objects(frame[name]) if name in frame.columns else [None] * n

        k = 1
        while f"reason_{k}" in frame.columns:
            k += 1
        codes = [col(f"reason_{i}") for i in range(1, k)]
        texts = [col(f"reason_{i}_text") for i in range(1, k)]
        reasons = []
        dumps = orjson.dumps
        for r in range(n):
            pairs = [
                {"code": str(c[r]), "text": t[r]}
                for c, t in zip(codes, texts, strict=True)
                if c[r] is not None
            ]
            reasons.append(dumps(pairs).decode() if pairs else "[]")
        pd_ = [None if v is None else float(v) for v in col("pd")]
        points = [None if v is None else int(v) for v in col("score")]
        limit = [0.0 if v is None else float(v) for v in col("credit_limit")]
        terms = [0 if v is None else int(v) for v in col("payment_terms_days")]
        return list(
            zip(
                pd_,
                points,
                [str(v) for v in col("grade")],
                [str(v) for v in col("decision")],
                col("knockout_rule"),
                limit,
                col("limit_rule"),
                terms,
                col("security"),
                reasons,
                strict=True,
            )
        )

    def _insert(self, table: sa.Table, keys: list[str]) -> sa.Insert:
        name = self.url.get_backend_name()
        if name == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
        if name == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
        raise LedgerError(
            f"ledger database {db.masked(self.url)}: idempotent inserts are "
            f"written for sqlite and postgresql, not {name}"
        )

    def _insert_chunk(
        self,
        conn: Connection,
        apps: pd.DataFrame,
        out: list[tuple],
        texts: list[bytes],
        hashes: list[str],
        bundle: str,
        registry: str | None,
        at: list[dt.datetime],
        schema_hash: str,
    ) -> int:
        firsts = apps.groupby("customer_id", sort=False)["application_date"].min()
        cust_rows = list(zip(firsts.index.tolist(), _days(firsts), strict=True))
        apps = apps.assign(application_date=_days(apps["application_date"]))
        app_rows = list(apps.itertuples(index=False, name=None))
        app_ids = apps["application_id"].tolist()
        if self.is_sqlite:  # the fast path: plain DBAPI executemany
            conn.exec_driver_sql(
                "INSERT INTO customers (customer_id, first_seen) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                cust_rows,
            )
            conn.exec_driver_sql(
                "INSERT INTO applications (application_id, customer_id, application_date, "
                "requested_limit, requested_terms_days) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                app_rows,
            )
            result = conn.exec_driver_sql(
                "INSERT INTO decisions (application_id, bundle_version, registry_version, "
                "decided_at, feature_schema, feature_hash, features, pd, points, grade, "
                "decision, knockout_rule, credit_limit, limit_rule, payment_terms_days, "
                "security, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (application_id, bundle_version) DO NOTHING",
                [
                    (a, bundle, registry, w.strftime(_SQLITE_DT), schema_hash, h, t.decode(), *o)
                    for a, w, h, t, o in zip(app_ids, at, hashes, texts, out, strict=True)
                ],
            )
            return max(result.rowcount, 0)
        conn.execute(
            self._insert(customers, ["customer_id"]),
            [{"customer_id": c, "first_seen": dt.date.fromisoformat(d)} for c, d in cust_rows],
        )
        conn.execute(
            self._insert(applications, ["application_id"]),
            [
                {
                    "application_id": a,
                    "customer_id": c,
                    "application_date": dt.date.fromisoformat(d),
                    "requested_limit": lim,
                    "requested_terms_days": t,
                }
                for a, c, d, lim, t in app_rows
            ],
        )
        names = (
            "pd",
            "points",
            "grade",
            "decision",
            "knockout_rule",
            "credit_limit",
            "limit_rule",
            "payment_terms_days",
            "security",
            "reasons",
        )
        rows = [
            {
                "application_id": a,
                "bundle_version": bundle,
                "registry_version": registry,
                "decided_at": w,
                "feature_schema": schema_hash,
                "feature_hash": h,
                "features": t.decode(),
                **dict(zip(names, o, strict=True)),
            }
            for a, w, h, t, o in zip(app_ids, at, hashes, texts, out, strict=True)
        ]
        stmt = self._insert(decisions, ["application_id", "bundle_version"]).returning(
            decisions.c.id
        )
        return len(conn.execute(stmt, rows).all())

    # -- approvals and overrides -------------------------------------------------------------

    def _current(self, conn: Connection, application_id: str) -> tuple[dict, dict, dict]:
        """(application, latest decision, current state: the latest action on it or itself)."""
        app = (
            conn.execute(
                sa.select(applications).where(applications.c.application_id == application_id)
            )
            .mappings()
            .first()
        )
        if app is None:
            raise LedgerError(f"unknown application {application_id!r}: not in the ledger")
        dec = (
            conn.execute(
                sa.select(decisions)
                .where(decisions.c.application_id == application_id)
                .order_by(decisions.c.decided_at.desc(), decisions.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if dec is None:
            raise LedgerError(f"application {application_id!r} has no recorded decision")
        act = (
            conn.execute(
                sa.select(actions)
                .where(actions.c.decision_id == dec["id"])
                .order_by(actions.c.at.desc(), actions.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return dict(app), dict(dec), dict(act if act is not None else dec)

    def _act(
        self,
        kind: str,
        application_id: str,
        who: str,
        role: str,
        reason: str,
        decision: str | None,
        limit: float | None,
        terms: int | None,
        security: str | None,
        at: dt.datetime | str | None,
    ) -> Action:
        _require_who_and_reason(f"{kind} of {application_id!r}", who, reason)
        self.authority.role(role)  # an unknown role is refused before anything else
        if security is not None and security not in SECURITY:
            raise LedgerError(f"security must be one of {SECURITY}; got {security!r}")
        if limit is not None and (not math.isfinite(limit) or limit < 0):
            raise LedgerError(f"limit must be a non-negative number; got {limit!r}")
        if terms is not None and (int(terms) != terms or terms < 0):
            raise LedgerError(f"terms must be a non-negative whole number of days; got {terms!r}")
        when = _utc_naive(at)
        with self._write() as conn:
            self._lock(conn, application_id)
            app, dec, state = self._current(conn, application_id)
            now = state["decision"]
            if kind == "approve" and now != "refer":
                raise LedgerError(
                    f"application {application_id!r} has no open referral (its "
                    f"decision is {now}): use override to change it"
                )
            if kind == "decline" and now == "decline":
                raise LedgerError(f"application {application_id!r} is already declined")
            if (
                kind == "override"
                and decision is None
                and limit is None
                and terms is None
                and security is None
            ):
                raise LedgerError(
                    f"override of {application_id!r}: give a new decision, limit, terms or security"
                )
            new = decision or (
                "approve" if kind == "approve" else "decline" if kind == "decline" else now
            )
            if new == "approve":
                if limit is None:
                    limit = state["credit_limit"] if now == "approve" else None
                if not limit:
                    raise LedgerError(f"{kind} of {application_id!r} to approve: give the limit")
                if terms is None:
                    terms = (
                        state["payment_terms_days"]
                        if now == "approve"
                        else app["requested_terms_days"]
                    )
                if terms is None:
                    raise LedgerError(
                        f"{kind} of {application_id!r} to approve: give the "
                        f"payment terms (the application has no requested terms)"
                    )
                security = security or (state["security"] if now == "approve" else None) or "none"
            else:
                limit, terms, security = 0.0, 0, None
            check(self.authority, role, limit if new == "approve" else None, dec, new)
            return self._insert_action(
                conn, dec, kind, who, role, new, limit, terms, security, reason, when
            )

    def _lock(self, conn: Connection, application_id: str) -> None:
        """Serialise the writers acting on one application (SQLite: BEGIN IMMEDIATE does)."""
        if self.url.get_backend_name() == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:a))"), {"a": application_id}
            )

    @staticmethod
    def _insert_action(
        conn: Connection,
        dec: Mapping[str, Any],
        kind: str,
        who: str,
        role: str,
        decision: str,
        limit: float,
        terms: int,
        security: str | None,
        reason: str,
        at: dt.datetime,
    ) -> Action:
        values = {
            "decision_id": dec["id"],
            "application_id": dec["application_id"],
            "kind": kind,
            "who": who.strip(),
            "role": role,
            "decision": decision,
            "credit_limit": float(limit),
            "payment_terms_days": int(terms),
            "security": security,
            "reason": reason.strip(),
            "at": at,
        }
        new_id = conn.execute(
            sa.insert(actions).values(**values).returning(actions.c.id)
        ).scalar_one()
        return Action(id=int(new_id), **values)

    def approve(
        self,
        application_id: str,
        who: str,
        role: str,
        reason: str,
        limit: float | None = None,
        terms: int | None = None,
        security: str | None = None,
        at: dt.datetime | str | None = None,
    ) -> Action:
        """Approve an open referral (a limit is required; terms default to the requested
        terms, security to 'none'); the limit must be within the role's authority."""
        return self._act(
            "approve", application_id, who, role, reason, None, limit, terms, security, at
        )

    def decline(
        self,
        application_id: str,
        who: str,
        role: str,
        reason: str,
        at: dt.datetime | str | None = None,
    ) -> Action:
        """Decline a referral or withdraw an approval (any known role)."""
        return self._act("decline", application_id, who, role, reason, None, None, None, None, at)

    def override(
        self,
        application_id: str,
        who: str,
        role: str,
        reason: str,
        decision: str | None = None,
        limit: float | None = None,
        terms: int | None = None,
        security: str | None = None,
        at: dt.datetime | str | None = None,
    ) -> Action:
        """Change the decision, limit, terms or security of the current decision, within the
        role's authority (lifting a knock-out needs the knock-out override role)."""
        if decision is not None and decision not in ("approve", "refer", "decline"):
            raise LedgerError(f"decision must be approve, refer or decline; got {decision!r}")
        return self._act(
            "override", application_id, who, role, reason, decision, limit, terms, security, at
        )

    # -- proposals ---------------------------------------------------------------------------

    def propose(
        self,
        frame: pd.DataFrame,
        as_of: dt.date | str,
        bundle_version: str,
        proposed_at: dt.datetime | str | None = None,
    ) -> Proposed:
        """Record the reviews of ``frame`` that recommend a change as pending proposals.

        ``frame`` is ``CustomerBook.reviews`` of the review date ``as_of`` (customer_id,
        credit_limit, payment_terms_days, security, recommended_*, why, limit_rule,
        terms_reason, security_reason, approver; optional applicant_id). Each proposal applies
        to the application whose decision or action sets the customer's effective limit on
        ``as_of``, and keeps that state as the current one. Idempotent per (customer, review
        date): running a review again records nothing new. Reviews the ledger cannot take are
        returned in ``Proposed.skipped`` with why, never dropped silently.
        """
        day = _day(as_of, "as_of")
        when = _utc_naive(proposed_at)
        if when.date() < day:
            raise LedgerError(
                f"proposed_at {when:%Y-%m-%d %H:%M} is before the review date {day}: a review "
                f"cannot be proposed before its date"
            )
        if not isinstance(bundle_version, str) or not bundle_version.strip():
            raise LedgerError("propose: give the bundle_version the review was scored with")
        rows = review_rows(frame, self.authority)
        todo = rows.loc[rows["changed"]]
        ids = todo["customer_id"].tolist()
        with self._read() as conn:
            already = self._proposed(conn, day, ids)
            todo = todo.loc[~todo["customer_id"].isin(already)]
            ids = todo["customer_id"].tolist()
            state = {r["customer_id"]: r for r in self._effective(conn, _end_of(day), ids)}
            known = self._known_customers(conn, [c for c in ids if c not in state])
            elsewhere = self._applications_elsewhere(conn, todo, state)
        new, skipped = [], []
        for row in todo.to_dict("records"):
            cid = row["customer_id"]
            now = state.get(cid)
            if now is None:
                if cid in known:
                    why = f"no decision on or before {day} (recorded after the review date)"
                    skipped.append((cid, SKIPPED[1], why))
                else:
                    why = f"not in the ledger: {elsewhere[cid]}" if cid in elsewhere else None
                    skipped.append((cid, SKIPPED[0], why or SKIPPED[0]))
                continue
            differs = differs_from(now, row)
            if differs is not None:
                skipped.append((cid, SKIPPED[2], differs))
                continue
            new.append(
                {
                    "customer_id": cid,
                    "application_id": now["application_id"],
                    "proposed_at": when,
                    "as_of": day,
                    "source": PROPOSAL_SOURCE,
                    "current_decision": now["decision"],
                    "current_limit": float(now["credit_limit"]),
                    "current_terms_days": int(now["payment_terms_days"]),
                    "current_security": now["security"],
                    "proposed_limit": float(row["proposed_limit"]),
                    "proposed_terms_days": int(row["proposed_terms_days"]),
                    "proposed_security": row["proposed_security"],
                    "reasons": row["reasons"],
                    "required_role": row["required_role"],
                    "bundle_version": bundle_version,
                }
            )
        recorded: list[int] = []
        if new:
            stmt = self._insert(proposals, ["customer_id", "as_of", "source"]).returning(
                proposals.c.id
            )
            with self._write() as conn:
                for start in range(0, len(new), IN_CHUNK):
                    recorded += [
                        int(r[0]) for r in conn.execute(stmt, new[start : start + IN_CHUNK])
                    ]
        return Proposed(
            rows=len(rows),
            recorded=len(recorded),
            already=len(already) + len(new) - len(recorded),  # a concurrent run's count here
            unchanged=int((~rows["changed"]).sum()),
            skipped=pd.DataFrame(skipped, columns=["customer_id", "kind", "why"]),
            ids=tuple(sorted(recorded)),
        )

    @staticmethod
    def _proposed(conn: Connection, day: dt.date, ids: list[str]) -> set[str]:
        """Which of ``ids`` already have a review proposal of ``day``."""
        out: set[str] = set()
        for chunk in _chunks(ids):
            out.update(
                conn.execute(
                    sa.select(proposals.c.customer_id).where(
                        proposals.c.as_of == day,
                        proposals.c.source == PROPOSAL_SOURCE,
                        proposals.c.customer_id.in_(chunk),
                    )
                ).scalars()
            )
        return out

    @staticmethod
    def _known_customers(conn: Connection, ids: list[str]) -> set[str]:
        """Which of ``ids`` have an application in the ledger."""
        out: set[str] = set()
        for chunk in _chunks(ids):
            out.update(
                conn.execute(
                    sa.select(applications.c.customer_id)
                    .where(applications.c.customer_id.in_(chunk))
                    .distinct()
                ).scalars()
            )
        return out

    @staticmethod
    def _applications_elsewhere(
        conn: Connection, todo: pd.DataFrame, state: Mapping[str, Any]
    ) -> dict[str, str]:
        """customer -> a phrase, for customers whose admission application (``applicant_id``)
        is in the ledger under another customer id."""
        if "applicant_id" not in todo.columns:
            return {}
        lost = todo.loc[~todo["customer_id"].isin(state) & todo["applicant_id"].notna()]
        by_app = dict(zip(lost["applicant_id"].astype(str), lost["customer_id"], strict=True))
        out: dict[str, str] = {}
        for chunk in _chunks(list(by_app)):
            q = sa.select(applications.c.application_id, applications.c.customer_id).where(
                applications.c.application_id.in_(chunk)
            )
            for app_id, other in conn.execute(q):
                if other != by_app[app_id]:
                    out[by_app[app_id]] = (
                        f"its application {app_id} is recorded under customer {other}"
                    )
        return out

    def list_proposals(
        self,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Proposals with their outcome (if any), oldest review first.

        ``status``: pending (no outcome yet), approved, rejected, or None for all.
        """
        outcome = {"pending": None, "approved": "approve", "rejected": "reject"}
        if status is not None and status not in outcome:
            raise LedgerError(f"status must be pending, approved or rejected; got {status!r}")
        o = proposal_outcomes
        q = sa.select(
            proposals,
            o.c.outcome,
            o.c.who.label("decided_by"),
            o.c.role.label("decided_role"),
            o.c.reason.label("outcome_reason"),
            o.c.at.label("decided_at"),
            o.c.action_id,
        ).outerjoin(o, o.c.proposal_id == proposals.c.id)
        if status == "pending":
            q = q.where(o.c.id.is_(None))
        elif status is not None:
            q = q.where(o.c.outcome == outcome[status])
        if customer_id is not None:
            q = q.where(proposals.c.customer_id == customer_id)
        q = q.order_by(proposals.c.as_of, proposals.c.id)
        if limit:
            q = q.limit(limit)
        with self._read() as conn:
            result = conn.execute(q)
            columns = list(result.keys())
            rows = result.all()
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    def pending_proposals(self, customer_id: str | None = None) -> pd.DataFrame:
        """Proposals nobody has approved or rejected yet, oldest review first."""
        return self.list_proposals("pending", customer_id=customer_id)

    def approve_proposal(
        self,
        proposal_id: int,
        who: str,
        role: str,
        reason: str,
        at: dt.datetime | str | None = None,
    ) -> ProposalOutcome:
        """Approve a pending proposal: an override of the customer's application to the
        proposed limit, terms and security (a proposed limit of 0 withdraws credit: decline),
        and the outcome row, in one transaction.

        ``role`` needs the authority for the proposed limit (and for a knock-out, as any
        override) and at least the proposal's required role. Refused as stale when the
        customer's limit, terms or security changed after the review.
        """
        return self._conclude("approve", proposal_id, who, role, reason, at)

    def reject_proposal(
        self,
        proposal_id: int,
        who: str,
        role: str,
        reason: str,
        at: dt.datetime | str | None = None,
    ) -> ProposalOutcome:
        """Reject a pending proposal (any known role): the limits stay as they are."""
        return self._conclude("reject", proposal_id, who, role, reason, at)

    def _conclude(
        self,
        outcome: str,
        proposal_id: int,
        who: str,
        role: str,
        reason: str,
        at: dt.datetime | str | None,
    ) -> ProposalOutcome:
        pid = _proposal_id(proposal_id)
        what = f"{'approval' if outcome == 'approve' else 'rejection'} of proposal {pid}"
        _require_who_and_reason(what, who, reason)
        self.authority.role(role)  # an unknown role is refused before anything else
        when = _utc_naive(at)
        with self._write() as conn:
            p = conn.execute(sa.select(proposals).where(proposals.c.id == pid)).mappings().first()
            if p is None:
                raise LedgerError(f"unknown proposal {pid}: not in the ledger")
            self._lock(conn, p["application_id"])
            done = (
                conn.execute(
                    sa.select(proposal_outcomes).where(proposal_outcomes.c.proposal_id == pid)
                )
                .mappings()
                .first()
            )
            if done is not None:
                verb = "approved" if done["outcome"] == "approve" else "rejected"
                raise LedgerError(
                    f"proposal {pid} is already decided: {verb} by {done['who']} "
                    f"({done['role']}) on {done['at']:%Y-%m-%d}"
                )
            if when < p["proposed_at"]:
                raise LedgerError(
                    f"{what}: {when:%Y-%m-%d %H:%M} is before the proposal was made "
                    f"({p['proposed_at']:%Y-%m-%d %H:%M})"
                )
            action = None
            if outcome == "approve":
                action = self._apply(conn, dict(p), who, role, reason, when)
            values = {
                "proposal_id": pid,
                "outcome": outcome,
                "who": who.strip(),
                "role": role,
                "reason": reason.strip(),
                "at": when,
                "action_id": None if action is None else action.id,
            }
            new_id = conn.execute(
                sa.insert(proposal_outcomes).values(**values).returning(proposal_outcomes.c.id)
            ).scalar_one()
        return ProposalOutcome(
            id=int(new_id),
            proposal_id=pid,
            customer_id=p["customer_id"],
            application_id=p["application_id"],
            outcome=outcome,
            who=values["who"],
            role=role,
            reason=values["reason"],
            at=when,
            action=action,
        )

    def _apply(
        self, conn: Connection, p: dict[str, Any], who: str, role: str, reason: str, at: dt.datetime
    ) -> Action:
        """The override an approved proposal records (the checks first, in the transaction)."""
        pid, cid = p["id"], p["customer_id"]
        _, dec, _ = self._current(conn, p["application_id"])
        now = self._effective(conn, at, [cid])
        current = {
            "current_limit": p["current_limit"],
            "current_terms_days": p["current_terms_days"],
            "current_security": security_or_none(p["current_security"]),
        }
        if (
            not now
            or now[0]["application_id"] != p["application_id"]
            or now[0]["decision"] != p["current_decision"]
            or differs_from(now[0], current) is not None
        ):
            e = now[0] if now else None
            found = (
                "nothing in force"
                if e is None
                else f"now {e['decision']} {money(e['credit_limit'])} / "
                f"{e['payment_terms_days']} days / {security_or_none(e['security'])} set by "
                f"{e['source']} #{e['source_id']} of {e['application_id']}"
            )
            raise LedgerError(
                f"proposal {pid} is stale: customer {cid}'s limit, terms or security changed "
                f"after the review of {p['as_of']} ({found}): reject it and review again"
            )
        limit = float(p["proposed_limit"])
        new = "approve" if limit > 0 else "decline"
        check(self.authority, role, limit if new == "approve" else None, dec, new)
        required = p["required_role"]
        if self.authority.rank(role) < self.authority.rank(required):
            raise AuthorityError(
                f"proposal {pid}: customer {cid} needs {required} or above (the review's "
                f"approver for this limit and value tier); {role} may not approve it"
            )
        note = f"proposal #{pid} (review of {p['as_of']}): {reason.strip()}"
        return self._insert_action(
            conn,
            dec,
            "override",
            who,
            role,
            new,
            limit,
            p["proposed_terms_days"],
            p["proposed_security"],
            note,
            at,
        )

    # -- queries -----------------------------------------------------------------------------

    _LISTED = [c for c in decisions.c if c.name != "features"]

    def open_referrals(self) -> pd.DataFrame:
        """Referrals not yet approved, declined or changed (latest decision per application)."""
        return self.list_decisions(current="refer")

    def list_decisions(
        self,
        decision: str | None = None,
        current: str | None = None,
        bundle_version: str | None = None,
        customer_id: str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        latest_only: bool = True,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Decisions (without the feature row) with customer and current state, newest first.

        ``decision`` filters on the recorded decision, ``current`` on the state after actions;
        ``latest_only`` keeps each application's latest decision.
        """
        d = decisions
        last_action = (
            sa.select(actions.c.decision)
            .where(actions.c.decision_id == d.c.id)
            .order_by(actions.c.at.desc(), actions.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        state = sa.func.coalesce(last_action, d.c.decision).label("current_decision")
        q = sa.select(
            *self._LISTED, applications.c.customer_id, applications.c.application_date, state
        ).join(applications)
        if latest_only:
            d2 = decisions.alias("d2")
            latest = (
                sa.select(d2.c.id)
                .where(d2.c.application_id == d.c.application_id)
                .order_by(d2.c.decided_at.desc(), d2.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            q = q.where(d.c.id == latest)
        if decision:
            q = q.where(d.c.decision == decision)
        if current:
            q = q.where(state == current)
        if bundle_version:
            q = q.where(d.c.bundle_version == bundle_version)
        if customer_id:
            q = q.where(applications.c.customer_id == customer_id)
        if since:
            q = q.where(d.c.decided_at >= _utc_naive(since))
        if until:
            q = q.where(d.c.decided_at <= _end_of(until))
        q = q.order_by(d.c.decided_at.desc(), d.c.id.desc())
        if limit:
            q = q.limit(limit)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        cols = [c.name for c in self._LISTED] + [
            "customer_id",
            "application_date",
            "current_decision",
        ]
        return pd.DataFrame([dict(r) for r in rows], columns=cols)

    list = list_decisions  # the CLI verb: decisions list

    def grade_stats(self) -> pd.DataFrame:
        """Per grade of the latest decisions: how many were decided each way, and what people
        did with them (approvals, declines, overrides) and the override rate, a standard
        model-risk signal (a model whose decisions are often overridden is not trusted).
        Approved review proposals are counted apart (``changed_by_review``): they carry out a
        review's recommendation, they do not overrule the model."""
        latest = self.list_decisions()
        review = (
            sa.select(proposal_outcomes.c.id)
            .where(proposal_outcomes.c.action_id == actions.c.id)
            .exists()
        )
        kind = sa.case((review, "review"), else_=actions.c.kind)
        q = sa.select(decisions.c.grade, kind).join(
            actions, actions.c.decision_id == decisions.c.id
        )
        with self._read() as conn:
            acted = pd.DataFrame(conn.execute(q).all(), columns=["grade", "kind"])
        by_decision = pd.crosstab(latest["grade"], latest["decision"]).reindex(
            columns=["approve", "refer", "decline"], fill_value=0
        )
        by_action = pd.crosstab(acted["grade"], acted["kind"]).reindex(
            columns=["approve", "decline", "override", "review"], fill_value=0
        )
        by_action.columns = [
            "approved_by_people",
            "declined_by_people",
            "overridden_by_people",
            "changed_by_review",
        ]
        out = by_decision.join(by_action, how="outer").fillna(0).astype(int)
        out.insert(0, "decisions", out[["approve", "refer", "decline"]].sum(axis=1))
        out["override_rate"] = out["overridden_by_people"] / out["decisions"].where(
            out["decisions"] > 0
        )
        return out.rename_axis("grade").reset_index()

    def show(self, application_id: str) -> dict[str, Any]:
        """Application, every decision (newest first), every action, and the current state."""
        with self._read() as conn:
            app, dec, state = self._current(conn, application_id)
            decs = (
                conn.execute(
                    sa.select(*self._LISTED)
                    .where(decisions.c.application_id == application_id)
                    .order_by(decisions.c.decided_at.desc(), decisions.c.id.desc())
                )
                .mappings()
                .all()
            )
            acts = (
                conn.execute(
                    sa.select(actions)
                    .where(actions.c.application_id == application_id)
                    .order_by(actions.c.at, actions.c.id)
                )
                .mappings()
                .all()
            )
        current = {
            k: state[k] for k in ("decision", "credit_limit", "payment_terms_days", "security")
        }
        current["source"] = state.get("kind", "decision")
        return {
            "application": app,
            "decisions": pd.DataFrame(
                [dict(r) for r in decs], columns=[c.name for c in self._LISTED]
            ),
            "actions": pd.DataFrame([dict(r) for r in acts], columns=[c.name for c in actions.c]),
            "current": current,
        }

    def effective_limits(
        self, as_of: dt.date | dt.datetime | str, customer_id: str | None = None
    ) -> pd.DataFrame:
        """Per customer: the limit, terms and security set by the latest decision or action up
        to ``as_of`` (a date includes the whole day), and which event set them."""
        ids = None if customer_id is None else [customer_id]
        with self._read() as conn:
            rows = self._effective(conn, _end_of(as_of), ids)
        frame = pd.DataFrame(rows, columns=EFFECTIVE_FIELDS)
        frame["at"] = pd.to_datetime(frame["at"])
        return frame

    @staticmethod
    def _effective(
        conn: Connection, end: dt.datetime, customer_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Effective-limit rows (``EffectiveLimit`` fields) up to ``end``, by customer."""
        e = limit_events
        rank = (
            sa.func.row_number()
            .over(
                partition_by=e.c.customer_id,
                order_by=(e.c.at.desc(), e.c.source_rank.desc(), e.c.source_id.desc()),
            )
            .label("rn")
        )
        out: list[dict[str, Any]] = []
        chunks = [None] if customer_ids is None else _chunks(list(customer_ids))
        for chunk in chunks:
            inner = sa.select(e, rank).where(e.c.at <= end)
            if chunk is not None:
                inner = inner.where(e.c.customer_id.in_(chunk))
            sub = inner.subquery()
            q = (
                sa.select(*[sub.c[f] for f in EFFECTIVE_FIELDS])
                .where(sub.c.rn == 1)
                .order_by(sub.c.customer_id)
            )
            out.extend(dict(r) for r in conn.execute(q).mappings())
        return out

    def replay_inputs(self, application_id: str, bundle_version: str | None = None) -> ReplayInputs:
        """The recorded bundle version, the stored feature row (original dtypes, plus
        applicant_id) and the recorded outputs of an application's latest decision (or of
        ``bundle_version``)."""
        with self._read() as conn:
            q = (
                sa.select(decisions, feature_schemas.c.schema)
                .join(feature_schemas)
                .where(decisions.c.application_id == application_id)
            )
            if bundle_version is not None:
                q = q.where(decisions.c.bundle_version == bundle_version)
            row = (
                conn.execute(
                    q.order_by(decisions.c.decided_at.desc(), decisions.c.id.desc()).limit(1)
                )
                .mappings()
                .first()
            )
        if row is None:
            what = f" with bundle {bundle_version!r}" if bundle_version else ""
            raise LedgerError(
                f"unknown application {application_id!r}: no decision{what} in the ledger"
            )
        if fx.feature_hash(row["features"]) != row["feature_hash"]:
            raise LedgerError(
                f"application {application_id!r}: the stored feature row does not "
                f"match its hash {row['feature_hash'][:12]}..."
            )
        frame = fx.decode_features([row["features"]], orjson.loads(row["schema"]))
        frame.insert(0, "applicant_id", application_id)
        recorded: dict[str, Any] = {
            "pd": row["pd"],
            "score": row["points"],
            "grade": row["grade"],
            "decision": row["decision"],
            "knockout_rule": row["knockout_rule"],
            "credit_limit": row["credit_limit"],
            "limit_rule": row["limit_rule"],
            "payment_terms_days": row["payment_terms_days"],
            "security": row["security"],
        }
        reasons = orjson.loads(row["reasons"])
        for i in range(1, max(4, len(reasons)) + 1):
            r = reasons[i - 1] if i <= len(reasons) else None
            recorded[f"reason_{i}"] = r["code"] if r else None
            recorded[f"reason_{i}_text"] = r["text"] if r else None
        recorded["bundle_version"] = row["bundle_version"]
        return ReplayInputs(
            application_id=application_id,
            bundle_version=row["bundle_version"],
            registry_version=row["registry_version"],
            features=frame,
            recorded=recorded,
            feature_hash=row["feature_hash"],
        )

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._read() as conn:
            return {
                t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (
                    customers,
                    applications,
                    decisions,
                    actions,
                    proposals,
                    proposal_outcomes,
                )
            }
