"""The mapping file: which CRM column (by its export label) fills which field, per CRM object.

One YAML file per CRM (``credit/crm/mappings/zoho.yaml``, ``fxiaoke.yaml``), edited by the
user for their tenant's labels and custom fields. It is validated once, as every settings
object here (:func:`features.config.build`): an unknown key, a value map that points outside
the contract's vocabulary or a missing required field is one line naming the file and the
dotted key, e.g. ``zoho.yaml: accounts.columns.industy: unknown key (did you mean
'industry'?)``.

A field is either a label (``company_name: Account Name``) or a mapping::

    industry:
      column: Industry              # export label; omit for "not in the export"
      values: {Manufacturing: manufacturing, IT Services: information_technology}
      other: null                   # value for anything not in `values` (null: reject the row)
      default: null                 # value when the cell is empty or the column absent
      scale: 1                      # numbers: multiply (e.g. 10000 for 万元)

Values are compared ignoring case, repeated spaces and full-width forms. A value that is
already one of the contract's own values (``limited``, ``guarantee``) passes unchanged, so the
fields this product writes back read back without a map.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

from features.config import build, settings
from features.contract.tables import (
    DOCUMENT_TYPES,
    INDUSTRIES,
    LEGAL_FORMS,
    ORDER_STATUSES,
    REGIONS,
    SECURITY_TYPES,
)
from features.errors import DataError

CRMS = ("zoho", "fxiaoke")
SKIP = "skip"  # a status mapped to skip: the record is not imported (rejects say why)
PAID = "paid"
DECISIONS = ("approve", "refer", "decline")
COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Spec:
    """What a field holds: ``kind`` text | date | amount | whole; ``choices``: the contract
    values a value map may point at (``COUNTRY``: a two-letter code)."""

    kind: str
    choices: tuple[str, ...] | str = ()


FIELDS: dict[str, dict[str, Spec]] = {
    "accounts": {
        "crm_id": Spec("text"),
        "company_name": Spec("text"),
        "account_owner": Spec("text"),
        "customer_since": Spec("date"),
        "industry": Spec("text", INDUSTRIES),
        "employees": Spec("whole"),
        "region": Spec("text", REGIONS),
        "legal_form": Spec("text", LEGAL_FORMS),
        "founding_date": Spec("date"),
        "registered_capital": Spec("amount"),
        "country": Spec("text", "COUNTRY"),
        "country_risk_grade": Spec("whole", tuple(str(g) for g in range(8))),
        "credit_limit": Spec("amount"),
        "payment_terms_days": Spec("whole"),
        "security": Spec("text", SECURITY_TYPES),
        "requested_limit": Spec("amount"),
        "requested_terms_days": Spec("whole"),
    },
    "orders": {
        "crm_id": Spec("text"),
        "customer_id": Spec("text"),
        "customer_name": Spec("text"),
        "order_date": Spec("date"),
        "amount": Spec("amount"),
        "status": Spec("text", ORDER_STATUSES),
        "status_date": Spec("date"),
        "shipped": Spec("date"),
    },
    "invoices": {
        "crm_id": Spec("text"),
        "customer_id": Spec("text"),
        "customer_name": Spec("text"),
        "order_id": Spec("text"),
        "issue_date": Spec("date"),
        "due_date": Spec("date"),
        "amount": Spec("amount"),
        "status": Spec("text", (*DOCUMENT_TYPES, SKIP)),
        "paid_date": Spec("date"),
        "paid_amount": Spec("amount"),
    },
    "payments": {
        "crm_id": Spec("text"),
        "customer_id": Spec("text"),
        "customer_name": Spec("text"),
        "order_id": Spec("text"),
        "invoice_id": Spec("text"),
        "payment_date": Spec("date"),
        "amount": Spec("amount"),
        "status": Spec("text", (PAID, SKIP)),
    },
}


@settings
class Column:
    """One field: the export label it is read from and how its values are translated."""

    column: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    other: str | None = None
    default: str | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0; got {self.scale}")
        if self.column is not None and not self.column.strip():
            raise ValueError("column must be a label (omit it when the export has none)")


def _check_choices(obj: object, name: str) -> None:
    """Every value a map can produce must be one of the field's contract values."""
    for f in fields(obj):  # type: ignore[arg-type]
        col = getattr(obj, f.name)
        spec = FIELDS[name][f.name]
        if col is None or not spec.choices:
            continue
        targets = [(f"values.{k}", v) for k, v in col.values.items()]
        targets += [(k, getattr(col, k)) for k in ("other", "default")]
        for where, value in targets:
            if value is None:
                continue
            ok = bool(COUNTRY.match(value)) if spec.choices == "COUNTRY" else value in spec.choices
            if not ok:
                allowed = (
                    "a two-letter ISO 3166-1 code such as DE or CN"
                    if spec.choices == "COUNTRY"
                    else "one of " + ", ".join(spec.choices)
                )
                raise ValueError(f"{f.name}.{where} must be {allowed}; got {value!r}")


