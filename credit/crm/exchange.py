"""From an import to validated tables and admission features, without the DVC pipeline.

:func:`prepare` takes what an adapter read and does what ``generate.source: files`` ->
``validate`` -> ``features`` would do with the same tables (the same library calls), so the
folder it returns (:attr:`Prepared.raw`) gives the same result when copied to
``data/external/`` and run through DVC, with ``validate.latest_date`` set to the as-of date.

Steps: the applications are validated first, and a customer whose application is rejected keeps
its account without the link (its receivables stay in the book, the rejects say why it was not
decided); the trade tables are validated; the payment history is derived from the valid
receivables and payments (:mod:`credit.crm.history`); the tables the CRM has no source for
(statements, compliance events, ratings, outcomes) are empty; then everything is validated as
one folder and the features are built as of the as-of date. Each reject names the CRM file, the
spreadsheet row and the export label, and keeps the CRM's original row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from credit.crm.files import FILE, ROW
from credit.crm.history import payment_history
from credit.crm.importer import Imported, Source
from features.assemble import FeatureConfig, feature_table
from features.contract.rules import ValidationConfig
from features.contract.tables import TABLES, TRADE_TABLES
from features.contract.validation import (
    VALIDATION_ORDER,
    TableResult,
    validate_table,
    validate_tables,
)

REJECT_COLUMNS = ["stage", FILE, ROW, "column", "value", "rule", "reason"]
ORDER = (*VALIDATION_ORDER, *TRADE_TABLES)


@dataclass
class Prepared:
    """``raw``: the contract tables as text (the folder to write); ``results``: their
    validation; ``rejects``: per table, import and validation rejects with the CRM row;
    ``features``: admission features (plus ``customer_id``) of the valid applications."""

    raw: dict[str, pd.DataFrame]
    results: dict[str, TableResult]
    rejects: dict[str, pd.DataFrame]
    features: pd.DataFrame
    report: dict = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The valid (typed) tables."""
        return {name: r.valid for name, r in self.results.items()}


def validation_config(cfg: ValidationConfig, as_of: pd.Timestamp) -> ValidationConfig:
    """``cfg`` with the as-of date as the extraction date: nothing dated later is known."""
    return dataclasses.replace(cfg, latest_date=as_of.strftime("%Y-%m-%d"))


def prepare(
    imported: Imported,
    cfg: ValidationConfig,
    features: FeatureConfig,
    payment_history_on: bool = True,
) -> Prepared:
    """Validate an import and build its features (see the module docstring)."""
    cfg = validation_config(cfg, imported.as_of)
    tables = {name: frame.copy() for name, frame in imported.tables.items()}
    sources = dict(imported.sources)
    facts = list(imported.facts)
    contract = {name: _contract(frame, name) for name, frame in tables.items()}

    apps = validate_table(contract["applicants"], "applicants", cfg, "applicants")
    dropped = set(contract["applicants"]["applicant_id"].dropna()) - set(apps.valid["applicant_id"])
    unlinked = tables["customers"]["applicant_id"].isin(dropped).to_numpy()
    tables["customers"].loc[unlinked, "applicant_id"] = None
    if unlinked.any():
        facts.append(
            f"customers kept without an application (their application was rejected): "
            f"{int(unlinked.sum())}"
        )
    trade = validate_tables(
        {t: _contract(tables[t], t) for t in ("applicants", *TRADE_TABLES)}, cfg
    )
    if payment_history_on:
        history = payment_history(
            trade["sales_invoices"].valid, trade["payments"].valid, trade["customers"].valid
        )
        where = tables["sales_invoices"].set_index("invoice_id")[[FILE, ROW]]
        where = where.loc[~where.index.duplicated()]
        history[FILE] = history["sales_invoice_id"].map(where[FILE]).to_numpy()
        history[ROW] = history["sales_invoice_id"].map(where[ROW]).to_numpy()
        tables["invoices"] = history.drop(columns="sales_invoice_id")
        sources["invoices"] = Source(
            sources["sales_invoices"].object,
            {
                "applicant_id": "customer_id",
                "issue_date": "issue_date",
                "due_date": "due_date",
                "amount": "amount",
            },
            derived=True,
        )
        facts.append(
            f"payment history: {len(history)} receivables of the linked customers became "
            "the applicants' invoices (paid date = the day the open amount reached zero)"
        )
    for name in ORDER:
        tables.setdefault(name, _empty(name))
    raw = {name: _contract(tables[name], name) for name in ORDER}
    results = validate_tables(raw, cfg)
    rejects = {
        name: _rejects(name, results[name], tables[name], imported, sources) for name in ORDER
    }
    valid = {name: r.valid for name, r in results.items()}
    frame = feature_table(valid, features)
    to_customer = imported.links.dropna(subset=["applicant_id"]).drop_duplicates("applicant_id")
    customer = frame["applicant_id"].map(to_customer.set_index("applicant_id")["customer_id"])
    frame.insert(1, "customer_id", customer.astype("str").to_numpy())
    report = _report(imported, results, rejects, facts)
    return Prepared(raw=raw, results=results, rejects=rejects, features=frame, report=report)


