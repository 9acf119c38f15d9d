"""Defect injection: corrupt a small share of rows the way real exports go wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Defect kinds injected per table: (table, rule the validator must report).
DEFECT_KINDS: tuple[tuple[str, str], ...] = (
    ("applicants", "applicant_id.unique"),
    ("applicants", "founding_date.before_application"),
    ("applicants", "employees.non_negative"),
    ("applicants", "industry.allowed"),
    ("financial_statements", "revenue.non_negative"),
    ("financial_statements", "balance_sheet.identity"),
    ("financial_statements", "applicant_id.known"),
    ("invoices", "invoice_id.unique"),
    ("invoices", "paid_date.not_before_issue"),
    ("invoices", "applicant_id.known"),
    ("invoices", "issue_date.in_range"),
    ("invoices", "amount.positive"),
    ("compliance_events", "event_type.allowed"),
    ("compliance_events", "amount.non_negative"),
    ("external_ratings", "bureau_score.in_range"),
    ("customers", "security.allowed"),
    ("sales_orders", "order_id.unique"),
    ("sales_invoices", "due_date.not_before_issue"),
    ("payments", "customer_id.known"),
    ("payments", "amount.positive"),
)


def inject_defects(
    tables: dict[str, pd.DataFrame], fraction: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Corrupt a small share of rows, the way real exports go wrong (``tables`` is updated).

    Each kind in ``DEFECT_KINDS`` hits ``max(1, fraction * rows)`` rows of its table (when the
    table has rows and ``fraction > 0``); duplicates are appended copies of existing rows.
    Returns the log: table, 1-based row number, rule.
    """
    log: list[tuple[str, int, str]] = []
    if fraction <= 0:
        return pd.DataFrame(log, columns=["table", "row", "rule"])
    taken = {t: np.zeros(len(f), bool) for t, f in tables.items()}

    def pick(table: str) -> np.ndarray:
        frame = tables[table]
        k = max(1, int(round(fraction * len(frame))))
        free = np.flatnonzero(~taken[table])
        chosen = rng.choice(free, min(k, len(free)), replace=False) if len(free) else free
        taken[table][chosen] = True
        return np.sort(chosen)

    def mark(table: str, rows: np.ndarray, rule: str) -> None:
        log.extend((table, int(r) + 1, rule) for r in rows)

    def append_duplicates(table: str, rule: str) -> pd.DataFrame:
        """A row exported twice: exact copies appended at the end of the table."""
        frame = tables[table]
        k = max(1, int(round(fraction * len(frame))))
        src = np.sort(rng.choice(len(frame), min(k, len(frame)), replace=False))
        out = pd.concat([frame, frame.iloc[src]], ignore_index=True)
        taken[table][src] = True
        taken[table] = np.concatenate([taken[table], np.ones(len(src), bool)])
        mark(table, np.arange(len(frame), len(out)), rule)
        return out

    apps = tables["applicants"]
    tables["applicants"] = apps = append_duplicates("applicants", "applicant_id.unique")
    rows = pick("applicants")
    apps.loc[rows, "founding_date"] = apps.loc[rows, "application_date"] + pd.Timedelta(days=400)
    mark("applicants", rows, "founding_date.before_application")
    rows = pick("applicants")
    apps.loc[rows, "employees"] = -apps.loc[rows, "employees"]
    mark("applicants", rows, "employees.non_negative")
    rows = pick("applicants")
    apps.loc[rows, "industry"] = "mining_and_quarrying_unknown"
    mark("applicants", rows, "industry.allowed")

    fs = tables["financial_statements"]
    if len(fs) > 3:
        rows = pick("financial_statements")
        fs.loc[rows, "revenue"] = -fs.loc[rows, "revenue"].fillna(1000.0).abs() - 1.0
        mark("financial_statements", rows, "revenue.non_negative")
        rows = pick("financial_statements")
        fs.loc[rows, "total_assets"] = (fs.loc[rows, "total_assets"] / 1000).round(2)  # thousands
        mark("financial_statements", rows, "balance_sheet.identity")
        rows = pick("financial_statements")
        fs.loc[rows, "applicant_id"] = "X" + fs.loc[rows, "applicant_id"].str.slice(1)
        mark("financial_statements", rows, "applicant_id.known")

    inv = tables["invoices"]
    if len(inv) > 5:
        tables["invoices"] = inv = append_duplicates("invoices", "invoice_id.unique")
        rows = pick("invoices")
        inv.loc[rows, "paid_date"] = inv.loc[rows, "issue_date"] - pd.Timedelta(days=17)
        mark("invoices", rows, "paid_date.not_before_issue")
        rows = pick("invoices")
        inv.loc[rows, "applicant_id"] = "X" + inv.loc[rows, "applicant_id"].str.slice(1)
        mark("invoices", rows, "applicant_id.known")
        rows = pick("invoices")
        inv.loc[rows, "issue_date"] = inv.loc[rows, "issue_date"] + pd.DateOffset(years=80)
        inv.loc[rows, "due_date"] = inv.loc[rows, "issue_date"] + pd.Timedelta(days=30)
        inv.loc[rows, "paid_date"] = pd.NaT
        mark("invoices", rows, "issue_date.in_range")
        rows = pick("invoices")
        inv.loc[rows, "amount"] = -inv.loc[rows, "amount"]
        mark("invoices", rows, "amount.positive")

    ev = tables["compliance_events"]
    if len(ev) > 3:
        rows = pick("compliance_events")
        ev.loc[rows, "event_type"] = "parking_ticket"
        mark("compliance_events", rows, "event_type.allowed")
        rows = pick("compliance_events")
        ev.loc[rows, "amount"] = -ev.loc[rows, "amount"].fillna(100.0).abs() - 1.0
        mark("compliance_events", rows, "amount.non_negative")

    rt = tables["external_ratings"]
    if len(rt) > 2:
        rows = pick("external_ratings")
        rt.loc[rows, "bureau_score"] = 300.0 + rng.integers(0, 550, len(rows))  # another scale
        mark("external_ratings", rows, "bureau_score.in_range")

    _trade_defects(tables, pick, mark, append_duplicates)
    return pd.DataFrame(log, columns=["table", "row", "rule"])


def _trade_defects(tables, pick, mark, append_duplicates) -> None:
    """The company's own trade tables, when generated."""
    if len(tables.get("customers", ())) > 2:
        cu = tables["customers"]
        rows = pick("customers")
        cu.loc[rows, "security"] = "letter_of_comfort"
        mark("customers", rows, "security.allowed")
    if len(tables.get("sales_orders", ())) > 2:
        tables["sales_orders"] = append_duplicates("sales_orders", "order_id.unique")
    si = tables.get("sales_invoices")
    if si is not None and (si["document_type"] == "invoice").sum() > 2:
        free = pick("sales_invoices")
        rows = free[si.loc[free, "document_type"].to_numpy() == "invoice"]
        si.loc[rows, "due_date"] = si.loc[rows, "issue_date"] - pd.Timedelta(days=30)
        mark("sales_invoices", rows, "due_date.not_before_issue")
    if len(tables.get("payments", ())) > 3:
        pay = tables["payments"]
        rows = pick("payments")
        pay.loc[rows, "customer_id"] = "X" + pay.loc[rows, "customer_id"].str.slice(1)
        mark("payments", rows, "customer_id.known")
        rows = pick("payments")
        pay.loc[rows, "amount"] = -pay.loc[rows, "amount"]
        mark("payments", rows, "amount.positive")