@settings
class AccountColumns:
    crm_id: Column
    company_name: Column
    customer_since: Column
    industry: Column
    employees: Column
    region: Column
    legal_form: Column
    founding_date: Column
    registered_capital: Column
    requested_limit: Column
    account_owner: Column | None = None
    country: Column | None = None
    country_risk_grade: Column | None = None
    credit_limit: Column | None = None
    payment_terms_days: Column | None = None
    security: Column | None = None
    requested_terms_days: Column | None = None

    def __post_init__(self) -> None:
        _check_choices(self, "accounts")


@settings
class OrderColumns:
    crm_id: Column
    order_date: Column
    amount: Column
    status: Column
    customer_id: Column | None = None
    customer_name: Column | None = None
    status_date: Column | None = None
    shipped: Column | None = None

    def __post_init__(self) -> None:
        _check_choices(self, "orders")
        _needs_customer(self)


@settings
class InvoiceColumns:
    crm_id: Column
    issue_date: Column
    due_date: Column
    amount: Column
    customer_id: Column | None = None
    customer_name: Column | None = None
    order_id: Column | None = None
    status: Column | None = None
    paid_date: Column | None = None
    paid_amount: Column | None = None

    def __post_init__(self) -> None:
        _check_choices(self, "invoices")
        _needs_customer(self)


@settings
class PaymentColumns:
    crm_id: Column
    payment_date: Column
    amount: Column
    customer_id: Column | None = None
    customer_name: Column | None = None
    order_id: Column | None = None
    invoice_id: Column | None = None
    status: Column | None = None

    def __post_init__(self) -> None:
        _check_choices(self, "payments")
        _needs_customer(self)


def _needs_customer(obj: OrderColumns | InvoiceColumns | PaymentColumns) -> None:
    if obj.customer_id is None and obj.customer_name is None:
        raise ValueError("map customer_id (the account's record id) or customer_name (its name)")


@settings
class Accounts:
    file: tuple[str, ...]
    columns: AccountColumns
    sheet: str | None = None
    ignore: tuple[str, ...] = ()


@settings
class Orders:
    file: tuple[str, ...]
    columns: OrderColumns
    sheet: str | None = None
    ignore: tuple[str, ...] = ()


@settings
class Invoices:
    file: tuple[str, ...]
    columns: InvoiceColumns
    sheet: str | None = None
    ignore: tuple[str, ...] = ()


@settings
class Payments:
    file: tuple[str, ...]
    columns: PaymentColumns
    sheet: str | None = None
    ignore: tuple[str, ...] = ()


EXPORT_FIELDS = (
    "crm_id",
    "company_name",
    "grade",
    "pd",
    "decision",
    "credit_limit",
    "payment_terms_days",
    "security",
    "next_review",
    "value_tier",
    "reasons",
    "decided_on",
    "bundle_version",
)


@settings
class ExportLabels:
    """The column label of each written field on the CRM's account (null: not written)."""

    crm_id: str
    company_name: str | None = None
    grade: str | None = None
    pd: str | None = None
    decision: str | None = None
    credit_limit: str | None = None
    payment_terms_days: str | None = None
    security: str | None = None
    next_review: str | None = None
    value_tier: str | None = None
    reasons: str | None = None
    decided_on: str | None = None
    bundle_version: str | None = None

    def __post_init__(self) -> None:
        labels = [v for v in (getattr(self, f) for f in EXPORT_FIELDS) if v is not None]
        dupes = sorted({v for v in labels if labels.count(v) > 1})
        if dupes:
            raise ValueError(f"labels must differ; {dupes[0]!r} is used twice")


