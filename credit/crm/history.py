"""The customers' payments to us as the applicant's payment history (contract ``invoices``).

The model reads payment behaviour from ``invoices``: trade invoices the applicant owes its
suppliers, with the date each was paid. A CRM holds exactly that for one supplier, this
company: the receivables (``sales_invoices``) and the money received (``payments``). Each
invoice's paid date is the first payment date on which its open amount reaches zero, with cash
applied as the customer book applies it (:func:`credit.customers.exposure.open_items`: named
invoice first, the rest oldest due date first); an invoice still open at the extraction date
has no paid date. Credit notes reduce what is owed and are not invoices of their own.

This is a narrower view than a bureau's (one supplier, not many); docs/crm.md §6.4 says so, and
the mapping's ``payment_history: false`` turns it off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.customers.exposure import open_items

SETTLED = 0.005  # an invoice with less than half a cent open is paid


def paid_dates(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.Series:
    """invoice_id -> the first date its open amount is zero (NaT while open).

    ``invoices``/``payments``: validated ``sales_invoices`` / ``payments`` (typed)."""
    events = pd.concat(
        [
            payments["payment_date"],
            invoices.loc[invoices["document_type"] == "credit_note", "issue_date"],
        ]
    )
    paid: dict[str, pd.Timestamp] = {}
    for day in np.sort(events.dropna().unique()):
        items, _ = open_items(invoices, payments, pd.Timestamp(day))
        for iid in items.loc[items["open"] <= SETTLED, "invoice_id"]:
            paid.setdefault(iid, pd.Timestamp(day))
    ids = invoices.loc[invoices["document_type"] == "invoice", "invoice_id"]
    return pd.Series([paid.get(i, pd.NaT) for i in ids], index=ids.to_numpy(), dtype="M8[ns]")


def payment_history(
    invoices: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame
) -> pd.DataFrame:
    """The contract's ``invoices`` table (as text) for the customers linked to an application,
    plus ``sales_invoice_id`` (the receivable each row was made from)."""
    link = customers.dropna(subset=["applicant_id"]).set_index("customer_id")["applicant_id"]
    inv = invoices.loc[
        (invoices["document_type"] == "invoice") & invoices["customer_id"].isin(link.index)
    ]
    inv = inv.sort_values(["customer_id", "issue_date", "invoice_id"], kind="stable")
    paid = paid_dates(invoices, payments)
    out = pd.DataFrame(
        {
            "invoice_id": [str(i) for i in range(1, len(inv) + 1)],
            "applicant_id": inv["customer_id"].map(link).to_numpy(),
            "issue_date": _iso(inv["issue_date"]),
            "due_date": _iso(inv["due_date"]),
            "paid_date": _iso(inv["invoice_id"].map(paid)),
            "amount": [repr(float(a)) for a in inv["amount"]],
            "sales_invoice_id": inv["invoice_id"].to_numpy(),
        }
    )
    return out.astype(object).where(out.notna(), None)


def _iso(values: pd.Series) -> list:
    return [None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d") for v in values]
