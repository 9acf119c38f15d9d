"""CRM objects -> the contract's tables, as text, with every row accounted for.

The importer translates; it does not judge. Each mapped cell becomes the contract's text
(``YYYY-MM-DD``, a plain decimal, a contract value) or, when it cannot be read, stays as the
CRM wrote it, with a note saying what was expected: contract validation then rejects the row
with the rule it broke, and the note (file, row, export label) becomes the reason. The only rows
the importer itself sets aside are those it cannot place at all (a name that matches no
account, a status mapped to ``skip``); they are its rejects. So for every file,
``rows read == rows imported + rows rejected by the import``.

Ids: the account's record id (prefix such as ``zcrm_`` dropped) is the contract's
``customer_id``; the application (``applicants.applicant_id``) is ``<customer_id>-<as-of date>``
so that each import date is a new application in the decision ledger, and the customer row
links to it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from credit.crm import cells
from credit.crm.files import FILE, ROW, Sheet
from credit.crm.mapping import COUNTRY, FIELDS, SKIP, Column, Mapping, Spec
from features.contract.tables import TABLES, TRADE_TABLES
from features.errors import DataError

IMPORT_REJECT_COLUMNS = [FILE, ROW, "table", "column", "value", "rule", "reason"]
# Contract column -> the object field it comes from, per contract table.
FIELDS_OF: dict[str, dict[str, str]] = {
    "applicants": {
        "applicant_id": "crm_id",
        "company_name": "company_name",
        "requested_limit": "requested_limit",
        "requested_terms_days": "requested_terms_days",
        "industry": "industry",
        "region": "region",
        "legal_form": "legal_form",
        "founding_date": "founding_date",
        "employees": "employees",
        "registered_capital": "registered_capital",
    },
    "customers": {
        "customer_id": "crm_id",
        "company_name": "company_name",
        "account_owner": "account_owner",
        "country": "country",
        "country_risk_grade": "country_risk_grade",
        "customer_since": "customer_since",
        "credit_limit": "credit_limit",
        "payment_terms_days": "payment_terms_days",
        "security": "security",
    },
    "sales_orders": {
        "order_id": "crm_id",
        "customer_id": "customer_id",
        "order_date": "order_date",
        "amount": "amount",
        "status": "status",
        "status_date": "status_date",
    },
    "sales_invoices": {
        "invoice_id": "crm_id",
        "customer_id": "customer_id",
        "order_id": "order_id",
        "document_type": "status",
        "issue_date": "issue_date",
        "due_date": "due_date",
        "amount": "amount",
    },
    "payments": {
        "payment_id": "crm_id",
        "customer_id": "customer_id",
        "invoice_id": "invoice_id",
        "payment_date": "payment_date",
        "amount": "amount",
    },
}
TERMS = ("payment_terms_days", "requested_terms_days")  # derived from the invoices when empty
OBJECT_OF = {
    "applicants": "accounts",
    "customers": "accounts",
    "sales_orders": "orders",
    "sales_invoices": "invoices",
    "payments": "payments",
}


@dataclass
class ObjectRows:
    """One CRM object read through its mapping: a text column per mapped field, plus
    ``crm_file``/``crm_row``; ``notes[(row, field)]`` explain cells kept as written."""

    name: str
    sheet: Sheet
    frame: pd.DataFrame
    notes: dict[tuple[int, str], str]
    labels: dict[str, str]  # field -> export label
    absent: list[str]  # fields whose column is not in the file (default used)
    unknown: list[str]  # columns neither mapped nor ignored


def read_object(name: str, sheet: Sheet, section, mapping: Mapping, where: str) -> ObjectRows:
    """Map the columns of one export file; a mapped required column that is absent stops."""
    columns = section.columns
    present = set(sheet.labels)
    out = pd.DataFrame({FILE: sheet.name, ROW: sheet.frame[ROW].to_numpy()})
    notes: dict[tuple[int, str], str] = {}
    labels, absent = {}, []
    used = set(section.ignore)
    for fname, spec in FIELDS[name].items():
        col: Column | None = getattr(columns, fname)
        if col is None:
            continue
        if fname in TERMS:  # the default comes after the terms seen on the invoices
            col = dataclasses.replace(col, default=None)
        if col.column is not None:
            labels[fname] = col.column
            used.add(col.column)
        if col.column is None or col.column not in present:
            if col.column is not None and col.default is None and _required(name, fname):
                shown = ", ".join(sheet.labels[:15]) + (" ..." if len(sheet.labels) > 15 else "")
                read_as = "" if sheet.encoding == "xlsx" else f", read as {sheet.encoding}"
                raise DataError(
                    f"{sheet.path}: no column {col.column!r} (mapped as {name}.columns.{fname} "
                    f"in {where}); the file has{read_as}: {shown}"
                )
            if col.column is not None:
                absent.append(fname)
            out[fname] = pd.Series([col.default] * len(out), dtype=object)
            continue
        values, keys = [], value_keys(col)
        key = f"{name}.columns.{fname}"
        for row, cell in zip(out[ROW], sheet.frame[col.column], strict=True):
            value, note = convert(cell, spec, col, mapping.day_first, keys, f"{where}: {key}")
            if note:
                notes[(int(row), fname)] = f"{note}"
            values.append(value)
        out[fname] = pd.Series(values, dtype=object)
    unknown = [c for c in sheet.labels if c not in used]
    return ObjectRows(name, sheet, out, notes, labels, absent, unknown)


def _required(obj: str, fname: str) -> bool:
    """A field the contract needs and the importer cannot derive (no default given)."""
    derived = {*TERMS, "status_date", "shipped"}
    if fname in derived:
        return False
    optional = {"account_owner", "country", "country_risk_grade", "security", "customer_id"}
    optional |= {"customer_name", "order_id", "invoice_id", "paid_date", "paid_amount", "status"}
    return fname not in optional


def convert(
    cell: object,
    spec: Spec,
    col: Column,
    day_first: bool,
    keys: dict[str, str],
    where: str = "the mapping",
) -> tuple[object, str | None]:
    """(contract text or the cell as written, note when it could not be read).

    ``keys``: the field's value map with normalised keys (:func:`value_keys`); ``where``: the
    mapping key named in the note of a value it does not map."""
    if cells.is_blank(cell):
        return col.default, None
    try:
        if spec.kind == "date":
            return cells.date(cell, day_first), None
        if spec.kind == "amount":
            return cells.amount(cell, col.scale), None
        if spec.kind == "whole" and not col.values:
            return cells.whole(cell, col.scale), None
    except cells.CellError as exc:
        return cells.text(cell), str(exc)
    value = cells.text(cell)
    if not spec.choices and not col.values:
        return value, None
    k = cells.key(value)
    if k in keys:
        return keys[k], None
    own = _own_value(k, spec.choices)
    if own is not None:
        return own, None
    if col.other is not None:
        return col.other, None
    return value, (f"value {value!r} is not mapped (add it to the values of {where}, or set other)")


def value_keys(col: Column) -> dict[str, str]:
    return {cells.key(k): v for k, v in col.values.items()}


def _own_value(k: str, choices: tuple[str, ...] | str) -> str | None:
    """A value that already is a contract value (e.g. written back by this product)."""
    if choices == "COUNTRY":
        return k.upper() if COUNTRY.match(k.upper()) else None
    return next((c for c in choices if c == k), None)


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Source:
    """Where a contract table's rows come from: an object, its fields per contract column,
    and whether the rows are derived (not one row per record of the file)."""

    object: str
    fields: dict[str, str]
    derived: bool = False


SOURCES: dict[str, Source] = {t: Source(OBJECT_OF[t], FIELDS_OF[t]) for t in FIELDS_OF}


@dataclass
class Imported:
    """A CRM export folder in the contract's shape (all cells text, as a CSV would hold).

    ``tables``: contract columns plus ``crm_file``/``crm_row`` of the source record;
    ``rejects``: the rows the import set aside (``IMPORT_REJECT_COLUMNS``); ``objects``: each
    object as read (labels, notes, the original rows); ``sources``: which object and fields
    each table comes from; ``links``: the CRM's account id as exported beside the contract ids;
    ``facts``: what the import assumed or derived, for the report."""

    crm: str
    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    objects: dict[str, ObjectRows]
    sources: dict[str, Source]
    links: pd.DataFrame
    facts: list[str] = field(default_factory=list)

    def accounting(self) -> list[dict]:
        """Per file and contract table: rows read = imported + rejected by the import;
        derived tables are counted as made (``derived``), not balanced against a file."""
        out = []
        rej = self.rejects
        for table, source in self.sources.items():
            obj = self.objects.get(source.object)
            if obj is None or table not in self.tables:
                continue
            frame = self.tables[table]
            name = obj.sheet.name
            imported = int((frame[FILE] == name).sum())
            rejected = int(((rej[FILE] == name) & (rej["table"] == table)).sum())
            row = {"file": name, "table": table, "rows": obj.sheet.rows, "imported": imported}
            if source.derived:
                out.append(row | {"derived": True, "rejected": rejected, "balanced": True})
            else:
                balanced = obj.sheet.rows == imported + rejected
                out.append(row | {"derived": False, "rejected": rejected, "balanced": balanced})
        return out


def strip_prefix(value: object, prefix: str) -> object:
    if isinstance(value, str) and prefix and value.startswith(prefix):
        return value[len(prefix) :]
    return value


class Rejects:
    """Rows the import sets aside, with the file, row and export label."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, table, file, row, label, value, rule, reason) -> None:
        self.rows.append(
            {
                FILE: file,
                ROW: int(row),
                "table": table,
                "column": label,
                "value": None if value is None else str(value),
                "rule": rule,
                "reason": f"{file} row {int(row)}, column {label!r}: {reason}",
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=IMPORT_REJECT_COLUMNS).astype(
            {ROW: "int64"}, errors="ignore"
        )


class Accounts:
    """Resolves a record's account: by record id when present, else by the account's name."""

    def __init__(self, accounts: ObjectRows, prefix: str):
        self.file = accounts.sheet.name
        ids = accounts.frame["crm_id"].map(lambda v: strip_prefix(v, prefix))
        names = accounts.frame["company_name"]
        by_name: dict[str, list[str]] = {}
        for i, n in zip(ids, names, strict=True):
            if isinstance(n, str) and isinstance(i, str):
                ids_of = by_name.setdefault(cells.key(n), [])
                if i not in ids_of:  # a repeated row of one account is not a second account
                    ids_of.append(i)
        self.by_name = by_name
        self.prefix = prefix

    def resolve(self, rows: ObjectRows, rejects: Rejects, table: str) -> tuple[list, np.ndarray]:
        """The customer_id of each row and a mask of rows placed (others are rejects)."""
        frame = rows.frame
        ids = frame.get("customer_id", pd.Series([None] * len(frame), dtype=object))
        names = frame.get("customer_name", pd.Series([None] * len(frame), dtype=object))
        out, keep = [], np.ones(len(frame), bool)
        for i, (cid, name, row) in enumerate(zip(ids, names, frame[ROW], strict=True)):
            if isinstance(cid, str):
                out.append(strip_prefix(cid, self.prefix))
                continue
            if not isinstance(name, str):
                out.append(None)  # validation: customer_id is required
                continue
            found = self.by_name.get(cells.key(name), [])
            if len(found) == 1:
                out.append(found[0])
                continue
            keep[i] = False
            out.append(None)
            label = rows.labels.get("customer_name", "customer_name")
            if found:
                rejects.add(
                    table, rows.sheet.name, row, label, name, "customer.ambiguous_name",
                    f"{len(found)} accounts in {self.file} are named {name!r}; give the record "
                    "id (map customer_id) or make the names unique",
                )  # fmt: skip
            else:
                rejects.add(
                    table, rows.sheet.name, row, label, name, "customer.unknown_name",
                    f"no account in {self.file} is named {name!r}",
                )  # fmt: skip
        return out, keep


def _skipped(rows: ObjectRows, rejects: Rejects, table: str) -> np.ndarray:
    """Rows whose status maps to ``skip`` go to the rejects with their status."""
    frame = rows.frame
    if "status" not in frame:
        return np.zeros(len(frame), bool)
    skip = (frame["status"] == SKIP).to_numpy()
    label = rows.labels.get("status", "status")
    raw = rows.sheet.frame.get(label)
    for i in np.flatnonzero(skip):
        shown = cells.text(raw.iloc[i]) if raw is not None else SKIP
        rejects.add(
            table, rows.sheet.name, frame[ROW].iloc[i], label, shown, "status.skipped",
            f"status {shown!r} is mapped to skip (not imported)",
        )  # fmt: skip
    return skip


def _table(table: str, columns: dict[str, object], frame: pd.DataFrame) -> pd.DataFrame:
    """A contract table (its columns in contract order) plus the source file and row."""
    n = len(frame)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for name in TABLES[table].column_names:
        value = columns.get(name)
        if isinstance(value, pd.Series | np.ndarray | list):
            out[name] = pd.Series(list(value), dtype=object)
        else:
            out[name] = pd.Series([value] * n, dtype=object)
    out[FILE] = frame[FILE].to_numpy()
    out[ROW] = frame[ROW].to_numpy()
    return out


def account_tables(
    accounts: ObjectRows, mapping: Mapping, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """applicants, customers and links from the accounts (one row each per account)."""
    f = accounts.frame
    customer = f["crm_id"].map(lambda v: strip_prefix(v, mapping.id_prefix))
    day = as_of.strftime("%Y%m%d")
    application = customer.map(lambda c: f"{c}-{day}" if isinstance(c, str) else None)
    cols = {c: f[src] for c, src in FIELDS_OF["applicants"].items() if src in f}
    cols |= {"applicant_id": application, "application_date": as_of.strftime("%Y-%m-%d")}
    applicants = _table("applicants", cols, f)
    cols = {c: f[src] for c, src in FIELDS_OF["customers"].items() if src in f}
    cols |= {"customer_id": customer, "applicant_id": application}
    customers = _table("customers", cols, f)
    links = pd.DataFrame(
        {
            "crm_id": f["crm_id"].to_numpy(),
            "customer_id": customer.to_numpy(),
            "applicant_id": application.to_numpy(),
            "company_name": f["company_name"].to_numpy(),
            FILE: f[FILE].to_numpy(),
            ROW: f[ROW].to_numpy(),
        }
    )
    return applicants, customers, links


def order_table(
    orders: ObjectRows, accounts: Accounts, mapping: Mapping, rejects: Rejects
) -> pd.DataFrame:
    """sales_orders: status mapped; an open order with a shipped date is invoiced then."""
    f = orders.frame
    customer, placed = accounts.resolve(orders, rejects, "sales_orders")
    status = f["status"].copy()
    shipped = f["shipped"] if "shipped" in f else pd.Series([None] * len(f), dtype=object)
    status_date = f["status_date"] if "status_date" in f else pd.Series([None] * len(f))
    when = []
    for i, (s, ship, changed) in enumerate(zip(status, shipped, status_date, strict=True)):
        if s == "open" and isinstance(ship, str):
            status.iloc[i] = "invoiced"
            s = "invoiced"
        if s == "open":
            when.append(None)
        elif s == "invoiced" and isinstance(ship, str):
            when.append(ship)
        else:
            when.append(changed)
    table = _table(
        "sales_orders",
        {
            "order_id": f["crm_id"].map(lambda v: strip_prefix(v, mapping.id_prefix)),
            "customer_id": customer,
            "order_date": f["order_date"],
            "amount": f["amount"],
            "status": status,
            "status_date": when,
        },
        f,
    )
    return table.loc[placed].reset_index(drop=True)


def invoice_table(
    invoices: ObjectRows, accounts: Accounts, mapping: Mapping, rejects: Rejects
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sales_invoices, and the placed invoice rows (for payments kept on invoices)."""
    f = invoices.frame
    skip = _skipped(invoices, rejects, "sales_invoices")
    customer, placed = accounts.resolve(invoices, rejects, "sales_invoices")
    doc = f["status"] if "status" in f else pd.Series(["invoice"] * len(f), dtype=object)
    doc = doc.map(lambda v: "invoice" if v is None else v)
    order = f["order_id"] if "order_id" in f else pd.Series([None] * len(f), dtype=object)
    table = _table(
        "sales_invoices",
        {
            "invoice_id": f["crm_id"].map(lambda v: strip_prefix(v, mapping.id_prefix)),
            "customer_id": customer,
            "order_id": order.map(lambda v: strip_prefix(v, mapping.id_prefix)),
            "document_type": doc,
            "issue_date": f["issue_date"],
            "due_date": f["due_date"],
            "amount": f["amount"],
        },
        f,
    )
    keep = placed & ~skip
    return table.loc[keep].reset_index(drop=True), f.loc[keep].reset_index(drop=True)


def payments_on_invoices(
    invoices: ObjectRows, kept: pd.DataFrame, table: pd.DataFrame, rejects: Rejects
) -> pd.DataFrame:
    """Zoho style: one payment per invoice from its (custom) paid date and paid amount; a paid
    amount without a date cannot be placed in time (rejected); a date without an amount is
    payment in full."""
    rows = []
    label = invoices.labels.get("paid_date", "paid_date")
    for (_, inv), (_, src) in zip(table.iterrows(), kept.iterrows(), strict=True):
        when, paid = src.get("paid_date"), src.get("paid_amount")
        if when is None and paid is None:
            continue
        if paid is not None and _float(paid) == 0.0:
            continue
        if when is None:
            rejects.add(
                "payments", inv[FILE], inv[ROW], label, None, "payment.no_date",
                f"{invoices.labels.get('paid_amount', 'paid_amount')} is {paid} but "
                f"{label} is empty: the payment cannot be dated",
            )  # fmt: skip
            continue
        rows.append(
            {
                "payment_id": f"{inv['invoice_id']}-paid" if inv["invoice_id"] else None,
                "customer_id": inv["customer_id"],
                "invoice_id": inv["invoice_id"],
                "payment_date": when,
                "amount": paid if paid is not None else inv["amount"],
                FILE: inv[FILE],
                ROW: inv[ROW],
            }
        )
    frame = pd.DataFrame(rows, columns=[*TABLES["payments"].column_names, FILE, ROW])
    return frame.astype(object)


def allocate_payments(
    payments: ObjectRows,
    accounts: Accounts,
    invoices: pd.DataFrame,
    mapping: Mapping,
    rejects: Rejects,
) -> tuple[pd.DataFrame, int]:
    """Fxiaoke style: 回款 name the order, not the plan; each payment settles the oldest
    open plan of its order (by due date) that it fits, in payment-date order. A payment that
    fits none names no invoice (the customer's oldest open items take it). Returns the table
    and how many payments were left without an invoice."""
    f = payments.frame
    skip = _skipped(payments, rejects, "payments")
    customer, placed = accounts.resolve(payments, rejects, "payments")
    keep = placed & ~skip
    prefix = mapping.id_prefix
    given = f["invoice_id"] if "invoice_id" in f else pd.Series([None] * len(f), dtype=object)
    order = f["order_id"] if "order_id" in f else pd.Series([None] * len(f), dtype=object)
    plans: dict[str, list[list]] = {}
    inv = invoices.assign(
        _due=pd.to_datetime(invoices["due_date"], errors="coerce", format="ISO8601"),
        _amount=pd.to_numeric(invoices["amount"], errors="coerce"),
    ).sort_values(["_due", "issue_date", "invoice_id"], na_position="last", kind="stable")
    for oid, iid, amt in zip(inv["order_id"], inv["invoice_id"], inv["_amount"], strict=True):
        if isinstance(oid, str) and isinstance(iid, str) and np.isfinite(amt):
            plans.setdefault(oid, []).append([iid, float(amt)])
    when = pd.to_datetime(f["payment_date"], errors="coerce", format="ISO8601")
    amounts = pd.to_numeric(f["amount"], errors="coerce")
    target: list[object] = [None] * len(f)
    unallocated = 0
    for i in np.lexsort((f[ROW].to_numpy(), when.to_numpy())):
        if not keep[i]:
            continue
        if isinstance(given.iloc[i], str):
            target[i] = strip_prefix(given.iloc[i], prefix)
            continue
        open_plans = plans.get(strip_prefix(order.iloc[i], prefix), [])
        amt = amounts.iloc[i]
        fit = next(
            (p for p in open_plans if np.isfinite(amt) and p[1] > 0.005 and amt <= p[1] + 0.01),
            None,
        )
        if fit is None:
            unallocated += 1
            continue
        fit[1] -= amt
        target[i] = fit[0]
    table = _table(
        "payments",
        {
            "payment_id": f["crm_id"].map(lambda v: strip_prefix(v, prefix)),
            "customer_id": customer,
            "invoice_id": target,
            "payment_date": f["payment_date"],
            "amount": f["amount"],
        },
        f,
    )
    return table.loc[keep].reset_index(drop=True), unallocated


def observed_terms(invoices: pd.DataFrame) -> pd.Series:
    """Per customer, the most frequent ``due_date - issue_date`` in days (ties: shorter)."""
    issue = pd.to_datetime(invoices["issue_date"], errors="coerce", format="ISO8601")
    due = pd.to_datetime(invoices["due_date"], errors="coerce", format="ISO8601")
    days = (due.dt.normalize() - issue.dt.normalize()).dt.days
    ok = days.notna() & (days >= 0) & invoices["customer_id"].notna()
    counts = Counter(zip(invoices.loc[ok, "customer_id"], days[ok].astype(int), strict=True))
    best: dict[str, tuple[int, int]] = {}
    for (cust, d), n in counts.items():
        if cust not in best or (n, -d) > (best[cust][1], -best[cust][0]):
            best[cust] = (d, n)
    return pd.Series({c: str(d) for c, (d, _) in best.items()}, dtype=object)


def fill_terms(
    applicants: pd.DataFrame, customers: pd.DataFrame, terms: pd.Series, mapping: Mapping
) -> tuple[int, int]:
    """Empty terms (requested and in force): the terms seen on the account's invoices, else
    the mapping's default. Returns how many came from each."""
    seen = defaulted = 0
    columns = mapping.accounts.columns
    for frame, column in (
        (applicants, "requested_terms_days"),
        (customers, "payment_terms_days"),
    ):
        empty = frame[column].isna().to_numpy()
        values = customers["customer_id"].map(terms).to_numpy()
        use = empty & pd.notna(values)
        frame.loc[use, column] = values[use]
        seen += int(use.sum())
        col = getattr(columns, column)
        default = col.default if col is not None else None
        rest = frame[column].isna().to_numpy()
        if default is not None and rest.any():
            frame.loc[rest, column] = default
            defaulted += int(rest.sum())
    return seen, defaulted


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


assert set(OBJECT_OF) == {"applicants", *TRADE_TABLES}