@settings
class Export:
    """The write-back file: labels, value texts, date format, reason language."""

    labels: ExportLabels
    date_format: str = "%Y-%m-%d"
    lang: Literal["en", "zh"] = "en"
    reasons: int = 3
    separator: str = "; "
    pd_decimals: int = 4
    security: dict[str, str] = field(default_factory=dict)
    decision: dict[str, str] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)
    id_as_exported: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.reasons <= 10:
            raise ValueError(f"reasons must be between 0 and 10; got {self.reasons}")
        if not 0 <= self.pd_decimals <= 10:
            raise ValueError(f"pd_decimals must be between 0 and 10; got {self.pd_decimals}")
        for name, allowed in (("security", SECURITY_TYPES), ("decision", DECISIONS)):
            unknown = sorted(set(getattr(self, name)) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{name} maps {unknown[0]!r}; the keys are the product's values: "
                    + ", ".join(allowed)
                )
        if dt.date(2025, 3, 14).strftime(self.date_format) == self.date_format:
            raise ValueError(f"date_format must be a strftime format; got {self.date_format!r}")


@settings
class Mapping:
    """A CRM's mapping file (see the module docstring and docs/crm.md)."""

    crm: Literal["zoho", "fxiaoke"]
    accounts: Accounts
    orders: Orders
    invoices: Invoices
    export: Export
    payments: Payments | None = None
    encodings: tuple[str, ...] = ("utf-8-sig",)
    day_first: bool = False
    id_prefix: str = ""
    payment_history: bool = True

    def __post_init__(self) -> None:
        if not self.encodings:
            raise ValueError("encodings must list at least one encoding, e.g. utf-8-sig")

    def objects(self) -> dict[str, Accounts | Orders | Invoices | Payments]:
        out = {"accounts": self.accounts, "orders": self.orders, "invoices": self.invoices}
        return out | ({"payments": self.payments} if self.payments is not None else {})


def default_mapping(crm: str) -> Path:
    """The mapping shipped with the package for ``crm``."""
    if crm not in CRMS:
        raise DataError(f"CRM must be one of {', '.join(CRMS)}; got {crm!r}")
    return Path(str(resources.files("credit.crm") / "mappings" / f"{crm}.yaml"))


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; every problem is one DataError line."""
    if not path.is_file():
        raise DataError(f"{path}: missing mapping file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise DataError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: mapping files are UTF-8 text") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: must be a mapping of sections (crm, accounts, ...)")
    try:
        return build(Mapping, _normalise(data))
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def _scalar(value: object) -> object:
    """YAML numbers and booleans in value maps are text here (``2: "2"``, ``0: "0"``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _normalise(data: object) -> object:
    """Shorthand ``field: Label`` -> ``{column: Label}``; map keys and values as text."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name in FIELDS:
        section = out.get(name)
        if not isinstance(section, dict) or not isinstance(section.get("columns"), dict):
            continue
        columns = {}
        for key, spec in section["columns"].items():
            if isinstance(spec, str):
                spec = {"column": spec}
            if isinstance(spec, dict):
                spec = dict(spec)
                if isinstance(spec.get("values"), dict):
                    spec["values"] = {
                        str(_scalar(k)): _scalar(v) for k, v in spec["values"].items()
                    }
                for k in ("other", "default"):
                    if k in spec:
                        spec[k] = _scalar(spec[k])
            columns[key] = spec
        if isinstance(section.get("file"), str):
            section = section | {"file": [section["file"]]}
        out[name] = section | {"columns": columns}
    if isinstance(out.get("encodings"), str):
        out["encodings"] = [out["encodings"]]
    export = out.get("export")
    if isinstance(export, dict):
        for k in ("security", "decision", "tiers"):
            if isinstance(export.get(k), dict):
                export = export | {k: {str(a): _scalar(b) for a, b in export[k].items()}}
        out["export"] = export
    return out