def _contract(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[TABLES[name].column_names].reset_index(drop=True)


def _empty(name: str) -> pd.DataFrame:
    columns = [*TABLES[name].column_names, FILE, ROW]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _rejects(
    name: str,
    result: TableResult,
    table: pd.DataFrame,
    imported: Imported,
    sources: dict[str, Source],
) -> pd.DataFrame:
    """Import rejects and validation rejects of one table, each with the CRM file, row,
    export label, a reason naming them, and the CRM's original row."""
    rows = []
    mine = imported.rejects.loc[imported.rejects["table"] == name]
    for r in mine.to_dict("records"):
        rows.append({"stage": "import", **{k: r[k] for k in REJECT_COLUMNS[1:]}})
    source = sources.get(name)
    for r in result.rejects.to_dict("records"):
        pos = int(r["row"]) - 1
        file, row = table[FILE].iloc[pos], table[ROW].iloc[pos]
        column = str(r["column"])
        label, note = _label(name, column, file, row, imported, source)
        message = note if note and str(r["rule"]).endswith((".type", ".allowed")) else None
        reason = f"{file} row {row}, column {label!r}: {message or r['message']}"
        rows.append(
            {
                "stage": "validation",
                FILE: file,
                ROW: int(row),
                "column": label,
                "value": r["value"],
                "rule": r["rule"],
                "reason": reason,
            }
        )
    out = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    obj = imported.objects.get(source.object) if source else None
    if obj is None or out.empty:
        return out.astype({ROW: "int64"})
    original = obj.sheet.frame.set_index(ROW)
    original = original.loc[~original.index.duplicated()]
    found = original.reindex(out[ROW].to_numpy()).reset_index(drop=True)
    found.columns = [c if c not in REJECT_COLUMNS else f"input_{c}" for c in found.columns]
    found = found.astype(object)
    found.loc[(out[FILE] != obj.sheet.name).to_numpy()] = None
    return pd.concat([out.astype({ROW: "int64"}), found], axis=1)


def _label(
    name: str,
    column: str,
    file: str,
    row: int,
    imported: Imported,
    source: Source | None,
) -> tuple[str, str | None]:
    """The export label(s) and note behind a contract column (several for a wide rule)."""
    labels, notes = [], []
    for c in column.split(","):
        obj = imported.objects.get(source.object) if source else None
        fname = source.fields.get(c) if source else None
        if obj is None or fname is None or obj.sheet.name != file:
            labels.append(c)
            continue
        labels.append(obj.labels.get(fname, c))
        note = obj.notes.get((int(row), fname))
        if note:
            notes.append(note)
    return ", ".join(dict.fromkeys(labels)), (notes[0] if notes else None)


def _report(
    imported: Imported,
    results: dict[str, TableResult],
    rejects: dict[str, pd.DataFrame],
    facts: list[str],
) -> dict:
    """Row accounting per file (read = imported + rejected by the import) and per table
    (input = valid + rejected by validation), with what was assumed."""
    tables = {}
    for name in ORDER:
        r = results[name]
        stage = rejects[name]["stage"] if len(rejects[name]) else pd.Series([], dtype=object)
        tables[name] = {
            "input_rows": r.n_input,
            "valid_rows": r.n_valid,
            "rejected_rows": r.n_rejected,
            "import_rejected": int((stage == "import").sum()),
            "balanced": r.balanced,
            "rules": dict(sorted(r.rule_counts.items())),
        }
    files = imported.accounting()
    unknown = {o.sheet.name: o.unknown for o in imported.objects.values() if o.unknown}
    return {
        "crm": imported.crm,
        "as_of": imported.as_of.strftime("%Y-%m-%d"),
        "files": files,
        "tables": tables,
        "balanced": all(f["balanced"] for f in files) and all(r.balanced for r in results.values()),
        "unknown_columns": unknown,
        "encodings": {o.sheet.name: o.sheet.encoding for o in imported.objects.values()},
        "blank_rows": {
            o.sheet.name: o.sheet.blank_rows
            for o in imported.objects.values()
            if o.sheet.blank_rows
        },
        "facts": facts,
    }
